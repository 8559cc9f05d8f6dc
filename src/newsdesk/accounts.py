"""Secrets of the desk's users: password hashes, API tokens, session ids and user names.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile:
64 MiB, 3 passes, 4 lanes; about 0.1–0.2 s a hash on a small server, which is the point).
Tokens and session ids are 256 random bits; the archive keeps only their SHA-256
(`secret_hash`): a 256-bit secret needs no slow hash, and a lookup by hash is one index probe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import NewsdeskError

__all__ = [
    "MAX_NAME",
    "MAX_PASSWORD",
    "TOKEN_PREFIX",
    "app_auth_token",
    "feed_token",
    "feed_token_user",
    "fever_api_key",
    "fever_key_hash",
    "hash_password",
    "needs_rehash",
    "new_app_password",
    "new_session_id",
    "new_token",
    "secret_hash",
    "server_secret",
    "validate_name",
    "validate_password",
    "verify_password",
]

MAX_NAME = 64
# Long enough for any passphrase; short enough that a login form cannot make argon2 chew on
# megabytes.
MAX_PASSWORD = 1024
TOKEN_PREFIX = "nd_"  # recognisable in logs and by secret scanners

_hasher = PasswordHasher()
# Verified against when a login names no user, so that answer takes as long as a wrong password.
_dummy_hash: str | None = None


def validate_name(name: str) -> str:
    """The user name to store (Unicode NFC) or a `NewsdeskError` saying what is wrong:
    one line of printable characters, no spaces at either end, at most 64 characters."""
    name = unicodedata.normalize("NFC", name)
    if not name:
        raise NewsdeskError("a user name cannot be empty")
    if len(name) > MAX_NAME:
        raise NewsdeskError(f"user name {name[:MAX_NAME]!r}…: longer than {MAX_NAME} characters")
    if not name.isprintable():
        raise NewsdeskError(f"user name {name!r}: only printable characters on one line")
    if name != name.strip():
        raise NewsdeskError(f"user name {name!r}: no spaces at the start or end")
    return name


def validate_password(password: str) -> None:
    """A `NewsdeskError` for an empty or overlong password."""
    if not password:
        raise NewsdeskError("the password is empty")
    if len(password) > MAX_PASSWORD:
        raise NewsdeskError(f"the password is longer than {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (salted; encodes its own parameters)."""
    validate_password(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the `stored` hash. `stored` None (no such user) is checked
    against a dummy hash and is False: both answers take as long."""
    global _dummy_hash
    if len(password) > MAX_PASSWORD:
        return False
    known = stored is not None
    if stored is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(32))
        stored = _dummy_hash
    try:
        return _hasher.verify(stored, password) and known and password != ""
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (rehash it at the
    next successful login)."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A new API token: `nd_` and 256 random bits, URL-safe. Shown once; store `secret_hash`."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A new browser session id (256 random bits, URL-safe); store `secret_hash`."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """SHA-256 of a token or session id, hex: what the archive keeps and looks up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_app_password() -> str:
    """A new app password for a reader app: 160 random bits as 32 lowercase letters and digits
    (base32), easy to type on a phone. Shown once; store `secret_hash`."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def app_auth_token(app_password: str) -> str:
    """The Auth token ClientLogin answers for `app_password`: derived from it (the same at
    every login, so an app that logs in again keeps working), never the password itself.
    The archive keeps its `secret_hash` beside the password's, so removing one ends both."""
    return "nd_gr_" + hashlib.sha256(b"newsdesk greader auth\x00" + app_password.encode("utf-8")).hexdigest()


SECRET_BYTES = 32


def server_secret(path: Path) -> bytes:
    """The server's secret from `path`, made there (32 random bytes, mode 0600) when missing.
    Made in a file of its own and linked into place, so two processes starting at once agree
    on one secret; a file that is not 32 bytes is an error naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(fresh, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the secret
        finally:
            fresh.unlink()
        data = path.read_bytes()
    except OSError as e:
        raise NewsdeskError(f"server secret {path}: cannot read it: {e.strerror}") from e
    if len(data) != SECRET_BYTES:
        raise NewsdeskError(
            f"server secret {path}: {len(data)} bytes, expected {SECRET_BYTES} (delete it to make a new one)"
        )
    return data


def fever_api_key(name: str, app_password: str) -> str:
    """The Fever API's api_key for a user and app password: md5 of "name:password", hex (the
    protocol's choice; the archive never keeps it, see `fever_key_hash`)."""
    return hashlib.md5(f"{name}:{app_password}".encode(), usedforsecurity=False).hexdigest()


def fever_key_hash(secret: bytes, api_key: str) -> str:
    """HMAC-SHA256 of an api_key under the server's secret, hex: what the archive keeps and
    looks up (an api_key is an md5, so a plain hash of it would be as good as the key)."""
    return hmac.new(secret, api_key.strip().lower().encode("ascii", "replace"), hashlib.sha256).hexdigest()


def feed_token(secret: bytes, user_id: int, nonce: str) -> str:
    """A reader's token for private view feeds: their id and an HMAC of it and the stored
    nonce (a new nonce revokes every earlier token)."""
    mac = hmac.new(secret, f"feed:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{user_id}-{mac}"


def feed_token_user(token: str) -> int | None:
    """The user id a view-feed token names (to look their nonce up), None when malformed."""
    head, _, mac = token.partition("-")
    if not head.isdigit() or len(head) > 18 or len(mac) != 40:
        return None
    return int(head)
