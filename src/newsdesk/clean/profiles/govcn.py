"""中国政府网 (www.gov.cn).

From RSSHub's ``lib/routes/gov/zhengce/index.ts``: the text is the first ``div.TRS_UEDITOR``,
else ``#UCAP-CONTENT``; the 来源 is the ``span.font-zyygwj`` starting with 来源, the issuing
agency the 发文机关 cell of ``table.bd1``. Unverified on a real page.
"""

PROFILE = {
    "name": "govcn",
    # www.gov.cn only: provincial portals (*.gov.cn) run other CMSes.
    "hosts": ["www.gov.cn"],
    "body": [".TRS_UEDITOR", "#UCAP-CONTENT", ".pages_content"],
    "drop": [".pages_print", ".share", ".editor", ".mhide"],
    "drop_text": [r"^【我要纠错】", r"^(打印|关闭|责任编辑)[:：]?\s*$"],
    "editor": [".editor"],
    "source": ["span.font-zyygwj"],
}
