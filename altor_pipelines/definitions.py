"""The one Definitions object. It only assembles what `defs/` declares; nothing runs here."""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions(assets=[])
