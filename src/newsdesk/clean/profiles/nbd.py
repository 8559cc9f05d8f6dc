"""每日经济新闻 (NBD): nbd.com.cn.

From RSSHub's ``lib/routes/nbd/index.ts``: the body is ``.g-articl-text``. The 每经 byline
("每经记者 X 每经编辑 Y") opens or closes the text. Unverified on a real page.
"""

PROFILE = {
    "name": "nbd",
    "hosts": ["nbd.com.cn"],
    "markers": ['class="g-articl-text"'],
    "body": [".g-articl-text"],
    "drop": [".g-article-abstract-share", ".u-articl-share", ".g-relate-article"],
    "drop_text": [r"^(每日经济新闻|每经网)?(版权所有|未经许可)", r"^(封面图片来源|图片来源)[:：]"],
}
