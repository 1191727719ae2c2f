"""Cached steps: the one engine every cached step runs through, its scheduler, and the
dependency stage (every C library as a step)."""
