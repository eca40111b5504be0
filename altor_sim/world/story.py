"""Scheduling the world's history: one function per kind of episode, each adding deploys, Linear
issues, billing events, traffic effects and ticket plans to a `Story`."""

from __future__ import annotations

import numpy as np

from altor_sim.world.common import DAY, HOUR, MINUTE, utc
from altor_sim.world.company import diurnal
from altor_sim.world.episodes import (
    BUG_CODES,
    INCIDENT_CODES,
    REGRESSION_CODES,
    Deploy,
    Effect,
    Episode,
    Issue,
    Quota,
    Story,
    TicketPlan,
)

ROUTINE_MSGS = [
    "bump dependencies",
    "add metrics for {f}",
    "tidy {f} logging",
    "feature flag for {f}",
    "refactor {f}",
    "improve {f} error messages",
    "raise pool size",
    "config: timeouts",
    "docs and comments",
    "cache {f} lookups",
    "retry policy for {f}",
    "upgrade runtime",
]
FEATURES = [
    "bulk {svc} endpoint",
    "webhook retries dashboard",
    "SSO for admin console",
    "usage alerts per API key",
    "{svc} v2 response format",
    "audit log export",
    "EU data residency",
    "customer-managed keys",
    "sandbox environment resets",
    "per-key scopes",
    "SDK for Go",
]
CHORES = [
    "Upgrade Postgres minor version",
    "Rotate CI secrets",
    "Clean up stale feature flags",
    "Migrate {svc} to new base image",
    "Remove deprecated v0 routes",
    "Flaky test in {svc} suite",
    "Dashboards for {svc} p99",
    "Load test {svc} before launch",
    "On-call runbook for {svc}",
]


