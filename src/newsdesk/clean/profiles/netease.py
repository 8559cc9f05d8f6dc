"""网易 (NetEase): 163.com news, money and 网易号 (dy) pages.

From RSSHub's ``lib/routes/163/utils.ts``: a 网易号 article is ``.post_body`` inside
``.post_main`` (account name in ``.post_wemedia_name``). The 2015 money template (``#endText``,
its 来源 in ``#ne_article_source``) is from the tuning pages in ../shared/portals.
"""

PROFILE = {
    "name": "netease",
    "hosts": ["163.com"],
    "markers": ['class="post_body"', 'id="endText"'],
    "body": [".post_body", "#endText"],
    "drop": [".ep-keywords", ".biaoqian", ".post_statement", ".otitle_editor", ".post_btns"],
    "drop_text": [r"^特别声明[:：]以上内容"],
    "image_block": [r"/iplocation"],
    "editor": [".ep-editor", ".otitle_editor", ".ep-source .ep-editor"],
    "source": ["#ne_article_source", ".post_info a"],
}
