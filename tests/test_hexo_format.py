"""The Hexo post format, checked against the reference post, and the atomic writer."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsdesk.errors import PublishError
from newsdesk.models import StoredEntry, entry_uid
from newsdesk.publish.hexo_format import (
    first_image,
    needs_nunjucks_guard,
    post_filename,
    render_post,
    rfc822_gmt,
    write_atomic,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
REFERENCE_POST = REFERENCE / "000_64ad9eb2d24c9098.txt"
SEED_FEED = REFERENCE / "seed-feed.xml"

QR = "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
PUBLISHED = datetime(2021, 12, 20, 15, 0, 52, tzinfo=UTC)

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is not checked out")


def make_entry(**overrides: Any) -> StoredEntry:
    """A StoredEntry shaped like the reference article; keyword arguments replace fields."""
    feed_key = "金融/新浪财经/新浪财经－国內"
    entry_id = "https://finance.sina.com.cn/china/gncj/2021-12-20/doc-example0001.shtml"
    fields: dict[str, Any] = {
        "uid": entry_uid(feed_key, entry_id),
        "feed_key": feed_key,
        "group": "金融",
        "site": "新浪财经",
        "feed": "新浪财经－国內",
        "entry_id": entry_id,
        "title": "工信部部署2022年六方面重点任务",
        "link": entry_id,
        "published": PUBLISHED,
        "updated": None,
        "author": None,
        "content": "<p>正文</p>",
        "summary": "",
        "first_seen": PUBLISHED + timedelta(minutes=5),
        "last_changed": PUBLISHED + timedelta(minutes=5),
        "content_hash": "0" * 40,
    }
    fields.update(overrides)
    return StoredEntry(**fields)


def seed_description() -> str:
    """The exact CDATA text of the seed item's <description>, read from the raw file (no parser)."""
    raw = SEED_FEED.read_text(encoding="utf-8")
    item = raw[raw.index("<item>") :]
    m = re.search(r"<description><!\[CDATA\[(.*?)\]\]></description>", item, re.DOTALL)
    assert m is not None
    return m.group(1)


def split_post(text: str) -> tuple[str, str]:
    """(front matter from the first --- through the closing ---\\n, everything after it)."""
    start = text.index("---\n")
    end = text.index("\n---\n", start + 4) + len("\n---\n")
    return text[start:end], text[end:]


def front_matter_data(text: str) -> dict[str, Any]:
    fm, _ = split_post(text)
    data = yaml.safe_load(fm[4:-4])
    assert isinstance(data, dict)
    return data


def front_matter_keys(text: str) -> list[str]:
    fm, _ = split_post(text)
    return [line.split(":", 1)[0] for line in fm.split("\n")[1:-2] if not line.startswith(" ")]


REFERENCE_KEYS = ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]


@needs_reference
def test_reference_post_golden() -> None:
    reference = REFERENCE_POST.read_text(encoding="utf-8")
    content = seed_description()
    out = render_post(make_entry(content=content))

    ref_fm, ref_rest = split_post(reference)
    out_fm, out_rest = split_post(out)
    assert out_fm.encode("utf-8") == ref_fm.encode("utf-8")
    assert out.startswith(out_fm)  # our file opens with the fence itself
    # The reference's body is the feed's HTML byte for byte, after one blank line.
    assert ref_rest.startswith("\n" + content)
    assert out_rest == "\n" + content + "\n"
    # Framing: the old script wrote a newline before the opening --- and its template's
    # indentation (a newline and 12 spaces) after the body. Hexo reads both files alike.
    assert reference == "\n" + out + " " * 12


@needs_reference
def test_reference_post_values() -> None:
    out = render_post(make_entry(content=seed_description()))
    assert front_matter_keys(out) == REFERENCE_KEYS
    assert front_matter_data(out) == {
        "title": "工信部部署2022年六方面重点任务",
        "categories": ["金融", "新浪财经", "新浪财经－国內"],
        "headimg": QR,
        "author": "新浪财经",
        "comments": False,
        "date": "Mon, 20 Dec 2021 15:00:52 GMT",
        "thumbnail": QR,
    }


@needs_reference
def test_reference_body_needs_no_nunjucks_guard() -> None:
    # The portal wrote its CSS braces as &#123;/&#125;, so the raw HTML is Nunjucks-safe.
    assert not needs_nunjucks_guard(seed_description())


