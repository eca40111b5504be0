"""What a per-ticket agent does, as a loop: the reference `set_based_speedup_over_per_ticket`
is measured against (bench/incremental.py).

For each ticket of a sample of those the batch investigated, the loop does what an agent (a
person, or an LLM with tools) does to investigate one ticket, through the same clients the
product uses, against the served vendor APIs on loopback:

1. ClickHouse: the customer's requests in the 24 hours before the ticket, per minute, endpoint
   and status (`sql/sim/agent_customer_window.sql`, through `ClickHouseAccess`);
2. Linear: a search of issues whose title or description holds the subject's longest word
   (GraphQL, the source's `LinearClient` and issues query);
3. Stripe: the customer, its subscriptions and its last invoices (the source's Stripe client);
4. GitHub: the repository's latest deployments (the source's HTTP client).

No reasoning is timed, only the fetching: the loop's time is a lower bound of an agent's.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, timedelta
from typing import Any

from altor_pipelines.settings import Settings
from altor_pipelines.sources.github import github_client
from altor_pipelines.sources.linear import ISSUES_QUERY, LinearClient
from altor_pipelines.sources.stripe import StripeLister
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse, sql_text

WINDOW = timedelta(hours=24)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{3,}")


def sample_tickets(settings: Settings, sample: int) -> list[tuple]:
    """`sample` tickets spread evenly over the investigated ones (all of them if fewer)."""
    con = open_warehouse(settings, read_only=True)
    try:
        rows = con.execute(sql_text("sim/agent_ticket_sample.sql")).fetchall()
    finally:
        con.close()
    if len(rows) <= sample:
        return rows
    step = len(rows) / sample
    return [rows[int(i * step)] for i in range(sample)]


def _search_term(subject: str) -> str | None:
    words = _WORD.findall(subject or "")
    return max(words, key=len) if words else None


class PerTicketAgent:
    """The four look-ups of one ticket (module docstring), each through the product's client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clickhouse = ClickHouseAccess(settings)
        self.window_sql = sql_text("sim/agent_customer_window.sql")
        self.linear = LinearClient(settings.linear_api_url, settings.linear_api_key)
        self.stripe = StripeLister(settings.stripe_api_base, settings.stripe_api_key,
                                   page_size=10).client.v1
        self.github = github_client(settings.github_api_url, settings.github_token)
        self.calls = 0

    def logs(self, org_id: str, at: Any) -> int:
        end = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        with self.clickhouse.client() as client:
            rows = client.query(self.window_sql, parameters={
                "database": self.clickhouse.database, "org_id": org_id,
                "start": end - WINDOW, "end": end}).result_rows
        self.calls += 1
        return len(rows)

    def issues(self, subject: str) -> int:
        term = _search_term(subject)
        flt = ({"or": [{"title": {"containsIgnoreCase": term}},
                       {"description": {"containsIgnoreCase": term}}]} if term else None)
        data = self.linear.query("search", ISSUES_QUERY, {
            "first": 25, "after": None, "filter": flt, "orderBy": "updatedAt"})
        self.calls += 1
        return len(data["issues"]["nodes"])

    def billing(self, customer_id: str | None) -> int:
        if not customer_id:
            return 0
        self.stripe.customers.retrieve(customer_id)
        subs = self.stripe.subscriptions.list({"customer": customer_id, "status": "all",
                                               "limit": 10})
        invoices = self.stripe.invoices.list({"customer": customer_id, "limit": 10})
        self.calls += 3
        return 1 + len(subs.data) + len(invoices.data)

    def deploys(self) -> int:
        rows, _ = self.github.get_json(f"/repos/{self.settings.github_repo}/deployments",
                                       endpoint="deployments", params={"per_page": 30})
        self.calls += 1
        return len(rows)

    def investigate(self, ticket: tuple) -> int:
        """The look-ups of one ticket; returns how many records came back."""
        _, org_id, customer_id, subject, investigated_at = ticket
        return (self.logs(org_id, investigated_at) + self.issues(subject)
                + self.billing(customer_id) + self.deploys())


def per_ticket_agent_loop(settings: Settings, sample: int = 50) -> dict[str, Any]:
    """Time the per-ticket loop over `sample` investigated tickets (module docstring)."""
    tickets = sample_tickets(settings, sample)
    agent = PerTicketAgent(settings)
    records = 0
    started = time.perf_counter()
    for ticket in tickets:
        records += agent.investigate(ticket)
    seconds = time.perf_counter() - started
    return {
        "tickets": len(tickets),
        "calls": agent.calls,
        "records_fetched": records,
        "seconds": round(seconds, 3),
        "seconds_per_ticket": round(seconds / max(len(tickets), 1), 5),
        "does": "per ticket: ClickHouse query of the customer's 24 h window "
                "(ClickHouseAccess), Linear issue search (GraphQL), Stripe customer + "
                "subscriptions + invoices, GitHub deployments; loopback vendor servers",
    }
