"""Insights as JSON: the shape `entries show --json` prints under `insights` (issue 18), which
is also how the store keeps them, so the two never drift apart. Numbers stay numbers, units
apart; ordinals 1-based; deadlines YYYY-MM-DD or null."""

from __future__ import annotations

from typing import Any, cast

from .models import Change, Figure, Insights, Official, Target, TaskItem


def insights_dict(ins: Insights, *, keywords: list[str] | None = None, terms: bool = False) -> dict[str, Any]:
    """The issue's shape (plus `kind`/`run` of tasks, `notes`, `version`); `keywords`: ranked
    at read time against the archive; `terms`: the article's own term counts too (storage)."""
    d: dict[str, Any] = {
        "tasks": [
            {
                "ordinal": t.ordinal,
                "marker": t.marker,
                "lead": t.lead,
                "text": t.text,
                "run": t.run,
                "kind": t.kind,
            }
            for t in ins.tasks
        ],
        "targets": [
            {
                "metric": t.metric,
                "comparator": t.comparator,
                "value": _number(t.value),
                "unit": t.unit,
                "deadline": t.deadline,
                "body": t.body,
                "sentence": t.sentence,
            }
            for t in ins.targets
        ],
        "figures": [figure_dict(f) for f in ins.figures],
        "bodies": list(ins.bodies),
        "meetings": list(ins.meetings),
        "officials": [{"name": o.name, "title": o.title} for o in ins.officials],
        "keywords": list(keywords or []),
        "notes": list(ins.notes),
        "version": ins.version,
    }
    if terms:
        d["terms"] = [[t, n] for t, n in ins.terms]
    return d


def figure_dict(f: Figure) -> dict[str, Any]:
    c = f.change
    return {
        "metric": f.metric,
        "scope": f.scope,
        "period": f.period,
        "value": _number(f.value),
        "unit": f.unit,
        "change": None
        if c is None
        else {"kind": c.kind, "value": _number(c.value), "unit": c.unit, "direction": c.direction},
        "sentence": f.sentence,
    }


def _number(value: float | None) -> float | int | None:
    """Whole numbers as JSON integers (400000000, not 400000000.0)."""
    if value is None:
        return None
    if value == int(value) and abs(value) < 2**63:
        return int(value)
    return value


def insights_from_dict(d: dict[str, Any]) -> Insights:
    """`insights_dict(..., terms=True)` read back."""
    return Insights(
        tasks=tuple(
            TaskItem(t["ordinal"], t["marker"], t["lead"], t["text"], t.get("run", 0), t.get("kind", "tasks"))
            for t in d["tasks"]
        ),
        targets=tuple(
            Target(
                t["metric"],
                t["comparator"],
                _float(t["value"]),
                t["unit"],
                t["deadline"],
                t["body"],
                t["sentence"],
            )
            for t in d["targets"]
        ),
        figures=tuple(figure_from_dict(f) for f in d["figures"]),
        bodies=tuple(d["bodies"]),
        meetings=tuple(d["meetings"]),
        officials=tuple(Official(o["name"], o["title"]) for o in d["officials"]),
        terms=tuple((str(t), int(n)) for t, n in d.get("terms", [])),
        notes=tuple(d.get("notes", [])),
        version=int(d.get("version", 1)),
    )


def figure_from_dict(f: dict[str, Any]) -> Figure:
    c = f["change"]
    change = (
        None
        if c is None
        else Change(cast(Any, c["kind"]), _float(c["value"]), c["unit"], cast(Any, c["direction"]))
    )
    return Figure(f["metric"], f["scope"], f["period"], _float(f["value"]), f["unit"], change, f["sentence"])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
