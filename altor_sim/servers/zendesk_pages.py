"""Zendesk's pages: time-based export pages (`start_time`, `end_time`) and list pages (cursor
`page[size]`/`page[after]`/`page[before]`, or offset `page`/`per_page`)."""

from __future__ import annotations

import bisect
from typing import Any

from altor_sim.servers.http import BadRequest, Request, Response, b64, unb64

EXPORT_MAX = 1000
LIST_MAX = 100


def time_page(req: Request, now: float, rows: list, stamps: list[int], key: str, start: int,
              per_page: int, view: Any, extra: dict | None = None) -> Response:
    """Time-based export page over `rows` sorted by (timestamp, id), `stamps` their
    timestamps. A page never splits a group of equal timestamps (it grows past per_page
    instead), so `end_time` (last timestamp + 1) resumes exactly after it: no duplicates
    and no gaps. As Zendesk does, the most recent minute is left out, so `next_page` is
    always a valid request."""
    settled = bisect.bisect_left(stamps, now - 60)
    lo = min(bisect.bisect_left(stamps, start), settled)
    hi = min(lo + per_page, settled)
    while lo < hi < settled and stamps[hi] == stamps[hi - 1]:
        hi += 1
    page = rows[lo:hi]
    end_time = stamps[hi - 1] + 1 if page else start
    params = {"start_time": end_time, **(extra or {})}
    if req.q("per_page"):
        params["per_page"] = per_page
    return Response(200, {
        key: [view(r) for r in page],
        "count": len(page),
        "end_time": end_time,
        "next_page": req.url(None, params),
        "end_of_stream": hi >= settled,
    })


def _sort_key(item: tuple[Any, dict]) -> Any:
    return item[0]


def paginate(req: Request, key: str, items: list[tuple[Any, dict]]) -> Response:
    """`items` sorted (sort key, object). Cursor pagination when any `page[...]` parameter
    is given (as Zendesk), else offset pagination (`page`, `per_page`)."""
    bracket = {k[5:-1]: v[-1] for k, v in req.query.items()
               if k.startswith("page[") and k.endswith("]")}
    if bracket:
        try:
            size = int(bracket.get("size") or LIST_MAX)
        except ValueError:
            raise BadRequest("page[size] must be an integer", "page[size]") from None
        if size < 1 or size > LIST_MAX:
            raise BadRequest(f"page[size] must be between 1 and {LIST_MAX}", "page[size]")
        if bracket.get("after"):
            after = unb64(bracket["after"])
            start = bisect.bisect_right(items, tuple(after), key=_sort_key)
            page = items[start:start + size]
            has_more = start + size < len(items)
        elif bracket.get("before"):
            before = tuple(unb64(bracket["before"]))
            end = bisect.bisect_left(items, before, key=_sort_key)
            start = max(0, end - size)
            page = items[start:end]
            has_more = start > 0
        else:
            page, has_more = items[:size], len(items) > size
        after_c = b64(list(page[-1][0])) if page else None
        before_c = b64(list(page[0][0])) if page else None
        return Response(200, {
            key: [o for _, o in page],
            "meta": {"has_more": has_more, "after_cursor": after_c,
                     "before_cursor": before_c},
            "links": {
                "next": req.url(None, {"page[size]": size, "page[after]": after_c})
                if has_more else None,
                "prev": req.url(None, {"page[size]": size, "page[before]": before_c})
                if before_c else None,
            },
        })
    page_no = req.q_int("page", 1, "page")
    per_page = min(req.q_int("per_page", LIST_MAX, "per_page") or LIST_MAX, LIST_MAX)
    if page_no is None or page_no < 1 or per_page < 1:
        raise BadRequest("page and per_page must be positive integers", "page")
    lo = (page_no - 1) * per_page
    page = items[lo:lo + per_page]
    return Response(200, {
        key: [o for _, o in page],
        "next_page": req.url(None, {"page": page_no + 1, "per_page": per_page})
        if lo + per_page < len(items) else None,
        "previous_page": req.url(None, {"page": page_no - 1, "per_page": per_page})
        if page_no > 1 else None,
        "count": len(items),
    })
