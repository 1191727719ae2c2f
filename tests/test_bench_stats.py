"""The harness's statistics: bootstrap intervals, family weights, the order of rounds, and the
comparison report built from them. Small fake samples only; nothing is benchmarked."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import order, report, stats


def test_three_samples_give_the_median_and_an_interval_from_smallest_to_largest() -> None:
    interval = stats.median_interval([1.02, 1.18, 1.06])
    assert interval == stats.Interval(estimate=1.06, low=1.02, high=1.18)


def test_the_interval_narrows_with_more_samples_of_the_same_spread() -> None:
    rng = random.Random(5)
    many = [rng.gauss(1.10, 0.05) for _ in range(60)]
    few, wide = stats.median_interval(many[:3]), stats.median_interval(many)
    assert wide.high - wide.low < few.high - few.low
    assert wide.low < wide.estimate < wide.high
    # Seeded resampling: the same samples give the same report.
    assert stats.median_interval(many) == wide


def test_a_goal_is_met_only_when_the_lower_bound_reaches_it() -> None:
    assert not stats.Interval(estimate=1.10, low=1.04, high=1.20).clears(1.05)
    assert stats.Interval(estimate=1.10, low=1.05, high=1.20).clears(1.05)
    assert stats.Interval(estimate=1.10, low=1.05, high=1.20).text() == "1.100 [1.050, 1.200]"


def test_ratios_pair_rounds_and_skip_those_that_failed_on_either_side() -> None:
    assert stats.paired_ratios([2.0, None, 3.0, 4.0], [1.0, 1.0, None, 2.0]) == [2.0, 2.0]


def test_a_family_weighs_as_one_benchmark_in_the_geometric_mean() -> None:
    weights = stats.family_weights({"xml_etree": ["x1", "x2", "x3", "x4"], "nbody": ["nbody"]})
    assert weights == {"x1": 0.25, "x2": 0.25, "x3": 0.25, "x4": 0.25, "nbody": 1.0}
    ratios = {"x1": 2.0, "x2": 2.0, "x3": 2.0, "x4": 2.0, "nbody": 1.0}
    assert stats.weighted_geomean(ratios, weights) == pytest.approx(math.sqrt(2))
    assert stats.weighted_geomean(ratios, dict.fromkeys(ratios, 1.0)) == pytest.approx(2 ** 0.8)
    # Twice as fast and twice as slow cancel out.
    assert stats.weighted_geomean({"a": 2.0, "b": 0.5}, {"a": 1, "b": 1}) == pytest.approx(1.0)


def test_the_geometric_mean_interval_spans_the_benchmarks_spread() -> None:
    steady = stats.geomean_interval({"a": [2.0, 2.0, 2.0], "b": [1.0, 1.0, 1.0]},
                                    {"a": 1, "b": 1})
    assert steady.estimate == pytest.approx(math.sqrt(2))
    assert steady.low == pytest.approx(steady.high)
    noisy = stats.geomean_interval({"a": [1.8, 2.0, 2.4], "b": [0.9, 1.0, 1.2]},
                                   {"a": 1, "b": 1})
    assert noisy.estimate == pytest.approx(math.sqrt(2))
    assert math.sqrt(1.8 * 0.9) <= noisy.low < noisy.estimate < noisy.high <= math.sqrt(2.4 * 1.2)


def test_each_round_has_an_order_of_its_own() -> None:
    rng = random.Random(0)
    orders = order.round_orders(["a", "b"], 5, rng)
    # Two interpreters alternate which goes first.
    assert [o[0] for o in orders] in (["a", "b", "a", "b", "a"], ["b", "a", "b", "a", "b"])
    assert all(sorted(o) == ["a", "b"] for o in orders)
    many = order.round_orders(list(range(20)), 3, rng)
    assert all(sorted(o) == list(range(20)) for o in many)
    assert many[0] != many[1] != many[2]
    assert order.round_orders(["only"], 3, rng) == [["only"]] * 3


def measurements(changed: dict[str, list[float | None]]) -> report.Measurements:
    base = {name: [0.1] * 3 for name in changed}
    return report.Measurements(
        rounds=3, samples={"debian-3.11": base, "pbs-3.11": changed},
        families={"xml_etree": ["xml_etree_parse", "xml_etree_process"], "nbody": ["nbody"],
                  "sqlite_synth": ["sqlite_synth"]},
        order=[],
    )


def test_the_report_shows_medians_intervals_weights_both_geomeans_and_failures() -> None:
    comparison = report.compare(measurements({
        "xml_etree_parse": [0.05, 0.05, 0.05], "xml_etree_process": [0.05, 0.05, 0.05],
        "nbody": [0.1, 0.1, 0.1], "sqlite_synth": [0.08, None, 0.08],
    }), "debian-3.11", "pbs-3.11")

    lines = report.markdown_table(comparison).splitlines()
    assert lines[0] == ("| benchmark | weight | debian-3.11 (ms) | pbs-3.11 (ms) "
                        "| ratio [95% interval] |")
    assert "| nbody | 1 | 100.0 | 100.0 | 1.000 [1.000, 1.000] |" in lines
    assert "| xml_etree_parse | 0.5 | 100.0 | 50.00 | 2.000 [2.000, 2.000] |" in lines
    assert ("| sqlite_synth | 1 | 100.0 | 80.00 (failed in round 2) | 1.250 [1.250, 1.250] |"
            in lines)
    headline = (2 * 1 * 1.25) ** (1 / 3)
    assert (f"| **geometric mean, families weighted as one (headline)** | | | | "
            f"**{headline:.3f} [{headline:.3f}, {headline:.3f}]** |") in lines
    per_benchmark = (2 * 2 * 1 * 1.25) ** (1 / 4)
    assert any(line.startswith("| geometric mean, every benchmark weighted 1")
               and f"{per_benchmark:.3f} [" in line for line in lines)
    assert lines[-1].startswith("Failed (") and lines[-1].endswith(
        "sqlite_synth on pbs-3.11 (round 2).")

    # Fast enough, but a failure stands: the goal is not met, and the verdict says why.
    assert comparison.geomean.clears(1.05) and not comparison.meets(1.05)
    assert report.verdict(comparison.geomean, 1.05, ["sqlite_synth"]) == (
        "not met: failed sqlite_synth")
    json = comparison.to_json()
    assert json["failed"] == ["sqlite_synth"]
    assert json["geomean_families_weighted"]["estimate"] == pytest.approx(headline)


def test_a_benchmark_that_failed_in_every_round_has_no_ratio_but_is_listed() -> None:
    comparison = report.compare(measurements({
        "xml_etree_parse": [0.05] * 3, "xml_etree_process": [0.05] * 3,
        "nbody": [0.09] * 3, "sqlite_synth": [None] * 3,
    }), "debian-3.11", "pbs-3.11")
    row = next(row for row in comparison.rows if row.name == "sqlite_synth")
    assert row.ratio is None and row.failed
    assert "| sqlite_synth | 1 | 100.0 | failed | n/a |" in report.markdown_table(comparison)


def test_verdicts_name_the_lower_bound() -> None:
    interval = stats.Interval(estimate=1.08, low=1.03, high=1.12)
    assert report.verdict(interval, 1.05, []) == "not met: lower bound 1.030 < 1.05"
    assert report.verdict(interval, 1.0, []) == "met: lower bound 1.030 ≥ 1.00"
    assert report.verdict(None, 1.0, []) == "not met: nothing measured"
