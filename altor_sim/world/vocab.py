"""Vocabularies of the world zoo: the names a company gives its services, endpoints, error codes,
plans and help-desk groups. The product must learn each of them from the data; a zoo with
several vocabularies is how we check that it does.

`default` is the vocabulary the demo world has always had (the pools in company_pools.py and the
codes in world_episodes.py / world_traffic.py, unchanged): its `code()` is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from altor_sim.world.company_pools import GROUP_NAMES, PLAN_NAMES, SERVICE_POOL

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

# Error codes of the default vocabulary -> this vocabulary's (v2, rpc). Several default codes
# may map to one code (an rpc company has few, coarse codes): only the data can then tell
# causes apart.
CODES_BY_VOCABULARY = {
    "bad_gateway": ("UPSTREAM_BAD_GATEWAY", "UNAVAILABLE"),
    "service_unavailable": ("SERVICE_DOWN", "UNAVAILABLE"),
    "gateway_timeout": ("UPSTREAM_TIMEOUT", "DEADLINE_EXCEEDED"),
    "internal_error": ("E_INTERNAL", "INTERNAL"),
    "serialization_failed": ("E_SERIALIZE", "INTERNAL"),
    "upstream_contract_error": ("E_CONTRACT", "DATA_LOSS"),
    "unexpected_null_field": ("E_NULL_FIELD", "INTERNAL"),
    "handler_panic": ("E_PANIC", "UNKNOWN"),
    "invalid_cursor": ("CURSOR_INVALID", "INVALID_ARGUMENT"),
    "unsupported_field": ("FIELD_UNSUPPORTED", "UNIMPLEMENTED"),
    "idempotency_conflict": ("IDEMPOTENCY_REPLAY", "ALREADY_EXISTS"),
    "encoding_error": ("E_ENCODING", "INTERNAL"),
    "invalid_date_range": ("RANGE_INVALID", "OUT_OF_RANGE"),
    "currency_mismatch": ("CURRENCY_MISMATCH", "FAILED_PRECONDITION"),
    "pagination_overflow": ("PAGE_OVERFLOW", "OUT_OF_RANGE"),
    "duplicate_key": ("DUPLICATE_RESOURCE", "ALREADY_EXISTS"),
    "schema_mismatch": ("SCHEMA_VERSION_MISMATCH", "FAILED_PRECONDITION"),
    "invalid_api_key": ("AUTH_KEY_INVALID", "UNAUTHENTICATED"),
    "api_key_revoked": ("AUTH_KEY_REVOKED", "PERMISSION_DENIED"),
    "invalid_request": ("REQUEST_INVALID", "INVALID_ARGUMENT"),
    "malformed_json": ("BODY_UNPARSEABLE", "INVALID_ARGUMENT"),
    "validation_failed": ("VALIDATION", "INVALID_ARGUMENT"),
    "missing_required_field": ("FIELD_REQUIRED", "INVALID_ARGUMENT"),
    "state_conflict": ("STATE_CONFLICT", "ABORTED"),
    "not_found": ("NOT_FOUND", "NOT_FOUND"),
    "conflict": ("CONFLICT", "ABORTED"),
    "rate_limit_exceeded": ("QUOTA_THROTTLED", "RESOURCE_EXHAUSTED"),
    "subscription_inactive": ("ACCOUNT_SUSPENDED", "PERMISSION_DENIED"),
    "timeout": ("TIMEOUT", "DEADLINE_EXCEEDED"),
}
CODES_V2 = {code: v2 for code, (v2, _) in CODES_BY_VOCABULARY.items()}
CODES_RPC = {code: rpc for code, (_, rpc) in CODES_BY_VOCABULARY.items()}



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
    "default": Vocabulary("default", SERVICE_POOL, PLAN_NAMES, GROUP_NAMES),
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
