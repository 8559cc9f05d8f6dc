"""Rendering pages in a second process during large builds, so both cores work.

A cold build of 10,000 articles renders about 13,000 pages and tokenizes every article for
the search index. Jinja rendering and jieba hold the GIL, so threads would not help: worker
processes, one per core but one, started at the start of the build (`procs.pool`: forked by
the fork server, which has the renderer's modules and the tokenizer loaded; each worker gets
the build's renderer and a connection of its own to the archive, pickled once at its start),
render article and list pages, write them, and cut each article's text into search terms.
The build process sends each page's template context in batches, or for an article an
`EntryJob` (the entry's small record: the worker reads the entry itself, on its own
connection), and records what comes back (path, key, hash; terms) in its manifest and search
index, in the order it sent them, exactly as if it had done the work itself. Whenever the
workers have batches queued, the build process renders the next batch itself: so every core
works in every phase with one worker fewer, which at 100,000 articles is 75 MB less memory.
At the end it leaves the last batches to the workers while it writes the search index and
feeds, then takes back (`drain`) those no worker has started.

Small builds (an incremental one after a fetch) render in the build process: starting a
worker and sending contexts would cost more than they save.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import procs
from ...atomic import sweep_temp
from ...errors import PublishError
from .output import Output, is_unchanged, make_folder, page_hash, write_atomic
from .render import Renderer

if TYPE_CHECKING:  # imported when a pool is made: a small build should not pay for it
    from concurrent.futures import ProcessPoolExecutor

BATCH = 64  # pages sent to the worker at a time
IN_FLIGHT = 32  # batches waiting or being rendered (bounds the memory of queued contexts)
CHORE_FROM = 8  # batches queued from which it does a chore (`PageRenderer.chore`) instead
# Process-wide settings of a process that builds the site, set by that process's entry
# (`build_process_settings`) and by each worker's own start (`_worker_start`):
# The cyclic garbage collector less often (Python's default is 700): a build makes millions of
# small containers, almost none in cycles, and the collector's passes over them cost ~1-2 % of a
# cold build. Not higher: at 50,000 the garbage waiting between collections cost 14 MB more at
# 100,000 entries (both processes).
GC_GEN0 = 5_000
# The pool's threads in the build process (which hand batches to the workers and take their
# results) wait for the GIL while its main thread renders: by default up to 5 ms each time, in
# which a worker may sit idle (a tenth of a second of a 10,000 cold build).
SWITCH_INTERVAL = 0.0005  # seconds


@dataclass(frozen=True)
class PoolOptions:
    """Whether and how worker processes render a build's pages (see docs/site-build.md)."""

    parallel: bool | None = None  # True/False: always/never; None: decided by the sizes below
    workers: int | None = None  # worker processes; None: one per core but one
    pool_from: int = 5000  # changed entries from which worker processes render every page
    # Changed entries from which a smaller build starts one worker for its article pages and
    # search terms only (the tokenizer is used there), while the build process renders the list
    # pages and feeds itself. Below it the build renders inline: starting the fork server and a
    # worker (about 0.6 s) costs more than the worker saves (about 2.5 ms an article).
    articles_pool_from: int = 400
    # ... in an archive of at most this many entries (see docs/site-build.md).
    articles_pool_up_to: int = 30_000
    # Batches queued for the workers from which the build process renders one itself.
    steal_from: int = 4

    def worker_count(self) -> int:
        """Worker processes a parallel build starts: by default one per core but one (the
        build process renders too, whenever the workers are busy)."""
        if self.workers is not None:
            return self.workers
        return max(0, (os.cpu_count() or 1) - 1)


@dataclass
class PoolStats:
    """How a build's pages were rendered, for its report."""

    workers: int = 0  # worker processes started
    rendered_here: int = 0  # batches the build process took over from the workers
    terms_to_workers: int = 0  # ... of which a worker cut the search terms
    reclaimed: int = 0  # batches taken back at the end (`PageRenderer.drain`)


@dataclass(frozen=True, slots=True)
class EntryJob:
    """An article page, or its search terms, or both, whose entry the rendering process
    reads itself (one query per batch): the build process sends the entry's small record,
    not its body, and reads no bodies at all."""

    meta: Any  # the entry's record (model.EntryRecord)
    related: list[Any]  # records of the other entries of its story
    render: bool  # render the page (else only cut the terms)
    terms: bool  # cut its search terms

    def __reduce__(self) -> tuple[type[EntryJob], tuple[Any, list[Any], bool, bool]]:
        return (EntryJob, (self.meta, self.related, self.render, self.terms))  # see EntryRecord.__reduce__


