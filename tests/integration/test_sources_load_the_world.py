"""Every source, run once against the world served as of a clock, loads exactly the world's
objects as of that clock (each source's own comparison: `assert_equals_world` of its module)."""

from __future__ import annotations

import pytest

from tests.integration import test_source_github as github
from tests.integration import test_source_linear as linear
from tests.integration import test_source_stripe as stripe
from tests.integration import test_source_zendesk as zendesk
from tests.integration.test_source_support import TINY_END, load_at

# (source module, a clock in the middle of the world's story): each is also run at its end.
MIDDLES = [(github, github.BETWEEN), (linear, linear.BEFORE_DONE),
           (stripe, stripe.BEFORE_PAST_DUE), (zendesk, zendesk.TINY_MID)]
CASES = [pytest.param(module, clock, id=f"{module.__name__.rsplit('_', 1)[-1]}-{label}")
         for module, middle in MIDDLES
         for clock, label in ((middle, "middle"), (TINY_END, "end"))]


@pytest.mark.parametrize(("source", "clock"), CASES)
def test_full_run_loads_exactly_the_world_as_of_the_clock(tiny_world, tmp_path, source, clock):
    warehouse = load_at(tiny_world, tmp_path, source.runner, clock)
    source.assert_equals_world(warehouse, tiny_world, clock)
