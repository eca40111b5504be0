"""Where a misrouted ticket belongs, learned from history: the group that the most similar
past tickets ended in (sql/delivery/group_history.sql), by TF-IDF cosine similarity of subject
and description, past tickets recorded `misrouted` weighing double (they are the ones that
were moved). The ticket's current group and engineering groups are never suggested; with no
similar past ticket there is no suggestion. No group name is written down anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import duckdb
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from altor_pipelines.warehouse.duckdb import sql_text

TOP_K = 15
MIN_SIMILARITY = 0.05


@dataclass
class GroupRouter:
    ticket_ids: list[int]
    groups: list[int]
    causes: list[str | None]
    names: dict[int, str]
    vectorizer: object | None
    matrix: object | None

    def suggest(
        self, text: str, current_group: int | None, exclude_ticket: int | None = None
    ) -> tuple[int, str, int] | None:
        """(group_id, group_name, supporting past tickets), or None."""
        if self.vectorizer is None or not text.strip():
            return None

        sims = linear_kernel(self.vectorizer.transform([text]), self.matrix).ravel()
        order = sims.argsort()[::-1]
        votes: dict[int, float] = defaultdict(float)
        support: dict[int, int] = defaultdict(int)
        taken = 0
        for i in order:
            if taken >= TOP_K or sims[i] < MIN_SIMILARITY:
                break
            g = self.groups[i]
            if self.ticket_ids[i] == exclude_ticket or g == current_group:
                continue
            taken += 1
            votes[g] += sims[i] * (2.0 if self.causes[i] == "misrouted" else 1.0)
            support[g] += 1
        if not votes:
            return None
        best = max(votes, key=lambda g: (votes[g], -g))
        return best, self.names.get(best, str(best)), support[best]


def learn_router(con: duckdb.DuckDBPyConnection, before: datetime | None = None) -> GroupRouter:
    rows = con.execute(sql_text("delivery/group_history.sql"), {"before": before}).fetchall()
    names = dict(
        con.execute("SELECT group_id, group_name FROM staging.stg_zendesk__groups").fetchall()
    )
    if not rows:
        return GroupRouter([], [], [], names, None, None)

    vec = TfidfVectorizer(min_df=1, ngram_range=(1, 2), sublinear_tf=True)
    matrix = vec.fit_transform([r[3] for r in rows])
    return GroupRouter(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], names, vec, matrix
    )