@dataclass(frozen=True)
class EntryPages:
    """How a rendering process turns an `EntryJob` into a page: `lookup` reads uids → entries
    (on the archive connection of the process that calls); `context` makes the template
    context of an entry's page; `text` the text to cut into its search terms."""

    lookup: Callable[[list[str]], dict[str, Any]]
    context: Callable[[Any, Any, list[Any]], dict[str, Any]]
    text: Callable[[Any, Any], str]


# (template, path, key, context (or an EntryJob), hash the previous build recorded for the
#  path or None)
Job = tuple[str, str, str, "dict[str, Any] | EntryJob", "str | None"]
# (path or "" when no page was rendered, key, hash, written, search terms joined by newlines
#  or None)
Done = tuple[str, str, str, bool, "str | None"]
# A batch sent: (number, its results, its tags, its jobs, and for a batch rendered in the build
# process while a worker cuts its terms, the pages' results without the terms)
Pending = tuple[int, "Future[list[Done]]", list[Any], list[Job], "list[Done] | None"]
# Called, in the order pages were sent, with the search terms of a page's text.
TermsSink = Callable[[Any, str], None]

# What a worker renders with: the build's (renderer, site root, cutter, entry pages), given to
# each worker at its start (`_worker_start`), read only in the worker.
_given: tuple[Renderer, Path, Callable[[str], str], EntryPages | None] | None = None
_folders: set[str] = set()  # folders a worker has made (each worker fills its own copy)


def _render_batch(jobs: list[Job]) -> list[Done]:
    assert _given is not None, "a worker renders with what `_worker_start` was given"
    return _render_jobs(*_given, jobs)


def _render_jobs(
    renderer: Renderer, root: Path, cut: Callable[[str], str], entries: EntryPages | None, jobs: list[Job]
) -> list[Done]:
    done: list[Done] = []
    found: dict[str, Any] = {}
    if entries is not None:
        wanted = [c.meta.uid for _, _, _, c, _ in jobs if isinstance(c, EntryJob) and (c.render or c.terms)]
        found = entries.lookup(wanted) if wanted else {}
    for template, path, key, ctx, old_hash in jobs:
        terms = None
        if isinstance(ctx, EntryJob):
            assert entries is not None
            job, e = ctx, found.get(ctx.meta.uid)
            if e is None:  # deleted since the build read its record: the next build drops it
                done.append(("", key, "", False, None))
                continue
            if job.terms:
                terms = cut(entries.text(job.meta, e))
            if not job.render:
                done.append(("", key, "", False, terms))
                continue
            ctx = entries.context(job.meta, e, job.related)
        data = renderer.render(template, path, **ctx)
        h = page_hash(data)
        target = f"{root}/{path}"
        written = not is_unchanged(target, old_hash, h, len(data))
        if written:
            folder = target.rpartition("/")[0]
            if folder not in _folders:
                make_folder(folder)
                _folders.add(folder)
            write_atomic(target, data)
        done.append((path, key, h, written, terms))
    return done


