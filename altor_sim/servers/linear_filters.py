"""Linear's filters (comparators, date-times or durations, label filters) and connections
(`first`/`last`, opaque cursors, `pageInfo`), over plain dicts as of the servers' clock."""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    GraphQLError,
)

from altor_sim.servers.http import b64, unb64
from altor_sim.world.reader import parse_time

DEFAULT_PAGE = 50
MAX_PAGE = 250


_DURATION = re.compile(
    r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def gql_error(message: str, code: str, type_: str, user_message: str | None = None,
               status: int = 400) -> GraphQLError:
    ext = {"type": type_, "code": code, "statusCode": status, "userError": True}
    if user_message:
        ext["userPresentableMessage"] = user_message
    return GraphQLError(message, extensions=ext)


def check_date(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("DateTimeOrDuration must be an ISO 8601 date-time or duration string")
    if not _DURATION.match(value):
        try:
            parse_time(value)
        except ValueError:
            raise GraphQLError(f"Invalid DateTimeOrDuration: {value!r}") from None
    return value


def _date_value(value: str, now: float) -> float:
    m = _DURATION.match(value)
    if not m:
        return parse_time(value)
    sign, y, mo, w, d, h, mi, sec = m.groups()
    secs = (int(y or 0) * 365 * 86400 + int(mo or 0) * 30 * 86400 + int(w or 0) * 7 * 86400
            + int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0))
    return now - secs if sign else now + secs


def _cmp(value: Any, comp: dict, conv: Any = lambda x: x) -> bool:
    """Linear comparators: eq neq gt gte lt lte in nin null, and the string ones."""
    for op, arg in comp.items():
        if op == "null":
            if (value is None) != bool(arg):
                return False
            continue
        if value is None:
            return False
        v = conv(value)
        if op in ("in", "nin"):
            inside = v in [conv(a) for a in arg]
            if inside != (op == "in"):
                return False
            continue
        if op in ("eq", "neq", "gt", "gte", "lt", "lte"):
            a = conv(arg)
            ok = {"eq": v == a, "neq": v != a, "gt": v > a, "gte": v >= a, "lt": v < a,
                  "lte": v <= a}[op]
        else:  # string comparators
            s, a = str(value), str(arg)
            ok = {
                "contains": a in s, "notContains": a not in s,
                "containsIgnoreCase": a.lower() in s.lower(),
                "notContainsIgnoreCase": a.lower() not in s.lower(),
                "startsWith": s.startswith(a), "notStartsWith": not s.startswith(a),
                "endsWith": s.endswith(a), "notEndsWith": not s.endswith(a),
                "eqIgnoreCase": s.lower() == a.lower(), "neqIgnoreCase": s.lower() != a.lower(),
            }.get(op, True)
        if not ok:
            return False
    return True


DATE_FIELDS = {"createdAt", "updatedAt", "completedAt", "canceledAt", "archivedAt", "startedAt"}


def matches(node: dict, flt: dict | None, now: float) -> bool:
    if not flt:
        return True
    for key, sub in flt.items():
        if sub is None:
            continue
        if key == "and":
            if not all(matches(node, f, now) for f in sub):
                return False
        elif key == "or":
            if not any(matches(node, f, now) for f in sub):
                return False
        elif key in DATE_FIELDS:
            if not _cmp(node.get(key), sub, lambda x: _date_value(x, now) if isinstance(x, str)
                        and _DURATION.match(x) else parse_time(x)):
                return False
        elif key in ("state", "team"):
            if not matches(node.get(key) or {}, sub, now):
                return False
        elif key == "labels":
            if not _labels_match(node.get("_labels") or [], sub, now):
                return False
        elif key in ("priority", "number"):
            if not _cmp(node.get(key), sub, float):
                return False
        elif not _cmp(node.get(key), sub):
            return False
    return True


def _labels_match(labels: list[dict], flt: dict, now: float) -> bool:
    for key, sub in flt.items():
        if key == "and" and not all(_labels_match(labels, f, now) for f in sub):
            return False
        if key == "or" and not any(_labels_match(labels, f, now) for f in sub):
            return False
        if key == "some" and not any(matches(lb, sub, now) for lb in labels):
            return False
        if key == "every" and not all(matches(lb, sub, now) for lb in labels):
            return False
        if key == "none" and any(matches(lb, sub, now) for lb in labels):
            return False
        if key == "length" and not _cmp(len(labels), sub, float):
            return False
        if key in ("id", "name", "createdAt", "updatedAt") and not any(
                matches(lb, {key: sub}, now) for lb in labels):
            return False
    return True


def connection(nodes: list[dict], args: dict, now: float, archived_ok: bool = False) -> dict:
    """Relay connection over `nodes`, newest first by `orderBy`, ties by id descending."""
    first, last = args.get("first"), args.get("last")
    for name, n in (("first", first), ("last", last)):
        if n is not None and (n < 0 or n > MAX_PAGE):
            raise gql_error("Argument Validation Error", "INVALID_INPUT", "invalid input",
                             f"{name} must be between 0 and {MAX_PAGE}.")
    if first is not None and last is not None:
        raise gql_error("Argument Validation Error", "INVALID_INPUT", "invalid input",
                         "Only one of first and last can be given.")
    field = args.get("orderBy") or "createdAt"
    include_archived = archived_ok or bool(args.get("includeArchived"))
    items = [n for n in nodes
             if (include_archived or not n.get("archivedAt"))
             and matches(n, args.get("filter"), now)]
    keyed = sorted(((parse_time(n[field]), str(n["id"])), n) for n in items)
    keyed.reverse()

    def decode(c: str) -> tuple[float, str]:
        try:
            t, i = unb64(c)
            return float(t), str(i)
        except Exception:
            raise gql_error("Invalid cursor", "INVALID_INPUT", "invalid input",
                             "The pagination cursor is not valid.") from None

    lo, hi = 0, len(keyed)
    if args.get("after"):
        a = decode(args["after"])
        lo = next((i for i, (k, _) in enumerate(keyed) if k < a), len(keyed))
    if args.get("before"):
        b = decode(args["before"])
        hi = next((i for i, (k, _) in enumerate(keyed) if k <= b), len(keyed))
        hi = max(hi, lo)
    window = keyed[lo:hi]
    if last is not None or (args.get("before") and first is None):
        n = DEFAULT_PAGE if last is None else last
        page = window[max(0, len(window) - n):]
        start = hi - len(page)
        has_prev, has_next = start > lo, hi < len(keyed)
    else:
        n = DEFAULT_PAGE if first is None else first
        page = window[:n]
        has_prev, has_next = lo > 0, lo + len(page) < hi
    edges = [{"node": node, "cursor": b64([k[0], k[1]])} for k, node in page]
    return {
        "nodes": [e["node"] for e in edges],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": has_next, "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
