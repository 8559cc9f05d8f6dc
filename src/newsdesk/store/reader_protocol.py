"""The storage interface's reader-facing roles: users and their sessions, read and starred state,
app passwords, the web app's pages, rules, Fever's ids and kept media.

Split from `newsdesk.store.protocol` (which re-exports every one of them, and whose `Store` is all
of them) so that each module stays readable; the archive's roles stay there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal, Protocol

from ..models import (
    AppPassword,
    CachedImage,
    EntryQuery,
    Favicon,
    FeedPlace,
    KeywordRule,
    ListedEntry,
    ReaderEntry,
    RuleAction,
    SitePlace,
    StoryCopy,
    User,
)


class UserStore(Protocol):
    """People, their API tokens and browser sessions. Secrets arrive hashed: passwords by argon2
    (`newsdesk.accounts`), tokens and session ids (random, 256 bits) by SHA-256; the store never
    sees a secret itself. Names are unique; adding a taken name raises `UserExistsError`."""

    def add_user(self, name: str, password_hash: str, *, admin: bool, now: datetime) -> User: ...

    def get_user(self, name: str) -> User | None: ...

    def user_by_id(self, user_id: int) -> User | None: ...

    def list_users(self) -> list[User]:
        """Every user, by name."""

    def password_hash(self, name: str) -> str | None: ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """False when there is no such user. Ends the user's browser sessions."""

    def remove_user(self, name: str) -> bool:
        """Remove the user with their tokens, sessions and read state; False when there is none."""

    def add_token(self, user_id: int, token_hash: str, *, label: str, now: datetime) -> None: ...

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The token's user (and note when the token was last used, at most once a minute: a
        write per request would queue every reader behind the archive's one writer)."""

    def add_session(self, user_id: int, session_hash: str, *, expires: datetime, now: datetime) -> None:
        """Start a session (and forget the sessions that expired by `now`)."""

    def user_for_session(self, session_hash: str, now: datetime) -> User | None:
        """The session's user while it has not expired."""

    def remove_session(self, session_hash: str) -> None: ...


