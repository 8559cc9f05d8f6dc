"""Configuration: one YAML file validated into typed models, then environment, then flags.

Every error names the file, the key path (with its line where known) and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .models import FeedSpec

DEFAULT_CONFIG_NAME = "newsdesk.yaml"
ENV_CONFIG = "NEWSDESK_CONFIG"
# libyaml's safe loader when PyYAML was built with it: a config of 1,000 feeds loads in 11 ms
# instead of 84 (every command, and every worker that starts only to wait as a standby, loads it).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# C0 and C1 control characters (NUL, escape, …): a name holding one would reach file names,
# terminals, URLs and YAML front matter, where each reads it differently.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(what: str, value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"{what} {value!r} contains a control character (U+{ord(found.group()):04X})")
    return value


class FeedConfig(BaseModel):
    # A feed called 404 or 2024 is written unquoted in YAML; it is still a name.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    name: str = Field(min_length=1)
    url: str | None = None
    route: str | None = None
    clean: bool = True
    enabled: bool = True
    full_text: bool | Literal["auto"] = False

    @field_validator("name")
    @classmethod
    def _name_is_one_line(cls, v: str) -> str:
        if v.strip() != v or "\n" in v:
            raise ValueError("feed name must be one line without leading or trailing spaces")
        return _printable("feed name", v)

    @field_validator("route")
    @classmethod
    def _route_is_path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"RSSHub route must start with '/', got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> FeedConfig:
        if (self.url is None) == (self.route is None):
            raise ValueError("give exactly one of 'url' or 'route'")
        return self


class FetchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(default=64, ge=1, le=1000)
    per_host: int = Field(default=8, ge=1, le=200)
    timeout: float = Field(default=30.0, gt=0)
    # A response whose body stops arriving for this long after its headers has stalled.
    read_timeout: float = Field(default=15.0, gt=0)
    # One feed's whole fetch, every retry and RSSHub instance included.
    deadline: float = Field(default=90.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff: float = Field(default=0.5, ge=0)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=30)


class HexoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_image: str | None = None
    # Adds `source`, `link` and `editor` to the front matter; off keeps the reference format.
    extra_front_matter: bool = False


class ServeConfig(BaseModel):
    """`newsdesk serve`: where it listens and how it publishes (flags override)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The path prefix a reverse proxy serves the desk under, e.g. /news ("" for none).
    base_path: str = ""
    # Seconds to wait after new entries arrive before publishing, so a burst publishes once.
    publish_debounce: float = Field(default=30.0, ge=0)
    # Clients that may read /metrics (addresses or networks); loopback only unless configured.
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # Days a browser login lasts.
    session_days: int = Field(default=30, ge=1, le=3650)
    # Processes answering HTTP: 1 is serve's own; more start worker processes beside it on the
    # same socket (one Python process answers one request at a time; see docs/serve.md).
    workers: int = Field(default=1, ge=1, le=64)
    # Where the scheduler and its pipeline (fetch, parse, clean, store, index) run: "process",
    # a child process of serve's own at a lower CPU priority (`ingest_nice`), so that its work
    # never holds the HTTP side's GIL and the readers are answered first; "thread", on a thread
    # of serve's process (one process in all). See docs/serve.md.
    ingest: Literal["process", "thread"] = "process"
    # How much lower the ingest process's CPU priority is (added to serve's niceness, 0–19).
    ingest_nice: int = Field(default=10, ge=0, le=19)
    # MB of a SQLite archive the HTTP processes read through a memory map (0: off). Faster reads
    # (docs/serve.md), but an I/O error reading the file then ends the process with SIGBUS
    # instead of an error: off unless chosen.
    sqlite_mmap_mb: int = Field(default=0, ge=0, le=1 << 20)
    # The server's own secret (32 random bytes, made on first use, mode 0600): Fever keys and
    # view-feed tokens are keyed with it, so the archive alone cannot be used to log in.
    # Relative to the config file's folder; back it up with the config.
    secret_file: str = "newsdesk-secret"

    @field_validator("base_path")
    @classmethod
    def _base_path_is_a_path(cls, v: str) -> str:
        v = v.rstrip("/")
        if v and not v.startswith("/"):
            raise ValueError("base_path must start with '/' (e.g. /news)")
        return v


