"""Which extension modules a CPython source builds, read from its own module tables.

CPython lists every stdlib extension module in `Modules/Setup.bootstrap.in` (always built in)
and `Modules/Setup.stdlib.in` (one line per module, `@MODULE_<NAME>_TRUE@name sources…`).
configure records each module's fate in the Makefile as `MODULE_<NAME>_STATE`: `yes`, `n/a`
(not for this platform), `missing` (a dependency was not found) or `disabled`. pbs expects
every module that is not `n/a` to be `yes`, except those the catalog excludes on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from pbs.errors import PbsError

_TABLE_LINE = re.compile(r"^(?:@MODULE_\w+_TRUE@)?([A-Za-z_][A-Za-z0-9_]*)\s")
_STATE_LINE = re.compile(r"^MODULE_(\w+)_STATE=(.*)$", re.MULTILINE)
# The heading in Setup.stdlib.in above the modules that exist only for CPython's test suite.
_TEST_HEADING = "# Test modules"


@dataclass(frozen=True, kw_only=True)
class ModuleTable:
    """The extension modules of one CPython source tree."""

    bootstrap: tuple[str, ...]  # always built into the core
    stdlib: tuple[str, ...]  # optional, each with a configure state
    test: tuple[str, ...]  # the subset of `stdlib` that serves only the test suite

    @property
    def all(self) -> tuple[str, ...]:
        return self.bootstrap + self.stdlib


def read_module_table(source_dir: Path) -> ModuleTable:
    modules = source_dir / "Modules"
    bootstrap = _module_names((modules / "Setup.bootstrap.in").read_text().splitlines())
    stdlib_lines = (modules / "Setup.stdlib.in").read_text().splitlines()
    stdlib = _module_names(stdlib_lines)
    if _TEST_HEADING not in stdlib_lines:
        raise PbsError(f"{modules / 'Setup.stdlib.in'} has no '{_TEST_HEADING}' section")
    # The test section runs to the end, or to a later `*static*` (3.15 adds one for _asyncio).
    section = stdlib_lines[stdlib_lines.index(_TEST_HEADING):]
    if "*static*" in section:
        section = section[: section.index("*static*")]
    test = _module_names(section)
    return ModuleTable(bootstrap=bootstrap, stdlib=stdlib, test=test)


def with_setup_rules(table: ModuleTable, rules: tuple[str, ...]) -> ModuleTable:
    """The table plus the modules that pbs's own Setup rules build (the setup.py era)."""
    return replace(table, stdlib=table.stdlib + _module_names(list(rules)))


def _module_names(lines: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for line in lines:
        match = _TABLE_LINE.match(line + " ")
        if match and not line.startswith(("#", "*")) and "=" not in line.split()[0]:
            names.append(match.group(1))
    return tuple(names)


def module_states(makefile: Path) -> dict[str, str]:
    """`MODULE_<NAME>_STATE` of every optional module, keyed by the Makefile's upper-case name."""
    return {name: state.strip() for name, state in _STATE_LINE.findall(makefile.read_text())}


def expected_modules(table: ModuleTable, states: dict[str, str], excluded: set[str]) -> list[str]:
    """Every module this platform can have, minus the deliberate exclusions."""
    return [
        name
        for name in table.all
        if name not in excluded and states.get(name.upper(), "yes") != "n/a"
    ]


def unbuilt_modules(table: ModuleTable, states: dict[str, str], excluded: set[str]) -> list[str]:
    """Expected modules that configure will not build, each with its state."""
    return [
        f"{name} ({states[name.upper()]})"
        for name in expected_modules(table, states, excluded)
        if states.get(name.upper(), "yes") != "yes"
    ]


def setup_local(setup_stdlib: Path, table: ModuleTable, setup_rules: tuple[str, ...] | None) -> str:
    """Setup.local: the test-only modules as shared objects, out of the core; with
    `setup_rules` (the setup.py era), also those rules and all of Setup.stdlib, built in.

    makesetup takes the first rule for a module, and Setup.local is read before the
    generated Setup.stdlib, so the test modules' `*shared*` lines override its `*static*` ones.
    """
    stdlib = setup_stdlib.read_text()
    lines = ["*shared*"]
    for line in stdlib.splitlines():
        words = line.split()
        if words and words[0] in table.test:
            lines.append(line)
    if setup_rules is not None:
        lines += ["*static*", *setup_rules, *stdlib.splitlines()]
    return "\n".join(lines) + "\n"
