"""Keys of reader apps and feed readers: app passwords made with their Fever key, the
server's secret, and the reader's token for private view feeds. Shared by the CLI
(`users app-password`), the keys page and the APIs that check them."""

from __future__ import annotations

import hmac
import os
import secrets
from datetime import datetime

from .. import accounts
from ..config import Config
from ..models import User
from ..store import Store


def server_secret(config: Config) -> bytes:
    path = config.path(config.serve.secret_file)
    try:
        stat = os.stat(path)
    except OSError:  # made on first use
        return accounts.server_secret(path)
    # Every list page needs it (its feeds' links): read again only when the file changed.
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    found = _SECRETS.get(key)
    if found is None:
        found = accounts.server_secret(path)
        _SECRETS.clear()
        _SECRETS[key] = found
    return found


_SECRETS: dict[tuple[str, int, int, int], bytes] = {}


def make_app_password(store: Store, user: User, *, label: str, secret: bytes, now: datetime) -> str:
    """A new app password for `user`, kept hashed, with its Auth token's hash (Google Reader)
    and its Fever key's HMAC: the one password serves both APIs, and revoking it ends both."""
    password = accounts.new_app_password()
    hashed = accounts.secret_hash(password)
    store.add_app_password(
        user.id, hashed, accounts.secret_hash(accounts.app_auth_token(password)), label=label, now=now
    )
    key = accounts.fever_api_key(user.name, password)
    store.add_fever_key(hashed, accounts.fever_key_hash(secret, key))
    return password


def revoke_app_password(store: Store, user: User, which: str) -> list[str]:
    """Revoke the user's app password whose id (`AppPassword.id`) is `which`, else every one
    labelled `which`; the ids revoked (none: no such password)."""
    listed = store.app_passwords(user.id)
    ids = [p.id for p in listed if p.id == which.strip().lower()]
    ids = ids or [p.id for p in listed if p.label == which]
    for password_id in ids:
        store.remove_app_password(user.id, password_id)
    return ids


def view_feed_token(store: Store, user: User, secret: bytes, now: datetime, *, renew: bool = False) -> str:
    """The reader's token for private view feeds, made on first use; `renew` makes a new one
    (every link with the old one stops working)."""
    nonce = None if renew else store.feed_token_nonce(user.id)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        store.set_feed_token_nonce(user.id, nonce, now)
    return accounts.feed_token(secret, user.id, nonce)


def user_of_feed_token(store: Store, token: str, secret: bytes) -> User | None:
    user_id = accounts.feed_token_user(token)
    if user_id is None:
        return None
    nonce = store.feed_token_nonce(user_id)
    if nonce is None or not hmac.compare_digest(accounts.feed_token(secret, user_id, nonce), token):
        return None
    return store.user_by_id(user_id)
