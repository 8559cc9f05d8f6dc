"""上海证券报·中国证券网 (Shanghai Securities News): cnstock.com.

There is no RSSHub route for it. Its article pages are a Next.js app: the page carries the
article in its ``__NEXT_DATA__`` script (``props.pageProps.data``: ``title``, ``pubTime``,
``author`` as 作者：…, the body HTML in ``textInfo.content``), as public scrapers read it (they
fetch the same JSON from ``/_next/data/<build>/commonDetail/<id>.json``). newsdesk finds the
body from that script generically (``signals.embedded_body``), so the profile names the host.
Unverified on a real page.
"""

PROFILE = {
    "name": "cnstock",
    "hosts": ["cnstock.com"],
}
