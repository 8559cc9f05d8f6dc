"""财新 (Caixin): caixin.com and its subdomains (weekly, china, finance, economy, *.blog).

From RSSHub's ``lib/routes/caixin/templates/article.tsx`` and ``utils.ts``: the article is
``div#Main_Content_Val.text`` (its lead in ``.article .subhead``); blog posts are
``#the_content``, whose empty ``&nbsp;`` paragraphs RSSHub drops. Unverified on a real page.
"""

PROFILE = {
    "name": "caixin",
    "hosts": ["caixin.com"],
    "markers": ['id="Main_Content_Val"'],
    "body": ["#Main_Content_Val", "#the_content"],
    "drop": [".pip", ".content_video", ".morelink", ".fenxiang", ".idetor"],
    "figures": [[".media", ".media-txt"]],
    "drop_text": [r"^(更多报道详见|点击查看|财新网主编精选版电邮)", r"^【财新网】?$"],
    "editor": [".idetor"],
}