def test_no_image_leaves_out_headimg_and_thumbnail() -> None:
    out = render_post(make_entry(content="<p>没有图片</p>"))
    assert front_matter_keys(out) == ["title", "categories", "author", "comments", "date"]
    assert "headimg" not in out and "thumbnail" not in out


def test_default_image_fills_in() -> None:
    default = "https://example.org/default.png"
    out = render_post(make_entry(content="<p>没有图片</p>"), default_image=default)
    assert front_matter_keys(out) == REFERENCE_KEYS
    data = front_matter_data(out)
    assert data["headimg"] == data["thumbnail"] == default
    assert f"headimg: '{default}'\n" in out


def test_body_image_wins_over_default() -> None:
    out = render_post(make_entry(content=f'<img src="{QR}">'), default_image="https://example.org/d.png")
    assert front_matter_data(out)["headimg"] == QR


def test_body_argument_replaces_content() -> None:
    entry = make_entry(content=f'<p><img src="{QR}"></p>')
    out = render_post(entry, body="<p>cleaned</p>")
    assert "headimg" not in front_matter_data(out)
    assert split_post(out)[1] == "\n<p>cleaned</p>\n"
    # An empty body still gives a complete post: front matter and the blank line.
    assert render_post(entry, body="").endswith("\n---\n\n")


@pytest.mark.parametrize(
    "body",
    [
        "<p>a\r\nb</p>\r\n",
        "<p>trailing spaces</p>   \n\n",
        "&lt;&amp;&#123;&nbsp;<!-- c -->\n",
        "<pre>---\n---</pre>\n",
        "<p>\u2028\x85\ufeff</p>\n",
    ],
)
def test_body_is_written_unmodified(body: str) -> None:
    out = render_post(make_entry(content=body))
    assert split_post(out)[1] == "\n" + body


def test_newline_added_only_when_missing() -> None:
    assert render_post(make_entry(content="<p>x</p>")).endswith("\n<p>x</p>\n")
    assert render_post(make_entry(content="<p>x</p>\n")).endswith("\n<p>x</p>\n")


@pytest.mark.parametrize("body", ["<p>{{ price }}</p>", "<p>{% raw %}</p>", "<p>{#</p>", "{{"])
def test_nunjucks_syntax_disables_nunjucks(body: str) -> None:
    out = render_post(make_entry(content=body))
    assert front_matter_keys(out)[-1] == "disableNunjucks"
    assert front_matter_data(out)["disableNunjucks"] is True
    assert "\ndisableNunjucks: true\n---\n" in out


@pytest.mark.parametrize("body", ["<p>{ {</p>", "<p>&#123;&#123;</p>", "<p>}} %} #}</p>", "{"])
def test_no_nunjucks_guard_without_openers(body: str) -> None:
    out = render_post(make_entry(content=body))
    assert "disableNunjucks" not in out


def test_nunjucks_in_title_is_only_quoted() -> None:
    title = "{{ 价格 }} {% if %} 'x' #y: z\n---"
    out = render_post(make_entry(title=title, content="<p>x</p>"))
    assert "disableNunjucks" not in out
    assert front_matter_data(out)["title"] == title


def test_first_seen_when_not_published() -> None:
    entry = make_entry(published=None, first_seen=datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert "\ndate: Sun, 02 Jan 2022 03:04:05 GMT\n" in render_post(entry)


def test_rfc822_gmt_converts_to_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    assert rfc822_gmt(datetime(2021, 12, 20, 23, 0, 52, tzinfo=beijing)) == "Mon, 20 Dec 2021 15:00:52 GMT"
    # Crosses a day boundary, and drops microseconds.
    assert rfc822_gmt(datetime(2021, 12, 21, 7, 0, 0, 999, tzinfo=beijing)) == "Mon, 20 Dec 2021 23:00:00 GMT"
    assert rfc822_gmt(PUBLISHED) == "Mon, 20 Dec 2021 15:00:52 GMT"


def test_rfc822_gmt_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        rfc822_gmt(datetime(2021, 12, 20, 15, 0, 52))


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (f'<p>x</p><img src="{QR}"><img src="https://e.org/2.jpg">', QR),
        ('<img src="/rel.jpg"><IMG SRC="http://e.org/a.jpg?x=1&amp;y=2">', "http://e.org/a.jpg?x=1&y=2"),
        (
            '<img src="data:image/gif;base64,R0lGOD" data-src="https://e.org/lazy.jpg">',
            "https://e.org/lazy.jpg",
        ),
        ('<img data-original="https://e.org/orig.jpg">', "https://e.org/orig.jpg"),
        (
            '<img src="https://e.org/img/blank.gif" data-src="https://e.org/real.jpg">',
            "https://e.org/real.jpg",
        ),
        ('<img src="https://e.org/loading.gif"><img src="https://e.org/b.jpg">', "https://e.org/b.jpg"),
        ('<!-- <img src="https://e.org/c.jpg"> --><img src="https://e.org/d.jpg">', "https://e.org/d.jpg"),
        (
            '<script>"<img src=https://e.org/s.jpg>"</script><img src="https://e.org/e.jpg">',
            "https://e.org/e.jpg",
        ),
        ('<img src="//e.org/proto-relative.jpg"><img src=" https://e.org/f.jpg ">', "https://e.org/f.jpg"),
        ('<img src="ftp://e.org/g.jpg"><img src="javascript:alert(1)">', None),
        ('<img src="https://e.org/a\nb.jpg">', None),
        ("<p>no images</p>", None),
        ("", None),
        ("   ", None),
        ("<!-- only a comment -->", None),
        ('<?xml version="1.0" encoding="UTF-8"?><img src="https://e.org/x.jpg">', "https://e.org/x.jpg"),
        ('<img src="https://例子.测试/图片.jpg">', "https://例子.测试/图片.jpg"),
    ],
)
def test_first_image(html: str, expected: str | None) -> None:
    assert first_image(html) == expected


