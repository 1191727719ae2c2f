"""Errors pbs reports to its user; each class carries the process exit code it maps to."""

from __future__ import annotations


class PbsError(Exception):
    """A failure explained to the user in one message; no traceback is shown."""

    exit_code = 1


class UsageError(PbsError):
    """The request names something the catalog does not know (version, target, option)."""

    exit_code = 2


class CatalogError(PbsError):
    """The catalog data itself is inconsistent."""


class HashMismatch(PbsError):
    """Downloaded bytes are not the pinned ones."""


class FetchError(PbsError):
    """No location could provide an artifact."""


class UnsafeArchive(PbsError):
    """An archive tried to write outside its destination or holds a forbidden member."""


class CommandFailed(PbsError):
    """An external command exited non-zero; the message shows its log's tail."""
