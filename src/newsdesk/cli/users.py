"""`newsdesk users add|passwd|remove|list|token`: the people who read the desk."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import NewsdeskError
from .common import JsonOpt, current_config, err, open_archive, out, print_json

if TYPE_CHECKING:
    from ..models import User
    from ..store import Store

users_app = typer.Typer(
    help="Users of `newsdesk serve`: passwords, API tokens. Admins manage feeds and users; readers read.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _read_password() -> str:
    """From a prompt, twice, on a terminal; else the first line of standard input."""
    from ..accounts import validate_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
        validate_password(password)
        if getpass.getpass("Password again: ") != password:
            raise NewsdeskError("the two passwords do not match; nothing changed")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise NewsdeskError("the password is empty (give it as the first line of standard input)")
        validate_password(password)
    return password


def _user(store: Store, name: str) -> User:
    user = store.get_user(unicodedata.normalize("NFC", name))
    if user is None:
        raise NewsdeskError(f"no user named {name!r} (see `newsdesk users list`)")
    return user


@users_app.command("add")
def users_add(
    name: NameArg,
    admin: Annotated[bool, typer.Option("--admin", help="May manage feeds and users.")] = False,
) -> None:
    """Add a user; the password from a prompt, or from standard input.

    The prompt asks twice. When standard input is not a terminal, its first line is the
    password: `printf '%s\\n' "$PW" | newsdesk users add ann`."""
    from ..accounts import hash_password, validate_name

    name = validate_name(name)
    config = current_config()
    with open_archive(config) as store:
        if store.get_user(name) is not None:  # before asking for a password in vain
            raise NewsdeskError(f"a user named {name!r} already exists")
        password_hash = hash_password(_read_password())
        store.add_user(name, password_hash, admin=admin, now=datetime.now(UTC))
    err.print(f"added {'admin' if admin else 'reader'} {escape(name)}", highlight=False)


@users_app.command("passwd")
def users_passwd(name: NameArg) -> None:
    """Set a user's password (from a prompt, or from standard input).

    Ends the user's browser sessions; their API tokens stay valid."""
    from ..accounts import hash_password

    with open_archive(current_config()) as store:
        user = _user(store, name)
        if not store.set_password(user.name, hash_password(_read_password())):
            raise NewsdeskError(f"no user named {name!r} (removed meanwhile)")
    err.print(f"password of {escape(user.name)} changed", highlight=False)


@users_app.command("remove")
def users_remove(name: NameArg) -> None:
    """Remove a user with their API tokens, sessions and read state.

    The archive stays as it is."""
    with open_archive(current_config()) as store:
        if not store.remove_user(_user(store, name).name):
            raise NewsdeskError(f"no user named {name!r} (removed meanwhile)")
    err.print(f"removed {escape(name)}", highlight=False)


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List the users: name, role and when they were added."""
    with open_archive(current_config()) as store:
        users = store.list_users()
    if as_json:
        print_json([{"id": u.id, "name": u.name, "admin": u.admin, "created": u.created} for u in users])
        return
    table = Table()
    for col in ("name", "role", "added"):
        table.add_column(col)
    for u in users:
        table.add_row(escape(u.name), "admin" if u.admin else "reader", f"{u.created:%Y-%m-%d %H:%M} UTC")
    out.print(table)


@users_app.command("token")
def users_token(
    name: NameArg,
    label: Annotated[str, typer.Option(help="What the token is for (a device, a script).")] = "",
) -> None:
    """Make a new API token for a user and print it, once.

    The archive keeps only its hash. Use it as `Authorization: Bearer TOKEN`."""
    from ..accounts import new_token, secret_hash

    if not label.isprintable():
        raise NewsdeskError(f"label {label!r}: only printable characters on one line")
    with open_archive(current_config()) as store:
        user = _user(store, name)
        token = new_token()
        store.add_token(user.id, secret_hash(token), label=label, now=datetime.now(UTC))
    out.print(token, markup=False, highlight=False)
    err.print(f"a new token for {escape(user.name)}: it is not shown again", highlight=False)


@users_app.command("app-password")
def users_app_password(
    name: NameArg,
    label: Annotated[str, typer.Option(help="Which app or device it is for.")] = "",
    revoke: Annotated[
        str | None,
        typer.Option(
            "--revoke",
            metavar="ID-OR-LABEL",
            help="Revoke the app password of this ID (or with this label) instead.",
        ),
    ] = None,
    revoke_all: Annotated[
        bool, typer.Option("--revoke-all", help="Revoke all of the user's app passwords instead.")
    ] = False,
    show: Annotated[
        bool,
        typer.Option("--list", help="List the user's app passwords (ID, label, made, last used) instead."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a new app password for a reader app (Google Reader API and Fever) and print it, once.

    Apps log in with the user name and this password, never the login password; the archive
    keeps only its hash (and, for Fever, an HMAC of md5("name:password") under the server's
    secret, `serve.secret_file`). `--list` shows each with its ID; `--revoke ID-OR-LABEL` ends one
    (every one with that label, given a label), `--revoke-all` every one: their apps must log in
    again with a new one (a running serve notices within seconds)."""
    from ..web.readerkeys import make_app_password, revoke_app_password, server_secret

    if not label.isprintable():
        raise NewsdeskError(f"label {label!r}: only printable characters on one line")
    config = current_config()
    with open_archive(config) as store:
        user = _user(store, name)
        if show:
            listed = store.app_passwords(user.id)
            if as_json:
                print_json([vars(p) for p in listed])
                return
            table = Table()
            for col in ("id", "label", "made", "last used"):
                table.add_column(col)
            for p in listed:
                used = f"{p.last_used:%Y-%m-%d %H:%M} UTC" if p.last_used else "never"
                table.add_row(p.id, escape(p.label), f"{p.created:%Y-%m-%d %H:%M} UTC", used)
            out.print(table)
            return
        if revoke_all:
            count = store.remove_app_passwords(user.id)
            err.print(f"revoked {count} app password(s) of {escape(user.name)}", highlight=False)
            return
        if revoke is not None:
            ids = revoke_app_password(store, user, revoke)
            if not ids:
                raise NewsdeskError(f"{user.name} has no app password of ID or label {revoke!r} (see --list)")
            err.print(f"revoked app password(s) {', '.join(ids)} of {escape(user.name)}", highlight=False)
            return
        secret = server_secret(config)
        password = make_app_password(store, user, label=label, secret=secret, now=datetime.now(UTC))
    out.print(password, markup=False, highlight=False)
    err.print(f"a new app password for {escape(user.name)}: it is not shown again", highlight=False)
