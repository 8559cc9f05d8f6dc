"""Securities Times (证券时报网): stcn.com.

Body in #ctrlfscont (.txt_con), often bare text without ``<p>``; 来源 and 作者 in the
.intal_tit .info line above it.
"""

PROFILE = {
    "name": "stcn",
    "hosts": ["stcn.com"],
    "markers": ['id="ctrlfscont"'],
    "body": ["#ctrlfscont", ".txt_con", ".detail-content"],
    "drop_between": [],
    "drop": [".social-bar", ".share", ".detail-content-editor"],
    "unwrap": [],
    "figures": [],
    "drop_text": [],
    "image_block": [],
    "editor": [".detail-content-editor"],
    "source": [".intal_tit .info span", ".detail-info span", "meta[name=author]"],
    "reporters": [".intal_tit .info span"],
    "comment_source": None,
    "comment_keywords": None,
}
