"""Errors pbs reports to its user; each class carries the process exit code it maps to."""

from __future__ import annotations


class PbsError(Exception):
    """A failure explained to the user in one message; no traceback is shown."""

    exit_code = 1


class UsageError(PbsError):
    """Bad input: something the catalog does not know (version, target, option), or a value,
    file or directory named on the command line or in the environment that cannot be used."""

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


class CacheError(PbsError):
    """The cache changed under a running pbs (a directory in use was deleted)."""
