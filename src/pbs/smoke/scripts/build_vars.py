"""Print, as JSON, what a C extension build takes from sysconfig (what pip's build uses)."""

import json
import sysconfig

names = ("CC", "CFLAGS", "CCSHARED", "LDSHARED", "EXT_SUFFIX")
values = {name: sysconfig.get_config_var(name) for name in names}
values["include"] = sysconfig.get_paths()["include"]
print(json.dumps(values))
