"""Linear as a dlt source: issues through GraphQL relay pagination (`first`/`after`,
`pageInfo`), filtered `updatedAt: {gt: <cursor>}` and ordered by `updatedAt`; the cursor is the
newest `updatedAt` loaded. Teams, workflow states and labels the same way, each with a cursor of
its own (their filters take `updatedAt` too): a run lists only what changed since the last, so a
run where nothing changed gets one empty page of each. Archived ones stop appearing and keep
their last row, as with a full listing.

Linear answers its rate limit as HTTP 400 with `errors[].extensions.code: RATELIMITED` (and a
5xx-like `INTERNAL_SERVER_ERROR` for its own failures): both are waited out and retried, with
the client's bounded backoff; any other GraphQL error stops the source naming the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt

from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import HttpClient, Progress, as_secret
from altor_pipelines.sources.records import checked, columns, key_column, materialize

SOURCE = "linear"

ISSUE_FIELDS = """
      id identifier title description priority url
      createdAt updatedAt completedAt canceledAt
      state { id name type }
      team { id key }
      labels { nodes { id name } }
"""

ISSUES_QUERY = (
    "query Issues($first: Int!, $after: String, $filter: IssueFilter, "
    "$orderBy: PaginationOrderBy) {\n"
    "  issues(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n"
    "    nodes {" + ISSUE_FIELDS + "}\n"
    "    pageInfo { hasNextPage endCursor }\n  }\n}\n"
)

ISSUE_COLUMNS = columns(
    identifier="text", title="text", description="text", priority="double", url="text",
    createdAt="timestamp", completedAt="timestamp", canceledAt="timestamp",
    state__name="text", state__type="text", team__key="text", labels__nodes="json")
ISSUE_COLUMNS.update(key_column("id", "text"))

# GraphQL error codes that are transient (Linear's rate limit; a server-side failure).
TRANSIENT_CODES = {"RATELIMITED", "INTERNAL_SERVER_ERROR"}

SMALL_QUERIES = {  # resource name -> (GraphQL connection field, its filter type, node fields)
    "teams": ("teams", "TeamFilter", "id key name updatedAt"),
    "workflow_states": ("workflowStates", "WorkflowStateFilter",
                        "id name type position team { id key } updatedAt"),
    "labels": ("issueLabels", "IssueLabelFilter", "id name color team { id key } updatedAt"),
}


def small_query(field: str, filter_type: str, fields: str) -> str:
    """The query of one of SMALL_QUERIES: its nodes changed since a filter, a page at a time."""
    return (f"query {field}($first: Int!, $after: String, $filter: {filter_type}, "
            f"$orderBy: PaginationOrderBy) "
            f"{{ {field}(first: $first, after: $after, filter: $filter, orderBy: $orderBy) "
            f"{{ nodes {{ {fields} }} pageInfo {{ hasNextPage endCursor }} }} }}")


class LinearClient:
    def __init__(self, api_url: str, api_key: Secret | str, backoff_seconds: float = 0.5,
                 timeout: float = 60.0, max_retries: int = 5) -> None:
        secret = as_secret(api_key)
        self.http = HttpClient(SOURCE, api_url, {"Authorization": secret.reveal()}, [secret],
                               extra_headers={"Content-Type": "application/json"},
                               max_retries=max_retries, backoff_seconds=backoff_seconds,
                               timeout=timeout)

    def query(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`data` of a GraphQL answer; GraphQL errors raise SourceError naming the query
        (rate limits and server errors are retried first)."""
        endpoint = f"graphql:{name}"
        attempt = 0
        while True:
            attempt += 1
            body = self.http.post_json("", {"query": query, "variables": variables},
                                       endpoint=endpoint, accept=frozenset({400}))
            if not isinstance(body, dict):
                raise self.http.error("GraphQL answer is not an object", endpoint=endpoint)
            errors = body.get("errors") or []
            codes = {((e.get("extensions") or {}).get("code") if isinstance(e, dict) else None)
                     for e in errors}
            if errors and codes <= TRANSIENT_CODES and attempt <= self.http.max_retries:
                self.http.backoff(attempt, endpoint, "/".join(sorted(map(str, codes))))
                continue
            break
        if errors:
            msgs = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                             for e in errors)
            raise self.http.error(f"GraphQL errors in query {name}: {msgs}", endpoint=endpoint)
        data = body.get("data")
        if not isinstance(data, dict):
            raise self.http.error(f"GraphQL answer to {name} has no data",
                                  endpoint=f"graphql:{name}", field="data")
        return data

    def pages(self, name: str, query: str, field: str, variables: dict[str, Any],
              page_size: int) -> Iterator[list[dict]]:
        after: str | None = None
        progress = Progress(self.http, f"graphql:{name}")
        progress.moved(after)
        while True:
            data = self.query(name, query, {**variables, "first": page_size, "after": after})
            conn = data.get(field)
            if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
                raise self.http.error("connection lacks nodes", endpoint=f"graphql:{name}",
                                      field=f"{field}.nodes")
            yield conn["nodes"]
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            nxt = info.get("endCursor")
            if not nxt:
                raise self.http.error("hasNextPage without endCursor",
                                      endpoint=f"graphql:{name}", field="pageInfo.endCursor")
            if progress.moved(nxt):
                after = nxt


@dlt.source(name="linear", max_table_nesting=2)
def linear_source(api_url: str, api_key: Any, page_size: int = 50,
                  backoff_seconds: float = 0.5, timeout: float = 60.0) -> Any:
    """Linear issues (incremental on `updatedAt`), teams, workflow_states, labels; merged on
    `id`; bad records go to `_quarantine`."""
    client = LinearClient(api_url, api_key, backoff_seconds, timeout)

    def changed_since(name: str, field: str, query: str, required: list[str],
                      hints: dict[str, Any]) -> Any:
        """The `field` connection as resource `name`: what changed since the newest
        `updatedAt` loaded (filtered and ordered by it), merged on `id`."""

        since = dlt.sources.incremental("updatedAt", initial_value=None,
                                        on_cursor_value_missing="include")

        def rows(updated_at: dlt.sources.incremental[str] = since) -> Iterator[Any]:
            yield materialize()
            variables: dict[str, Any] = {"orderBy": "updatedAt"}
            if updated_at.last_value:
                variables["filter"] = {"updatedAt": {"gt": updated_at.last_value}}
            for nodes in client.pages(field, query, field, variables, page_size):
                yield from checked(nodes, required, SOURCE, f"graphql:{field}", hints)

        return dlt.resource(rows, name=name, primary_key="id", write_disposition="merge",
                            columns={**hints, "updatedAt": {"data_type": "timestamp",
                                                            "dedup_sort": "desc"}})

    issues = changed_since("issues", "issues", ISSUES_QUERY, ["id", "updatedAt"], ISSUE_COLUMNS)
    return [issues, *(changed_since(name, field, small_query(field, flt, fields), ["id"],
                                    key_column("id", "text"))
                      for name, (field, flt, fields) in SMALL_QUERIES.items())]