@needs_reference
def test_first_image_of_reference_is_the_qr_code() -> None:
    assert first_image(seed_description()) == QR


def test_post_filename() -> None:
    entry = make_entry()
    assert post_filename(entry) == f"{entry.uid}.md"
    assert re.fullmatch(r"[0-9a-f]{16}\.md", post_filename(entry))


@pytest.mark.parametrize(
    "uid", ["", "../../etc/passwd", "64AD9EB2D24C9098", "64ad9eb2d24c909", "64ad9eb2d24c9098/"]
)
def test_post_filename_refuses_non_hex_uids(uid: str) -> None:
    with pytest.raises(ValueError):
        post_filename(replace(make_entry(), uid=uid))


def test_write_atomic_creates_then_leaves_identical_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    text = render_post(make_entry(title="标题 'x'"))
    assert write_atomic(path, text) is True
    assert path.read_bytes() == text.encode("utf-8")

    old = 1_600_000_000
    os.utime(path, (old, old))
    inode = path.stat().st_ino
    assert write_atomic(path, text) is False
    assert path.stat().st_mtime == old
    assert path.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post.md"]


def test_write_atomic_replaces_changed_content(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text("old\n", encoding="utf-8")
    assert write_atomic(path, "new 新\r\n") is True
    # Bytes as given: no newline translation.
    assert path.read_bytes() == "new 新\r\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post.md"]


def _assert_one_line_error(err: pytest.ExceptionInfo[PublishError], path: Path) -> None:
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message
    assert isinstance(err.value.__cause__, OSError)


def test_write_atomic_error_when_parent_is_a_file(tmp_path: Path) -> None:
    # Works even as root, where permission bits do not stop writes.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    path = blocker / "post.md"
    with pytest.raises(PublishError) as err:
        write_atomic(path, "text\n")
    _assert_one_line_error(err, path)


def test_write_atomic_error_when_folder_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "post.md"
    with pytest.raises(PublishError) as err:
        write_atomic(path, "text\n")
    _assert_one_line_error(err, path)


def test_write_atomic_error_when_path_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(PublishError) as err:
        write_atomic(tmp_path, "text\n")
    _assert_one_line_error(err, tmp_path)


def test_write_atomic_error_when_temp_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only folder does for a non-root user, simulated so it also runs as root.
    path = tmp_path / "post.md"
    path.write_text("old\n", encoding="utf-8")
    real_open = os.open

    def refuse(file: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if Path(file).parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PublishError) as err:
        write_atomic(path, "new\n")
    monkeypatch.undo()
    _assert_one_line_error(err, path)
    assert "Permission denied" in str(err.value)
    assert path.read_text(encoding="utf-8") == "old\n"


def test_write_atomic_cleans_up_when_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "post.md"
    path.write_text("old\n", encoding="utf-8")

    def fail(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(PublishError) as err:
        write_atomic(path, "new\n")
    monkeypatch.undo()
    _assert_one_line_error(err, path)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["post.md"]


def test_write_atomic_refuses_unencodable_text(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    with pytest.raises(PublishError, match="UTF-8"):
        write_atomic(path, "lone \ud800 surrogate")
    assert not path.exists()
