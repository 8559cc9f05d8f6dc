"""经济观察网 (EEO): eeo.com.cn.

From RSSHub's ``lib/routes/eeo/index.ts``: the body is ``.xd-nr``; removed before use are the
QR code (``.xd-xd-xd-rwm``), the author card (``.xd_zuozheinfo``), the links block
(``.xd-lj``) and the ad (``.xd-gg``). Unverified on a real page.
"""

PROFILE = {
    "name": "eeo",
    "hosts": ["eeo.com.cn"],
    "markers": ['class="xd-nr"'],
    "body": [".xd-nr"],
    "drop": [".xd-xd-xd-rwm", ".xd_zuozheinfo", ".xd-lj", ".xd-gg"],
    "drop_text": [r"^(经济观察报|经济观察网)?(版权所有|未经授权)"],
}
