"""凤凰网 (iFeng): *.ifeng.com article pages.

RSSHub's ``lib/routes/ifeng`` routes read the text from the page's ``allData`` JSON
(``docData.contentData.contentList``, ``utils.ts``: text and video items). On the page the
text is the ``index_text_*`` block (hashed class, so matched by prefix), the 责任编辑 line the
``index_author_*`` paragraph: from the tuning pages in ../shared/portals.
"""

PROFILE = {
    "name": "ifeng",
    "hosts": ["ifeng.com"],
    "body": ["[class^=index_text_]", "[class^=index_main_content_]"],
    "drop": ["[class^=index_copyRight]", "[class^=index_author_]"],
    "drop_text": [r"^“?特别声明[:：]以上作品内容"],
    "editor": ["[class^=index_author_]"],
}
