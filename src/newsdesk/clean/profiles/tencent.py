"""腾讯新闻 (Tencent): new.qq.com, news.qq.com and the older *.qq.com article pages.

RSSHub's ``lib/routes/tencent/news/author.ts`` reads the article from the page's
``window.DATA.originContent.text`` (HTML), not from the DOM; newsdesk does the same generically
(``signals.embedded_body``), so the profile only names the host. Unverified on a real page:
../shared/portals' qq pages are in the untouched half, scored but not read for this profile.
"""

PROFILE = {
    "name": "tencent",
    "hosts": ["qq.com"],
}