class PageRenderer:
    """Renders pages inline, or (for large builds) in worker processes."""

    def __init__(
        self,
        renderer: Renderer,
        out: Output,
        options: PoolOptions,
        *,
        parallel: bool,
        cut: Callable[[str], str] | None = None,
        sink: TermsSink | None = None,
        entries: EntryPages | None = None,
        cut_here: bool = True,
    ) -> None:
        self.renderer = renderer
        self.options = options
        self.stats = PoolStats()
        self.entries = entries
        self.out = out
        self._pool: ProcessPoolExecutor | None = None
        self._batch: list[Job] = []
        self._tags: list[Any] = []  # per job of the batch: what `sink` gets with its terms
        # (batch number, its results, its tags, its jobs), in the order sent
        # (batch number, its results, its tags, its jobs, and for a batch this process rendered
        # while a worker cuts its terms, the pages' results without them)
        self._pending: deque[Pending] = deque()
        self.sent = 0  # batches sent so far
        # Whether the build process renders a batch itself when the workers have enough queued
        # (off at the end of a build: the workers then render what is left while the build
        # process writes the search index and the feeds).
        self.steal = True
        # Work of the build process's own that can wait for a moment when the workers have
        # plenty queued (writing a search segment): `chore_waiting()` says whether there is
        # some, `chore()` does one. Until then the build process renders nothing itself.
        self.chore: Callable[[], None] | None = None
        self.chore_waiting: Callable[[], bool] = _nothing_waiting
        # Pages given to `page` are rendered here, only `entry_page`s go to the workers.
        self.inline = False
        self._sink = sink
        self._cut = cut or _no_terms
        # Whether this process cuts search terms itself. Not with one worker: the tokenizer's
        # dictionary (34 MB) is then loaded in the worker alone, and a batch of articles this
        # process takes over has its pages rendered here and its terms cut by the worker.
        self.cut_here = cut_here
        # Folders made by an earlier build in this process may have been deleted since.
        _folders.clear()
        if parallel:
            self._pool = _start_workers(renderer, out.root, self._cut, entries, options.worker_count())
            if self._pool is not None:
                self.stats.workers = options.worker_count()

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def page(self, template: str, path: str, key: str, **ctx: Any) -> None:
        """Render `template` to `path` (recorded under `key`), here or in a worker."""
        if self._pool is None or self.inline:
            self.out.put(path, key, self.renderer.render(template, path, **ctx))
            return
        self._batch.append((template, path, key, ctx, self.out.old_hash(path)))
        self._tags.append(None)
        if len(self._batch) >= BATCH:
            self._send()

    def entry_page(self, path: str, key: str, job: EntryJob) -> None:
        """Send an `EntryJob` to the workers (only with workers, and `entries` given): its
        page is rendered to `path` (recorded under `key`) and/or its terms go to `sink`."""
        assert self._pool is not None and self.entries is not None
        self._batch.append(("article.html", path, key, job, self.out.old_hash(path) if job.render else None))
        self._tags.append(job.meta if job.terms else None)
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        assert self._pool is not None
        if self._batch:
            self.sent += 1
            queued = len(self._pending)
            busy = queued > 0 and not self._pending[-1][1].done()
            chore = self.chore is not None and self.chore_waiting()
            if chore and busy and queued >= CHORE_FROM:
                assert self.chore is not None
                self.chore()
            if self.steal and not chore and busy and queued >= self.options.steal_from:
                # The workers have work queued: the build process renders this batch itself
                # (one worker per core but one, so the two cores here are both busy). Its
                # results queue behind the workers' so they are recorded in the order sent.
                self._pending.append(self._render_here(self.sent, self._tags, self._batch))
            else:
                fut = self._pool.submit(_render_batch, self._batch)
                self._pending.append((self.sent, fut, self._tags, self._batch, None))
            self._batch, self._tags = [], []
        # Collected in the order sent (search docids follow it), whichever worker finishes first.
        while len(self._pending) > IN_FLIGHT or (self._pending and self._pending[0][1].done()):
            self._collect(*self._pending.popleft())

    def _render_here(self, seq: int, tags: list[Any], jobs: list[Job]) -> Pending:
        """Render a batch in this process; its search terms too, or (`cut_here` off) they go
        to a worker as a batch of terms alone."""
        self.stats.rendered_here += 1
        if self.cut_here or not any(_cuts(job) for job in jobs):
            done: Future[list[Done]] = Future()
            done.set_result(_render_jobs(self.renderer, self.out.root, self._cut, self.entries, jobs))
            return (seq, done, tags, jobs, None)
        assert self._pool is not None
        terms_only: list[Job] = [
            (t, p, k, EntryJob(c.meta, [], False, True), None)
            for t, p, k, c, _ in jobs
            if isinstance(c, EntryJob) and c.terms
        ]
        fut = self._pool.submit(_render_batch, terms_only)
        self.stats.terms_to_workers += 1
        pages_only: list[Job] = [
            (t, p, k, EntryJob(c.meta, c.related, c.render, False), h)
            if isinstance(c, EntryJob)
            else (t, p, k, c, h)
            for t, p, k, c, h in jobs
        ]
        local = _render_jobs(self.renderer, self.out.root, _no_terms, self.entries, pages_only)
        return (seq, fut, tags, jobs, local)

    def _collect(
        self, _seq: int, fut: Future[list[Done]], tags: list[Any], jobs: list[Job], local: list[Done] | None
    ) -> None:
        try:
            results = fut.result()
        except PublishError:
            raise
        except Exception as e:  # a worker died or could not pickle: name it, do not hide it
            raise PublishError(f"{self.out.root}: page rendering process failed: {e}") from e
        if local is not None:  # pages rendered here, terms cut by a worker: put together
            cut = iter(results)
            results = [
                (path, key, h, written, next(cut)[4] if _cuts(job) else None)
                for (path, key, h, written, _), job in zip(local, jobs, strict=True)
            ]
        for (path, key, h, written, terms), tag in zip(results, tags, strict=True):
            if path:
                self.out.record(path, key, h, written=written)
            if terms is not None and self._sink is not None:
                self._sink(tag, terms)

    def drain(self) -> None:
        """Wait for every page sent so far and record it (and its terms)."""
        if self._pool is None:
            return
        self._send()
        while self._pending:
            if not self._pending[0][1].done():
                self._reclaim()
            self._collect(*self._pending.popleft())

    def _reclaim(self) -> None:
        """Render here the last batch sent that no worker has started yet, if there is one:
        the build process, done with its own work, takes back what it left to the workers."""
        for i in range(len(self._pending) - 1, -1, -1):
            seq, fut, tags, jobs, local = self._pending[i]
            if fut.done() or local is not None:
                continue  # rendered here earlier
            if not self.cut_here and any(_cuts(job) for job in jobs):
                continue  # terms are cut in the workers alone
            if not fut.cancel():
                return  # started (so have all before it)
            self._pending[i] = self._render_here(seq, tags, jobs)
            self.stats.reclaimed += 1
            return

    def mark(self) -> int:
        """Send the pages given so far; a mark for `wait_for`."""
        if self._pool is not None:
            self._send()
        return self.sent

    def wait_for(self, mark: int) -> None:
        """Wait for the pages sent before `mark` and record them (and their terms); pages
        sent since may still be rendering."""
        while self._pending and self._pending[0][0] <= mark:
            self._collect(*self._pending.popleft())

    def abort(self) -> None:
        """Stop the workers without waiting for the pages sent to them."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pending.clear()

    def close(self) -> None:
        """Wait for every page sent to the workers and record it; stop the workers."""
        if self._pool is None:
            return
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _no_terms(text: str) -> str:
    return ""


def _cuts(job: Job) -> bool:
    """Whether the job asks for search terms."""
    ctx = job[3]
    return isinstance(ctx, EntryJob) and ctx.terms


def _nothing_waiting() -> bool:
    return False


def start_early(options: PoolOptions) -> None:
    """Start, without waiting, what the workers will be forked from (`procs.start_server`): for
    a build that has decided to use workers, so the fork server's preload runs beside the
    build's own preparation instead of delaying its first worker."""
    if options.worker_count() >= 1 and procs.available():
        procs.start_server()


