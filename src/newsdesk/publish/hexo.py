"""The Hexo publisher: one Markdown post per entry, in the reference format.

Only entries whose content (or the publisher's options) changed since the last publish
are rendered, so a run where nothing changed costs one cheap pass over the hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .. import atomic, locks, procs
from ..config import Config
from ..errors import PublishError
from ..store import Store
from .base import Need, Progress, PublishReport
from .hexo_format import post_filename, render_post, write_atomic

# Bump when the output format changes, so every post is rewritten once.
# 2: entries whose cleaning failed show the sanitised fallback, never the raw HTML.
FORMAT_VERSION = "2"
_BATCH = 500
_WRITERS = 4
LOCK_NAME = ".newsdesk-publish.lock"  # hidden: Hexo skips it (see `locks`)


class HexoPublisher:
    name = "hexo"
    needs: frozenset[Need] = frozenset()  # posts show no clusters

    def publish(
        self, store: Store, config: Config, out_dir: Path | None = None, progress: Progress | None = None
    ) -> PublishReport:
        out = (out_dir or config.path(config.hexo_dir)).resolve()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PublishError(f"{out}: cannot create the Hexo posts folder: {e.strerror or e}") from e
        report = PublishReport(self.name, out)
        with locks.hold(out / LOCK_NAME, f"publishing Hexo posts to {out}"):
            try:
                self._publish(store, config, out, report, progress)
            except procs.Stopped as e:
                done = f"{report.written} posts written, {report.unchanged} unchanged"
                e.add_note(f"hexo: {done}, then stopped")
                raise
        return report

    def _publish(
        self, store: Store, config: Config, out: Path, report: PublishReport, progress: Progress | None
    ) -> None:
        try:
            present = set(os.listdir(out))
        except OSError as e:
            raise PublishError(f"{out}: cannot list the Hexo posts folder: {e.strerror or e}") from e
        # Under the folder's lock every temporary file of ours is left from a killed run.
        for name in [n for n in present if atomic.is_temp(n)]:
            present.discard(name)
            with contextlib.suppress(OSError):
                os.unlink(out / name)
        default_image = config.hexo.default_image
        extra = config.hexo.extra_front_matter
        options = hashlib.sha1(f"{FORMAT_VERSION}\x00{default_image or ''}\x00{extra}".encode()).hexdigest()[
            :8
        ]
        # Marks are kept per output folder: publishing elsewhere starts from scratch.
        key = f"hexo:{out}"
        marks = store.publish_marks(key)
        todo: list[tuple[str, str]] = []
        # `rev` changes whenever an entry or its cleaned article changes.
        for uid, rev in store.entry_revs():
            mark = f"{rev}:{options}"
            if marks.get(uid) == mark and f"{uid}.md" in present:
                report.unchanged += 1
            else:
                todo.append((uid, mark))
        total = len(todo)
        # File creation blocks on the file system (and releases the GIL): a few writer threads
        # overlap those waits while this thread renders the next posts.
        with ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="hexo-write") as pool:
            for start in range(0, total, _BATCH):
                batch = dict(todo[start : start + _BATCH])
                writes: list[tuple[str, Future[bool]]] = []
                for entry in store.get_entries(batch):
                    text = render_post(entry, default_image=default_image, extra_front_matter=extra)
                    path = out / post_filename(entry)
                    writes.append((entry.uid, pool.submit(write_atomic, path, text, durable=False)))
                done: dict[str, str] = {}
                for uid, future in writes:
                    if future.result():  # re-raises a write's PublishError here
                        report.written += 1
                    else:
                        report.unchanged += 1
                    done[uid] = batch[uid]
                # Posts reach the disk before their marks are committed, so a crash or power cut
                # can only cause a harmless rewrite, never a mark for a post that is not there.
                os.sync()
                store.set_publish_marks(key, done)
                if progress:
                    progress(min(start + _BATCH, total), total)
