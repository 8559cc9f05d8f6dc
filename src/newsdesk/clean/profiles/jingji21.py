"""21世纪经济报道 (21jingji): 21jingji.com, m.21jingji.com.

From RSSHub's ``lib/routes/21caijing/channel.ts``: the body is ``div.main_content`` or
``div.txtContent``; ``div.rela-box`` (related) and ``div.copyright`` are removed; the date
and author are in ``div.author-infos``. Unverified on a real page.
"""

PROFILE = {
    "name": "jingji21",
    "hosts": ["21jingji.com"],
    "markers": ['class="txtContent"'],
    "body": [".txtContent", ".main_content"],
    "drop": [".rela-box", ".copyright", ".news_share"],
    "drop_text": [r"^(更多内容请下载21财经APP|21世纪经济报道及其客户端所刊载)"],
    "reporters": [".author-infos"],
}
