"""GitHub REST API (`/repos/{owner}/{repo}/...`) over a world, as of the servers' clock.

Deployments, deployment statuses, releases, commits: newest first, `per_page` (default 30,
capped at 100) and `page`, with a `Link` header in GitHub's syntax.
"""

from __future__ import annotations

import math
import re
from typing import Any

from altor_sim.servers.http import BadRequest, Request, Response, VendorApp
from altor_sim.world.reader import Collection, parse_time

DOCS = "https://docs.github.com/rest"
PUBLIC_API = "https://api.github.com/"


def _rebase(value: Any, base: str) -> Any:
    """API URLs name the server that answers (as GitHub Enterprise Server's do), so clients
    that follow `url`/`statuses_url`/`deployment_url` come back here, not to api.github.com."""
    if isinstance(value, str):
        return base + value[len(PUBLIC_API) - 1:] if value.startswith(PUBLIC_API) else value
    if isinstance(value, dict):
        return {k: _rebase(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebase(v, base) for v in value]
    return value


def _msg(status: int, message: str, docs: str = DOCS) -> Response:
    return Response(status, {"message": message, "documentation_url": docs,
                             "status": str(status)})


class GitHubApp(VendorApp):
    vendor = "github"

    def __init__(self, servers: Any) -> None:
        super().__init__(servers)
        self.repo = self.world.meta.get("repo", "acme/api")
        self.deployments = self.collection("deployments")
        self.statuses = self.collection("deployment_statuses")
        self.releases = self.collection("releases")
        self.commits = self.collection("commits")

    def authenticate(self, req: Request) -> Response | None:
        auth = (req.headers.get("Authorization") or "").strip()
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() in ("bearer", "token") and cred.strip() == self.servers.tokens["github"]:
            return None
        if not auth:
            return _msg(401, "Requires authentication")
        return _msg(401, "Bad credentials")

    def error_body(self, status: int) -> Any:
        if status in (403, 429):
            return {"message": "API rate limit exceeded for installation.",
                    "documentation_url": "https://docs.github.com/rest/overview/"
                                         "rate-limits-for-the-rest-api", "status": str(status)}
        if status >= 500:
            return {"message": "Server Error", "status": str(status)}
        return {"message": "Not Found", "documentation_url": DOCS, "status": str(status)}

    _ROUTES = [
        (r"deployments", "list_deployments"),
        (r"deployments/(\d+)", "get_deployment"),
        (r"deployments/(\d+)/statuses", "list_statuses"),
        (r"deployments/(\d+)/statuses/(\d+)", "get_status"),
        (r"releases", "list_releases"),
        (r"releases/latest", "latest_release"),
        (r"releases/(\d+)", "get_release"),
        (r"commits", "list_commits"),
        (r"commits/([^/]+)", "get_commit"),
    ]
    _compiled = [(re.compile(r"^/repos/([^/]+)/([^/]+)/" + p + r"/?$"), h) for p, h in _ROUTES]
    _compiled.append((re.compile(r"^/repos/([^/]+)/([^/]+)/?$"), "get_repo"))

    def handle(self, req: Request) -> Response:
        if req.method == "GET":
            for pattern, name in self._compiled:
                m = pattern.match(req.path)
                if m:
                    owner, repo, *rest = m.groups()
                    if f"{owner}/{repo}".lower() != self.repo.lower():
                        break
                    try:
                        resp = getattr(self, name)(req, *rest)
                        resp.body = _rebase(resp.body, req.base_url)
                        return resp
                    except BadRequest as e:
                        return _msg(e.status, e.message,
                                    "https://docs.github.com/rest/commits/commits")
        return _msg(404, "Not Found")

    # -- helpers ------------------------------------------------------------------------------
    def _live(self, coll: Collection) -> list[dict]:
        return [v.obj for _, v in coll.visible(self.now)]

    @staticmethod
    def _newest_first(items: list[dict], time_of: Any) -> list[dict]:
        return sorted(items, key=lambda o: (parse_time(time_of(o)), str(o.get("id", o.get("sha")))),
                      reverse=True)

    def _page(self, req: Request, items: list[dict]) -> Response:
        try:
            per_page = int(req.q("per_page") or 30)
        except ValueError:
            per_page = 30  # GitHub ignores a per_page it cannot read
        per_page = max(1, min(per_page, 100))
        try:
            page = int(req.q("page") or 1)
        except ValueError:
            page = 1
        page = max(page, 1)
        last = max(1, math.ceil(len(items) / per_page))
        body = items[(page - 1) * per_page: page * per_page]
        headers = {}
        links = []

        def url(p: int) -> str:
            params = [(k, v) for k, vs in req.query.items() for v in vs
                      if k not in ("page", "per_page")]
            return req.url(None, params + [("per_page", per_page), ("page", p)])

        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, body, headers)

    def get_repo(self, req: Request) -> Response:
        """A minimal repository object (clients such as PyGithub fetch it first)."""
        owner, name = self.repo.split("/", 1)
        api = f"{req.base_url}/repos/{self.repo}"
        return Response(200, {
            "id": 1, "node_id": "R_demo", "name": name, "full_name": self.repo,
            "private": True, "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": f"https://github.com/{self.repo}", "url": api,
            "deployments_url": f"{api}/deployments", "releases_url": f"{api}/releases{{/id}}",
            "commits_url": f"{api}/commits{{/sha}}", "default_branch": "main",
            "visibility": "private", "archived": False, "disabled": False,
        })

    # -- deployments --------------------------------------------------------------------------
    def list_deployments(self, req: Request) -> Response:
        items = self._live(self.deployments)
        for f in ("environment", "sha", "ref", "task"):
            val = req.q(f)
            if val not in (None, ""):
                items = [d for d in items if str(d.get(f)) == val]
        return self._page(req, self._newest_first(items, lambda d: d["created_at"]))

    def get_deployment(self, req: Request, did: str) -> Response:
        obj = self.deployments.get(int(did), self.now)
        return Response(200, obj) if obj is not None else _msg(404, "Not Found")

    def _statuses_of(self, did: int) -> list[dict]:
        suffix = f"/deployments/{did}"
        return [s for s in self._live(self.statuses)
                if str(s.get("deployment_url", "")).rstrip("/").endswith(suffix)]

    def list_statuses(self, req: Request, did: str) -> Response:
        if self.deployments.get(int(did), self.now) is None:
            return _msg(404, "Not Found")
        items = self._newest_first(self._statuses_of(int(did)), lambda s: s["created_at"])
        return self._page(req, items)

    def get_status(self, req: Request, did: str, sid: str) -> Response:
        for s in self._statuses_of(int(did)):
            if str(s.get("id")) == sid:
                return Response(200, s)
        return _msg(404, "Not Found")

    # -- releases -----------------------------------------------------------------------------
    def _releases(self) -> list[dict]:
        return self._newest_first(self._live(self.releases),
                                  lambda r: r.get("created_at") or r.get("published_at"))

    def list_releases(self, req: Request) -> Response:
        return self._page(req, self._releases())

    def latest_release(self, req: Request) -> Response:
        live = [r for r in self._releases() if not r.get("draft") and not r.get("prerelease")]
        return Response(200, live[0]) if live else _msg(404, "Not Found")

    def get_release(self, req: Request, rid: str) -> Response:
        obj = self.releases.get(int(rid), self.now)
        return Response(200, obj) if obj is not None else _msg(404, "Not Found")

    # -- commits ------------------------------------------------------------------------------
    @staticmethod
    def _commit_time(c: dict) -> str:
        inner = c.get("commit") or {}
        return ((inner.get("committer") or {}).get("date")
                or (inner.get("author") or {}).get("date") or "1970-01-01T00:00:00Z")

    def _time_param(self, req: Request, name: str) -> float | None:
        raw = req.q(name)
        if raw in (None, ""):
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise BadRequest(f"Invalid value for parameter '{name}': {raw}", status=422) from None

    def _find_commit(self, ref: str) -> dict | None:
        obj = self.commits.get(ref, self.now)
        if obj is not None:
            return obj
        if len(ref) >= 4 and re.fullmatch(r"[0-9a-fA-F]+", ref):
            hits = [c for c in self._live(self.commits) if str(c.get("sha", "")).startswith(ref)]
            if len(hits) == 1:
                return hits[0]
        return None

    def list_commits(self, req: Request) -> Response:
        since, until = self._time_param(req, "since"), self._time_param(req, "until")
        items = self._newest_first(self._live(self.commits), self._commit_time)
        ref = req.q("sha")
        if ref not in (None, "") and not re.fullmatch(r"main|master|HEAD|refs/heads/\w+", ref):
            start = self._find_commit(ref)
            if start is None:
                return _msg(404, "Not Found")
            t0 = parse_time(self._commit_time(start))
            items = [c for c in items if parse_time(self._commit_time(c)) <= t0]
        if since is not None:
            items = [c for c in items if parse_time(self._commit_time(c)) >= since]
        if until is not None:
            items = [c for c in items if parse_time(self._commit_time(c)) <= until]
        path = req.q("path")
        if path:
            items = [c for c in items if any(str(f.get("filename", "")).startswith(path)
                                             for f in c.get("files") or [])]
        author = req.q("author")
        if author:
            items = [c for c in items
                     if author in ((c.get("author") or {}).get("login"),
                                   ((c.get("commit") or {}).get("author") or {}).get("email"),
                                   ((c.get("commit") or {}).get("author") or {}).get("name"))]
        listed = [{k: v for k, v in c.items() if k not in ("files", "stats")} for c in items]
        return self._page(req, listed)

    def get_commit(self, req: Request, ref: str) -> Response:
        obj = self._find_commit(ref)
        if obj is None:
            return Response(422, {"message": f"No commit found for SHA: {ref}",
                                  "documentation_url": "https://docs.github.com/rest/commits/"
                                                       "commits#get-a-commit",
                                  "status": "422"})
        return Response(200, obj)
