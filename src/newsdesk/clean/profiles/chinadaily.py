"""China Daily (中国日报网): *.chinadaily.com.cn.

Body in #Content; the 【责任编辑：…】 line is a right-aligned div inside it.
"""

PROFILE = {
    "name": "chinadaily",
    "hosts": ["chinadaily.com.cn"],
    "markers": [],
    "body": ["#Content", ".article", "#Content2"],
    "drop_between": [],
    "drop": [".selectpage", "#div_currpage", ".share", ".fenx"],
    "unwrap": [],
    "figures": [],
    "drop_text": [],
    "image_block": [],
    "editor": [],
    "source": ["meta[name=source]", ".fenx .xinf-le", ".info_l"],
    "reporters": [],
    "comment_source": None,
    "comment_keywords": None,
}
