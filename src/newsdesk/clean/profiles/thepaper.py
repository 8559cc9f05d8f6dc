"""The Paper (澎湃新闻): thepaper.cn.

The 2019 template writes the body as text runs separated by ``<br>`` and empty
``div.contheight`` spacers inside .news_txt; the ad slot (#adWord) follows it.
"""

PROFILE = {
    "name": "thepaper",
    "hosts": ["thepaper.cn"],
    "markers": ['class="news_txt"'],
    "body": [".news_txt", ".index_cententWrap__Jv8jK", "[class*=cententWrap]"],
    "drop_between": [],
    "drop": [".contheight", ".news_txtad", "#adWord", ".news_keyword", ".go_ad"],
    "unwrap": [],
    "figures": [],
    "drop_text": [r"^(关键词|澎湃新闻报料)\s*[:：>]"],
    "image_block": [],
    "editor": [],
    "source": [".news_about > p", "meta[name=source]"],
    "reporters": [".news_about > p"],
    "comment_source": None,
    "comment_keywords": None,
}
