"""The kitchen reproduces overcooked-ai 1.1.0 exactly: every state, reward and event.

The traces were recorded from the `overcooked-ai` package itself (see
tests/envs/kitchen/reference/README.md for the command) on every shipped layout
and on authored layouts covering 3-9 chefs, tomatoes, bonus orders, every recipe
parameter, custom shaping, pot capacities and corridors where chefs collide.
"""

from __future__ import annotations

import numpy as np
import pytest

from brigade.envs.kitchen import events_as_overcooked, shipped_layout_names
from brigade.envs.kitchen.encoding import LosslessEncoder

from .traces_io import load_lossless, load_trace, normalise, trace_mdp, trace_names

NAMES = trace_names()

# One authored layout sets num_items_for_soup to show it has no effect; it warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:.*'num_items_for_soup' has no effect")


def test_every_shipped_layout_has_a_trace() -> None:
    assert set(shipped_layout_names()) <= set(NAMES)


def test_traces_are_not_trivially_easy() -> None:
    totals: dict[str, int] = {}
    chefs = set()
    for name in NAMES:
        trace = load_trace(name)
        chefs.add(trace["num_players"])
        for key, value in trace["coverage"].items():
            totals[key] = totals.get(key, 0) + value
    for key in (
        "deliveries",
        "bonus_deliveries",
        "collisions",
        "swap_attempts",
        "handoffs",
        "cook_starts",
        "soup_pickups",
        "counter_drops",
        "counter_pickups",
        "zero_value_deliveries",
    ):
        assert totals[key] > 0, f"no {key} in the traces"
    assert {1, 2, 3, 4, 9} <= chefs


@pytest.mark.parametrize("name", NAMES)
def test_scalar_transition_matches_overcooked_ai(name: str) -> None:
    trace = load_trace(name)
    mdp = trace_mdp(trace)
    assert mdp.num_chefs == trace["num_players"]
    for e, episode in enumerate(trace["episodes"]):
        state = mdp.from_overcooked_dict(episode["start_state"])
        assert normalise(mdp.to_overcooked_dict(state)) == normalise(episode["start_state"])
        for t, joint in enumerate(episode["joint_actions"]):
            state, info = mdp.transition(state, joint)
            where = f"{name} episode {e} step {t} actions {joint}"
            assert normalise(mdp.to_overcooked_dict(state)) == normalise(episode["states"][t]), (
                where
            )
            assert info["sparse_reward_by_agent"] == episode["sparse_reward_by_agent"][t], where
            assert info["shaped_reward_by_agent"] == episode["shaped_reward_by_agent"][t], where
            events = {
                k: v
                for k, v in events_as_overcooked(info["events"], mdp.num_chefs).items()
                if any(v)
            }
            assert events == episode["events"][t], where


@pytest.mark.parametrize("name", [n for n in NAMES if load_lossless(n) is not None])
def test_lossless_encoding_matches_overcooked_ai(name: str) -> None:
    trace = load_trace(name)
    mdp = trace_mdp(trace)
    encoder = LosslessEncoder(mdp, horizon=400)
    recorded = load_lossless(name)
    assert recorded is not None
    for episode, step, expected in zip(recorded["episode"], recorded["step"], recorded["obs"]):
        ep = trace["episodes"][int(episode)]
        state_dict = ep["start_state"] if step < 0 else ep["states"][int(step)]
        obs = encoder.encode(mdp.from_overcooked_dict(state_dict))
        assert obs.dtype == encoder.dtype
        np.testing.assert_array_equal(
            obs.astype(np.int64),
            expected.astype(np.int64),
            err_msg=f"{name} episode {episode} step {step}",
        )
