"""Idempotent write-back of diagnoses to the help desk: one internal note per distinct
diagnosis, plus tags (and optional custom fields) for views and routing.

- A diagnosis' *fingerprint* hashes what an agent would act on: cause (or, abstaining, the
  leading hypothesis and the fact of abstaining), confidence band, escalate, the evidence ids
  the note cites, the model version. It is the key of `delivery.writebacks` and is printed in
  the note (`altor-diagnosis:<fingerprint>`).
- Same fingerprint already written: nothing is sent. A new fingerprint for a ticket that has a
  note: one `update` note saying what changed. Otherwise an `initial` note.
- Every note is first stored as a `pending` row holding the exact request. Before every PUT
  (the first one too, and each resend) the ticket's comments are read for the note's marker:
  a note already there is recorded, not posted again. So a kill between the PUT and the
  `written` update, a 5xx/timeout/cut body after the help desk applied the PUT, or a failure
  after it, never posts twice: the next attempt finds the marker. The PUT itself is sent once
  per attempt (the client never resends it blindly); transient failures (5xx, 429, connection,
  a cut or non-JSON body) are retried up to `max_retries` times with backoff, each time after
  the check. A failure beyond that leaves the row `failed` with the error; every later run
  retries pending and failed rows.
- Tags: `altor_cause_<cause>` (or `altor_abstained`), `altor_confidence_<band>`,
  `altor_escalate` / `altor_no_escalate`; tags of an earlier diagnosis are removed. A
  misrouted ticket is moved to the group learned from history (routing.py).
- The root-cause field agents fill at resolution is never written: it is the label the model
  learns from.

Planning is `writeback_plan.py`, sending `writeback_send.py`; `deliver` does both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.delivery.playbook import (
    Playbook,
    learn_playbook,
    save_playbook,
)
from altor_pipelines.delivery.writeback_plan import DeliveryResult, WritebackConfig, plan_notes
from altor_pipelines.delivery.writeback_send import send_pending
from altor_pipelines.sources.http import HttpClient
from altor_pipelines.sources.zendesk import zendesk_client


def deliver(
    con: duckdb.DuckDBPyConnection,
    client: HttpClient,
    config: WritebackConfig,
    as_of: datetime | None = None,
    playbook: Playbook | None = None,
    on_written: Any = None,
) -> DeliveryResult:
    """Plan notes for the latest diagnoses, then send everything pending. The asset and the
    live path both call this."""
    as_of = as_of or datetime.now(UTC)
    if playbook is None:
        playbook = learn_playbook(con)
        save_playbook(con, playbook, naive_utc(as_of))
    result = plan_notes(con, config, as_of, playbook)
    return send_pending(con, client, result, on_written)


def writeback_client(settings: Any, config: WritebackConfig | None = None) -> HttpClient:
    """The Zendesk HTTP client (the sources' client: retries, backoff, secrets redacted)."""
    config = config or WritebackConfig()
    auth = "basic" if "zendesk.com" in settings.zendesk_base_url else "bearer"
    return zendesk_client(
        settings.zendesk_base_url,
        settings.zendesk_email,
        settings.zendesk_token,
        auth,
        max_retries=config.max_retries,
        backoff_seconds=config.backoff_seconds,
    )
