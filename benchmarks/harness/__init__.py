"""The benchmark harness: running pyperformance on interpreters, and comparing their results."""
