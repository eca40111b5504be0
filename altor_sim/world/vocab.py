"""Vocabularies of the world zoo: the names a company gives its services, endpoints, error codes,
plans and help-desk groups. The product must learn each of them from the data; a zoo with
several vocabularies is how we check that it does.

`default` is the vocabulary the demo world has always had (the pools in world_company.py and the
codes in world_episodes.py / world_traffic.py, unchanged): its `code()` is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from altor_sim.world.company import PLAN_NAMES, SERVICE_POOL

# name, [(method, path, median latency ms)] — REST paths under /api/v2/<resource>
SERVICE_POOL_V2 = [
    ("ledger", [("POST", "/api/v2/ledger/entries", 70), ("GET", "/api/v2/ledger/balances", 35),
                ("GET", "/api/v2/ledger/entries/{entry}", 28)]),
    ("catalog", [("GET", "/api/v2/catalog/items", 90),
                 ("PUT", "/api/v2/catalog/items/{sku}", 160)]),
    ("payments-core", [("POST", "/api/v2/payment_intents", 310), ("POST", "/api/v2/payouts", 420),
                       ("GET", "/api/v2/payment_intents/{pi}", 45)]),
    ("notify", [("POST", "/api/v2/notifications", 120),
                ("GET", "/api/v2/notifications/status", 40)]),
    ("vision", [("POST", "/api/v2/images/classify", 950), ("POST", "/api/v2/images/ocr", 1200)]),
    ("sync", [("POST", "/api/v2/sync/jobs", 380), ("GET", "/api/v2/sync/jobs/{job}", 30),
              ("DELETE", "/api/v2/sync/jobs/{job}", 55)]),
    ("tenancy", [("POST", "/api/v2/workspaces", 210),
                 ("GET", "/api/v2/workspaces/{ws}/members", 65)]),
    ("scoring", [("POST", "/api/v2/scores", 260), ("POST", "/api/v2/scores/batch", 900)]),
    ("audit", [("GET", "/api/v2/audit/events", 150), ("POST", "/api/v2/audit/exports", 800)]),
    ("routing", [("POST", "/api/v2/routes/optimize", 1500), ("GET", "/api/v2/routes/{route}", 60)]),
]
# gRPC-gateway style: /rpc/<Service>.<Method>
SERVICE_POOL_RPC = [
    ("accounts-svc", [("POST", "/rpc/Accounts.Get", 25), ("POST", "/rpc/Accounts.Update", 70)]),
    ("orders-svc", [("POST", "/rpc/Orders.Create", 180), ("POST", "/rpc/Orders.List", 95),
                    ("POST", "/rpc/Orders.Cancel", 110)]),
    ("pricing-svc", [("POST", "/rpc/Pricing.Quote", 140), ("POST", "/rpc/Pricing.Simulate", 600)]),
    ("stream-svc", [("POST", "/rpc/Stream.Publish", 40), ("POST", "/rpc/Stream.Subscribe", 30),
                    ("POST", "/rpc/Stream.Ack", 15)]),
    ("docs-svc", [("POST", "/rpc/Documents.Render", 1100), ("POST", "/rpc/Documents.Sign", 450)]),
    ("match-svc", [("POST", "/rpc/Matching.Run", 780), ("POST", "/rpc/Matching.Explain", 220)]),
    ("fleet-svc", [("POST", "/rpc/Fleet.Track", 85), ("POST", "/rpc/Fleet.Dispatch", 260)]),
    ("kyc-svc", [("POST", "/rpc/Kyc.Verify", 520), ("POST", "/rpc/Kyc.Status", 35)]),
]

# Error codes of the default vocabulary -> this vocabulary's. Several default codes may map to
# one code (an rpc company has few, coarse codes): only the data can then tell causes apart.
CODES_V2 = {
    "bad_gateway": "UPSTREAM_BAD_GATEWAY", "service_unavailable": "SERVICE_DOWN",
    "gateway_timeout": "UPSTREAM_TIMEOUT", "internal_error": "E_INTERNAL",
    "serialization_failed": "E_SERIALIZE", "upstream_contract_error": "E_CONTRACT",
    "unexpected_null_field": "E_NULL_FIELD", "handler_panic": "E_PANIC",
    "invalid_cursor": "CURSOR_INVALID", "unsupported_field": "FIELD_UNSUPPORTED",
    "idempotency_conflict": "IDEMPOTENCY_REPLAY", "encoding_error": "E_ENCODING",
    "invalid_date_range": "RANGE_INVALID", "currency_mismatch": "CURRENCY_MISMATCH",
    "pagination_overflow": "PAGE_OVERFLOW", "duplicate_key": "DUPLICATE_RESOURCE",
    "schema_mismatch": "SCHEMA_VERSION_MISMATCH", "invalid_api_key": "AUTH_KEY_INVALID",
    "api_key_revoked": "AUTH_KEY_REVOKED", "invalid_request": "REQUEST_INVALID",
    "malformed_json": "BODY_UNPARSEABLE", "validation_failed": "VALIDATION",
    "missing_required_field": "FIELD_REQUIRED", "state_conflict": "STATE_CONFLICT",
    "not_found": "NOT_FOUND", "conflict": "CONFLICT", "rate_limit_exceeded": "QUOTA_THROTTLED",
    "subscription_inactive": "ACCOUNT_SUSPENDED", "timeout": "TIMEOUT",
}
CODES_RPC = {
    "bad_gateway": "UNAVAILABLE", "service_unavailable": "UNAVAILABLE",
    "gateway_timeout": "DEADLINE_EXCEEDED", "internal_error": "INTERNAL",
    "serialization_failed": "INTERNAL", "upstream_contract_error": "DATA_LOSS",
    "unexpected_null_field": "INTERNAL", "handler_panic": "UNKNOWN",
    "invalid_cursor": "INVALID_ARGUMENT", "unsupported_field": "UNIMPLEMENTED",
    "idempotency_conflict": "ALREADY_EXISTS", "encoding_error": "INTERNAL",
    "invalid_date_range": "OUT_OF_RANGE", "currency_mismatch": "FAILED_PRECONDITION",
    "pagination_overflow": "OUT_OF_RANGE", "duplicate_key": "ALREADY_EXISTS",
    "schema_mismatch": "FAILED_PRECONDITION", "invalid_api_key": "UNAUTHENTICATED",
    "api_key_revoked": "PERMISSION_DENIED", "invalid_request": "INVALID_ARGUMENT",
    "malformed_json": "INVALID_ARGUMENT", "validation_failed": "INVALID_ARGUMENT",
    "missing_required_field": "INVALID_ARGUMENT", "state_conflict": "ABORTED",
    "not_found": "NOT_FOUND", "conflict": "ABORTED", "rate_limit_exceeded": "RESOURCE_EXHAUSTED",
    "subscription_inactive": "PERMISSION_DENIED", "timeout": "DEADLINE_EXCEEDED",
}

DEFAULT_GROUPS = {
    "tier1": "Tier 1 Support",
    "engineering": "Engineering Escalations",
    "billing": "Billing",
    "success": "Sales & Customer Success",
    "partners": "Partner Programs",
    "security": "Security & Compliance",
}


@dataclass(frozen=True)
class Vocabulary:
    name: str
    service_pool: list = field(repr=False)
    plan_names: list[list[str]] = field(repr=False)
    group_names: dict[str, str] = field(repr=False)
    codes: dict[str, str] = field(default_factory=dict, repr=False)

    def code(self, code: str | None) -> str | None:
        """This vocabulary's name for a default-vocabulary error code (None stays None)."""
        if code is None or not self.codes:
            return code
        return self.codes.get(code, code)


