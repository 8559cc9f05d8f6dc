"""A reader's own labels on single items in the Google Reader API (`edit-tag
a=user/-/label/X`, `r=…`), beside the folders every feed sits in (its group and site).

A label names a folder when a feed of the catalogue sits there (`group/site`, or a group
alone): folders are the feeds' and only admins move them (greader_subs). Any other label is the
reader's own, on the items they put it on: listed in `tag/list` (type "tag"), readable as a
stream, shown among an item's categories, renamed and removed by `rename-tag` and
`disable-tag` for that reader alone. An item label may not take a folder's name (400).
"""

from __future__ import annotations

import re

from ..store import Store
from .errors import ApiError

LABEL_TAG = re.compile(r"^user/[^/]*/label/")
MAX_LABEL = 100


def label_of_tag(tag: str) -> str | None:
    """The label a `user/-/label/…` tag names (None: not a label tag)."""
    if not LABEL_TAG.match(tag):
        return None
    return LABEL_TAG.sub("", tag).strip("/")


def is_folder(store: Store, label: str) -> bool:
    """Whether `label` is a feed's folder: some feed's `group/site`, or a group's name."""
    return any(label in (f.spec.group, f"{f.spec.group}/{f.spec.site}") for f in store.catalogue())


def item_label(store: Store, tag: str) -> str:
    """The reader's label a tag names, checked: 400 when empty, too long, not printable, or a
    folder's name."""
    label = label_of_tag(tag) or ""
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        raise ApiError(400, f"label {tag[:120]!r}: give 1 to {MAX_LABEL} printable characters")
    if is_folder(store, label):
        raise ApiError(
            400, f"label {label[:100]!r} is a folder of feeds (a group/site): items cannot be put in it"
        )
    return label
