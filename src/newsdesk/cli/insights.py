"""`newsdesk reinsight`, `targets`, `figures`, `trends`: the insights stage's output (issue 18)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import locks
from ..errors import NewsdeskError
from .common import JsonOpt, WaitOpt, current_config, open_archive, out, print_json, progress_bar


def register(app: typer.Typer) -> None:
    app.command()(reinsight)
    app.command()(targets)
    app.command()(figures)
    app.command()(trends)


def reinsight(
    everything: Annotated[
        bool, typer.Option("--all", help="Every stored article, not only those whose insights are stale.")
    ] = False,
    as_json: JsonOpt = False,
    wait: WaitOpt = locks.DEFAULT_WAIT,
) -> None:
    """Run the insights stage again over stored articles: those without insights, of an older
    extractor or of an older version of the entry (or all of them with --all).

    Pages showing insights are rewritten by the publishers' next run (`newsdesk build`)."""
    config = current_config()
    from .. import pipeline

    with locks.waiting(wait), open_archive(config) as store, progress_bar("要点 reinsight") as show:
        counts = pipeline.reinsight(config, store, everything=everything, progress=show)
    if as_json:
        print_json({"done": counts.done, "noted": counts.noted, "pruned": counts.pruned})
    else:
        out.print(f"{counts.done} entries done ({counts.noted} with notes), {counts.pruned} orphans removed")


def _date(flag: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as e:
        raise NewsdeskError(f"{flag}: {value!r} is not a date (use YYYY-MM-DD)") from e


def _positive(flag: str, value: int, most: int | None = None) -> None:
    if value < 1 or (most is not None and value > most):
        span = f"from 1 to {most}" if most is not None else "at least 1"
        raise NewsdeskError(f"{flag}: {value} is out of range ({span})")


def targets(
    body: Annotated[
        str | None, typer.Option(help="Only targets issued by this body (any alias: 工信部).")
    ] = None,
    due_before: Annotated[
        str | None, typer.Option(help="Only targets due before this date (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """The targets tracker: commitments with their deadlines, earliest due first."""
    from ..publish.insights_view import STATUS_LABELS, canonical_body, number_text, target_status, today

    before = _date("--due-before", due_before)
    _positive("--limit", limit)
    config = current_config()
    name = canonical_body(body) if body is not None else None
    with open_archive(config) as store:
        rows = store.list_targets(body=name, due_before=before, limit=limit)
    now = today()
    if as_json:
        print_json(
            [
                {
                    "id": r.ref.uid,
                    "title": r.ref.title,
                    "site": r.ref.site,
                    "published": r.ref.when,
                    "ordinal": r.ref.index + 1,
                    "status": target_status(r.target.deadline, now),
                    **_target(r.target),
                }
                for r in rows
            ]
        )
        return
    table = Table()
    for col in ("deadline", "status", "body", "metric", "target", "entry"):
        table.add_column(col)
    for r in rows:
        t = r.target
        table.add_row(
            t.deadline or "—",
            STATUS_LABELS[target_status(t.deadline, now)],
            escape(t.body or ""),
            escape(t.metric),
            escape(f"{t.comparator} {number_text(t.value)}{t.unit}"),
            r.ref.uid,
        )
    out.print(table)


def _target(t: Any) -> dict[str, Any]:
    from ..insights_json import insights_dict
    from ..models import Insights

    target: dict[str, Any] = insights_dict(Insights(targets=(t,)))["targets"][0]
    return target


def figures(
    metric: Annotated[str | None, typer.Option(help="Only this metric (房地产开发投资).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Reported figures by metric and period; without --metric, the recurring metrics too."""
    from ..insights_json import figure_dict
    from ..publish.insights_view import number_text

    _positive("--limit", limit)
    config = current_config()
    with open_archive(config) as store:
        rows = store.list_figures(metric=metric, limit=limit)
        recurring = store.figure_metrics() if metric is None else []
    if as_json:
        print_json(
            {
                "figures": [
                    {"id": r.ref.uid, "title": r.ref.title, "published": r.ref.when, **figure_dict(r.figure)}
                    for r in rows
                ],
                "metrics": [{"metric": m, "entries": n} for m, n in recurring],
            }
        )
        return
    table = Table()
    for col in ("metric", "scope", "period", "value", "change", "entry"):
        table.add_column(col)
    for r in rows:
        f, c = r.figure, r.figure.change
        change = "" if c is None else f"{c.kind} {c.direction} {number_text(c.value)}{c.unit}"
        table.add_row(
            escape(f.metric),
            escape(f.scope or ""),
            f.period or "",
            f"{number_text(f.value)}{f.unit}",
            change,
            r.ref.uid,
        )
    out.print(table)


def trends(
    terms: Annotated[list[str] | None, typer.Argument(metavar="TERM...", help="Terms to follow.")] = None,
    weeks: Annotated[int, typer.Option(help="How many weeks (1-520), ending with the newest.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Mentions per week of terms across the archive (without TERM: the most frequent ones), and
    the terms rising in the newest week against the four before it."""
    from ..publish.insights_view import rising, series, weeks_ending

    _positive("--weeks", weeks, 520)
    config = current_config()
    with open_archive(config) as store:
        latest = store.latest_insight_week()
        span = weeks_ending(latest, weeks) if latest else []
        wanted = list(terms or []) or [t for t, _ in store.top_terms(span, limit=10)]
        counts = series(store.term_weeks(wanted, since_week=span[0]), span) if span else {}
        rises = rising(store, latest) if latest else []
    data = {
        "weeks": span,
        "terms": {t: counts.get(t, [0] * len(span)) for t in wanted},
        "rising": [{"term": r.term, "articles": r.docs, "before": round(r.before, 2)} for r in rises],
    }
    if as_json:
        print_json(data)
        return
    if not span:
        out.print("no term counts yet (newsdesk reinsight)")
        return
    table = Table(title=f"articles per week, {span[0]} – {span[-1]}")
    table.add_column("term")
    for w in span:
        table.add_column(w[5:], justify="right")
    for t in wanted:
        table.add_row(escape(t), *(str(n) for n in data["terms"][t]))  # type: ignore[index]
    out.print(table)
    if rises:
        out.print(
            "rising: " + "、".join(f"{r.term} ({r.docs} vs {r.before:.1f})" for r in rises), markup=False
        )