def _start_workers(
    renderer: Renderer, root: Path, cut: Callable[[str], str], entries: EntryPages | None, workers: int
) -> ProcessPoolExecutor | None:
    if workers < 1 or not procs.available():
        return None
    try:
        # The renderer, the cutter and the entry pages are pickled once per worker: the
        # renderer as its arguments (the worker compiles the templates from their bytecode
        # cache), the archive as a connection of the worker's own.
        given = (renderer, root, cut, entries)
        return procs.pool(workers, initializer=_worker_start, initargs=given)
    except Exception:  # cannot start processes here (limits, sandbox): render inline instead
        return None


def _worker_start(
    renderer: Renderer, root: Path, cut: Callable[[str], str], entries: EntryPages | None
) -> None:
    """A worker's own start: its process-wide settings, and what the build gave it."""
    global _given
    gc.set_threshold(GC_GEN0, *gc.get_threshold()[1:])
    _given = (renderer, root, cut, entries)


@contextlib.contextmanager
def build_process_settings() -> Iterator[None]:
    """The process-wide settings for a process that builds the site, for the entry of the
    process (the CLI command) to hold around the build; restored after."""
    threshold = gc.get_threshold()
    switch = sys.getswitchinterval()
    gc.set_threshold(GC_GEN0, *threshold[1:])
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(switch)


@contextlib.contextmanager
def page_renderer(
    renderer: Renderer,
    out: Output,
    options: PoolOptions,
    *,
    parallel: bool,
    cut: Callable[[str], str] | None = None,
    sink: TermsSink | None = None,
    entries: EntryPages | None = None,
    cut_here: bool = True,
) -> Iterator[PageRenderer]:
    pages = PageRenderer(
        renderer, out, options, parallel=parallel, cut=cut, sink=sink, entries=entries, cut_here=cut_here
    )
    try:
        yield pages
    except BaseException:
        # A failed or interrupted build: stop the workers, record nothing more, and remove the
        # temporary files of any worker that was killed in the middle of a write.
        workers = pages.parallel
        pages.abort()
        if workers:
            with contextlib.suppress(PublishError):
                out.close()  # this process's own writes: finished (none is half done) first
            sweep_temp(out.root, recursive=True)
        raise
    else:
        pages.close()
