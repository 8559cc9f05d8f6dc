"""第一财经 (Yicai): yicai.com.

From RSSHub's ``lib/routes/yicai/utils.ts`` (full-text fetch): the body is ``.multiText`` /
``#multi-text`` / ``.txt``; the headline (h1), the ``.u-btn6`` buttons, the ``.m-smallshare``
share bar and the ``.topic-hot`` list are removed. Unverified on a real page (docs/cleaning.md).
"""

PROFILE = {
    "name": "yicai",
    "hosts": ["yicai.com"],
    "markers": ['id="multi-text"', 'class="multiText"'],
    "body": [".multiText", "#multi-text", ".m-text .txt", ".txt"],
    "drop": ["h1", ".u-btn6", ".m-smallshare", ".topic-hot"],
    "drop_text": [r"^(本文作者|文章作者)[:：].{0,20}$", r"^(举报|第一财经广告合作)"],
}
