"""The root-cause taxonomy: the causes, how the product words each one, and what each asks
the help desk to do. The one definition; every module that names causes imports it."""

from __future__ import annotations

from dataclasses import dataclass

CAUSES: tuple[str, ...] = (
    "known_bug",
    "deploy_regression",
    "platform_incident",
    "plan_limit",
    "billing_issue",
    "customer_integration",
    "how_to",
    "misrouted",
    "novel",
)
NOVEL = "novel"
# Causes an agent cannot diagnose without production data (`system_access_diagnosed`).
SYSTEM_ACCESS_CAUSES: frozenset[str] = frozenset(CAUSES[:6])
# These go to engineering even when diagnosed confidently.
ESCALATING_CAUSES: frozenset[str] = frozenset({"deploy_regression", "novel"})
REROUTING_CAUSES: frozenset[str] = frozenset({"misrouted"})


def action_for(cause: str | None) -> str:
    """`escalate`, `reroute` or `reply` for a delivered cause; None (abstained) escalates."""
    if cause is None or cause in ESCALATING_CAUSES:
        return "escalate"
    if cause in REROUTING_CAUSES:
        return "reroute"
    return "reply"


@dataclass(frozen=True)
class Wording:
    title: str  # a heading: the note's, the report's
    meaning: str  # why the cause fits, in one line for the agent
    phrase: str  # inside a sentence: "cause: known_bug — a known bug"


WORDING: dict[str, Wording] = {
    "known_bug": Wording(
        "Known bug", "an open issue in the bug tracker matches this customer's errors",
        "a known bug"),
    "deploy_regression": Wording(
        "Regression from a deploy",
        "errors or latency stepped up right after a deploy to that service",
        "a regression from a recent deploy"),
    "platform_incident": Wording(
        "Platform incident", "many customers saw the same errors at the same time",
        "a platform incident"),
    "plan_limit": Wording(
        "Plan limit reached", "requests above the plan's rate limit were rejected with 429",
        "the plan's rate limit"),
    "billing_issue": Wording(
        "Billing problem", "a failed payment, past-due invoice or cancelled subscription",
        "a billing problem"),
    "customer_integration": Wording(
        "Customer integration",
        "the errors come from this customer's own requests (keys, payloads); nothing changed "
        "on our side",
        "the customer's own integration"),
    "how_to": Wording(
        "Usage question", "no anomaly in this customer's traffic or billing",
        "a usage question"),
    "misrouted": Wording(
        "Misrouted", "this belongs to another team", "a request for another team"),
    "novel": Wording(
        "Novel problem", "no known cause explains it; it needs an engineer",
        "something new (no known cause)"),
}

# The groups the escalation report shows causes in (sql/marts/mart_escalation_causes.sql).
GROUP_TITLES: dict[str, str] = {
    "system_access": "Needed system access",
    "novel": "Novel (needs an engineer)",
    "misrouted": "Misrouted",
}


def wording(cause: str | None) -> Wording:
    """The cause's wording; an unknown cause (or None) is worded as itself."""
    return WORDING.get(cause or "", Wording(str(cause), "", str(cause)))
