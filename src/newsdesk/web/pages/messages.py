"""The reader pages' words in Chinese (zh-CN, the default) and English: one small catalogue,
looked up by the Chinese text itself, so a template reads as the page it makes."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"

# Chinese → English. A message missing here is shown in Chinese (tests/test_webapp.py checks
# that every message the templates use has its English).
EN: dict[str, str] = {
    "新闻台": "News desk",
    "登录": "Log in",
    "退出": "Log out",
    "用户名": "User name",
    "密码": "Password",
    "用户名或密码错误": "Wrong user name or password",
    "登录失败次数过多，请稍后再试": "Too many failed logins: try again later",
    "表单已过期，请重试": "The form has expired: please try again",
    "未读": "Unread",
    "全部": "All",
    "星标": "Starred",
    "搜索": "Search",
    "今日要闻": "Today's stories",
    "设置": "Settings",
    "修改密码": "Change password",
    "当前密码": "Current password",
    "新密码": "New password",
    "再次输入新密码": "New password again",
    "两次输入的新密码不一致": "The two new passwords differ",
    "当前密码不正确": "The current password is wrong",
    "密码已修改，请重新登录": "Password changed: please log in again",
    "保存": "Save",
    "已保存": "Saved",
    "语言": "Language",
    "主题": "Theme",
    "跟随系统": "As the system",
    "浅色": "Light",
    "深色": "Dark",
    "订阅": "Feeds",
    "全部文章": "All articles",
    "没有文章": "No articles",
    "更早": "Older",
    "最新": "Newest",
    "也见于 %(n)s 家媒体": "also in %(n)s outlets",
    "标为已读": "Mark read",
    "标为未读": "Mark unread",
    "加星标": "Star",
    "取消星标": "Unstar",
    "以上全部标为已读": "Mark all above read",
    "本列表全部标为已读": "Mark this list read",
    "来源": "Source",
    "责任编辑": "Editor",
    "记者": "Reporters",
    "作者": "Author",
    "电头": "Dateline",
    "发布时间": "Published",
    "收录时间": "Received",
    "北京时间": "Beijing time",
    "原文链接": "Original",
    "其他媒体报道": "Other outlets",
    "要点": "Key points",
    "目标": "Targets",
    "指标": "Metric",
    "期限": "Deadline",
    "机构": "Bodies",
    "数据": "Figures",
    "范围": "Scope",
    "时期": "Period",
    "数值": "Value",
    "变化": "Change",
    "会议": "Meetings",
    "人物": "Officials",
    "关键词": "Keywords",
    "分类": "Category",
    "找不到这篇文章": "No such article",
    "返回": "Back",
    "搜索新闻": "Search news",
    "按相关度": "By relevance",
    "按时间": "By date",
    "找到 %(n)s 条": "%(n)s found",
    "没有找到": "Nothing found",
    "查询无法理解：%(e)s": "The query cannot be understood: %(e)s",
    "搜索索引正在建立，请稍后再试": "The search index is being built: try again shortly",
    "查询语法：词语、“短语”、-排除、甲 OR 乙": 'Query: words, "a phrase", -excluded, a OR b',
    "%(n)s 家媒体": "%(n)s outlets",
    "%(n)s 篇": "%(n)s articles",
    "前一天": "Previous day",
    "后一天": "Next day",
    "当天没有多家媒体报道的新闻": "No story was carried by several outlets that day",
    "键盘快捷键": "Keyboard shortcuts",
    "下一篇": "Next",
    "上一篇": "Previous",
    "打开": "Open",
    "打开原文": "Open the original",
    "切换已读": "Toggle read",
    "切换星标": "Toggle star",
    "转到未读": "Go to unread",
    "转到星标": "Go to starred",
    "显示帮助": "Show this help",
    "关闭": "Close",
    "跳到正文": "Skip to content",
    "已读": "read",
    "篇未读": "unread",
    "订阅状态": "Feed health",
    "只有管理员可以这样做": "Only admins may do this",
    "分组": "Group",
    "网站": "Site",
    "名称": "Name",
    "网址或 RSSHub 路由": "URL or RSSHub route",
    "或": "or",
    "清理正文": "Clean the article",
    "抓取全文": "Fetch the full text",
    "添加订阅": "Add feed",
    "状态": "Status",
    "下次检查": "Next check",
    "上次成功": "Last success",
    "正常": "OK",
    "失败": "Failing",
    "已暂停": "Paused",
    "连续失败 %(n)s 次": "%(n)s failures in a row",
    "立即刷新": "Refresh now",
    "恢复": "Resume",
    "暂停": "Pause",
    "删除": "Remove",
    "编辑": "Edit",
    "编辑订阅": "Edit feed",
    "没有这个订阅": "No such feed",
    "没有这个操作": "No such action",
    "这个订阅来自配置文件：请在配置文件中删除，或暂停它": (
        "This feed comes from the config file: remove it there, or pause it"
    ),
    "请填写 http:// 或 https:// 网址，或以 / 开头的 RSSHub 路由": (
        "Give an http:// or https:// URL, or an RSSHub route starting with /"
    ),
    "用户": "Users",
    "管理员": "Admin",
    "读者": "Reader",
    "角色": "Role",
    "创建时间": "Created",
    "添加用户": "Add user",
    "不能删除自己": "You cannot remove yourself",
    "规则": "Rules",
    "关键词规则": "Keyword rules",
    "规则只对之后收录的文章生效；词语之间用空格分隔，须全部出现（繁简通用）。": (
        "Rules judge articles that arrive from now on; words are separated by spaces and must all"
        " appear (Traditional and Simplified alike)."
    ),
    "词语或正则表达式": "Words or regular expression",
    "类型": "Kind",
    "词语": "Words",
    "正则表达式": "Regular expression",
    "条件": "When",
    "匹配的文章": "Articles that match",
    "不匹配的文章": "Articles that do not match",
    "操作": "Action",
    "全部订阅": "Every feed",
    "添加规则": "Add rule",
    "没有这条规则": "No such rule",
    "筛选": "Filters",
    "不能修改自己的角色": "You cannot change your own role",
    "没有这个用户": "No such user",
    "设为读者": "Make reader",
    "设为管理员": "Make admin",
    "滚动经过的文章标为已读": "Mark articles read as they are scrolled past",
    "没有收到 OPML 文件": "No OPML file was sent",
    "OPML 文件超过 1 MB": "The OPML file is over 1 MB",
    "OPML：新增 %(a)s 个订阅，%(s)s 个未添加（已存在或无效）": (
        "OPML: %(a)s feeds added, %(s)s not (already there or invalid)"
    ),
    "预览": "Preview",
    "预览订阅": "Feed preview",
    "在页面中找到的订阅": "Feeds found in the page",
    "共 %(n)s 条": "%(n)s items",
    "导入 OPML": "Import OPML",
    "从": "From",
    "到": "To",
    "密钥": "Keys",
    "阅读器应用密码": "Reader app passwords",
    "阅读器应用用应用密码登录，不用登录密码。": "Apps log in with an app password, not the login password.",
    "新的应用密码（只显示这一次）：": "Your new app password (shown this once only):",
    "用途": "For",
    "新建应用密码": "New app password",
    "撤销全部应用密码": "Revoke every app password",
    "上次使用": "Last used",
    "从未使用": "never",
    "撤销": "Revoke",
    "每日简报": "Daily brief",
    "没有这一天：": "No such day:",
    "最近一个月没有简报": "No brief in the last month",
    "%(n)s 个多家媒体报道的事件": "%(n)s stories carried by several outlets",
    "%(n)s 项新目标": "%(n)s new targets",
    "%(n)s 项新数据": "%(n)s new figures",
    "多家媒体报道": "Carried by several outlets",
    "新目标": "New targets",
    "未定期限": "no deadline",
    "当天没有新目标": "No new target that day",
    "新数据": "New figures",
    "当天没有新数据": "No new figure that day",
    "上升关键词": "Rising terms",
    "本周没有上升的关键词": "No rising term this week",
    "私人订阅链接": "Private feed links",
    "星标和未读列表的订阅链接带有你的令牌，撤销后旧链接失效。": (
        "Your starred and unread feed links carry your token: revoked, old links stop working."
    ),
    "生成新令牌": "Renew the token",
    "生成令牌": "Make a token",
    "撤销令牌": "Revoke the token",
    "订阅此列表": "Follow this list",
    "导出 OPML": "Export OPML",
    "跳过规则（所有人）": "Skip rules (everyone)",
    "匹配的新文章不收录：对所有人生效，在收录之前判断。": (
        "New articles that match are not stored: for everyone, judged before storing."
    ),
    "添加跳过规则": "Add skip rule",
    "添加者": "Added by",
    "检查间隔": "Check interval",
    "最短间隔（分钟）": "Shortest interval (minutes)",
    "最长间隔（分钟）": "Longest interval (minutes)",
    "留空则使用配置文件的设置": "Leave empty for the config's",
    "间隔须为正数（分钟），且最短不超过最长": (
        "Intervals must be positive numbers of minutes, the shortest no longer than the longest"
    ),
}


def pick_language(setting: str | None, accept: str | None) -> str:
    """The setting when it names a known language; else the first of Accept-Language's that we
    have (by weight); else zh-CN."""
    if setting in LANGUAGES:
        return setting
    if accept:
        wanted: list[tuple[float, int, str]] = []
        for n, part in enumerate(accept.split(",")):
            tag, _, params = part.strip().partition(";")
            weight = 1.0
            if params.strip().startswith("q="):
                try:
                    weight = float(params.strip()[2:])
                except ValueError:
                    weight = 0.0
            wanted.append((-weight, n, tag.strip().lower()))
        for _, _, tag in sorted(wanted):
            if tag.startswith("zh"):
                return "zh-CN"
            if tag.startswith("en"):
                return "en"
    return DEFAULT


def translator(language: str) -> Callable[..., str]:
    """`_(message, **values)` for the templates: the message in `language`, values put in."""
    table = EN if language == "en" else None

    def _(message: str, **values: object) -> str:
        text = table.get(message, message) if table is not None else message
        return text % values if values else text

    return _
