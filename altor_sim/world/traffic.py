"""Request logs: one Parquet file per day, vectorised with numpy, ids built with pyarrow.compute.

Per day: sample baseline rows (diurnal rate x heavy-tailed customer shares x endpoint mix),
background errors, lognormal latency; apply the story's effects (re-status a share of matching
rows, add rows, suspend accounts); then enforce each plan's per-minute rate limit (429 on the
excess of every org-minute) and write.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from altor_sim.world.common import DAY, rng_for
from altor_sim.world.company import diurnal
from altor_sim.world.episodes import Story

BASE_ERRORS = [
    (404, "not_found", 0.3),
    (400, "invalid_request", 0.22),
    (422, "validation_failed", 0.15),
    (401, "invalid_api_key", 0.1),
    (500, "internal_error", 0.1),
    (409, "conflict", 0.05),
    (503, "service_unavailable", 0.04),
    (429, "rate_limit_exceeded", 0.04),
]
SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("org_id", pa.string()),
        ("api_key_id", pa.string()),
        ("endpoint", pa.string()),
        ("method", pa.string()),
        ("status", pa.int32()),
        ("error_code", pa.string()),
        ("latency_ms", pa.float64()),
        ("region", pa.string()),
        ("service", pa.string()),
        ("request_id", pa.string()),
        ("version", pa.string()),
    ]
)


class Traffic:
    def __init__(self, s: Story, rpm: float, out: Path) -> None:
        c = self.c = s.c
        self.s, self.rpm, self.out = s, rpm, out
        out.mkdir(parents=True, exist_ok=True)
        n, e = len(c.org_ids), len(c.endpoints)
        self.n_org, self.n_ep = n, e
        self.flat = (2.0 * np.arange(n)[:, None] + np.cumsum(c.org_mix, axis=1)).ravel()
        self.flat[np.arange(n) * e + e - 1] = 2.0 * np.arange(n) + 1.0 + 1e-9
        self.codes: list[str | None] = [None]
        self.code_ix: dict[str | None, int] = {None: 0}
        keys = [k for ks in c.org_keys for k in ks]
        self.key_names = pa.array(keys)
        self.key_off = np.cumsum([0] + [len(ks) for ks in c.org_keys])[:-1]
        self.key_n = np.array([len(ks) for ks in c.org_keys])
        self.base_rate = rng_for(s.seed, 5).uniform(0.002, 0.009, n)
        self.limits = np.array(
            [c.plan_limits[p] if p >= 0 else 10**9 for p in c.org_plan], dtype=np.int64
        )
        # service versions: deploy times per service (ms) and a global table of version labels
        labels: list[str] = []
        self.ver_times, self.ver_off = [], []
        for si, svc in enumerate(c.services):
            ds = [d for d in s.deploys if d.service == si]
            self.ver_off.append(len(labels))
            labels.append(f"{svc}@baseline")
            labels += [f"{svc}@{d.version}" for d in ds]
            self.ver_times.append(np.array([(d.t + 180) * 1000 for d in ds], dtype=np.int64))
        self.ver_labels = pa.array(labels)
        self.org_names = pa.array(c.org_ids)
        self.ep_names, self.ep_methods = pa.array(c.endpoints), pa.array(c.methods)
        self.svc_names, self.region_names = pa.array(c.services), pa.array(c.regions)
        self.rows = 0
        self.bytes = 0

    def code(self, code: str | None) -> int:
        if code not in self.code_ix:
            self.code_ix[code] = len(self.codes)
            self.codes.append(code)
        return self.code_ix[code]

    def endpoints_for(self, org: np.ndarray, u: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.flat, 2.0 * org + u, side="right")
        return np.minimum(idx - org * self.n_ep, self.n_ep - 1)

    def day(self, d: int) -> None:
        s, c = self.s, self.c
        rng = rng_for(s.seed, 1000, d)
        t_day = s.start + d * DAY
        minutes = t_day + 60 * np.arange(1440)
        lam = self.rpm * diurnal(minutes + 30)
        n = int(rng.poisson(lam.sum()))
        minute = rng.choice(1440, n, p=lam / lam.sum())
        org = rng.choice(self.n_org, n, p=c.org_share)
        ts = t_day * 1000 + minute.astype(np.int64) * 60000 + rng.integers(0, 60000, n)
        keep = (ts >= c.org_created[org] * 1000) & (ts < c.org_end[org] * 1000)
        org, ts = org[keep], ts[keep]
        order = np.lexsort((ts, org))
        org, ts = org[order], ts[order]
        n = len(ts)
        ep = self.endpoints_for(org, rng.random(n))
        status = np.full(n, 200, np.int32)
        code = np.zeros(n, np.int32)
        lat = rng.lognormal(np.log(c.ep_latency[ep]), c.ep_sigma[ep])
        err = rng.random(n) < self.base_rate[org]
        k = int(err.sum())
        if k:
            probs = np.array([p for _, _, p in BASE_ERRORS])
            pick = rng.choice(len(BASE_ERRORS), k, p=probs / probs.sum())
            status[err] = np.array([x[0] for x in BASE_ERRORS], np.int32)[pick]
            code[err] = np.array([self.code(x[1]) for x in BASE_ERRORS], np.int32)[pick]
        bounds = np.searchsorted(org, np.arange(self.n_org + 1))
        extra = []
        suspend = []
        for e in s.effects_by_day.get(d, []):
            if e.kind == "extra":
                extra.append(e)
                continue
            if e.kind == "suspend":
                suspend.append(e)
                continue
            lo, hi = e.t0 * 1000, e.t1 * 1000
            if e.orgs is not None and len(e.orgs) <= 8:
                for o in e.orgs:
                    a, b = bounds[o], bounds[o + 1]
                    i0 = a + np.searchsorted(ts[a:b], lo)
                    i1 = a + np.searchsorted(ts[a:b], hi)
                    self._apply(e, rng, slice(i0, i1), ep, status, code, lat)
            else:
                m = (ts >= lo) & (ts < hi)
                if e.orgs is not None:
                    inset = np.zeros(self.n_org, bool)
                    inset[e.orgs] = True
                    m &= inset[org]
                idx = np.flatnonzero(m)
                self._apply(e, rng, idx, ep, status, code, lat)
        parts = [(org, ts, ep, status, code, lat)]
        for e in extra:
            parts.append(self._extra(e, rng, t_day))
        if len(parts) > 1:
            org, ts, ep, status, code, lat = (
                np.concatenate([p[i] for p in parts]) for i in range(6)
            )
            order = np.lexsort((ts, org))
            org, ts, ep, status, code, lat = (
                org[order],
                ts[order],
                ep[order],
                status[order],
                code[order],
                lat[order],
            )
        n = len(ts)
        for e in suspend:
            m = (org == e.orgs[0]) & (ts >= e.t0 * 1000) & (ts < e.t1 * 1000)
            status[m] = 402
            code[m] = self.code(e.code)
            lat[m] = lat[m] * 0.1
        # rate limits: 429 on every request beyond the plan's limit within one org-minute
        if n:
            key = org.astype(np.int64) * 2000 + (ts - t_day * 1000) // 60000
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            counts = np.diff(np.r_[starts, n])
            rank = np.arange(n) - np.repeat(starts, counts)
            over = (rank >= self.limits[org]) & (status != 402)
            status[over] = 429
            code[over] = self.code("rate_limit_exceeded")
            lat[over] = rng.uniform(2, 12, int(over.sum()))
        self._write(d, org, ts, ep, status, code, lat, rng)

    def _apply(self, e, rng, sel, ep, status, code, lat) -> None:
        idx = np.arange(sel.start, sel.stop) if isinstance(sel, slice) else sel
        if len(idx) == 0:
            return
        if e.eps is not None:
            idx = idx[np.isin(ep[idx], e.eps)]
        if e.lat != 1.0:
            lat[idx] *= e.lat
        if e.p > 0:
            hit = idx[rng.random(len(idx)) < e.p]
            status[hit] = e.status
            code[hit] = self.code(e.code)

    def _extra(self, e, rng, t_day: int):
        lo, hi = max(e.t0, t_day), min(e.t1, t_day + DAY)
        m = max(0, (hi - lo) // 60)
        per_min = rng.poisson(e.rate, m) * (rng.random(m) < e.duty)
        k = int(per_min.sum())
        o = int(e.orgs[0])
        ts = (
            lo * 1000
            + np.repeat(np.arange(m, dtype=np.int64) * 60000, per_min)
            + rng.integers(0, 60000, k)
        )
        org = np.full(k, o, np.int64)
        if e.eps is not None:
            ep = e.eps[rng.integers(0, len(e.eps), k)]
        else:
            ep = self.endpoints_for(org, rng.random(k))
        lat = rng.lognormal(np.log(self.c.ep_latency[ep]), self.c.ep_sigma[ep]) * e.lat
        return (
            org,
            ts,
            ep.astype(np.int64),
            np.full(k, e.status, np.int32),
            np.full(k, self.code(e.code), np.int32),
            lat,
        )

    def _write(self, d, org, ts, ep, status, code, lat, rng) -> None:
        c = self.c
        n = len(ts)
        u = rng.random(n)
        primary = c.org_region[org]
        region = np.where(u < 0.85, primary, rng.integers(0, len(c.regions), n))
        key_ix = self.key_off[org] + (rng.random(n) ** 2 * self.key_n[org]).astype(np.int64)
        svc = c.ep_service[ep]
        ver = np.zeros(n, np.int64)
        for si in range(len(c.services)):
            m = np.flatnonzero(svc == si)
            if len(m):
                ver[m] = self.ver_off[si] + np.searchsorted(self.ver_times[si], ts[m], side="right")
        seq = pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string())
        rid = pc.binary_join_element_wise(
            pa.scalar(f"req_{d:04d}"), pc.utf8_lpad(seq, width=7, padding="0"), ""
        )
        table = pa.table(
            {
                "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
                "org_id": self.org_names.take(pa.array(org)),
                "api_key_id": self.key_names.take(pa.array(key_ix)),
                "endpoint": self.ep_names.take(pa.array(ep)),
                "method": self.ep_methods.take(pa.array(ep)),
                "status": pa.array(status, pa.int32()),
                "error_code": pa.array(
                    [self.s.code_name(x) for x in self.codes], pa.string()
                ).take(pa.array(code)),
                "latency_ms": pa.array(np.round(lat, 2), pa.float64()),
                "region": self.region_names.take(pa.array(region)),
                "service": self.svc_names.take(pa.array(svc)),
                "request_id": rid,
                "version": self.ver_labels.take(pa.array(ver)),
            },
            schema=SCHEMA,
        )
        path = self.out / f"requests-{_date(self.s.start + d * DAY)}.parquet"
        pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=True)
        self.rows += n
        self.bytes += path.stat().st_size


def _date(t: int) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(t))
