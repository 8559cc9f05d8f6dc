"""Article metadata read from text: 来源, 责任编辑, 记者 bylines, datelines, keywords, summary.

Pure string functions over already-extracted lines, so they are easy to test one by one.
Chinese news writes its metadata in a handful of fixed formulas (``来源：X``,
``责任编辑：X SF014``, ``（记者 A 、B）``, ``新华社北京X月X日电``); the regexes below
encode those formulas and nothing fuzzier, because a wrong 记者 is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Whitespace as Chinese pages use it: ASCII, NBSP, full-width U+3000, zero-width, BOM.
WS = " \t\r\n\f\v\xa0\u2002\u2003\u2009\u200b\u3000\ufeff"
_CJK_NL = re.compile(f"(?<=[\u3000-\u9fff\uff00-\uffef])[{WS}]*\n[{WS}]*(?=[\u3000-\u9fff\uff00-\uffef])")


def norm_line(text: str) -> str:
    """One line of text: source line breaks between CJK dropped, whitespace runs collapsed,
    indentation (U+3000) and surrounding spaces stripped."""
    if "\n" in text:
        text = _CJK_NL.sub("", text)
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", "").replace("\ufeff", "")
    # str.split() knows Unicode whitespace (U+3000, NBSP, …) and runs in C.
    return " ".join(text.split())


# --- 责任编辑 -------------------------------------------------------------------------------

_EDITOR = re.compile(
    r"(责任编辑|责编|值班编辑|本文编辑|文字编辑|编辑)\s*[:：/／丨]\s*"
    r"([^】）)\]\n]*?)(?=\s*(?:责任编辑|责编|(?:[|｜]\s*)?[\u4e00-\u9fff]{0,4}编辑\s*[:：/]|来源|作者|记者|[】）)\]\n]|$))"
)
_STAFF_CODE = re.compile(r"^(?:[A-Za-z]{1,6}\d{1,6}[A-Za-z]?|\d+)$")
# A staff code glued to the name: 李曦_NN2587, 张三-SF014.
_GLUED_CODE = re.compile(r"[_\-－]?[A-Za-z]{1,6}\d{2,6}[A-Za-z]?$")
# Where a credit line's value ends when the next label follows without a separator.
_NEXT_LABEL = r"(?=责任编辑|责编|编辑|作者|记者|原标题|发布时间|时间|日期|字号|$)"
EDITOR_RANK = {"责任编辑": 0, "责编": 1, "值班编辑": 2, "本文编辑": 3, "文字编辑": 3, "编辑": 4}
_NAME_SPLIT = re.compile(f"[{WS}、，,;；/／|｜]+")


def _join_single_chars(tokens: list[str]) -> list[str]:
    # "杨 洁": two-character names are typeset with a space to align with three-character ones.
    out: list[str] = []
    run = ""
    for tok in tokens:
        if len(tok) == 1 and _is_cjk(tok):
            run += tok
            continue
        if run:
            out.append(run)
            run = ""
        out.append(tok)
    if run:
        out.append(run)
    return out


def _is_cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" or ch in "·•" for ch in text)


def parse_editor(text: str) -> tuple[int, str] | None:
    """``(rank, names)`` from a 责任编辑/责编/编辑 line; staff codes such as SF014 dropped.

    Rank orders the formulas (责任编辑 beats 编辑) so the caller can keep the best one; a line
    naming two (编辑：A 责任编辑：B) gives the better. Returns None when the line names no
    person (e.g. only a code: ``责任编辑：HN666``).
    """
    best: tuple[int, str] | None = None
    for m in _EDITOR.finditer(text):
        value = re.split(r"(?:来源|作者|记者|时间|日期|审核|校对|监制|排版)\s*[:：/]", m.group(2))[0]
        tokens = [_GLUED_CODE.sub("", t) if _is_cjk(t[:1]) else t for t in _NAME_SPLIT.split(value)]
        tokens = [t for t in tokens if t and not _STAFF_CODE.match(t)]
        names = [t for t in _join_single_chars(tokens) if 1 < len(t) <= 12]
        if names and (best is None or EDITOR_RANK[m.group(1)] < best[0]):
            best = (EDITOR_RANK[m.group(1)], "、".join(names))
    return best


# --- 来源 ---------------------------------------------------------------------------------

_SOURCE = re.compile(
    r"来源\s*[:：|｜]\s*((?:(?!责任编辑|责编|编辑[:：]|作者|记者|发布时间|时间[:：])[^\s<>（(【\[|｜])+"
    r"(?:\s(?!原创|作者|编辑|责任编辑|记者|\d)[^\s<>（(【\[|｜]+)?)"
)
_SOURCE_TRAIL = re.compile(r"(原创稿|原创|稿件)$")
_NOT_SOURCE = re.compile(r"^\d+$|\d{4}[-/年]\d{1,2}|\d{1,2}:\d{2}")  # ids, dates, times
_LABEL = re.compile(r"(作者|记者|编辑|责任编辑|责编|时间|发布时间|日期)\s*[:：]|记者|通讯员")


def parse_source(text: str, *, labelled: bool = True, one_word: bool = False) -> str | None:
    """The outlet named by ``来源：X`` (``（ID：…）`` and ``原创稿`` trimmed).

    With ``labelled=False`` (a page's dedicated source element or meta tag) an unlabelled
    text is taken as the outlet itself, unless it is another label or a bare number.
    """
    m = _SOURCE.search(text)
    if m is not None:
        # one_word: the text has a space at each element boundary, and the outlet is one element.
        value = m.group(1).split(" ")[0] if one_word else m.group(1)
    elif labelled or _LABEL.search(text):
        return None
    else:
        # A page's byline slot may read "作者/来源" (澎湃: 石佳/中国青年报): the outlet is last.
        value = text.rsplit("/", 1)[-1]
    value = _SOURCE_TRAIL.sub("", norm_line(value)).strip(" :：-—|")
    if not value or len(value) > 40 or _NOT_SOURCE.search(value):
        return None
    return value


# --- 记者 ---------------------------------------------------------------------------------

_ROLE = re.compile(
    r"(?:本报|本刊|本台|特约|见习|实习|首席|驻\S{1,4})?(?:记者|实习生|通讯员|评论员)(?:[:：])?"
)
_BRACKETED = re.compile(
    r"[（(【\[]([^（()）【】\[\]]{0,40}?(?:记者|实习生|通讯员|评论员)[^（()）【】\[\]]{0,60})[)）】\]]"
)
_LEAD_BYLINE = re.compile(r"^[^\s，。,：:“”\"（(【]{0,16}?(?:记者|实习生|通讯员)")
_AFTER_ROLE_OK = re.compile(f"^[{WS}]*[:：]?[{WS}]*[\u4e00-\u9fff·]{{1,4}}(?=[{WS}、]|$)")
_NOT_NAME_END = re.compile(r"(报道|发自|表示|获悉|了解|注意到|采访|摄|电|讯|社|网|报|台|日|月)$")
_AUTHOR_LINE = re.compile(
    r"^[（(【\[]?\s*(?:作者|文|执笔|撰文|文字)\s*[:：|｜丨/／]\s*([^）)】\]]{2,30})[)）】\]]?$"
    r"|^[（(【\[]?\s*(?:《[^》]{1,12}》)?\s*(?:作者|执笔)\s+([^）)】\]:：]{2,30})[)）】\]]?$"
)
# What may close a byline without being a name: where it was filed (北京报道, 发自东京), the
# text credit (/文) and a photo credit for someone else (受访者供图).
_BYLINE_TAIL = re.compile(
    r"(?:\s+[\u4e00-\u9fff]{2,8}(?:报道|电)|\s*发自[\u4e00-\u9fff]{2,8}|\s*(?:受访者|本人|网友|资料)?供图"
    r"|\s*[/／]\s*文(?:[/／]图)?|\s*文[/／]图)+$"
)
# A person's title before the name: (作者：…研究部部长、研究员徐占忱), 北京大学教授 张三.
_TITLED_NAME = re.compile(
    r"(?:教授|研究员|主任|部长|院长|所长|博士|主编|律师|分析师|经济学家|评论员|专栏作者|董事长|总裁|首席[\u4e00-\u9fff]{0,6}师)"
    r"\s*([\u4e00-\u9fff·]{2,4})$"
)


def _names(piece: str) -> tuple[list[str], bool]:
    """Names at the start of ``piece``; the flag says whether the whole piece was names."""
    tokens = _join_single_chars([t for t in _NAME_SPLIT.split(piece) if t])
    out: list[str] = []
    for tok in tokens:
        if (2 <= len(tok) <= 4 and _is_cjk(tok) and not _NOT_NAME_END.search(tok)) or (
            5 <= len(tok) <= 12 and "·" in tok and _is_cjk(tok)
        ):
            out.append(tok)
        else:
            return out, False
    return out, True


def names_in(piece: str) -> tuple[list[str], bool]:
    """Person names at the start of ``piece``, and whether the whole piece was names."""
    return _names(piece)


def _byline_names(text: str, *, lead: bool) -> tuple[list[str], bool]:
    if re.search(r"摄\s*$", text):  # 新华社记者 才扬 摄: a photo credit, not a byline
        return [], False
    pieces = _ROLE.split(text)
    if len(pieces) < 2:
        return [], False
    names: list[str] = []
    whole = True
    for piece in pieces[1:]:
        if lead and not names and not _AFTER_ROLE_OK.match(piece):
            return [], False
        found, complete = _names(piece)
        names.extend(found)
        if not complete:
            whole = False
            break
    return names, whole


def byline_only(line: str) -> tuple[str, ...] | None:
    """Reporters when ``line`` is nothing but a byline (本报记者 A 见习记者 B, （记者 A）,
    文/A, 作者 A B, 新京报记者 A 山东冠县报道, X记者A/文受访者供图)."""
    if len(line) > 60 or any(p in line for p in "。！？；"):
        return None
    line = _BYLINE_TAIL.sub("", line.lstrip("□■●◆▲★☆◇○-—·• ")).strip() or line
    line = _EDITOR_TAIL.split(line, maxsplit=1)[0]  # 每经记者 A 每经编辑 B: B is the editor
    inner = line
    m = _BRACKETED.fullmatch(line)
    if m is not None:
        inner = m.group(1)
    elif not _LEAD_BYLINE.match(line):
        author = _AUTHOR_LINE.match(line)
        if author is None:
            return None
        value = author.group(1) or author.group(2)
        if _ROLE.search(value):  # 文丨政能亮特约评论员 韩涵
            names, whole = _byline_names(value, lead=False)
            return tuple(names) if names and whole else None
        found, whole = _names(value)
        return tuple(found) if found and whole else None
    names, whole = _byline_names(inner, lead=m is None)
    return tuple(names) if names and whole else None


_LABELLED = re.compile(
    r"(?:作者|记者)\s*[:：]\s*([^|｜:：<>]{2,40}?)(?=\s*(?:来源|编辑|责任编辑|时间|日期|[|｜]|$))"
)


def labelled_names(text: str) -> tuple[str, ...]:
    """Names after an explicit ``作者：``/``记者：`` label inside a page's info bar."""
    m = _LABELLED.search(text)
    if m is None:
        return ()
    found, _ = _names(m.group(1))
    return tuple(found)


_EDITOR_TAIL = re.compile(r"\s+[\u4e00-\u9fff]{0,4}编辑[\s:：]")
_BYLINE_EDITOR = re.compile(r"(?:^|\s)[\u4e00-\u9fff]{0,4}编辑[\s:：]+([\u4e00-\u9fff·]{2,4})(?=\s|$)")


def byline_editor(line: str) -> tuple[int, str] | None:
    """The editor a byline names after its reporters (每经记者 A 每经编辑 B → B), as
    ``parse_editor`` ranks it."""
    m = _BYLINE_EDITOR.search(line)
    return (EDITOR_RANK["编辑"], m.group(1)) if m else None


def author_of(text: str) -> tuple[str, ...]:
    """The author named after ``作者：`` in a credit line, with or without the person's titles:
    作者：何苗 张梦洁, (作者：张三，北京大学教授), （作者：中国国际经济交流中心…研究员徐占忱）."""
    m = re.search(r"作者\s*[:：]\s*([^）)】\]]{2,80})", text)
    if m is None:
        return ()
    value = re.split(r"\s*(?:来源|编辑|责任编辑|责编)\s*[:：]", m.group(1))[0].strip()
    first = re.split(r"[，,]", value)[0]
    found, whole = _names(first)
    if found and whole:
        return tuple(found)
    titled = _TITLED_NAME.search(value)
    return (titled.group(1),) if titled else ()


_OUTLET = re.compile(r"^([^\s，。,：:“”\"（()）【】、]{2,16}?)(?:首席|特约|见习|实习)?记者")


def byline_outlet(line: str) -> str | None:
    """The outlet a byline names before 记者 (新华社记者 A → 新华社); None for 本报/本刊 (the
    paper itself, unnamed) and for lines that are not bylines."""
    m = _OUTLET.match(line)
    if m is None:
        return None
    outlet = m.group(1).strip("·")
    if outlet in ("本报", "本刊", "本台", "本网", "本站") or outlet.endswith(("本报", "驻")):
        return None
    return outlet


def find_reporters(lines: list[str]) -> tuple[str, ...]:
    """Reporters named in the opening or closing lines: （记者 A）, 【X记者 A B】, X记者A 北京报道."""
    names: list[str] = []
    candidates = lines[:3] + [ln for ln in lines[-3:] if ln not in lines[:3]]
    for i, line in enumerate(candidates):
        for m in _BRACKETED.finditer(line[:400] if i < 3 else line[-400:]):
            names.extend(_byline_names(m.group(1), lead=False)[0])
        if i < 3 and _LEAD_BYLINE.match(line):
            names.extend(_byline_names(line[:80], lead=True)[0])
    return tuple(dict.fromkeys(names))


# --- 电头 (dateline) ----------------------------------------------------------------------

_DATELINE = re.compile(
    r"^(?!据)(?:"
    r"[^\s，。,：:、“”\"（()）【】]{2,24}? ?\d{1,2}月\d{1,2}日(?:电|讯|消息|快讯|报道)"
    r"|[^\s，。,：:、“”\"（()）【】\d]{0,20}?(?:社|网|报|台|端|刊|财经|科技|新闻|公司|APP)(?:快讯|讯|消息|电)"
    r")(?=[\s（(【，,：:]|$)"
)


_FILED_FROM = re.compile(r"(?:记者|通讯员|特派记者)[^。，]{1,30}?\s([\u4e00-\u9fff]{2,8}报道)$")


def find_dateline(lines: list[str]) -> str | None:
    """The 电头 opening the article: 中新社北京12月20日电, 本报讯, 财联社9月26日讯, 新京报快讯,
    TNW中文站 10月14日报道; or the place of a reporter's opening byline (记者 张三 南京报道 →
    南京报道). Read from the first lines (a few headings may come before it)."""
    for line in lines[:5]:
        m = _DATELINE.match(line)
        if m is not None:
            return m.group(0)
    for line in lines[:2]:
        filed = _FILED_FROM.search(line[:60])
        if filed is not None and len(line) <= 60:
            return filed.group(1)
    return None


# --- keywords -----------------------------------------------------------------------------

_KW_SPLIT = re.compile(r"[,，、;；|｜\s]+")


def split_keywords(value: str) -> list[str]:
    """``<meta name=keywords>`` content: comma, 、 or space separated."""
    return [k for k in _KW_SPLIT.split(value) if k and len(k) <= 40]


def split_ticker_codes(value: str) -> list[str]:
    """Codes from Sina's ``news_keyword_pub,<market>,<code>&<code>`` comment (market dropped)."""
    return [c for c in re.split(r"[&,\s]+", value) if c and len(c) <= 20]


# --- summary ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[。！？；!?][”’\"』」）)]*")


def make_summary(lines: list[str], limit: int = 120) -> str:
    """The first ``limit`` characters of the text, cut after the last sentence end (。！？；)
    inside that window, unless that would leave under a quarter of it: then cut at ``limit``
    and add an ellipsis."""
    text = ""
    for line in lines:
        if len(text) > limit:
            break
        if text and not (_is_wide(text[-1]) or _is_wide(line[:1])):
            text += " "
        text += line
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    cut = 0
    for m in _SENTENCE_END.finditer(window):
        if m.end() <= limit:
            cut = m.end()
    if cut >= limit // 4:
        return text[:cut]
    return text[:limit].rstrip() + "…"


def _is_wide(ch: str) -> bool:
    # CJK and full-width forms, plus the quotes/dashes/ellipsis Chinese text uses (U+2010-206F).
    return bool(ch) and (ch >= "\u2e80" or "\u2010" <= ch <= "\u206f")


@dataclass
class Found:
    """Metadata collected while cleaning; each field keeps its best-ranked value."""

    source: str | None = None
    source_rank: int = 99
    editor: str | None = None
    editor_rank: int = 9999
    reporters: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    def offer_source(self, value: str | None, rank: int) -> None:
        if value and rank < self.source_rank:
            self.source, self.source_rank = value, rank

    def offer_editor(self, parsed: tuple[int, str] | None, rank_base: int = 0) -> None:
        # The formula first (责任编辑 beats 编辑 wherever each is printed), then where it was read.
        if parsed is not None and parsed[0] * 100 + rank_base < self.editor_rank:
            self.editor_rank, self.editor = parsed[0] * 100 + rank_base, parsed[1]

    def add_reporters(self, names: tuple[str, ...] | list[str]) -> None:
        for n in names:
            if n not in self.reporters:
                self.reporters.append(n)

    def add_keywords(self, words: list[str]) -> None:
        for w in words:
            if w not in self.keywords:
                self.keywords.append(w)
