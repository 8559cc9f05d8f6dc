"""Sina (新浪): finance/news/tech.sina.com.cn, every *.sina.com.cn and sina.cn.

Pure data, read by ``newsdesk.clean.profiles``. Feed items from RSSHub's /sina routes are
``$('#artibody').html()``; full pages carry the body in #artibody (finance, tech) or
#article (news). The CMS marks its boilerplate with HTML comments, so most rules are
"drop what sits between this comment and its twin".
"""

PROFILE = {
    "name": "sina",
    "hosts": ["sina.com.cn", "sina.cn", "sina.com"],
    # Seen in Sina bodies only; lets an item without a URL still get this profile.
    "markers": ["news_keyword_pub", "appendQr_wrap", 'class="article-editor"', "article_adlist["],
    "body": ["#artibody", "#article", ".article-content", "#article_content"],
    "drop_between": [
        ["总声明", "总声明"],
        ["正文下iframe", "正文下iframe"],
        ["文末二维码 start", "文末二维码 start"],
        ["文末二维码 start", "文末二维码 end"],
        ["开户二维码 start", "开户二维码 end"],
        ["新增众测推广文案", "新增众测推广文案end"],
        ["编辑姓名及工作代码", "编辑姓名及工作代码"],
        ["video-list", "/video-list"],
        ["文章关键词 begin", "文章关键词 end"],
    ],
    "drop": [
        ".appendQr_wrap",
        ".appendQr_normal",
        ".app-kaihu-qr",
        ".finance_app_zqtg",
        "[class*=hqimg]",
        "[id^=hqimg]",
        "span[id^=quote_]",
        ".ecode_weixin",
        ".art_keywords",
        ".wap_special",
        ".tech-quotation",
        ".artical-player-wrap",
        ".video-2017",
        "[id^=videoList]",
        ".new_style_article",
        ".article-bottom",
        ".show_statement",
        ".ct_hqimg",
        ".sinaads",
        "ins",
    ],
    # Stock names are part of the sentence; only the quote link around them goes.
    "unwrap": ["span[id^=stock_]", "span[id^=usstock_]", "span[id^=hkstock_]", "a.keyword", "a.f_st"],
    "figures": [[".img_wrapper", ".img_descr"]],
    "drop_text": [
        r"^海量资讯、精准解读，尽在新浪财经APP$",
        r"^股民福利来了",
        r"^新酷产品第一时间免费试玩",
        r"^专注.{0,20}新闻报道.{0,40}二维码",
        r"^文章关键词[：:]",
        r"^点击进入专题[：:]?",
    ],
    "image_block": [
        # The 文末二维码 QR code (2020-05-14) and the 开户 QR code, wherever they turn up.
        r"n\.sinaimg\.cn/finance/cece9e13/20200514/343233024\.png",
        r"/20220216/303e-b2864e7bf4f7e5ecede113b90b5a53c9\.png",
        r"image\.sinajs\.cn/newchart/",
        r"/weixin_[a-z]+\.jpg",
    ],
    "editor": ["p.article-editor", "p.show_author", ".article-editor"],
    "source": [
        ".date-source .source",
        ".date-source .ent-source",
        "meta[name=mediaid]",
        'meta[property="article:author"]',
    ],
    "reporters": [],
    # <!--article_adlist[<p>来源：中国新闻网</p>]article_adlist--> holds the source (and
    # sometimes related links); <!-- news_keyword_pub,<market>,<code>&<code> --> the tickers.
    "comment_source": r"<!--\s*article_adlist\[(.*?)\]article_adlist\s*-->",
    "comment_keywords": r"<!--\s*news_keyword_pub,[^,>]*,([^>]*?)\s*-->",
}
