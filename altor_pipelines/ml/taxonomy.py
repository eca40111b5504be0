"""The root-cause taxonomy of DESIGN.md and what each cause asks the help desk to do."""

from __future__ import annotations

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
# Causes an agent cannot diagnose without production data (WORLD-FORMAT `system_access_diagnosed`).
SYSTEM_ACCESS_CAUSES: frozenset[str] = frozenset(
    {"known_bug", "deploy_regression", "platform_incident", "plan_limit", "billing_issue",
     "customer_integration"}
)
# DESIGN.md's "escalate?" column: these go to engineering even when diagnosed confidently.
ESCALATING_CAUSES: frozenset[str] = frozenset({"deploy_regression", "novel"})
REROUTING_CAUSES: frozenset[str] = frozenset({"misrouted"})


def action_for(cause: str | None) -> str:
    """`escalate`, `reroute` or `reply` for a delivered cause; None (abstained) escalates."""
    if cause is None or cause in ESCALATING_CAUSES:
        return "escalate"
    if cause in REROUTING_CAUSES:
        return "reroute"
    return "reply"
