"""Comparing interpreters from repeated samples: per-benchmark median ratios with their
confidence intervals, the geometric means, and the benchmarks that failed.

pyperf suites are read as plain JSON (the format pyperf documents), so comparing needs neither
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

from .provenance import Provenance
from .stats import (CONFIDENCE, RESAMPLES, Interval, family_weights, geomean_interval,
                    median_interval, paired_ratios)

# The pyperf file format pyperformance 1.x writes. Its run values are already per inner loop,
# in the benchmark's unit; older formats stored them differently, so they are refused.
PYPERF_FORMAT = "1.0"


@dataclass(frozen=True, kw_only=True)
class Measurements:
    """What an interleaved run measured. A sample is the mean of the values of one
    pyperformance run of one benchmark on one interpreter, in seconds; None where it failed."""

    rounds: int
    samples: dict[str, dict[str, list[float | None]]]  # label -> result -> one per round
    families: dict[str, list[str]]  # benchmark run -> the results it produced
    order: list[list[str]]  # per round, "<benchmark> on <label>" in the order they ran

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "samples_seconds": self.samples,
                "families": self.families, "order": self.order}


@dataclass(frozen=True, kw_only=True)
class Row:
    """One benchmark result on both sides."""

    name: str
    base: list[float | None]
    changed: list[float | None]
    weight: float  # in the family-weighted geometric mean
    ratio: Interval | None  # median of the per-round ratios; None if no round ran on both

    @property
    def failed(self) -> bool:
        return None in self.base or None in self.changed


@dataclass(frozen=True, kw_only=True)
class Comparison:
    base: str
    changed: str
    rows: list[Row]
    geomean: Interval | None  # families weighted as one benchmark: the headline
    geomean_per_benchmark: Interval | None  # every result weighted 1

    @property
    def failures(self) -> list[Row]:
        return [row for row in self.rows if row.failed]

    def meets(self, goal: float) -> bool:
        """The headline's lower bound reaches the goal and no benchmark failed on either side:
        a failed benchmark is one the mean cannot speak for."""
        return self.geomean is not None and not self.failures and self.geomean.clears(goal)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "changed": self.changed,
            "benchmarks": [
                {"name": row.name, "weight": row.weight, "base_seconds": row.base,
                 "changed_seconds": row.changed,
                 "ratio": row.ratio.to_json() if row.ratio else None, "failed": row.failed}
                for row in self.rows
            ],
            "geomean_families_weighted": _json(self.geomean),
            "geomean_per_benchmark": _json(self.geomean_per_benchmark),
            "failed": [row.name for row in self.failures],
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


def compare(measurements: Measurements, base: str, changed: str) -> Comparison:
    """Compare two interpreters of one run, result by result."""
    weights = family_weights(measurements.families)
    rows = []
    for name in sorted(weights):
        b, c = measurements.samples[base][name], measurements.samples[changed][name]
        ratios = paired_ratios(b, c)
        rows.append(Row(name=name, base=b, changed=c, weight=weights[name],
                        ratio=median_interval(ratios) if ratios else None))
    ratios = {row.name: paired_ratios(row.base, row.changed) for row in rows if row.ratio}
    return Comparison(
        base=base, changed=changed, rows=rows,
        geomean=geomean_interval(ratios, weights) if ratios else None,
        geomean_per_benchmark=geomean_interval(ratios, dict.fromkeys(ratios, 1.0))
        if ratios else None,
    )


def markdown_table(comparison: Comparison) -> str:
    """The comparison as a markdown table, the geometric means, then what failed."""
    base, changed = comparison.base, comparison.changed
    percent = f"{CONFIDENCE:.0%}"
    lines = [
        f"| benchmark | weight | {base} (ms) | {changed} (ms) | ratio [{percent} interval] |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {row.name} | {row.weight:.3g} | {_side(row.base)} | {_side(row.changed)} "
            f"| {row.ratio.text() if row.ratio else 'n/a'} |"
            for row in comparison.rows
        ),
        f"| **geometric mean, families weighted as one (headline)** | | | | "
        f"**{interval_text(comparison.geomean)}** |",
        f"| geometric mean, every benchmark weighted 1 | | | | "
        f"{interval_text(comparison.geomean_per_benchmark)} |",
        "",
        f"Times are medians over the rounds. ratio = {base} time / {changed} time within a "
        f"round, median over the rounds: above 1, {changed} is faster. Intervals: {percent} "
        f"percentile bootstrap over the rounds ({RESAMPLES} resamples). The results of one "
        f"pyperformance benchmark (e.g. xml_etree's four) are a family and share one weight.",
    ]
    failures = comparison.failures
    if failures:
        lines.append(
            "Failed (the geometric means leave out the rounds that failed; no goal is met "
            "while any benchmark fails): "
            + "; ".join(f"{row.name} on {_failed_sides(row, base, changed)}" for row in failures)
            + "."
        )
    return "\n".join(lines) + "\n"


def _side(samples: list[float | None]) -> str:
    ran = [s for s in samples if s is not None]
    if not ran:
        return "failed"
    failed = [str(i + 1) for i, s in enumerate(samples) if s is None]
    note = f" (failed in round {', '.join(failed)})" if failed else ""
    return _milliseconds(statistics.median(ran)) + note


def _failed_sides(row: Row, base: str, changed: str) -> str:
    return " and ".join(
        f"{label} (round {', '.join(str(i + 1) for i, s in enumerate(samples) if s is None)})"
        for label, samples in ((base, row.base), (changed, row.changed)) if None in samples
    )


def interval_text(interval: Interval | None) -> str:
    return interval.text() if interval else "n/a (no benchmark ran on both)"


def verdict(interval: Interval | None, goal: float, failed: list[str]) -> str:
    """Whether a goal is met, and why: by the interval's lower bound, and only when nothing
    failed."""
    if failed:
        return f"not met: failed {', '.join(failed)}"
    if interval is None:
        return "not met: nothing measured"
    sign = "≥" if interval.clears(goal) else "<"
    return (f"{'met' if interval.clears(goal) else 'not met'}: lower bound "
            f"{interval.low:.3f} {sign} {goal:.2f}")


def run_line(run: Provenance, interpreters: dict[str, dict[str, str]]) -> str:
    """Who measured what: the run's date and pbs revision, each interpreter's path and version."""
    measured = "; ".join(f"{label} = `{i['python']}` ({i['version']})"
                         for label, i in interpreters.items())
    return f"Measured by this run ({run.text()}): {measured}."


def _json(interval: Interval | None) -> dict[str, float] | None:
    return interval.to_json() if interval else None


def _milliseconds(seconds: float) -> str:
    """Milliseconds to four significant digits without an exponent: benchmark means range from
    about 100 ns (logging_silent) to seconds, and every cell must stay readable."""
    ms = seconds * 1000
    decimals = max(0, 3 - math.floor(math.log10(ms)))
    return f"{ms:.{decimals}f}"
