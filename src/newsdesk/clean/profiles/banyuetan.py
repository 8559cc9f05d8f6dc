"""Banyuetan (半月谈网): banyuetan.org.

Body in #detail_content; images are lazy-loaded (data-src points at the Xinhua CDN,
src at banyuetan's own mirror); the 半月谈记者 byline is the first paragraph.
"""

PROFILE = {
    "name": "banyuetan",
    "hosts": ["banyuetan.org"],
    "markers": ['id="detail_content"'],
    "body": ["#detail_content", ".detail_content"],
    "drop_between": [],
    "drop": [".detail_share", ".share"],
    "unwrap": [],
    "figures": [],
    "drop_text": [],
    "image_block": [],
    "editor": [],
    "source": [".detail_tit_source", "meta[name=source]"],
    "reporters": [],
    "comment_source": None,
    "comment_keywords": None,
}
