"""Comparing two pyperf result suites: per-benchmark means, their ratios, their geometric mean.

The suites are read as plain JSON (the format pyperf documents), so comparing needs neither
pyperf nor pyperformance in the Python that runs the harness.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The pyperf file format pyperformance 1.x writes. Its run values are already per inner loop,
# in the benchmark's unit; older formats stored them differently, so they are refused.
PYPERF_FORMAT = "1.0"


@dataclass(frozen=True, kw_only=True)
class Row:
    """One benchmark present in both suites; means in seconds."""

    name: str
    base_mean: float
    changed_mean: float

    @property
    def ratio(self) -> float:
        """How many times faster `changed` is: above 1 it is faster, below 1 slower."""
        return self.base_mean / self.changed_mean


@dataclass(frozen=True, kw_only=True)
class Comparison:
    rows: list[Row]
    only_in_base: list[str]
    only_in_changed: list[str]

    @property
    def geomean(self) -> float | None:
        """The geometric mean of the ratios (the usual summary of speed ratios: a benchmark
        twice as fast and one twice as slow cancel out); None when no benchmark is shared."""
        if not self.rows:
            return None
        return statistics.geometric_mean(row.ratio for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmarks": [
                {
                    "name": row.name,
                    "base_mean_seconds": row.base_mean,
                    "changed_mean_seconds": row.changed_mean,
                    "ratio": row.ratio,
                }
                for row in self.rows
            ],
            "geomean": self.geomean,
            "only_in_base": self.only_in_base,
            "only_in_changed": self.only_in_changed,
        }


def load_suite(path: Path) -> dict[str, Any]:
    """A pyperf JSON file (gzip-compressed if named *.gz, as pyperf does) as parsed JSON."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    suite = json.loads(raw)
    if suite.get("version") != PYPERF_FORMAT:
        raise ValueError(f"{path}: pyperf format {suite.get('version')!r}, not {PYPERF_FORMAT}")
    return suite


def suite_means(path: Path) -> dict[str, float]:
    """Each benchmark's mean in seconds, over the values of all its runs, as pyperf computes it.

    Metadata (the name, the unit) may sit on the suite or on the benchmark, the latter winning.
    Runs without values (pyperf's calibration runs, which hold only warmups) add nothing.
    """
    suite = load_suite(path)
    means = {}
    for bench in suite["benchmarks"]:
        metadata = {**suite.get("metadata", {}), **bench.get("metadata", {})}
        name = metadata["name"]
        # pyperf's default unit; pyperformance's --track-memory would record bytes instead.
        if metadata.get("unit", "second") != "second":
            raise ValueError(f"{path}: {name} is measured in {metadata['unit']}, not seconds")
        values = [value for run in bench["runs"] for value in run.get("values", [])]
        if not values:
            raise ValueError(f"{path}: {name} has no values")
        means[name] = statistics.fmean(values)
    return means


def compare(base: Path, changed: Path) -> Comparison:
    """Compare two suites benchmark by benchmark; benchmarks in one only are listed apart."""
    base_means = suite_means(base)
    changed_means = suite_means(changed)
    return Comparison(
        rows=[
            Row(name=name, base_mean=base_means[name], changed_mean=changed_means[name])
            for name in sorted(base_means.keys() & changed_means.keys())
        ],
        only_in_base=sorted(base_means.keys() - changed_means.keys()),
        only_in_changed=sorted(changed_means.keys() - base_means.keys()),
    )


def markdown_table(comparison: Comparison, base_label: str, changed_label: str) -> str:
    """The comparison as a markdown table, then a line per label naming what it lacks."""
    geomean = comparison.geomean
    lines = [
        f"| benchmark | {base_label} (ms) | {changed_label} (ms) | ratio |",
        "|---|---:|---:|---:|",
        *(
            f"| {row.name} | {_milliseconds(row.base_mean)} "
            f"| {_milliseconds(row.changed_mean)} | {row.ratio:.3f} |"
            for row in comparison.rows
        ),
        f"| **geometric mean** | | | **{'n/a' if geomean is None else f'{geomean:.3f}'}** |",
        "",
        f"ratio = {base_label} mean / {changed_label} mean: above 1, {changed_label} is faster.",
    ]
    for label, names in (
        (base_label, comparison.only_in_changed),
        (changed_label, comparison.only_in_base),
    ):
        if names:
            lines.append(f"Missing for {label} (failed or not run): {', '.join(names)}.")
    return "\n".join(lines) + "\n"


def _milliseconds(seconds: float) -> str:
    """Milliseconds to four significant digits without an exponent: benchmark means range from
    about 100 ns (logging_silent) to seconds, and every cell must stay readable."""
    ms = seconds * 1000
    decimals = max(0, 3 - math.floor(math.log10(ms)))
    return f"{ms:.{decimals}f}"
