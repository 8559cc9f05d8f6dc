"""The search index's sidecar file: its schema version and the store rev it has applied.

Read without tantivy, so asking whether the index is behind costs no heavy import.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SIDECAR", "applied_rev"]

SIDECAR = "newsdesk-index.json"  # in the index folder: schema version and the store rev applied


def applied_rev(path: Path) -> int | None:
    """The store rev the index at `path` has applied, None when unknown."""
    try:
        rev = json.loads((path / SIDECAR).read_text(encoding="utf-8")).get("rev")
    except (OSError, ValueError, AttributeError):
        return None
    return rev if isinstance(rev, int) else None
