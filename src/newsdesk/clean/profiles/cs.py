"""中国证券报·中证网 (China Securities Journal): cs.com.cn.

From RSSHub's ``lib/routes/cs/index.ts``: the article is ``article.cont_article``, its text the
``section`` inside it, the headline ``header h1``, the author ``div.artc_info em``; pages may be
GBK (the fetch stage decodes them). Unverified on a real page.
"""

PROFILE = {
    "name": "cs",
    "hosts": ["cs.com.cn"],
    "markers": ['class="cont_article"'],
    "body": ["article.cont_article section", ".cont_article"],
    "drop": [".artc_route", ".artc_share", "header"],
    "drop_text": [r"^(中证网声明|版权声明)[:：]"],
    "source": [".artc_info .ly"],
    "reporters": [".artc_info em"],
}
