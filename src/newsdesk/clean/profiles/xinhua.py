"""Xinhua (新华网 / 新华社): xinhuanet.com (and provincial sub-sites), news.cn.

Body in #p-detail (xinhuanet 2020 template) or #detail (news.cn 2023); below it the 图集
slider, 点赞, 纠错 box with an iframe, and 责任编辑 in .editor / .p-jc.
"""

PROFILE = {
    "name": "xinhua",
    "hosts": ["xinhuanet.com", "news.cn"],
    "markers": ['id="p-detail"'],
    "body": ["#p-detail", "#detail", "#detailContent", ".main-aticle", "#content", ".article"],
    "drop_between": [],
    "drop": [
        ".lb",
        ".zan-wap",
        ".p-tags",
        "#articleEdit",
        ".tiyi1",
        ".tiyi01",
        ".advise",
        ".editor",
        ".swiper-container2",
        "#swiperContainer2",
    ],
    "unwrap": [],
    "figures": [],
    "drop_text": [r"^【纠错】"],
    "image_block": [r"/images/syicon/space\.gif"],
    "editor": [".editor", ".p-jc", "#articleEdit"],
    "source": ["meta[name=source]", ".source", "#source"],
    "reporters": [],
    "comment_source": None,
    "comment_keywords": None,
}
