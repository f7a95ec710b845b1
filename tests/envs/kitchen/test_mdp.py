"""Properties of the kitchen's transition function (the exact parity lives in test_parity.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.envs.kitchen import KitchenMDP, KitchenState, shipped_layout_names
from brigade.envs.kitchen.random_states import random_state
from brigade.envs.kitchen.state import Soup
from brigade.errors import InputError, StateError

from .traces_io import REPO

MDPS = {name: KitchenMDP.from_layout_name(name) for name in shipped_layout_names()}
MDPS["k_nine_chefs"] = KitchenMDP.from_layout_file(
    REPO / "tests/envs/kitchen/layouts/k_nine_chefs.layout"
)
MDPS["k_max_ingredients_4"] = KitchenMDP.from_layout_file(
    REPO / "tests/envs/kitchen/layouts/k_max_ingredients_4.layout"
)


def items(state: KitchenState) -> Counter[str]:
    """Every item in the kitchen, soups counted by their ingredients."""
    count: Counter[str] = Counter()
    everything = [c.held for c in state.chefs] + list(state.pots) + list(state.counters.values())
    for item in everything:
        if isinstance(item, Soup):
            count.update(item.ingredients)
            count["soup"] += 1
        elif item is not None:
            count[item] += 1
    return count


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(MDPS)), st.integers(0, 2**32 - 1), st.data())
def test_transition_keeps_the_kitchen_valid(name: str, seed: int, data: st.DataObject) -> None:
    mdp = MDPS[name]
    rng = np.random.default_rng(seed)
    state = random_state(mdp, rng, object_prob=0.6)
    joint = data.draw(st.lists(st.integers(0, 5), min_size=mdp.num_chefs, max_size=mdp.num_chefs))
    before = mdp.to_overcooked_dict(state)
    nxt, info = mdp.transition(state, joint)
    # Pure: the input state is untouched.
    assert mdp.to_overcooked_dict(state) == before
    assert nxt.timestep == state.timestep + 1
    positions = [c.position for c in nxt.chefs]
    assert len(set(positions)) == len(positions)
    assert all(mdp.is_floor(p) for p in positions)
    for soup in nxt.pots:
        assert soup is None or len(soup.ingredients) <= mdp.max_ingredients
    # The round trip through overcooked-ai's dict form is lossless.
    assert mdp.from_overcooked_dict(mdp.to_overcooked_dict(nxt)) == nxt
    # Items only appear from dispensers; soups take a dish and leave when served.
    grabbed: Counter[str] = Counter()
    for a, b in zip(state.chefs, nxt.chefs):
        if a.held is None and b.held is not None and mdp.terrain_at(mdp.faced_cell(a)) in "OTD":
            grabbed[b.held if isinstance(b.held, str) else "soup"] += 1
    served = [
        c.held
        for c, e in zip(state.chefs, nxt.chefs)
        if isinstance(c.held, Soup) and e.held is None and mdp.terrain_at(mdp.faced_cell(c)) == "S"
    ]
    filled = sum(
        1 for a, b in zip(state.chefs, nxt.chefs) if a.held == "dish" and isinstance(b.held, Soup)
    )
    old_items, new_items = items(state), items(nxt)
    for ingredient in ("onion", "tomato"):
        eaten = sum(soup.ingredients.count(ingredient) for soup in served)  # type: ignore[union-attr]
        assert new_items[ingredient] == old_items[ingredient] + grabbed[ingredient] - eaten
    assert new_items["dish"] == old_items["dish"] + grabbed["dish"] - filled
    assert sum(1 for e, _ in info["events"] if e == "soup_delivery") == len(served)
    assert len(info["sparse_reward_by_agent"]) == mdp.num_chefs
    # Collisions: if any chef moved, no two chefs swapped.
    for i, a in enumerate(state.chefs):
        for j, b in enumerate(state.chefs):
            if i < j:
                assert not (
                    nxt.chefs[i].position == b.position and nxt.chefs[j].position == a.position
                )


def test_collisions_stop_everyone() -> None:
    mdp = MDPS["cramped_room"]
    state = mdp.initial_state()  # Alice (1,2), Bob (3,1)
    # Both step into (2,2)/(2,1)? Alice east to (2,2), Bob south to (3,2): no collision.
    nxt, _ = mdp.transition(state, [2, 1])
    assert [c.position for c in nxt.chefs] == [(2, 2), (3, 2)]
    # Now Alice east into (3,2) where Bob stands still: nobody moves, Alice turns.
    blocked, _ = mdp.transition(nxt, [2, 4])
    assert [c.position for c in blocked.chefs] == [(2, 2), (3, 2)]
    assert blocked.chefs[0].orientation == 2


def test_bad_actions_are_input_errors() -> None:
    mdp = MDPS["cramped_room"]
    state = mdp.initial_state()
    with pytest.raises(InputError, match="one action per chef"):
        mdp.transition(state, [0])
    with pytest.raises(InputError, match=r"0\.\.5"):
        mdp.transition(state, [0, 9])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["players"].pop(), "the layout has 2 chefs"),
        (lambda d: d["players"][0].update(position=(0, 0)), "not a floor cell"),
        (lambda d: d["players"][0].update(position=(9, 9)), "outside the 5x4 grid"),
        (lambda d: d["players"][0].update(orientation=(1, 1)), "orientation"),
        (lambda d: d["players"][1].update(position=(1, 2)), "share a cell"),
        (
            lambda d: d["objects"].append({"name": "onion", "position": (2, 1)}),
            "counters or in pots",
        ),
        (lambda d: d["objects"].append({"name": "banana", "position": (0, 0)}), "unknown object"),
        (lambda d: d["objects"].append({"name": "onion", "position": (2, 0)}), "only a soup"),
        (lambda d: d.update(timestep=-1), "timestep"),
        (lambda d: d.update(bonus_orders=[{"ingredients": ["tomato"]}]), "not among all_orders"),
    ],
)
def test_bad_state_dicts_name_the_field(mutate: object, message: str) -> None:
    mdp = MDPS["cramped_room"]
    data = mdp.to_overcooked_dict(mdp.initial_state())
    data["players"] = [dict(p) for p in data["players"]]
    mutate(data)  # type: ignore[operator]
    with pytest.raises(StateError, match=message):
        mdp.from_overcooked_dict(data)


def test_legacy_soups_are_read() -> None:
    mdp = MDPS["cramped_room"]
    data = mdp.to_overcooked_dict(mdp.initial_state())
    data["objects"] = [
        {"name": "soup", "position": (2, 0), "state": ["onion", 3, 20]},
        {"name": "soup", "position": (0, 2), "state": ["onion", 3, 20]},
    ]
    state = mdp.from_overcooked_dict(data)
    assert state.pots[0] == Soup(("onion",) * 3, 20)
    assert state.counters[(0, 2)] == Soup(("onion",) * 3, 20)


def test_states_are_hashable_and_immutable() -> None:
    mdp = MDPS["cramped_room"]
    a = random_state(mdp, np.random.default_rng(1))
    b = mdp.from_overcooked_dict(mdp.to_overcooked_dict(a))
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.timestep = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.counters[(0, 0)] = "onion"  # type: ignore[index]


def test_states_copy_and_pickle() -> None:
    import copy
    import pickle

    mdp = MDPS["cramped_room"]
    state = random_state(mdp, np.random.default_rng(4), object_prob=0.8)
    assert copy.deepcopy(state) == state
    assert pickle.loads(pickle.dumps(state)) == state
