"""CPython itself: its module tables, configure/make, relocation, the distribution tree."""