def _business_time(rng: np.random.Generator, lo: int, hi: int) -> int:
    for _ in range(60):
        t = int(rng.integers(lo, max(lo + 1, hi)))
        h = (t % DAY) / 3600
        dow = ((t // DAY) + 3) % 7
        if dow < 5 and 8 <= h < 19 or rng.random() < 0.12:
            return t
    return t


def routine_deploys(s: Story, rng: np.random.Generator) -> None:
    c = s.c
    for si, svc in enumerate(c.services):
        for d in range((s.end - s.start) // DAY):
            t0 = s.start + d * DAY
            wd = ((t0 // DAY) + 3) % 7 < 5
            for _ in range(int(rng.poisson(1.3 if wd else 0.15))):
                t = t0 + int(rng.integers(8 * HOUR, 20 * HOUR))
                f = str(
                    rng.choice(
                        ["auth", "pagination", "serializer", "cache", "queue", "client", "limits"]
                    )
                )
                msg = f"{svc}: " + str(rng.choice(ROUTINE_MSGS)).format(f=f)
                files = list(
                    rng.choice(c.service_files[svc], int(rng.integers(1, 4)), replace=False)
                )
                s.deploys.append(Deploy(t, si, "routine", msg, files))


def _pick_orgs(s: Story, rng, eps, t, rpm, k, pool=None, thr=25.0, quiet=0) -> list[int]:
    """Up to k orgs that call `eps` enough to notice (weighted by volume); with `quiet`, only orgs
    with no per-org episode in [t - quiet, t + 4h] (they are then reserved, so their baseline
    stays clean)."""
    c = s.c
    cand = pool if pool is not None else np.unique(np.concatenate([s.ep_users[e] for e in eps]))
    cand = np.asarray(cand, dtype=np.int64)
    ok = s.has_zd[cand] & (c.org_created[cand] + DAY <= t) & (t < c.org_end[cand] - HOUR)
    cand = cand[ok]
    if len(cand) == 0:
        return []
    use = c.org_mix[np.ix_(cand, eps)].sum(axis=1)
    rates = rpm * c.org_share[cand] * use * 60 * float(diurnal(t))
    good = rates >= thr
    if good.sum() < k:
        good = np.zeros(len(cand), bool)
        good[np.argsort(-rates, kind="stable")[: max(k, 1)]] = True
    cand, rates = cand[good], rates[good]
    w = rates**0.5 + 1e-9
    order = rng.choice(len(cand), len(cand), replace=False, p=w / w.sum())
    picked: list[int] = []
    for i in order:
        o = int(cand[i])
        if quiet and not s.is_free(o, t - quiet, t + 4 * HOUR):
            continue
        picked.append(o)
        if len(picked) == k:
            break
    if quiet:
        for o in picked:
            s.busy[o].append((t - quiet, t + 4 * HOUR))
    return picked


def _svc_free(s: Story, svc: int, t0: int, t1: int) -> bool:
    return all(t1 <= a or t0 >= b for a, b in s.blackout[svc])


def _ticket(s, rng, t, o, cause, ep, e=-1, status=0, code=None, slow=False, **kw) -> TicketPlan:
    return TicketPlan(
        t, o, cause, ep, e, status, code, slow, user=int(rng.integers(len(s.c.org_users[o]))), **kw
    )


def known_bugs(s: Story, rng, target: int, rpm: float, scale: float) -> None:
    c, quota = s.c, Quota(target, 10 * target + 10)
    while quota.draw():
        e = int(rng.integers(len(c.endpoints)))
        if len(s.ep_users[e]) == 0:
            continue
        status, code = BUG_CODES[int(rng.integers(len(BUG_CODES)))]
        tb = _business_time(rng, s.start - 7 * DAY, s.end - 3 * DAY)
        tc = tb + int(rng.integers(3 * HOUR, 36 * HOUR))
        tf = tc + int(rng.integers(3 * DAY, 21 * DAY))
        users = s.ep_users[e]
        aff = rng.choice(users, max(1, int(len(users) * rng.uniform(0.3, 0.7))), replace=False)
        ep = Episode(
            f"bug_{len(s.episodes) + 1:05d}",
            "known_bug",
            tb,
            tf,
            int(c.ep_service[e]),
            [e],
            [int(o) for o in aff],
            status,
            code,
        )
        m, p = c.methods[e], c.endpoints[e]
        named = s.code_name(code)  # as the company's logs and engineers name it
        when = str(
            rng.choice(
                [
                    "when the request includes a nested object",
                    "for accounts created before May",
                    "with page sizes above 100",
                    "when the date range crosses midnight UTC",
                    "on retries with the same idempotency key",
                    "for non-ASCII input",
                    "when optional fields are null",
                ]
            )
        )
        title = str(
            rng.choice(
                [
                    f"{status} {named} on {m} {p} {when}",
                    f"{m} {p} returns {named} ({status}) {when}",
                    f"Intermittent {named} from {p}",
                ]
            )
        )
        desc = (
            f"Customers report `{status} {named}` on `{m} {p}` {when}. Affects roughly "
            f"{len(aff)} accounts. Started around {utc(tb):%Y-%m-%d %H:%M} UTC.\n\n"
            f"Workaround: retry without the optional fields. Service: {c.services[ep.service]}."
        )
        started = tc + int((tf - tc) * rng.uniform(0.2, 0.7))
        issue = Issue(
            tc,
            title,
            desc,
            "bug",
            int(rng.integers(1, 3)),
            [(started, "started"), (tf, "completed")],
            ["Bug", "customer-reported"],
        )
        ep.issue = issue
        s.issues.append(issue)
        svc = c.services[ep.service]
        s.deploys.append(
            Deploy(
                tf - 10 * MINUTE,
                ep.service,
                "fix",
                f"{svc}: fix {named} on {m} {p} ({{ISSUE}})",
                [c.service_files[svc][3], c.service_files[svc][5]],
            )
        )
        s.add_effect(
            Effect(
                tb,
                tf - 8 * MINUTE,
                "prob",
                orgs=np.array(ep.orgs),
                eps=np.array([e]),
                status=status,
                code=code,
                p=float(rng.uniform(0.04, 0.15)),
            )
        )
        s.episodes.append(ep)
        k = min(quota.left, 2 + int(rng.poisson(5 * scale)))
        hi = min(tf - 20 * MINUTE, s.end)
        lo = max(tc, s.start + DAY)
        for _ in range(k):
            t = _business_time(rng, lo, hi)
            if t < lo:
                continue
            orgs = _pick_orgs(s, rng, [e], t, rpm, 1, pool=aff, thr=10)
            if not orgs or t >= hi:
                continue
            o = orgs[0]
            s.visible(o, e, status, code, 1.0, max(tb, t - 3 * HOUR), t, rng)
            s.tickets.append(_ticket(s, rng, t, o, "known_bug", ep, e, status, code))
            quota.made += 1


def regressions(s: Story, rng, target: int, rpm: float, scale: float) -> None:
    c, quota = s.c, Quota(target, 10 * target + 10)
    while quota.draw():
        si = int(rng.integers(len(c.services)))
        td = _business_time(rng, s.start + DAY, s.end - 8 * HOUR)
        tr = td + int(rng.integers(1 * HOUR, 6 * HOUR))
        if not _svc_free(s, si, td - 3 * HOUR, tr + HOUR):
            continue
        s.blackout[si].append((td - 2 * HOUR, tr + 30 * MINUTE))
        svc_eps = [int(x) for x in np.flatnonzero(c.ep_service == si)]
        eps = [
            int(x)
            for x in rng.choice(svc_eps, int(rng.integers(1, len(svc_eps) + 1)), replace=False)
        ]
        t_eff = td + int(rng.integers(2 * MINUTE, 8 * MINUTE))
        latency = rng.random() < 0.35
        code = str(rng.choice(REGRESSION_CODES))
        lat = float(rng.uniform(3, 8)) if latency else float(rng.uniform(1.0, 1.5))
        p = 0.03 if latency else float(rng.uniform(0.15, 0.5))
        svc = c.services[si]
        what = str(
            rng.choice(
                [
                    "request validation",
                    "serializer",
                    "connection pooling",
                    "retry logic",
                    "response schema",
                    "cache layer",
                    "db query planner hints",
                ]
            )
        )
        bad = Deploy(
            td,
            si,
            "bad",
            f"{svc}: rework {what}",
            list(rng.choice(c.service_files[svc], 2, replace=False)),
        )
        rev = Deploy(tr, si, "revert", f'Revert "{svc}: rework {what}"', list(bad.files))
        s.deploys += [bad, rev]
        ep = Episode(
            f"reg_{len(s.episodes) + 1:05d}",
            "deploy_regression",
            t_eff,
            tr,
            si,
            eps,
            [],
            500,
            code,
            lat,
            deploy=bad,
            revert=rev,
        )
        s.add_effect(
            Effect(
                t_eff,
                tr + 2 * MINUTE,
                "prob",
                eps=np.array(eps),
                status=500,
                code=code,
                p=p,
                lat=lat,
            )
        )
        s.episodes.append(ep)
        k = min(quota.left, 2 + int(rng.poisson(2.5 * scale)))
        for o in _pick_orgs(s, rng, eps, t_eff, rpm, k, quiet=3 * HOUR):
            t = t_eff + s.delay(rng, 35 * MINUTE, max(36 * MINUTE, min(3 * HOUR, tr - t_eff)))
            if t >= s.end:
                continue
            e = max(eps, key=lambda x, o=o: c.org_mix[o, x])
            s.visible(o, e, 200 if latency else 500, None if latency else code, lat, t_eff, t, rng)
            s.tickets.append(
                _ticket(
                    s,
                    rng,
                    t,
                    o,
                    "deploy_regression",
                    ep,
                    e,
                    0 if latency else 500,
                    None if latency else code,
                    latency,
                )
            )
            quota.made += 1


def incidents(s: Story, rng, target: int, rpm: float, scale: float) -> None:
    c, quota = s.c, Quota(target, 10 * target + 10)
    while quota.draw():
        si = int(rng.integers(len(c.services)))
        t0 = s.sample_time(rng, s.start + DAY, s.end - 4 * HOUR, business=rng.random() < 0.7)
        t1 = t0 + int(rng.integers(20 * MINUTE, 121 * MINUTE))
        if not _svc_free(s, si, t0 - 3 * HOUR, t1 + HOUR):
            continue
        s.blackout[si].append((t0 - 3 * HOUR, t1))
        eps = [int(x) for x in np.flatnonzero(c.ep_service == si)]
        users = np.unique(np.concatenate([s.ep_users[e] for e in eps]))
        if len(users) == 0:
            continue
        aff = rng.choice(
            users, max(1, int(round(len(users) * rng.uniform(0.7, 0.95)))), replace=False
        )
        codes = [INCIDENT_CODES[i] for i in rng.choice(3, int(rng.integers(1, 3)), replace=False)]
        p = float(rng.uniform(0.3, 0.8))
        lat = float(rng.uniform(2, 5))
        ep = Episode(
            f"inc_{len(s.episodes) + 1:05d}",
            "platform_incident",
            t0,
            t1,
            si,
            eps,
            [int(o) for o in aff],
            codes[0][0],
            codes[0][1],
            lat,
        )
        for j, (st, cd) in enumerate(codes):
            s.add_effect(
                Effect(
                    t0,
                    t1,
                    "prob",
                    orgs=aff,
                    eps=np.array(eps),
                    status=st,
                    code=cd,
                    p=p / len(codes),
                    lat=lat if j == 0 else 1.0,
                )
            )
        s.episodes.append(ep)
        k = min(quota.left, 2 + int(rng.poisson(3 * scale)))
        for o in _pick_orgs(s, rng, eps, t0, rpm, k, pool=aff, quiet=3 * HOUR):
            t = t0 + s.delay(rng, 8 * MINUTE, max(9 * MINUTE, t1 - t0 + 15 * MINUTE))
            e = max(eps, key=lambda x, o=o: c.org_mix[o, x])
            st, cd = codes[int(rng.integers(len(codes)))]
            s.visible(o, e, st, cd, lat, t0, min(t, t1), rng)
            s.tickets.append(_ticket(s, rng, t, o, "platform_incident", ep, e, st, cd))
            quota.made += 1
