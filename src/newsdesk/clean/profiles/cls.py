"""财联社 (CLS): cls.cn.

RSSHub's ``lib/routes/cls`` routes read the article from the site's signed JSON API
(``utils.ts``: ``getSearchParams``), so a feed item is the body alone. On the page the body
sits in ``.detail-content`` (the telegraph/depth detail template). Unverified on a real page.
"""

PROFILE = {
    "name": "cls",
    "hosts": ["cls.cn"],
    "body": [".detail-content", ".detail-telegraph-content"],
    "drop": [".detail-share", ".detail-option", ".detail-subject"],
    "drop_text": [r"^(点击|下载).{0,10}财联社APP", r"^(声明|免责声明)[:：]"],
}