class ScheduleConfig(BaseModel):
    """The scheduler's bounds (seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_feed: float = Field(default=30 * 60, gt=0)  # how often a feed is checked before its rate is known
    min_interval: float = Field(default=5 * 60, gt=0)
    max_interval: float = Field(default=24 * 3600, gt=0)
    max_backoff: float = Field(default=24 * 3600, gt=0)  # cap of the backoff after consecutive errors
    jitter: float = Field(default=0.1, ge=0, le=0.5)  # ± this fraction of each interval

    @model_validator(mode="after")
    def _bounds_in_order(self) -> ScheduleConfig:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    database: str = "newsdesk.db"
    hexo_dir: str = "hexo/source/_posts"
    site_dir: str = "site"
    rsshub: list[str] = Field(default_factory=lambda: ["https://rsshub.app"])
    # The static site (`newsdesk build`).
    site_title: str = "新闻台"
    base_url: str | None = None  # e.g. https://news.example.org/ — makes feed and sitemap links absolute
    templates_dir: str | None = None  # user templates (and static/) that override the built-in ones
    page_size: int = Field(default=20, ge=1, le=500)
    feed_items: int = Field(default=20, ge=1, le=1000)
    # Changed entries from which the site build starts a worker process for its article pages
    # (below, it renders them itself: starting a worker costs about 0.6 s; docs/site-build.md).
    site_workers_from: int = Field(default=400, ge=1)
    # Keep the search index and story clusters in step on every `run` (off: `newsdesk search`
    # and `reindex` still catch up on demand).
    search_index: bool = True
    # Where the search index lives: `tantivy`, a folder beside the archive (the default, and the
    # only choice for a SQLite archive), or `postgres`, the PostgreSQL archive's own tables
    # (shared by every worker and web front of a cluster; docs/search.md).
    search_backend: Literal["tantivy", "postgres"] = "tantivy"
    # Run the insights stage (tasks, targets, figures, bodies, terms) on new and changed
    # articles at ingest and reclean (off: `newsdesk reinsight` still fills them in).
    insights: bool = True
    # Article images: `remote` (the reader's browser loads them from their hosts, without a
    # referrer) or `cache` (fetched once by the desk, kept beside the archive, served by the
    # reader web app: pages survive hotlink protection and sources that disappear).
    images: Literal["remote", "cache"] = "remote"
    # What `newsdesk run` publishes after fetching: any of hexo, site, feeds or an installed
    # publisher (checked against the registry by `load_config(publishers=...)`).
    publishers: list[str] = Field(default_factory=lambda: ["hexo"])
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    hexo: HexoConfig = Field(default_factory=HexoConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    groups: dict[str, dict[str, list[FeedConfig]]] = Field(default_factory=dict)
    # Folder the config file lives in; relative paths are resolved against it.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @field_validator("rsshub")
    @classmethod
    def _instances_are_urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"RSSHub instance must be an http(s) URL, got {url!r}")
        return [u.rstrip("/") for u in v]

    @field_validator("search_backend")
    @classmethod
    def _postgres_search_needs_postgres(cls, v: str, info: ValidationInfo) -> str:
        database = str(info.data.get("database", ""))
        if v == "postgres" and not database.startswith(("postgresql://", "postgres://")):
            raise ValueError("postgres needs a PostgreSQL archive (database: postgresql://…); use tantivy")
        return v

    @model_validator(mode="after")
    def _unique_feeds(self) -> Config:
        for group, sites in self.groups.items():
            _printable("group name", group)
            for site, feeds in sites.items():
                _printable("site name", site)
                names = [f.name for f in feeds]
                dup = {n for n in names if names.count(n) > 1}
                if dup:
                    raise ValueError(f"groups.{group}.{site}: feed name repeated: {', '.join(sorted(dup))}")
        return self

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_url(self) -> str:
        if "://" in self.database:
            return self.database
        return str(self.path(self.database))

    @property
    def images_dir(self) -> Path:
        """Where `images: cache` keeps article images: beside the archive's file
        (`<database>-images/`), or `images/` beside the config for an archive on a server."""
        if "://" in self.database:
            return self.path("images")
        return Path(f"{self.database_url}-images")

    def feeds(self) -> list[FeedSpec]:
        """Every configured feed, in file order."""
        out: list[FeedSpec] = []
        for group, sites in self.groups.items():
            for site, feeds in sites.items():
                for f in feeds:
                    url = f.url
                    if url is not None and "://" not in url:
                        url = str(self.path(url))
                    out.append(
                        FeedSpec(
                            group=group,
                            site=site,
                            name=f.name,
                            url=url,
                            route=f.route,
                            clean=f.clean,
                            enabled=f.enabled,
                            full_text=f.full_text,
                        )
                    )
        return out


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """`--config PATH`, else $NEWSDESK_CONFIG, else ./newsdesk.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    return Path.cwd() / DEFAULT_CONFIG_NAME


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Map key paths to 1-based line numbers, so errors can point at the line."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines

    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        # An alias is the node it names: each node is walked once, so a recursive alias
        # (`a: &a [*a]`) ends and a tree of aliases of aliases is not walked exponentially.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = str(k.value)
                lines[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, (*path, str(i)))

    if root is not None:
        walk(root, ())
    return lines


