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

from pbs.cpython.makesetup import (
    Comment,
    Marker,
    Section,
    SetupLine,
    module_rules,
    parse,
    read_setup,
)
from pbs.errors import PbsError

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
    bootstrap = _names(read_setup(modules / "Setup.bootstrap.in"))
    stdlib = read_setup(modules / "Setup.stdlib.in")
    heading = Comment(_TEST_HEADING)
    if heading not in stdlib:
        raise PbsError(f"{modules / 'Setup.stdlib.in'} has no '{_TEST_HEADING}' section")
    # The test section runs to the end, or to a later `*static*` (3.15 adds one for _asyncio).
    section = stdlib[stdlib.index(heading):]
    if Marker(Section.STATIC) in section:
        section = section[: section.index(Marker(Section.STATIC))]
    return ModuleTable(bootstrap=bootstrap, stdlib=_names(stdlib), test=_names(section))


def with_setup_rules(table: ModuleTable, rules: tuple[str, ...]) -> ModuleTable:
    """The table plus the modules that pbs's own Setup rules build (the setup.py era)."""
    return replace(table, stdlib=table.stdlib + _names(parse("\n".join(rules))))


def _names(lines: tuple[SetupLine, ...]) -> tuple[str, ...]:
    return tuple(rule.name for rule in module_rules(lines))


def module_states(makefile: Path) -> dict[str, str]:
    """`MODULE_<NAME>_STATE` of every optional module, keyed by the Makefile's upper-case name."""
    return {name: state.strip() for name, state in _STATE_LINE.findall(makefile.read_text())}


def _platform_modules(table: ModuleTable, states: dict[str, str], excluded: set[str]) -> list[str]:
    """Every module of the table this platform can have, minus the deliberate exclusions."""
    return [
        name
        for name in table.all
        if name not in excluded and states.get(name.upper(), "yes") != "n/a"
    ]


def unbuilt_modules(table: ModuleTable, states: dict[str, str], excluded: set[str]) -> list[str]:
    """Expected modules that configure will not build, each with its state."""
    return [
        f"{name} ({states[name.upper()]})"
        for name in _platform_modules(table, states, excluded)
        if states.get(name.upper(), "yes") != "yes"
    ]


def setup_local(setup_stdlib: Path, table: ModuleTable, setup_rules: tuple[str, ...] | None,
                excluded: frozenset[str] = frozenset()) -> str:
    """Setup.local: the test-only modules (but `excluded` ones) as shared objects, out of the
    core; with `setup_rules` (the setup.py era), also those rules and all of Setup.stdlib,
    built in.

    makesetup takes the first rule for a module, and Setup.local is read before the
    generated Setup.stdlib, so the test modules' `*shared*` lines override its `*static*` ones.
    """
    stdlib = setup_stdlib.read_text()
    lines = [Section.SHARED.value]
    lines += [rule.line for rule in module_rules(parse(stdlib))
              if rule.name in table.test and rule.name not in excluded]
    if setup_rules is not None:
        lines += [Section.STATIC.value, *setup_rules, *stdlib.splitlines()]
    return "\n".join(lines) + "\n"
