"""A deterministic generator of a B2B API company's production history, with ground truth, in the
altor-world/1 format (docs/world-format.md: the gaps it fills and its extensions).

Same seed and parameters give byte-identical files. The story (who, what, when) is decided first
in compact records; then vendor objects, tickets (streamed, one ticket at a time) and request logs
(one Parquet file per day, vectorised) are written.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from altor_pipelines.errors import AltorError
from altor_pipelines.taxonomy import CAUSES
from altor_sim.world import story as ws
from altor_sim.world import story_billing
from altor_sim.world import story_org as wo
from altor_sim.world.common import DAY, DEFAULT_MIX, Writers, iso, parse_iso, rng_for
from altor_sim.world.company import build_company
from altor_sim.world.episodes import Story
from altor_sim.world.helpdesk import HelpDesk
from altor_sim.world.helpdesk_static import write_static
from altor_sim.world.traffic import Traffic
from altor_sim.world.validate import validate_world
from altor_sim.world.vendor_github import write_github
from altor_sim.world.vendor_linear import write_linear
from altor_sim.world.vendor_stripe import write_stripe
from altor_sim.world.vocab import vocabulary

GENERATOR = "altor_pipelines.demo 0.1"
__all__ = ["WorldParams", "generate_world", "validate_world", "GENERATOR"]


@dataclass(frozen=True)
class WorldParams:
    seed: int = 7
    customers: int = 60
    days: int = 92
    tickets_per_week: int = 400
    requests_per_minute: float = 120.0
    start: str = "2026-06-01T00:00:00Z"
    go_live: str | None = None  # default: start + round(days * 2/3) days, at midnight
    label_noise: float = 0.10
    name: str = "demo"
    root_cause_field_id: int = 360001
    cause_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    # The zoo's knobs: how real companies differ. Defaults give the demo world, byte for byte.
    vocabulary: str = "default"  # names of services, endpoints, error codes, plans, groups
    services: int | None = None  # number of services (default: drawn, 5-7)
    plan_limits_in: str = "both"  # Stripe metadata with the plan limits: price|product|both
    vague_share: float | None = None  # share of symptom tickets that name no code/endpoint
    history_weeks: int | None = None  # go-live after this many weeks (default: 2/3 of days)
    silent_customers: float = 0.0  # share of customers with no API traffic at all

    def knobs(self) -> dict:
        """The knobs that differ from the demo world's (recorded in world.json)."""
        base = WorldParams()
        names = ("vocabulary", "services", "plan_limits_in", "vague_share", "history_weeks",
                 "silent_customers", "cause_mix")
        return {k: getattr(self, k) for k in names if getattr(self, k) != getattr(base, k)}

    def check(self) -> None:
        """Refuse knob values the generator cannot honour (named, with the allowed range)."""
        vocabulary(self.vocabulary)
        if self.plan_limits_in not in ("price", "product", "both"):
            raise ValueError(f"plan_limits_in={self.plan_limits_in!r}: price, product or both")
        for name in ("vague_share", "silent_customers", "label_noise"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}={v}: a share, 0..1")
        if self.history_weeks is not None and not 0 < 7 * self.history_weeks < self.days:
            raise ValueError(
                f"history_weeks={self.history_weeks}: must end before days={self.days}"
            )
        if self.services is not None and self.services < 1:
            raise ValueError(f"services={self.services}: at least 1")
        unknown = set(self.cause_mix) - set(CAUSES)
        if unknown or not sum(self.cause_mix.values()) > 0:
            raise ValueError(f"cause_mix: unknown causes {sorted(unknown)} or no positive share")


def _go_live(p: WorldParams, start: int) -> int:
    if p.go_live:
        return parse_iso(p.go_live)
    if p.history_weeks is not None:
        return start + 7 * p.history_weeks * DAY
    return start + round(p.days * 2 / 3) * DAY


