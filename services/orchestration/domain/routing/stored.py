"""A routing decision as it is stored, and its candidates as they are read back.

A decision holds a report for every candidate location, and the API answers each with its
filters and score components. Written that way, one order's decision over a hundred
locations was about 90 kB of JSON, encoded by orchestration and parsed and compressed by
PostgreSQL for every order. So the candidates are stored in rows: each distinct set of
filter verdicts once (most locations share theirs), each candidate as its figures, and the
components rebuilt from them when the decision is read: the same JSON as before, a tenth of
the size. Decisions stored in the older form (a full object per candidate) read as they are.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from services.orchestration.domain.routing.model import (
    COMPONENTS,
    CandidateReport,
    FilterVerdict,
    RoutingDecision,
    RoutingRequest,
)

# The version of the candidates' stored form; the older form is a plain list.
ROWS_FORM = 2
PASSED_OVER_REASON = "holds none of the order's SKUs and expects none"


def stored_decision(
    request: RoutingRequest, decision: RoutingDecision, passed_over: int
) -> dict[str, Any]:
    """The decision as stored, JSON types only."""
    return {
        "outcome": decision.outcome.value,
        "strategy_version": decision.strategy_version,
        "candidates": candidate_rows(decision.candidates),
        "parts": [jsonable(p) for p in decision.parts],
        "explanation": decision.explanation,
        "reason": decision.reason,
        "meets_requested_date": decision.meets_requested_date,
        "request": jsonable(request),
        # Every other location held none of the order's SKUs and expected none: the stock
        # filter refuses them all the same, so they are counted rather than each explained.
        "passed_over": {"locations": passed_over, "reason": PASSED_OVER_REASON},
    }


def candidate_rows(reports: tuple[CandidateReport, ...]) -> dict[str, Any]:
    """The candidates in rows: [code, filters (an index into the distinct verdict sets),
    eligible, covers_all, total, values, scores], the last three only when scored."""
    verdict_sets: list[list[list[Any]]] = []
    index_of: dict[tuple[int, ...], int] = {}
    weights: list[float] | None = None
    rows: list[list[Any]] = []
    for report in reports:
        # By identity: most verdicts are the filters' shared constants, and a set of equal
        # verdicts that are not the same objects is merely stored twice.
        key = tuple(map(id, report.filters))
        index = index_of.get(key)
        if index is None:
            index = index_of[key] = len(verdict_sets)
            verdict_sets.append([_verdict(v) for v in report.filters])
        row: list[Any] = [report.location_code, index, report.eligible, report.covers_all]
        if report.scored is not None:
            weights = list(report.scored.weights)
            row += [report.total, list(report.scored.values), list(report.scored.scores)]
        elif report.total is not None:
            row.append(report.total)
        rows.append(row)
    return {"form": ROWS_FORM, "filters": verdict_sets, "weights": weights, "rows": rows}


def readable_candidates(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored decision's candidates, each a full object as the API answers it."""
    stored = body["candidates"]
    if isinstance(stored, list):
        return stored  # the older form
    verdict_sets = [
        [{"name": name, "passed": passed, "reason": reason} for name, passed, reason in verdicts]
        for verdicts in stored["filters"]
    ]
    weights = stored["weights"]
    candidates = []
    for code, index, eligible, covers_all, *scored in stored["rows"]:
        total = scored[0] if scored else None
        components = []
        if len(scored) == 3:
            _, values, scores = scored
            components = [
                {
                    "name": name,
                    "value": value,
                    "score": score,
                    "weight": weight,
                    "contribution": score * weight,
                }
                for name, value, score, weight in zip(
                    COMPONENTS, values, scores, weights, strict=True
                )
            ]
        candidates.append(
            {
                "location_code": code,
                "filters": verdict_sets[index],
                "eligible": eligible,
                "covers_all": covers_all,
                "components": components,
                "total": total,
            }
        )
    return candidates


def _verdict(verdict: FilterVerdict) -> list[Any]:
    return [verdict.name, verdict.passed, verdict.reason]


def jsonable(value: Any) -> Any:
    """JSON types all the way down: dataclasses become objects, sets sorted lists, anything
    else (Decimal, enums, dates) its string. One pass, no copies: dataclasses.asdict
    deep-copies every leaf."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return {name: jsonable(getattr(value, name)) for name in _field_names(type(value))}
    return str(value)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
