"""`altor doctor`: can the pipeline reach and use every configured system?

For Zendesk, Stripe, Linear, GitHub and ClickHouse: reachable, credentials accepted, the reads
(and for the help desk the internal-note write) the pipeline needs, and the objects it relies
on: the root-cause ticket field, the repository's deployments, the request-log table with its
columns. Each check is one row: system, what was checked, ok / FAIL / warn, what was found and
how to fix it. Nothing is written anywhere, and no secret is ever printed: messages go through
the HTTP client's redaction, and only variable names are shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from altor_pipelines.errors import AltorError, SettingsError, SourceError
from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.http import HttpClient, redact
from altor_pipelines.sources.zendesk import zendesk_client
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess

OK, FAIL, WARN = "ok", "FAIL", "warn"
# The request-log columns the pipeline reads (shared WORLD-FORMAT.md, "Request logs").
REQUEST_LOG_COLUMNS = ("ts", "org_id", "api_key_id", "endpoint", "method", "status",
                       "error_code", "latency_ms", "region", "service", "request_id")
# Zendesk roles that can add internal notes to any ticket.
NOTE_WRITING_ROLES = ("agent", "admin")


@dataclass
class Check:
    system: str
    check: str
    status: str  # ok | FAIL | warn
    detail: str
    fix: str = ""


class _Doctor:
    def __init__(self, settings: Settings, timeout: float) -> None:
        self.s = settings
        self.timeout = timeout
        self.rows: list[Check] = []

    def add(self, system: str, check: str, status: str, detail: str, fix: str = "") -> None:
        secrets = [self.s.zendesk_token, self.s.stripe_api_key, self.s.linear_api_key,
                   self.s.github_token, self.s.clickhouse_password]
        self.rows.append(Check(system, check, status, redact(detail, secrets),
                               redact(fix, secrets)))

    def client(self, source: str, base_url: str, headers: dict[str, str],
               secret: Secret) -> HttpClient:
        # no retries: a doctor answers at once, it does not wait out an outage
        return HttpClient(source, base_url, headers, [secret], max_retries=0,
                          timeout=self.timeout, extra_headers={"Accept": "application/json"})

    def call(self, system: str, client: HttpClient, method: str, path: str, *,
             url_var: str, params: dict | None = None,
             body: Any = None) -> requests.Response | None:
        """One request; None (and a FAIL row) when the system cannot be reached."""
        try:
            return client.request(method, path, endpoint=path, params=params, json_body=body,
                                  accept=frozenset(range(300, 600)))
        except SourceError:
            self.add(system, "reachable", FAIL, f"no answer from {client.base_url}",
                     f"check {url_var} and that the host is reachable from here")
            return None

    def token_client(self, system: str, var: str, secret: Secret, base_url: str,
                     auth: Callable[[str], dict[str, str]]) -> HttpClient | None:
        """The system's client with `auth(token)` headers; None (and a FAIL row) when the token
        is not set."""
        if self.token_missing(system, var, secret):
            return None
        return self.client(system, base_url, auth(secret.reveal()), secret)

    def token_missing(self, system: str, var: str, secret: Secret) -> bool:
        if secret:
            return False
        self.add(system, "token", FAIL, f"{var} is not set",
                 f"set {var} (see docs/operations.md)")
        return True

    def refused(self, system: str, resp: requests.Response, var: str) -> bool:
        if resp.status_code in (401, 403):
            self.add(system, "token accepted", FAIL,
                     f"HTTP {resp.status_code}: the credentials were refused",
                     f"set {var} to a valid token of a user the pipeline may act as")
            return True
        return False

    # -- Zendesk ----------------------------------------------------------------------------
    def zendesk(self) -> None:
        s, sys_ = self.s, "zendesk"
        if self.token_missing(sys_, "ZENDESK_TOKEN", s.zendesk_token):
            return

        client = zendesk_client(s.zendesk_base_url, s.zendesk_email, s.zendesk_token,
                                max_retries=0, timeout=self.timeout)
        resp = self.call(sys_, client, "GET", "/api/v2/users/me.json", url_var="ZENDESK_BASE_URL")
        if resp is None or self.refused(sys_, resp, "ZENDESK_TOKEN"):
            return
        if resp.status_code != 200:
            self.add(sys_, "reachable", FAIL, f"HTTP {resp.status_code} from /api/v2/users/me",
                     "check ZENDESK_BASE_URL (https://<subdomain>.zendesk.com)")
            return
        self.add(sys_, "reachable", OK, s.zendesk_base_url)
        user = (resp.json() or {}).get("user") or {}
        role = user.get("role")
        if role in NOTE_WRITING_ROLES:
            self.add(sys_, "token accepted", OK, f"acting as a user with role {role}")
            self.add(sys_, "write internal notes", OK, f"role {role} can add internal notes")
        else:
            self.add(sys_, "token accepted", OK, f"acting as a user with role {role}")
            self.add(sys_, "write internal notes", FAIL,
                     f"role {role!r} cannot add internal notes",
                     "use the API token of an agent or admin (ZENDESK_EMAIL, ZENDESK_TOKEN)")
        start = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
        clock = s.as_of and datetime.fromisoformat(s.as_of.replace("Z", "+00:00"))
        if clock:
            start = int((clock - timedelta(days=1)).timestamp())
        resp = self.call(sys_, client, "GET", "/api/v2/incremental/tickets/cursor",
                         url_var="ZENDESK_BASE_URL", params={"start_time": start, "per_page": 1})
        if resp is not None:
            if resp.status_code == 200:
                self.add(sys_, "read tickets", OK, "incremental ticket export answers")
            else:
                self.add(sys_, "read tickets", FAIL,
                         f"HTTP {resp.status_code} from the incremental ticket export",
                         "the token's user needs access to all tickets (agent or admin)")
        self.root_cause_field(client)

    def root_cause_field(self, client: HttpClient) -> None:
        s, sys_ = self.s, "zendesk"
        resp = self.call(sys_, client, "GET", "/api/v2/ticket_fields.json",
                         url_var="ZENDESK_BASE_URL")
        if resp is None:
            return
        if resp.status_code != 200:
            self.add(sys_, "root-cause field", FAIL,
                     f"HTTP {resp.status_code} listing ticket fields",
                     "the token's user must be able to read ticket fields")
            return
        fields = (resp.json() or {}).get("ticket_fields") or []
        by_id = {f.get("id"): f for f in fields}
        candidates = [f for f in fields
                      if re.search(r"cause", str(f.get("title", "")), re.IGNORECASE)]
        hint = ", ".join(f"{f.get('id')} ({f.get('title')})" for f in candidates[:3])
        wanted = s.zendesk_root_cause_field_id
        if wanted is None:
            self.add(sys_, "root-cause field", FAIL, "ZENDESK_ROOT_CAUSE_FIELD_ID is not set",
                     "set ZENDESK_ROOT_CAUSE_FIELD_ID" + (f"; candidates: {hint}" if hint else ""))
        elif wanted not in by_id:
            self.add(sys_, "root-cause field", FAIL,
                     f"no ticket field with id {wanted}",
                     "set ZENDESK_ROOT_CAUSE_FIELD_ID to the field agents record the cause in"
                     + (f"; candidates: {hint}" if hint else ""))
        else:
            field = by_id[wanted]
            options = field.get("custom_field_options") or []
            self.add(sys_, "root-cause field", OK,
                     f"{wanted} ({field.get('title')}, {len(options)} values)")

    # -- Stripe ------------------------------------------------------------------------------
    def stripe(self) -> None:
        s, sys_ = self.s, "stripe"
        client = self.token_client(sys_, "STRIPE_API_KEY", s.stripe_api_key, s.stripe_api_base,
                                   lambda key: {"Authorization": f"Bearer {key}"})
        if client is None:
            return
        first = True
        for kind in ("customers", "subscriptions", "invoices", "charges"):
            resp = self.call(sys_, client, "GET", f"/v1/{kind}", url_var="STRIPE_API_BASE",
                             params={"limit": 1})
            if resp is None:
                return
            if first:
                if resp.status_code == 401:
                    self.add(sys_, "token accepted", FAIL, "HTTP 401: the API key was refused",
                             "set STRIPE_API_KEY to a restricted key with read access to "
                             "billing (customers, subscriptions, invoices, charges)")
                    return
                self.add(sys_, "reachable", OK, s.stripe_api_base)
                self.add(sys_, "token accepted", OK, "API key accepted")
                first = False
            if resp.status_code == 200:
                self.add(sys_, f"read {kind}", OK, f"/v1/{kind} answers")
            else:
                self.add(sys_, f"read {kind}", FAIL, f"HTTP {resp.status_code} from /v1/{kind}",
                         f"give the restricted key Read on {kind.capitalize()}")

    # -- Linear ------------------------------------------------------------------------------
    def linear(self) -> None:
        s, sys_ = self.s, "linear"
        client = self.token_client(sys_, "LINEAR_API_KEY", s.linear_api_key, s.linear_api_url,
                                   lambda key: {"Authorization": key,
                                                "Content-Type": "application/json"})
        if client is None:
            return
        resp = self.call(sys_, client, "POST", "", url_var="LINEAR_API_URL",
                         body={"query": "{ issues(first: 1) { nodes { id identifier } } }"})
        if resp is None:
            return
        try:
            body = resp.json()
        except ValueError:
            body = {}
        errors = body.get("errors") if isinstance(body, dict) else None
        auth_error = resp.status_code in (401, 403) or any(
            "auth" in str(e).lower() for e in errors or [])
        if auth_error:
            self.add(sys_, "token accepted", FAIL, "the API key was refused",
                     "set LINEAR_API_KEY to a personal API key with read access")
            return
        if resp.status_code != 200 and not errors:
            self.add(sys_, "reachable", FAIL, f"HTTP {resp.status_code} from the GraphQL API",
                     "check LINEAR_API_URL (https://api.linear.app/graphql)")
            return
        self.add(sys_, "reachable", OK, s.linear_api_url)
        self.add(sys_, "token accepted", OK, "API key accepted")
        if errors:
            self.add(sys_, "read issues", FAIL, "the issues query was refused",
                     "the key's user needs read access to the teams' issues")
        else:
            self.add(sys_, "read issues", OK, "issues query answers")

    # -- GitHub ------------------------------------------------------------------------------
    def github(self) -> None:
        s, sys_ = self.s, "github"
        client = self.token_client(sys_, "GITHUB_TOKEN", s.github_token, s.github_api_url,
                                   lambda key: {"Authorization": f"Bearer {key}"})
        if client is None:
            return
        path = f"/repos/{s.github_repo}/deployments"
        resp = self.call(sys_, client, "GET", path, url_var="GITHUB_API_URL",
                         params={"per_page": 1})
        if resp is None:
            return
        if resp.status_code == 401:
            self.add(sys_, "token accepted", FAIL, "HTTP 401: the token was refused",
                     "set GITHUB_TOKEN to a token with read access to deployments")
            return
        self.add(sys_, "reachable", OK, s.github_api_url)
        self.add(sys_, "token accepted", OK, "token accepted")
        if resp.status_code == 404:
            self.add(sys_, "read deployments", FAIL,
                     f"repository {s.github_repo} not found, or the token cannot see it",
                     "set GITHUB_REPO to owner/name; give the token Deployments: read and "
                     "Contents: read on it")
        elif resp.status_code == 403:
            self.add(sys_, "read deployments", FAIL, "HTTP 403 listing deployments",
                     "give the token Deployments: read on the repository")
        elif resp.status_code == 200:
            self.add(sys_, "read deployments", OK, f"{s.github_repo} deployments answer")
        else:
            self.add(sys_, "read deployments", FAIL, f"HTTP {resp.status_code} from {path}",
                     "check GITHUB_API_URL and GITHUB_REPO")

    # -- ClickHouse --------------------------------------------------------------------------
    def clickhouse(self) -> None:
        s, sys_ = self.s, "clickhouse"

        where = (f"{s.clickhouse_host}:{s.clickhouse_port}" if s.clickhouse_host
                 else f"embedded chDB at {s.chdb_path}")
        if not s.clickhouse_host and not s.chdb_path.exists():
            self.add(sys_, "reachable", FAIL, f"no embedded store at {s.chdb_path}",
                     "set CLICKHOUSE_HOST (and CLICKHOUSE_PORT, CLICKHOUSE_USER, "
                     "CLICKHOUSE_PASSWORD) to your ClickHouse, or ALTOR_CHDB_PATH")
            return
        try:
            access = ClickHouseAccess(s)
            rows = _rows(access, "SELECT 1", {})
        except Exception as exc:  # noqa: BLE001 - any driver error is a failed check, named
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            auth = re.search(r"authenticat|password|516", message, re.IGNORECASE)
            if re.search(r"UNKNOWN_DATABASE|Code: 81\b|database .* does(n't| not) exist",
                         str(exc), re.IGNORECASE):
                self.add(sys_, "request-log table", FAIL,
                         f"{where}: no database {s.clickhouse_database}",
                         "set CLICKHOUSE_DATABASE to the database holding `requests`")
                return
            self.add(sys_, "token accepted" if auth else "reachable", FAIL,
                     f"{where}: {message}",
                     "check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD" if auth
                     else "check CLICKHOUSE_HOST, CLICKHOUSE_PORT and CLICKHOUSE_SECURE")
            return
        self.add(sys_, "reachable", OK, where if rows else f"{where} (empty answer)")
        self.add(sys_, "token accepted", OK, f"user {s.clickhouse_user}"
                 if s.clickhouse_host else "embedded engine (no user)")
        try:
            cols = _rows(access, 
                "SELECT name FROM system.columns WHERE database = {db:String} "
                "AND table = 'requests'", {"db": s.clickhouse_database})
        except Exception as exc:  # noqa: BLE001
            self.add(sys_, "request-log table", FAIL,
                     f"cannot read system.columns: {str(exc).splitlines()[0][:160]}",
                     "grant the user SHOW COLUMNS on the request-log table")
            return
        present = {r[0] for r in cols}
        if not present:
            self.add(sys_, "request-log table", FAIL,
                     f"no table {s.clickhouse_database}.requests visible to this user",
                     "set CLICKHOUSE_DATABASE to the database holding `requests`, and grant "
                     "SELECT on it")
            return
        missing = [c for c in REQUEST_LOG_COLUMNS if c not in present]
        if missing:
            self.add(sys_, "request-log table", FAIL,
                     f"{s.clickhouse_database}.requests lacks columns: {', '.join(missing)}",
                     "see docs/world-format.md, 'Request logs', for the columns and types")
        else:
            self.add(sys_, "request-log table", OK,
                     f"{s.clickhouse_database}.requests with the {len(present)} columns")
        if s.clickhouse_host:
            try:
                readonly = _rows(access, "SELECT getSetting('readonly')", {})[0][0]
            except Exception:  # noqa: BLE001 - older servers: not knowable, not a failure
                readonly = None
            if str(readonly) in ("1", "2"):
                self.add(sys_, "read-only user", OK, f"readonly={readonly}")
            else:
                self.add(sys_, "read-only user", WARN,
                         f"user {s.clickhouse_user} can write (readonly={readonly})",
                         "use a user with readonly=1 (the pipeline only reads)")


def _rows(access: Any, sql: str, parameters: dict[str, Any]) -> list[tuple]:
    with access.client() as client:
        return list(client.query(sql, parameters=parameters).result_rows)


def run_doctor(settings_factory: Callable[[], Settings] = Settings.from_env,
               timeout: float = 10.0) -> list[Check]:
    """Every check against the configured systems. Bad settings are one FAIL row."""
    try:
        settings = settings_factory()
    except SettingsError as exc:
        return [Check("settings", exc.variable, FAIL, str(exc), f"fix {exc.variable}")]
    doctor = _Doctor(settings, timeout)
    for system in (doctor.zendesk, doctor.stripe, doctor.linear, doctor.github,
                   doctor.clickhouse):
        try:
            system()
        except AltorError as exc:
            doctor.add(system.__name__, "check", FAIL, str(exc))
    return doctor.rows


def failed(rows: list[Check]) -> bool:
    return any(r.status == FAIL for r in rows)
