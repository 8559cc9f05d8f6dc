"""Helpers shared by every storage backend (no SQL here)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import resources
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import StoreError
from ..models import format_time

__all__ = ["format_time", "guarding", "is_postgres_url", "mask_url", "numbered_migrations", "parse_time"]


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    # fromisoformat reads our fixed format (trailing Z included) ~50× faster than strptime.
    return datetime.fromisoformat(text)


def is_postgres_url(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def mask_url(url: str) -> str:
    """A database URL with its password as *** (what every message and listing shows)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def numbered_migrations(package: str) -> list[tuple[int, str, str]]:
    """(number, name, sql) of every numbered migration (`NNNN_name.sql`) of a backend's
    `migrations` folder, in order."""
    out = []
    folder = resources.files(package) / "migrations"
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, item.read_text(encoding="utf-8")))
    return sorted(out)


class _Guarded(Protocol):
    def _driver_error(self, e: Any) -> StoreError: ...


C = TypeVar("C", bound=type)


def guarding(catch: tuple[type[BaseException], ...], is_bug: Callable[[Any], bool]) -> Callable[[C], C]:
    """A class decorator: every public method of the class, those it inherits from its domain
    mixins included, raises `self._driver_error(e)` (a StoreError) instead of a driver error
    `e` (one of `catch`, unless `is_bug(e)`: misuse keeps its traceback), generators while they
    are iterated too; a method added later is covered without doing anything."""

    def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def rows(self: _Guarded, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(self, *args, **kwargs)
                except catch as e:
                    if is_bug(e):
                        raise
                    raise self._driver_error(e) from e

            return rows

        @functools.wraps(fn)
        def call(self: _Guarded, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except catch as e:
                if is_bug(e):
                    raise
                raise self._driver_error(e) from e

        return call

    def decorate(cls: C) -> C:
        for name in dir(cls):
            attr = inspect.getattr_static(cls, name)
            if not name.startswith("_") and inspect.isfunction(attr):
                setattr(cls, name, guard(attr))
        return cls

    return decorate
def week_of(when: datetime) -> str:
    """The week (Monday to Sunday, UTC) of `when`, named by its Monday: YYYY-MM-DD."""
    from datetime import timedelta

    day = when.date()
    return (day - timedelta(days=day.weekday())).isoformat()