def written_by_us(path: Path) -> bool:
    """Whether `path` holds a world this generator wrote (its world.json names GENERATOR)."""
    try:
        meta = json.loads((path / "world.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("generator") == GENERATOR


def generate_world(out: Path, params: WorldParams) -> str:
    """Write a world under `out` and return a one-line summary. What is already at `out` is
    replaced only when it is empty or a world this generator wrote: a mistyped path (a home
    directory, a source tree, another generator's world) is refused, never deleted."""
    params.check()
    t_begin = time.perf_counter()
    out = Path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise AltorError(f"refusing to write a world at {out}: it is not a directory")
    if out.exists() and any(out.iterdir()):
        if not written_by_us(out):
            raise AltorError(
                f"refusing to delete {out}: it is not empty and holds no world written by "
                f"{GENERATOR} (world.json with that generator). Choose an empty or new "
                "directory.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    p = params
    vocab = vocabulary(p.vocabulary)
    start = parse_iso(p.start)
    end = start + p.days * DAY
    go_live = _go_live(p, start)
    c = build_company(
        p.seed, p.customers, start, p.days, p.requests_per_minute,
        service_pool=vocab.service_pool, plan_name_pool=vocab.plan_names,
        group_names=vocab.group_names, services=p.services, silent_share=p.silent_customers,
    )
    repo, workspace, subdomain = f"{c.slug}/api", c.slug, c.slug
    (out / "world.json").write_text(
        json.dumps(
            {
                "format": "altor-world/1",
                "name": p.name,
                "seed": p.seed,
                "start": iso(start),
                "end": iso(end),
                "go_live": iso(go_live),
                "generator": GENERATOR,
                "root_cause_field_id": p.root_cause_field_id,
                "repo": repo,
                "linear_workspace": workspace,
                "params": {
                    "customers": p.customers,
                    "days": p.days,
                    "tickets_per_week": p.tickets_per_week,
                    "requests_per_minute": p.requests_per_minute,
                    "label_noise": p.label_noise,
                },
                "zendesk_subdomain": subdomain,
                "company": c.name,
            }
            | ({"knobs": p.knobs()} if p.knobs() else {}),
            indent=2,
        )
        + "\n"
    )

    s = Story(c, p.seed, start, end)
    s.field_id, s.label_noise = p.root_cause_field_id, p.label_noise
    s.codes, s.limits_in, s.vague_share = dict(vocab.codes), p.plan_limits_in, p.vague_share
    if p.silent_customers > 0:
        s.quiet_floor = 0.02 * float(c.org_share.max())
    total = round(p.tickets_per_week * p.days / 7)
    mix = {k: v / sum(p.cause_mix.values()) for k, v in p.cause_mix.items()}
    target = {k: round(total * v) for k, v in mix.items()}
    scale = max(1.0, p.customers / 60) ** 0.5
    rpm = p.requests_per_minute
    ws.routine_deploys(s, rng_for(p.seed, 10))
    story_billing.billing(s, rng_for(p.seed, 11), target["billing_issue"])
    ws.known_bugs(s, rng_for(p.seed, 12), target["known_bug"], rpm, scale)
    ws.regressions(s, rng_for(p.seed, 13), target["deploy_regression"], rpm, scale)
    ws.incidents(s, rng_for(p.seed, 14), target["platform_incident"], rpm, scale)
    wo.plan_limits(s, rng_for(p.seed, 15), target["plan_limit"], rpm)
    wo.integrations(s, rng_for(p.seed, 16), target["customer_integration"], rpm)
    wo.novels(s, rng_for(p.seed, 17), target["novel"], rpm)
    wo.quiet_tickets(s, rng_for(p.seed, 18), target["how_to"], target["misrouted"])
    wo.noise_issues(s, rng_for(p.seed, 19))
    wo.finalize(s)

    w = Writers(out)
    try:
        write_static(s, w, subdomain)
        write_stripe(s, w)
        write_linear(s, w, workspace)
        write_github(s, w, repo)
        (out / "truth").mkdir(exist_ok=True)
        hd = HelpDesk(s, w, out / "truth" / "tickets.csv", subdomain, go_live)
        try:
            hd.write_all()
        finally:
            hd.close()
    finally:
        w.close()
    _write_accounts(s, out / "truth" / "accounts.csv")
    _write_episodes(s, out / "truth" / "episodes.csv")
    tr = Traffic(s, rpm, out / "clickhouse" / "requests")
    for d in range(p.days):
        tr.day(d)
    secs = time.perf_counter() - t_begin
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    esc = sum(hd.escalated.values())
    return (
        f"world {p.name!r} -> {out}: {p.customers} customers, {p.days} days, "
        f"{sum(hd.causes.values())} tickets ({hd.pre} before go-live, {esc} escalated), "
        f"{len(s.episodes)} episodes, {len(s.deploys)} deploys, {len(s.issues)} Linear issues, "
        f"{tr.rows:,} request rows; {size / 1e6:.1f} MB in {secs:.1f} s"
    )


def _write_accounts(s: Story, path: Path) -> None:
    c = s.c
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["org_id", "zendesk_organization_id", "stripe_customer_id"])
        for o in range(len(c.org_ids)):
            w.writerow([c.org_ids[o], c.org_zd_id[o] or "", c.org_cus_id[o] or ""])


def _write_episodes(s: Story, path: Path) -> None:
    c = s.c
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            [
                "episode_id",
                "cause",
                "start",
                "end",
                "service",
                "endpoints",
                "org_ids",
                "status",
                "error_code",
                "latency_factor",
                "evidence",
            ]
        )
        for ep in sorted(s.episodes, key=lambda e: (e.t0, e.id)):
            ev = {
                "known_bug": lambda e: f"linear:{e.issue.identifier}",
                "deploy_regression": lambda e: (
                    f"github_deployment:{e.deploy.id};github_deployment:{e.revert.id}"
                ),
                "platform_incident": lambda e: f"incident:{e.id}",
                "billing_issue": lambda e: f"stripe_invoice:{e.invoice.id}",
            }.get(ep.cause, lambda e: "")(ep)
            orgs = ep.orgs if len(ep.orgs) <= 50 else ep.orgs[:50]
            w.writerow(
                [
                    ep.id,
                    ep.cause,
                    iso(ep.t0),
                    iso(ep.t1),
                    c.services[ep.service] if ep.service >= 0 else "",
                    ";".join(c.endpoints[e] for e in ep.eps),
                    ";".join(c.org_ids[o] for o in orgs),
                    ep.status or "",
                    s.code_name(ep.code) or "",
                    round(ep.lat, 2),
                    ev,
                ]
            )