class ReadingStore(Protocol):
    """Each reader's read and starred state over the one shared archive. An entry is unread
    and unstarred until its reader says otherwise; an entry removed from the archive takes
    every reader's state of it along."""

    def reader_entries(
        self,
        user_id: int,
        query: EntryQuery,
        *,
        limit: int,
        after: str | None = None,
        bodies: bool = False,
    ) -> tuple[list[ReaderEntry], str | None]:
        """One page of entries, newest first (sort time, then uid), and the cursor of the next
        page (None on the last). `after` is a cursor this method returned (an opaque string,
        safe in a URL); a malformed one raises `StoreError`, as does a `limit` below 1. Pages
        are keyset pages: entries that arrive while a reader pages (newer than the cursor)
        never shift or repeat the pages that follow.

        Without `bodies` (a list's case) the entries come without their bodies: `content` is
        "", `page` None and their article's `html` and `text` are ""; every other field is
        there. `reader_entry` gives an entry whole."""

    def reader_list(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[ListedEntry], str | None]:
        """The page `reader_entries` gives (same order, same cursors), each entry with only
        what a list's row shows and its story (`cluster_refs`'): the web app's lists."""

    def reader_entries_json(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        """The page `reader_entries` gives (same order, same cursors), each entry as the API's
        JSON text, rendered by the database: `entry_json.entry_dict`'s keys (no bodies) plus
        `read`, `starred` and `cluster` (`{"id", "size", "sources", "canonical"}` of its story
        when it has other members, else null); times as ISO 8601 with `+00:00`."""

    def reader_entry(self, user_id: int, uid: str) -> ReaderEntry | None:
        """The entry, whole, with the reader's state; None when the archive has no such entry."""

    def set_entry_state(
        self,
        user_id: int,
        uids: Sequence[str],
        *,
        read: bool | None = None,
        starred: bool | None = None,
        now: datetime,
    ) -> int:
        """Set read and/or starred (None leaves it) on these entries; how many exist (unknown
        uids are skipped)."""

    def mark_read(self, user_id: int, query: EntryQuery, *, before: datetime, now: datetime) -> int:
        """Mark read every entry the query lists whose first-seen time is before `before`
        (entries that arrived after the reader looked stay unread); how many changed (entries
        already read do not count). One statement, however many entries."""

    def unread_counts(self, user_id: int) -> dict[str, tuple[int, int]]:
        """feed key → (unread, all) entries of every feed in the archive."""


class AppPasswordStore(Protocol):
    """App passwords of reader apps (the Google Reader API's ClientLogin): SHA-256 hashes of
    each password and of the Auth token derived from it (`accounts.app_auth_token`); removing
    a user removes theirs."""

    def add_app_password(
        self, user_id: int, password_hash: str, auth_hash: str, *, label: str, now: datetime
    ) -> None: ...

    def user_for_app_password(self, name: str, password_hash: str) -> User | None:
        """The user named `name` when the password is one of theirs, else None."""

    def user_for_app_auth(self, auth_hash: str) -> User | None:
        """The user of the app password whose Auth token hashes to `auth_hash`, else None."""

    def remove_app_passwords(self, user_id: int) -> int:
        """Revoke every app password of the user (and so their apps' Auth tokens); how many."""

    def app_passwords(self, user_id: int) -> list[AppPassword]:
        """The user's app passwords, oldest first."""

    def remove_app_password(self, user_id: int, password_id: str) -> bool:
        """Revoke the user's app password of that id (`AppPassword.id`), with its Auth token
        and Fever key; False when the user has none of that id."""

    def app_password_used(
        self, now: datetime, *, password_hash: str = "", auth_hash: str = "", fever_key_hash: str = ""
    ) -> None:
        """Note that the app password (named by its hash, its Auth token's or its Fever key's)
        was used now."""

    def label_entries(
        self, user_id: int, uids: Sequence[str], label: str, now: datetime, *, add: bool
    ) -> int:
        """Put the reader's label on these entries (`add`), or take it off; how many entries
        of the archive there were among `uids`."""

    def entry_labels(self, user_id: int, uids: Sequence[str]) -> dict[str, list[str]]:
        """The reader's labels on each of these entries that has any, sorted."""

    def labelled_uids(self, user_id: int, label: str) -> list[str]:
        """The entries the reader put `label` on."""

    def item_labels(self, user_id: int) -> list[str]:
        """Every label the reader has on some entry, sorted."""

    def rename_item_label(self, user_id: int, old: str, new: str) -> int:
        """The reader's label `old` becomes `new` on every entry (merged where both were);
        how many entries had `old`."""

    def remove_item_label(self, user_id: int, label: str) -> int:
        """Take the reader's label off every entry; how many had it."""

    def reader_ids_oldest_first(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        """(uid, sort time) of a page of the query's entries oldest first, and the cursor of the
        next page (None on the last); a malformed cursor raises `StoreError`."""


class ReaderPagesStore(Protocol):
    """What the reader's pages read besides the roles above, each in one cheap query."""

    def site_places(self, user_id: int) -> list[SitePlace]:
        """Every site of the tree under its group, with the reader's unread count, in catalogue
        order (a site where its first feed is): the sidebar's skeleton in one read."""

    def feed_places(
        self, user_id: int, *, group: str | None = None, site: str | None = None, feed: str | None = None
    ) -> list[FeedPlace]:
        """Feeds' places in the tree (group, site, name), pause and the reader's unread count, in
        catalogue order: every feed, or those of one group, one site, or the site of `feed`."""

    def story_copies(self, uid: str, limit: int) -> list[StoryCopy]:
        """The other members of the entry's story cluster, earliest first, at most `limit`
        (a story can be carried by hundreds); [] when it has none."""


class RoleStore(Protocol):
    """What admins change about users beyond `UserStore`: their role."""

    def set_admin(self, name: str, admin: bool) -> bool:
        """Make the user an admin or a reader; False when there is no such user."""


class RuleStore(Protocol):
    """Each reader's keyword rules, and the rev up to which they were applied."""

    def add_rule(
        self,
        user_id: int,
        pattern: str,
        *,
        is_regex: bool,
        matching: bool,
        action: RuleAction,
        feed_key: str | None,
        now: datetime,
    ) -> KeywordRule:
        """A new rule; the reader's mark starts at today's rev if they had none (a rule judges
        entries that arrive from then on)."""

    def rules_of(self, user_id: int) -> list[KeywordRule]:
        """The reader's rules, oldest first."""

    def remove_rule(self, user_id: int, rule_id: int) -> bool:
        """False when the reader has no such rule."""

    def rules_mark(self, user_id: int) -> int | None:
        """The rev up to which the reader's rules were applied; None before their first rule."""

    def set_rules_mark(self, user_id: int, rev: int) -> None: ...


class FeverStore(Protocol):
    """The Fever API's stable integers and keys, and private view feeds' token nonces.

    Items are numbered when they arrive (never reused, growing with arrival, so `since_id`
    pages through everything once); feeds (by key) and groups (by name) when first listed."""

    def add_fever_key(self, password_hash: str, key_hash: str) -> None:
        """Keep a Fever key's hash beside its app password (revoking the password ends it)."""

    def user_for_fever_key(self, key_hash: str) -> User | None: ...

    def fever_feed_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """Each feed key's number, numbering new ones in the order given."""

    def fever_group_ids(self, names: Sequence[str]) -> dict[str, int]:
        """Each group name's number, numbering new ones in the order given."""

    def fever_item_page(
        self,
        *,
        since_id: int | None = None,
        max_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit: int = 50,
    ) -> list[tuple[int, str]]:
        """(number, uid) of at most `limit` items: those of `ids`, else numbered above
        `since_id` (ascending), else below `max_id` (descending), else the first ones."""

    def fever_item_count(self) -> int: ...

    def fever_last_arrival(self) -> datetime | None:
        """When the newest item arrived (first seen); None in an empty archive."""

    def fever_uids(self, ids: Sequence[int]) -> dict[int, str]:
        """number → uid of the items that exist."""

    def fever_ids_of(self, uids: Sequence[str]) -> dict[str, int]:
        """uid → number of the entries that exist."""

    def fever_state_ids(self, user_id: int, which: Literal["unread", "saved"]) -> list[int]:
        """Numbers of the reader's unread (or starred) items, ascending."""

    def reader_ids(
        self, user_id: int, query: EntryQuery, *, limit: int, after: str | None = None
    ) -> tuple[list[tuple[str, int]], str | None]:
        """(uid, sort time in microseconds since 1970) of the page `reader_entries` gives (same
        order, same cursors), read from the indexes alone: what reader apps' id lists need
        (`stream/items/ids`)."""

    def feed_token_nonce(self, user_id: int) -> str | None:
        """The nonce the reader's view-feed token is derived from; None when revoked."""

    def set_feed_token_nonce(self, user_id: int, nonce: str | None, now: datetime) -> None:
        """A new nonce (every earlier token stops working), or None to revoke."""


class MediaStore(Protocol):
    """Sites' icons and article images fetched once (newsdesk.media), marks of work following
    the archive's changes, and what the reader pages key their caches by."""

    def sites_needing_icons(self, retry_before: datetime, limit: int) -> list[tuple[str, str, str]]:
        """(group, site, page URL) of sites with no icon tried yet, or whose last try failed
        before `retry_before`; the page is the site's newest entry link, else a feed's URL."""

    def save_favicon(
        self,
        group: str,
        site: str,
        now: datetime,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        error: str | None = None,
    ) -> None:
        """Keep a site's icon (data and type), or why there is none (error)."""

    def site_favicon(self, group: str, site: str) -> Favicon | None:
        """The site's icon bytes and content type; None when it has none (yet)."""

    def favicon_sites(self) -> set[tuple[str, str]]:
        """(group, site) of every site that has an icon."""

    def site_favicons(self) -> list[Favicon]:
        """Every site's icon that there is (bytes and type), by group and site."""

    def image_urls(self, uids: Iterable[str]) -> list[str]:
        """The content images' URLs of these entries' cleaned articles."""

    def known_images(self, names: Iterable[str]) -> set[str]:
        """Which of these image names (SHA-256 of the URL) were tried already, kept or not."""

    def save_image(
        self,
        name: str,
        url: str,
        now: datetime,
        *,
        content_type: str | None = None,
        size: int = 0,
        error: str | None = None,
    ) -> None:
        """Record an image kept under `name` (its type and size), or why it could not be had."""

    def cached_image(self, name: str) -> CachedImage | None:
        """The kept image of that name; None when there is none (never tried, or failed)."""

    def referenced_image_urls(self) -> set[str]:
        """The URLs of every image a stored cleaned article refers to."""

    def cached_image_names(self, *, kept: bool = False) -> set[str]:
        """The name of every image tried, kept or not (`kept`: of those kept)."""

    def forget_images(self, names: Iterable[str]) -> int:
        """Forget these images (kept or not): how many were known."""

    def last_removal(self) -> int:
        """The rev of the latest entry removed from the archive; 0 when none ever was."""

    def change_mark(self, name: str) -> int | None:
        """The rev up to which the named background work got; None before its first run."""

    def set_change_mark(self, name: str, rev: int) -> None: ...

    def tree_version(self, user_id: int) -> tuple[int, int, int]:
        """Counters that change whenever the reader's sidebar would: the tree's (feeds added,
        moved or removed, icons kept), the reader's read state's, the archive's changes'."""
