"""The exception hierarchy: one root, one subclass per pipeline stage.

Expected failures (a bad feed, a bad config key) are raised as these and shown to the
user as one line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from datetime import datetime


class NewsdeskError(Exception):
    """Root of every error newsdesk raises on purpose."""


class ConfigError(NewsdeskError):
    """The configuration file is missing, unreadable or invalid."""


class SourceError(NewsdeskError):
    """A feed source (OPML file, route, feed definition) is invalid."""


class FetchError(NewsdeskError):
    """A feed or page could not be fetched."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class FetchDeferred(FetchError):
    """Not fetched: the host asked to be left alone until `until` (429/503 with Retry-After)."""

    def __init__(self, message: str, *, url: str | None = None, until: datetime) -> None:
        super().__init__(message, url=url)
        self.until = until


class FeedGone(FetchError):
    """The server answered 410 Gone: the feed was removed for good (the scheduler pauses it)."""


class ParseError(NewsdeskError):
    """Feed bytes could not be turned into entries."""


class CleanError(NewsdeskError):
    """An article could not be cleaned."""


class StoreError(NewsdeskError):
    """The archive could not be read or written."""


class StoreCorruptError(StoreError):
    """The archive file is damaged, empty or not a database at all."""


class StoreLockedError(StoreError):
    """Another process held a lock on the archive for longer than the busy timeout."""


class StoreFullError(StoreError):
    """The disk holding the archive (or SQLite's temporary files) is full."""


class StoreIOError(StoreError):
    """The archive file cannot be opened, read or written: I/O error, read-only, permissions."""


class UserExistsError(StoreError):
    """A user of that name already exists."""


class PublishError(NewsdeskError):
    """A publisher could not write its output."""


class SearchError(NewsdeskError):
    """The search index cannot be used, or a query cannot be understood."""


class ServeError(NewsdeskError):
    """`newsdesk serve` cannot start or run: address in use, bad settings."""


class FeedExistsError(StoreError):
    """A feed with that key (group/site/name) is already in the catalogue."""
