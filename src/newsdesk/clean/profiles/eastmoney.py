"""东方财富 (Eastmoney): *.eastmoney.com news pages.

RSSHub has no full-text route for Eastmoney news; public scrapers select the body as
``#ContentBody`` (paragraphs directly under it) in the ``.txtinfos`` wrapper, with the
"文章来源" / "责任编辑" lines under it. Unverified on a real page.
"""

PROFILE = {
    "name": "eastmoney",
    "hosts": ["eastmoney.com"],
    "markers": ['id="ContentBody"'],
    "body": ["#ContentBody", ".txtinfos"],
    "drop": [".b-review", ".em_stock_key_common", ".social_bar", ".abstract"],
    "unwrap": ["span[id^=stock_]", "a.keytip"],
    "drop_text": [r"^(文章来源|原标题)[:：]?\s*$", r"^郑重声明[:：]", r"^东方财富.{0,10}(APP|客户端)"],
    "editor": [".res-edit", ".editor"],
}
