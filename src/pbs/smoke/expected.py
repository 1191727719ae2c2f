"""Which extension modules an archive must be able to import, read from its own config dir.

configure writes each optional module's fate into the installed Makefile as
`MODULE_<NAME>_STATE` (`yes`, `n/a`, `missing`, `disabled`); Setup.bootstrap lists the
modules always built in. Every module that is not `n/a` must import, except the catalog's
deliberate exclusions. Setup.stdlib spells the real names: configure comments out the line of
a module it does not build (`#_gdbm _gdbmmodule.c`), so commented lines still name it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pbs.cpython.makesetup import module_rules, read_setup
from pbs.cpython.modules import module_states
from pbs.errors import PbsError


def modules_to_import(config_dir: Path, excluded: Iterable[str]) -> list[str]:
    paths = [config_dir / name for name in ("Makefile", "Setup.bootstrap", "Setup.stdlib")]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise PbsError(f"the archive's {config_dir.name} has no {', '.join(missing)}")
    makefile, bootstrap_file, stdlib_file = paths
    bootstrap = [rule.name for rule in module_rules(read_setup(bootstrap_file)) if rule.built]
    by_upper = {
        rule.name.upper(): rule.name
        for path in (bootstrap_file, stdlib_file)
        for rule in module_rules(read_setup(path), commented=True)
    }
    # A state without a Setup line keeps the Makefile's spelling, lower-cased like every
    # stdlib module name.
    optional = [
        by_upper.get(upper, upper.lower())
        for upper, state in module_states(makefile).items()
        if state != "n/a"
    ]
    return sorted(set(bootstrap + optional) - set(excluded))
