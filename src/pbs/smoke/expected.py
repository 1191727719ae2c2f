"""Which extension modules an archive must be able to import, read from its own config dir.

configure writes each optional module's fate into the installed Makefile as
`MODULE_<NAME>_STATE` (`yes`, `n/a`, `missing`, `disabled`); Setup.bootstrap lists the
modules always built in. Every module that is not `n/a` must import, except the catalog's
deliberate exclusions. Setup.stdlib spells the real names: configure comments out the line of
a module it does not build (`#_gdbm _gdbmmodule.c`), so commented lines still name it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pbs.cpython.modules import module_states
from pbs.errors import PbsError

# `name source.c …`, possibly commented out by configure; prose comments start with "# ".
_SETUP_LINE = re.compile(r"^(#?)([A-Za-z_]\w*)\s+.*\.c\b")


def expected_modules(config_dir: Path, excluded: Iterable[str]) -> list[str]:
    paths = [config_dir / name for name in ("Makefile", "Setup.bootstrap", "Setup.stdlib")]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise PbsError(f"the archive's {config_dir.name} has no {', '.join(missing)}")
    makefile, bootstrap_file, stdlib_file = paths
    bootstrap = [name for name, active in _setup_names(bootstrap_file) if active]
    by_upper = {
        name.upper(): name
        for path in (bootstrap_file, stdlib_file)
        for name, _ in _setup_names(path)
    }
    # A state without a Setup line keeps the Makefile's spelling, lower-cased like every
    # stdlib module name.
    optional = [
        by_upper.get(upper, upper.lower())
        for upper, state in module_states(makefile).items()
        if state != "n/a"
    ]
    return sorted(set(bootstrap + optional) - set(excluded))


def _setup_names(path: Path) -> list[tuple[str, bool]]:
    """(module name, whether the line is active) for every module line of a Setup file."""
    found = []
    for line in path.read_text().splitlines():
        match = _SETUP_LINE.match(line)
        if match:
            found.append((match.group(2), not match.group(1)))
    return found
