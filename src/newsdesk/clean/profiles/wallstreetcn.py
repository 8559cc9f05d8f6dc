"""华尔街见闻 (Wallstreetcn): wallstreetcn.com.

RSSHub's ``lib/routes/wallstreetcn/news.ts`` takes the article from the content API
(``data.content`` + ``content_more``), so a feed item is the body alone and the source is the
API's ``source_name``; there is no page container to select. The profile only names the host
and the risk disclaimer that closes the articles. Unverified on a real page.
"""

PROFILE = {
    "name": "wallstreetcn",
    "hosts": ["wallstreetcn.com", "wallstcn.com"],
    "body": [".rich-text", ".article-content", ".article-body"],
    "drop": [".paywall", ".vip-content-tip"],
    "drop_text": [r"^风险提示及免责条款", r"^市场有风险，投资需谨慎。本文不构成"],
}