def _format_validation(path: Path, text: str, err: ValidationError) -> str:
    index = _line_index(text)
    msgs = []
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        # the line of the deepest key that exists in the file
        line = None
        for n in range(len(loc), -1, -1):
            if loc[:n] in index:
                line = index[loc[:n]]
                break
        key = ".".join(loc) or "(top level)"
        where = f"{path}:{line}" if line else str(path)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        msgs.append(f"{where}: {key}: {msg}")
    return "invalid configuration:\n  " + "\n  ".join(msgs)


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    for key in ("database", "hexo_dir", "site_dir"):
        val = env.get(f"NEWSDESK_{key.upper()}")
        if val:
            data[key] = val
    rsshub = env.get("NEWSDESK_RSSHUB")
    if rsshub:
        data["rsshub"] = [u.strip() for u in rsshub.split(",") if u.strip()]
    return data


def parse_config(
    text: str, path: Path, env: Mapping[str, str] | None = None, *, publishers: Collection[str] | None = None
) -> Config:
    """`publishers`: the registered publishers' names (`publish.base.publisher_names`), when the
    config's `publishers` are to be checked against them."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(data).__name__}")
    problem = _recursive_alias(data) or _repeated_feed(data, text)
    if problem is not None:
        loc, msg = problem
        line = _line_index(text).get(loc)
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"invalid configuration:\n  {where}: {'.'.join(loc)}: {msg}")
    data = _apply_env(dict(data), os.environ if env is None else env)
    data["base_dir"] = path.parent.resolve()
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation(path, text, e)) from e
    if publishers is not None:
        _check_publishers(config.publishers, set(publishers), path, text)
    return config


def _check_publishers(names: list[str], known: set[str], path: Path, text: str) -> None:
    for i, name in enumerate(names):
        if name not in known:
            index = _line_index(text)
            line = index.get(("publishers", str(i))) or index.get(("publishers",))  # the name's own line
            where = f"{path}:{line}" if line else str(path)
            problem = f"unknown publisher {name!r} (known: {', '.join(sorted(known))})"
            if not known:  # the entry points are read from the installed package's metadata
                problem = f"unknown publisher {name!r}: no publisher is installed (reinstall newsdesk)"
            raise ConfigError(f"invalid configuration:\n  {where}: publishers: {problem}")


Problem = tuple[tuple[str, ...], str]  # key path, what is wrong there


def _recursive_alias(data: object) -> Problem | None:
    """The key path of a mapping or list that contains itself through a YAML alias."""
    done: set[int] = set()
    open_: set[int] = set()  # the containers on the current path

    def walk(value: object, loc: tuple[str, ...]) -> Problem | None:
        if not isinstance(value, dict | list) or id(value) in done:
            return None
        if id(value) in open_:
            return loc, "a YAML alias refers to a node that contains it (recursive alias)"
        open_.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            found = walk(v, (*loc, str(k)))
            if found:
                return found
        open_.discard(id(value))
        done.add(id(value))
        return None

    return walk(data, ())


def _repeated_feed(data: dict[str, Any], text: str) -> Problem | None:
    """The second feed of a site with a name already used there (checked before validation,
    so the error points at the repeated name rather than at the top of the file)."""
    groups = data.get("groups")
    if not isinstance(groups, dict):
        return None
    for group, sites in groups.items():
        for site, feeds in sites.items() if isinstance(sites, dict) else ():
            first: dict[str, int] = {}
            for i, feed in enumerate(feeds if isinstance(feeds, list) else ()):
                name = feed.get("name") if isinstance(feed, dict) else None
                if name is None:
                    continue
                if str(name) in first:
                    before = ("groups", str(group), str(site), str(first[str(name)]), "name")
                    line = _line_index(text).get(before)
                    return (
                        ("groups", str(group), str(site), str(i), "name"),
                        f"feed name repeated: {name}" + (f" (first on line {line})" if line else ""),
                    )
                first[str(name)] = i
    return None


def load_config(
    path: Path, env: Mapping[str, str] | None = None, *, publishers: Collection[str] | None = None
) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found (run `newsdesk init` to create one)") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config file: {e}") from e
    return parse_config(text, path, env, publishers=publishers)
