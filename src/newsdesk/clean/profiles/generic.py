"""Rules every profile gets, and the whole of the "generic" profile for unknown hosts.

Pure data. Selectors here must be safe on any portal: they name widgets (share bars, QR
codes, ad slots), never layout classes an article body might also carry.
"""

PROFILE = {
    "name": "generic",
    "hosts": [],
    "markers": [],
    # Body containers of content-management systems many portals share, tried in order on pages
    # of portals without a profile (after itemprop and JSON-LD, before the density scorer).
    # Coarse containers (<article>, #content) are extract.py's: they are narrowed, not trusted.
    "body": [
        ".TRS_Editor",  # TRS WCM: news sites, most government portals
        ".Custom_UnionStyle",  # TRS, older template
        "#UCAP-CONTENT",  # UCAP (www.gov.cn and provincial portals)
        "#zoom",  # Founder/TRS government templates
        "#ozoom",  # Founder e-paper (数字报)
        "#endText",  # NetEase 2015 template
        ".post_body",  # NetEase 2020s template
        "#mp-editor",  # Sohu 号
        ".syl-article-base",  # Toutiao
        "#story-body-container",  # FT中文网
        "#js_content",  # WeChat articles re-hosted
        "#artibody",
        "#article_content",
        ".article-content",
        ".article_content",
        ".post-content",
        ".entry-content",
    ],
    "drop_between": [],
    "drop": [
        "nav",
        "aside",
        "footer",
        "[class*=qrcode]",
        "[class*=qr-code]",
        "[class*=erweima]",
        "[id*=qrcode]",
        "[class*=share-]",
        "[class*=-share]",
        "[class*=share_]",
        ".share",
        ".social-share",
        ".bdshare",
        "[class*=bdsharebuttonbox]",
        "[class*=advert]",
        "[id^=ad_]",
        "[class*=download-app]",
        "[class*=app-download]",
        "[class*=related]",
        "[class*=recommend]",
        ".comment",
        ".comments",
        "[class*=comment]",
        "[id^=comment]",
        "[class*=statement]",
        "[class*=read-num]",
        "[class*=readnum]",
        "[class*=jubao]",
        "[class*=feedback]",
        "[class*=dislike]",
        "[class*=post_next]",
        "[class*=nextpage]",
        ".breadcrumb",
        ".copyright",
    ],
    "unwrap": [],
    "figures": [["figure", "figcaption"], [".image", ".caption"], [".pic", ".pic-desc"]],
    "drop_text": [
        r"^(扫描|扫码|长按|识别).{0,30}(二维码|关注|下载)",
        r"^(请)?(关注|下载).{0,20}(公众号|微信号|客户端|APP|App|app)",
        r"^(分享到|分享至)[:：]?",
        r"^免责声明[:：]",
        r"^(版权声明|转载请注明|本文系.{0,20}原创)",
        r"^(点击|戳)(这里|此处|查看|阅读原文|下载)",
        r"^阅读原文$",
        r"^(相关(新闻|阅读|报道|链接))[:：]?$",
        r"^(此前报道|相关报道|延伸阅读|推荐阅读|相关阅读|相关新闻|往期回顾)[:：]",
        r"^(热门推荐|推荐阅读|延伸阅读|猜你喜欢)[:：]?$",
        r"^(打开|下载).{0,10}(APP|App|app|客户端).{0,20}$",
        r"^【纠错】",
        r"^\[?(上一页|下一页)\]?$",
        # Counters, feedback and end-of-article widgets, as text when their markup is unknown.
        r"^(阅读|浏览|点击|阅读数|阅读量|浏览量)\s*[:：(（]?\s*[\d.,万+]+\s*[)）]?(次)?$",
        r"^返回.{0,12}(首页|频道|查看更多)",
        r"^(正文已结束|本文结束)$",
        r"^((收藏本文|收藏|扫一扫|不感兴趣|投诉|举报|点赞|分享|评论|打印|关闭|纠错|字号)[\s|｜:：]*){1,8}$",
        r"^(特别声明|平台声明|声明)[:：]",
        r"^(网友评论|网友跟贴|热门跟贴|最新评论|全部评论|热门评论|发表评论|我要评论)\s*([(（:：]\s*\d*\s*[)）]?)?$",
        r"^(扫码|扫描二维码).{0,12}(下载|打开|关注)",
        r"^(打开|下载|前往|点击|去).{0,12}(APP|App|app|客户端).{0,6}(阅读|查看|看)(全文|更多|原文)",
    ],
    "image_block": [
        # Tracking pixels, spacers, QR codes, logos, share and app icons by their names.
        r"(qrcode|qr_code|qr-code|erweima|ewm\b|/qr/|_qr\.|-qr\.)",
        r"(/logo|logo[_.-]|_logo|/icons?/|icon[_.-]|/share|share[_.-]|/btn[_.-]|button)",
        r"(spacer|space\.gif|blank\.gif|pixel\.gif|1x1\.|/pixel|beacon|/stat\.|/count\.|loading\.gif)",
        r"(weixin|wechat)[^/]*\.(png|jpe?g|gif)$",
    ],
    "editor": [],
    "source": ["meta[name=source]", 'meta[property="article:author"]'],
    # Only read on whole pages, and only "记者 A" / "作者：A" formulas inside them count.
    "reporters": ["[class*=author]", "[class*=byline]", "[class*=article-meta]", "[class*=article-info]"],
    "comment_source": None,
    "comment_keywords": None,
}
