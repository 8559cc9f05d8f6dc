"""界面新闻 (Jiemian): jiemian.com.

From RSSHub's ``lib/routes/jiemian/common.ts``: the body is ``div.article-content``, the lead
``div.article-header p``, the lead image ``div.article-img img`` with its caption in the
following ``<p>``, authors the links of the first ``span.author``. Unverified on a real page.
"""

PROFILE = {
    "name": "jiemian",
    "hosts": ["jiemian.com"],
    "body": [".article-content"],
    "drop": [".article-source", ".share-view", ".article-tags"],
    "figures": [[".article-img", "p"]],
    "drop_text": [r"^(来源：界面新闻)$", r"^(未经正式授权严禁转载本文)"],
    "reporters": ["span.author"],
}
