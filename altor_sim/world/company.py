"""The company itself: services and endpoints, plans, customers, people, traffic shape.

Everything here is drawn from seeded word pools; nothing downstream may rely on the names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from altor_sim.world.common import DAY, rng_for
from altor_sim.world.company_pools import (
    COMPANY_A,
    COMPANY_B,
    FIRST,
    GROUP_NAMES,
    LAST,
    ORG_A,
    ORG_B,
    ORG_C,
    PLAN_NAMES,
    PLAN_PRICES,
    REGIONS_POOL,
    SERVICE_POOL,
)


@dataclass
class Company:
    name: str
    slug: str
    services: list[str]
    service_files: dict[str, list[str]]
    endpoints: list[str]  # index = endpoint id
    methods: list[str]
    ep_service: np.ndarray  # endpoint -> service index
    ep_latency: np.ndarray  # median latency ms
    ep_sigma: np.ndarray
    regions: list[str]
    plan_names: list[str]
    plan_limits: list[int]  # rate_limit_per_minute
    plan_quotas: list[int]
    plan_prices: list[int]
    # customers (index = org index)
    org_ids: list[str]
    org_names: list[str]
    org_domains: list[str]
    org_zd_id: list[int | None]  # None: no help-desk organization
    org_cus_id: list[str | None]  # None: no Stripe customer (partner / free)
    org_plan: np.ndarray  # plan index, -1 when no subscription
    org_created: np.ndarray  # Unix s: signup (traffic starts)
    org_end: np.ndarray  # Unix s: voluntary churn (traffic stops), large if never
    org_share: np.ndarray  # share of platform traffic
    org_mix: np.ndarray  # (orgs, endpoints) endpoint mix, rows sum to 1
    org_region: np.ndarray
    org_keys: list[list[str]]
    org_users: list[list[tuple[int, str, str]]]  # (user id, name, email)
    org_tags: list[list[str]]
    org_last4: list[str]
    agents: list[tuple[int, str, str]]
    engineers: list[tuple[int, str, str]]
    billing_agents: list[tuple[int, str, str]]
    groups: dict[str, int] = field(default_factory=dict)  # role -> group id
    group_names: dict[str, str] = field(default_factory=dict)


def _nice(x: float) -> int:
    """Round up to 1, 2 or 5 times a power of ten."""
    x = max(x, 1.0)
    p = 10 ** int(np.floor(np.log10(x)))
    for m in (1, 2, 5, 10):
        if m * p >= x:
            return int(m * p)
    return int(10 * p)


def build_company(
    seed: int,
    customers: int,
    start: int,
    days: int,
    rpm: float,
    *,
    service_pool: list | None = None,
    plan_name_pool: list[list[str]] | None = None,
    group_names: dict[str, str] | None = None,
    services: int | None = None,
    silent_share: float = 0.0,
) -> Company:
    """The company. Keyword arguments are the zoo's knobs (world_vocab.py, generator.py); left at
    their defaults they draw exactly what the demo world always drew."""
    rng = rng_for(seed, 1)
    cname = str(rng.choice(COMPANY_A)) + str(rng.choice(COMPANY_B))
    slug = cname.lower()
    service_pool = service_pool or SERVICE_POOL
    n_svc = int(rng.integers(5, 8))
    if services is not None:
        n_svc = max(1, min(int(services), len(service_pool)))
    pool = [service_pool[i] for i in sorted(rng.choice(len(service_pool), n_svc, replace=False))]
    services, endpoints, methods, ep_service, ep_lat = [], [], [], [], []
    service_files: dict[str, list[str]] = {}
    for si, (svc, eps) in enumerate(pool):
        services.append(svc)
        k = int(rng.integers(2, len(eps) + 1))
        for m, path, lat in eps[:k]:
            endpoints.append(path)
            methods.append(m)
            ep_service.append(si)
            ep_lat.append(lat * float(rng.uniform(0.8, 1.25)))
        base = f"services/{svc}"
        service_files[svc] = [
            f"{base}/handlers.py",
            f"{base}/models.py",
            f"{base}/client.py",
            f"{base}/validation.py",
            f"{base}/config.yaml",
            f"{base}/tests/test_api.py",
        ]
    n_ep = len(endpoints)
    regions = list(REGIONS_POOL[int(rng.integers(len(REGIONS_POOL)))])
    n_plans = int(rng.integers(3, 5))
    plan_name_pool = plan_name_pool or PLAN_NAMES
    pnames = plan_name_pool[int(rng.integers(len(plan_name_pool)))]
    plan_names = pnames[: n_plans - 1] + [pnames[-1]]

    n = customers
    share = rng.lognormal(0.0, 1.1, n)
    share = np.minimum(share / share.sum(), 0.2)
    share = share / share.sum()
    avg = rpm / n
    peak = rpm * share * 1.9  # diurnal peak factor
    base_limits = [_nice(k * max(avg, 0.5)) for k in (6, 30, 150, 800)][-n_plans:]
    base_limits = sorted(set(base_limits))
    while len(base_limits) < n_plans:
        base_limits.append(base_limits[-1] * 5)
    base_limits[-1] = max(base_limits[-1], _nice(3 * float(peak.max())))
    plan_limits = base_limits
    plan_quotas = [_nice(lim * 60 * 24 * 30 * 0.25) for lim in plan_limits]
    plan_prices = (
        PLAN_PRICES[-n_plans:] if n_plans == 4 else [PLAN_PRICES[0], PLAN_PRICES[1], PLAN_PRICES[3]]
    )

    org_plan = np.empty(n, np.int64)
    for i in range(n):
        p = next((j for j, lim in enumerate(plan_limits) if lim >= 2.5 * peak[i]), n_plans - 1)
        if p < n_plans - 1 and rng.random() < 0.25:
            p += 1
        org_plan[i] = p

    # endpoint mix: each org uses a subset of services, Dirichlet weights over their endpoints
    mix = np.zeros((n, n_ep))
    ep_service_a = np.array(ep_service)
    for i in range(n):
        k = int(rng.integers(min(2, n_svc), min(n_svc, 4) + 1))
        used = rng.choice(n_svc, k, replace=False)
        eps = np.flatnonzero(np.isin(ep_service_a, used))
        mix[i, eps] = rng.dirichlet(np.full(len(eps), 0.9))
        mix[i, eps] = np.maximum(mix[i, eps], 0.02)
        mix[i] /= mix[i].sum()

    used_names: set[str] = set()
    org_ids, org_names, domains, zd, cus, keys, users, tags, last4 = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    created = np.empty(n, np.int64)
    end = np.full(n, 2**40, np.int64)
    uid = 20000
    for i in range(n):
        while True:
            nm = f"{rng.choice(ORG_A)} {rng.choice(ORG_B)} {rng.choice(ORG_C)}"
            if nm not in used_names or len(used_names) > 15000:
                break
        if nm in used_names:
            nm = f"{nm} {i}"
        used_names.add(nm)
        org_names.append(nm)
        dom = nm.lower().replace(" ", "").replace("inc", "") + ".example"
        domains.append(dom)
        org_ids.append(f"org_{i + 1:05d}_{int(rng.integers(16**4)):04x}")
        zd.append(360000100 + i)
        cus.append(f"cus_{rng_for(seed, 2, i).integers(0, 2**62):016x}"[:18])
        if rng.random() < 0.10:
            created[i] = start + int(rng.integers(DAY, max(2 * DAY, int(days * DAY * 0.6))))
        else:
            created[i] = start - int(rng.integers(30 * DAY, 700 * DAY))
        if rng.random() < 0.03:
            end[i] = start + int(rng.integers(int(days * DAY * 0.4), days * DAY))
        nk = int(rng.integers(1, 4))
        keys.append([f"key_{rng_for(seed, 3, i, j).integers(0, 2**40):010x}" for j in range(nk)])
        nu = int(rng.integers(1, 5))
        us = []
        for _ in range(nu):
            f, last = str(rng.choice(FIRST)), str(rng.choice(LAST))
            us.append((uid, f"{f} {last}", f"{f.lower()}.{last.lower()}@{dom}"))
            uid += 1
        users.append(us)
        tags.append([str(rng.choice(["smb", "mid-market", "enterprise", "startup"]))])
        last4.append(f"{int(rng.integers(0, 10000)):04d}")
    # partners / free orgs: no Stripe customer and no plan; a couple of billing-only customers
    n_partner = max(1, n // 20)
    for i in rng.choice(n, n_partner, replace=False):
        cus[i] = None
        org_plan[i] = -1
        tags[i] = ["partner"]
        created[i] = min(created[i], start - 60 * DAY)
    n_nozd = max(1, n // 30)
    for i in rng.choice([j for j in range(n) if cus[j] is not None], n_nozd, replace=False):
        zd[i] = None
    agents, engineers, billing = [], [], []
    aid = 9000
    for role, count in (("agent", 12), ("eng", 4), ("billing", 2)):
        for _ in range(count):
            f, last = str(rng.choice(FIRST)), str(rng.choice(LAST))
            person = (aid, f"{f} {last}", f"{f.lower()}.{last.lower()}@{slug}.example")
            aid += 1
            {"agent": agents, "eng": engineers, "billing": billing}[role].append(person)
    groups = {
        "tier1": 100001,
        "engineering": 100002,
        "billing": 100003,
        "success": 100004,
        "partners": 100005,
        "security": 100006,
    }
    group_names = dict(group_names or GROUP_NAMES)
    if silent_share > 0:
        # Customers with no API traffic at all (signed up, never integrated, or only use the
        # dashboard): they still have users, a plan and invoices, and they file tickets.
        silent = rng_for(seed, 4).choice(n, max(1, round(n * silent_share)), replace=False)
        share[silent] = 0.0
        share = share / share.sum()
        mix[silent] = 0.0
    return Company(
        name=cname,
        slug=slug,
        services=services,
        service_files=service_files,
        endpoints=endpoints,
        methods=methods,
        ep_service=ep_service_a,
        ep_latency=np.array(ep_lat),
        ep_sigma=rng.uniform(0.35, 0.6, n_ep),
        regions=regions,
        plan_names=plan_names,
        plan_limits=plan_limits,
        plan_quotas=plan_quotas,
        plan_prices=plan_prices,
        org_ids=org_ids,
        org_names=org_names,
        org_domains=domains,
        org_zd_id=zd,
        org_cus_id=cus,
        org_plan=org_plan,
        org_created=created,
        org_end=end,
        org_share=share,
        org_mix=mix,
        org_region=rng.integers(0, len(regions), n),
        org_keys=keys,
        org_users=users,
        org_tags=tags,
        org_last4=last4,
        agents=agents,
        engineers=engineers,
        billing_agents=billing,
        groups=groups,
        group_names=group_names,
    )


def diurnal(ts: np.ndarray | int) -> np.ndarray:
    """Traffic multiplier at Unix seconds ts (mean ~1 over a week): daily wave, quieter weekends."""
    t = np.asarray(ts, dtype=np.float64)
    hour = (t % DAY) / 3600.0
    dow = ((t // DAY) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    wave = 1.0 + 0.55 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
    week = np.where(dow >= 5, 0.6, 1.12)
    return wave * week
