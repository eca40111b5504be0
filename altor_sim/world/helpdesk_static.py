"""Zendesk's standing objects: groups, the root-cause ticket field, organizations and their users,
and the staff."""

from __future__ import annotations

from altor_pipelines.taxonomy import CAUSES
from altor_sim.world.common import (
    DAY,
    Writers,
    iso,
)
from altor_sim.world.episodes import Story


def write_static(s: Story, w: Writers, subdomain: str) -> None:
    c = s.c
    t0 = s.start - 500 * DAY
    for role, gid in c.groups.items():
        w["zendesk/groups"].write(
            t0,
            {
                "id": gid,
                "url": f"https://{subdomain}.zendesk.com/api/v2/groups/{gid}.json",
                "name": c.group_names[role],
                "description": "",
                "default": role == "tier1",
                "deleted": False,
                "is_public": True,
                "created_at": iso(t0),
                "updated_at": iso(t0),
            },
        )
    w["zendesk/ticket_fields"].write(
        t0,
        {
            "id": s.field_id,
            "url": f"https://{subdomain}.zendesk.com/api/v2/ticket_fields/{s.field_id}.json",
            "type": "tagger",
            "title": "Root cause",
            "raw_title": "Root cause",
            "active": True,
            "required": False,
            "custom_field_options": [
                {"id": s.field_id * 10 + i, "name": k.replace("_", " ").title(), "value": k}
                for i, k in enumerate(CAUSES)
            ],
            "created_at": iso(t0),
            "updated_at": iso(t0),
        },
    )
    for o in range(len(c.org_ids)):
        zid = c.org_zd_id[o]
        if zid is None:
            continue
        tc = int(c.org_created[o])
        w["zendesk/organizations"].write(
            tc,
            {
                "id": zid,
                "url": f"https://{subdomain}.zendesk.com/api/v2/organizations/{zid}.json",
                "name": c.org_names[o],
                "external_id": c.org_ids[o],
                "domain_names": [c.org_domains[o]],
                "details": "",
                "notes": "",
                "group_id": None,
                "shared_tickets": False,
                "shared_comments": False,
                "tags": c.org_tags[o],
                "organization_fields": {},
                "created_at": iso(tc),
                "updated_at": iso(tc),
            },
        )
        for uid, name, email in c.org_users[o]:
            w["zendesk/users"].write(tc, _user(subdomain, uid, name, email, "end-user", zid, tc))
    staff = c.agents + c.engineers + c.billing_agents
    for uid, name, email in staff:
        w["zendesk/users"].write(t0, _user(subdomain, uid, name, email, "agent", None, t0))


def _user(sub, uid, name, email, role, org, t) -> dict:
    return {
        "id": uid,
        "url": f"https://{sub}.zendesk.com/api/v2/users/{uid}.json",
        "name": name,
        "email": email,
        "role": role,
        "organization_id": org,
        "active": True,
        "verified": True,
        "time_zone": "UTC",
        "locale": "en-US",
        "tags": [],
        "created_at": iso(t),
        "updated_at": iso(t),
    }