VOCABULARIES = {
    "default": Vocabulary("default", SERVICE_POOL, PLAN_NAMES, DEFAULT_GROUPS),
    "v2": Vocabulary(
        "v2",
        SERVICE_POOL_V2,
        [["Free", "Plus", "Max", "Corporate"], ["Lite", "Standard", "Advanced", "Unlimited"]],
        {
            "tier1": "Frontline Help",
            "engineering": "Platform Engineering On-call",
            "billing": "Accounts Receivable",
            "success": "Account Management",
            "partners": "Alliances",
            "security": "Trust & Safety",
        },
        CODES_V2,
    ),
    "rpc": Vocabulary(
        "rpc",
        SERVICE_POOL_RPC,
        [["Bronze", "Silver", "Gold", "Platinum"], ["Dev", "Startup", "Growth", "Custom"]],
        {
            "tier1": "Customer Care L1",
            "engineering": "SRE & Engineering",
            "billing": "Finance Ops",
            "success": "Commercial",
            "partners": "Channel Partners",
            "security": "InfoSec",
        },
        CODES_RPC,
    ),
}


def vocabulary(name: str) -> Vocabulary:
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise ValueError(
            f"unknown vocabulary {name!r}; known: {', '.join(sorted(VOCABULARIES))}"
        ) from None
