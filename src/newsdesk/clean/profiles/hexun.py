"""Hexun (和讯网): *.hexun.com.

Body in .art_contextBox; the 责任编辑 line is a right-aligned div inside it; the
"read more" fade-out (.bottomLayer) sits at its end; source link in .tip.
"""

PROFILE = {
    "name": "hexun",
    "hosts": ["hexun.com"],
    "markers": ['class="art_contextBox"'],
    "body": [".art_contextBox", "#artibody", ".art_context"],
    "drop_between": [],
    "drop": [".bottomLayer", ".showAll", ".art_tip", ".art_keyword"],
    "unwrap": [],
    "figures": [],
    "drop_text": [],
    "image_block": [],
    "editor": [],
    "source": [".tip a", ".tip .source", "meta[name=source]"],
    "reporters": [],
    "comment_source": None,
    "comment_keywords": None,
}
