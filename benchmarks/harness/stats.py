"""Medians, bootstrap confidence intervals and weighted geometric means of speed ratios.

A ratio is base time / changed time of one round: both sides of a round ran next to each other,
so drift of the machine (frequency, other load) falls on both and cancels in the ratio. The
bootstrap resamples those per-round ratios with replacement; its resampling is seeded, so that
a report is a function of its samples alone.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
RESAMPLES = 10_000
SEED = 2026


@dataclass(frozen=True, kw_only=True)
class Interval:
    """A point estimate and its bootstrap confidence interval."""

    estimate: float
    low: float
    high: float

    def clears(self, goal: float) -> bool:
        """Whether the goal is met: the whole interval, its lower bound included, reaches it."""
        return self.low >= goal

    def to_json(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}

    def text(self, digits: int = 3) -> str:
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def paired_ratios(base: Sequence[float | None], changed: Sequence[float | None]) -> list[float]:
    """base/changed of each round where both sides have a sample (None: failed that round)."""
    return [b / c for b, c in zip(base, changed, strict=True) if b is not None and c is not None]


def median_interval(values: Sequence[float], rng: random.Random | None = None) -> Interval:
    """The median of `values` and the percentile-bootstrap interval of the median."""
    rng = rng or random.Random(SEED)
    medians = [statistics.median(rng.choices(values, k=len(values))) for _ in range(RESAMPLES)]
    return _interval(statistics.median(values), medians)


def geomean_interval(ratios: Mapping[str, Sequence[float]], weights: Mapping[str, float],
                     rng: random.Random | None = None) -> Interval:
    """The weighted geometric mean of each benchmark's median ratio, and its bootstrap interval.

    Each resample draws every benchmark's rounds anew, independently of the other benchmarks
    (their rounds are not matched: one round of all benchmarks spans the whole run).
    """
    rng = rng or random.Random(SEED)
    estimate = weighted_geomean({name: statistics.median(r) for name, r in ratios.items()},
                                weights)
    resampled = [
        weighted_geomean({name: statistics.median(rng.choices(r, k=len(r)))
                          for name, r in ratios.items()}, weights)
        for _ in range(RESAMPLES)
    ]
    return _interval(estimate, resampled)


def weighted_geomean(ratios: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """exp of the weighted mean of the logs: a ratio of 2 and one of 1/2, weighted alike,
    cancel out."""
    total = sum(weights[name] for name in ratios)
    return math.exp(sum(weights[name] * math.log(r) for name, r in ratios.items()) / total)


def family_weights(families: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Each family (the results one pyperformance benchmark produced, e.g. xml_etree's four)
    weighs 1 in all, shared equally by its members, so that a benchmark reported in four
    variants does not count four times."""
    return {member: 1 / len(members) for members in families.values() for member in members}


def _interval(estimate: float, resampled: list[float]) -> Interval:
    resampled.sort()
    tail = (1 - CONFIDENCE) / 2
    low = resampled[math.floor(tail * len(resampled))]
    high = resampled[math.ceil((1 - tail) * len(resampled)) - 1]
    return Interval(estimate=estimate, low=low, high=high)
