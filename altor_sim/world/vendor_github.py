"""Writing GitHub's deployments and their statuses (versioned) from a finished `Story`."""

from __future__ import annotations

from altor_sim.world.common import (
    DAY,
    HOUR,
    MINUTE,
    Writers,
    iso,
    rng_for,
)
from altor_sim.world.episodes import Story


def write_github(s: Story, w: Writers, repo: str) -> None:
    c = s.c
    rng = rng_for(s.seed, 70)
    api = f"https://api.github.com/repos/{repo}"
    sid = 880_000_001
    for d in s.deploys:
        if d.t >= s.end:
            continue
        svc = c.services[d.service]
        tc = d.t - int(rng.integers(10 * MINUTE, 3 * HOUR))
        user = {
            "login": d.author.lower().replace(" ", "-"),
            "type": "User" if d.author != "deploy-bot" else "Bot",
        }
        w["github/commits"].write(
            tc,
            {
                "id": d.sha,
                "sha": d.sha,
                "url": f"{api}/commits/{d.sha}",
                "html_url": f"https://github.com/{repo}/commit/{d.sha}",
                "commit": {
                    "message": d.message,
                    "author": {"name": d.author, "email": "dev@example.com", "date": iso(tc)},
                    "committer": {"name": d.author, "email": "dev@example.com", "date": iso(tc)},
                    "comment_count": 0,
                },
                "author": user,
                "committer": user,
                "parents": [],
                "stats": {
                    "additions": int(rng.integers(1, 400)),
                    "deletions": int(rng.integers(0, 200)),
                },
                "files": [
                    {
                        "filename": f,
                        "status": "modified",
                        "additions": int(rng.integers(1, 80)),
                        "deletions": int(rng.integers(0, 40)),
                    }
                    for f in d.files
                ],
            },
        )
        desc = d.message if d.kind == "revert" else f"Deploy {svc} {d.version}"
        dep = {
            "url": f"{api}/deployments/{d.id}",
            "id": d.id,
            "sha": d.sha,
            "ref": "main",
            "task": "deploy",
            "payload": {"service": svc, "version": d.version},
            "original_environment": "production",
            "environment": "production",
            "description": desc,
            "creator": user,
            "created_at": iso(d.t),
            "updated_at": iso(d.t),
            "statuses_url": f"{api}/deployments/{d.id}/statuses",
            "repository_url": api,
            "transient_environment": False,
            "production_environment": True,
        }
        w["github/deployments"].write(d.t, dep)
        t_ok = d.t + int(rng.integers(90, 360))
        for state, t in (("pending", d.t), ("in_progress", d.t + 20), ("success", t_ok)):
            if t >= s.end:
                break
            w["github/deployment_statuses"].write(
                t,
                {
                    "url": f"{api}/deployments/{d.id}/statuses/{sid}",
                    "id": sid,
                    "state": state,
                    "creator": user,
                    "description": {
                        "pending": "Queued",
                        "in_progress": "Rolling out",
                        "success": "Deployment finished successfully.",
                    }[state],
                    "environment": "production",
                    "target_url": f"https://ci.example.com/deploys/{d.id}",
                    "created_at": iso(t),
                    "updated_at": iso(t),
                    "deployment_url": f"{api}/deployments/{d.id}",
                    "repository_url": api,
                    "log_url": f"https://ci.example.com/deploys/{d.id}/log",
                },
            )
            sid += 1
        if t_ok < s.end:
            w["github/deployments"].write(t_ok, {**dep, "updated_at": iso(t_ok)})
    # weekly releases (Tuesdays 15:00) summarising what was deployed since the previous one
    t = s.start - (s.start // DAY + 3) % 7 * DAY + DAY + 15 * HOUR
    n, prev, rid = 0, t - 7 * DAY, 120_000_001
    while t < s.end:
        if t >= s.start:
            notes = [d.message for d in s.deploys if prev <= d.t < t][:30]
            tag = f"v2.{40 + n}.0"
            w["github/releases"].write(
                t,
                {
                    "url": f"{api}/releases/{rid}",
                    "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
                    "id": rid,
                    "tag_name": tag,
                    "target_commitish": "main",
                    "name": tag,
                    "body": "\n".join(f"- {m}" for m in notes),
                    "draft": False,
                    "prerelease": False,
                    "created_at": iso(t),
                    "published_at": iso(t),
                    "author": {"login": "release-bot", "type": "Bot"},
                    "assets": [],
                },
            )
            n += 1
            rid += 1
        prev, t = t, t + 7 * DAY
