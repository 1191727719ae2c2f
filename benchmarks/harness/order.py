"""The order in which interleaved measurements run: shuffled afresh each round.

A fixed order would give each benchmark (or interpreter) the same place in every round, so
whatever the machine does at that moment (a periodic job, heat building up over the run) would
fall on it every time; a new order per round spreads it over all of them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def round_orders(items: Sequence[T], rounds: int, rng: random.Random) -> list[list[T]]:
    """One order of `items` per round, each differing from the round before (when there are
    two items or more: two interpreters then alternate which goes first)."""
    orders: list[list[T]] = []
    for _ in range(rounds):
        order = rng.sample(list(items), len(items))
        while len(items) > 1 and orders and order == orders[-1]:
            order = rng.sample(list(items), len(items))
        orders.append(order)
    return orders
