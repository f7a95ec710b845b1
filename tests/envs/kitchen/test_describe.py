"""The text description for LLM planners, and its inverse."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade import envs
from brigade.envs.kitchen import KitchenMDP, shipped_layout_names
from brigade.envs.kitchen.describe import describe_kitchen, parse_description
from brigade.envs.kitchen.names import chef_names
from brigade.envs.kitchen.random_states import random_state
from brigade.envs.kitchen.state import Chef, KitchenState, Soup
from brigade.errors import DescriptionParseError

from .traces_io import REPO

GOLDEN = Path(__file__).parent / "golden"
LAYOUTS = {name: KitchenMDP.from_layout_name(name) for name in shipped_layout_names()}
for extra in (
    "k_nine_chefs",
    "k_ingredient_times",
    "k_recipe_values_times",
    "k_max_ingredients_4",
    "k_bonus",
):
    LAYOUTS[extra] = KitchenMDP.from_layout_file(
        REPO / f"tests/envs/kitchen/layouts/{extra}.layout"
    )


def busy_tomato_kitchen() -> tuple[KitchenMDP, KitchenState]:
    mdp = LAYOUTS["cramped_room_tomato"]
    state = KitchenState(
        chefs=(Chef((1, 2), 2, Soup(("tomato", "onion"), 20)), Chef((3, 1), 0, "dish")),
        pots=(Soup(("onion", "tomato", "tomato"), 7),),
        counters={(0, 0): "onion", (4, 2): Soup(("onion", "onion", "onion"), 30)},
        timestep=123,
        orders=mdp.start_orders,
    )
    return mdp, state


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BRIGADE_UPDATE_GOLDEN"):
        path.write_text(text + "\n")
    assert text + "\n" == path.read_text(), f"{name} changed; BRIGADE_UPDATE_GOLDEN=1 rewrites it"


def test_golden_description_of_a_busy_kitchen() -> None:
    mdp, state = busy_tomato_kitchen()
    check_golden(
        "cramped_room_tomato_busy.txt", describe_kitchen(mdp, state, ["Alice", "Bob"], horizon=400)
    )


def test_golden_task_description_with_options() -> None:
    env = envs.make_task("kitchen/forced_coordination")
    check_golden("forced_coordination_start.txt", env.describe())
    check_golden("forced_coordination_start_bob.txt", env.describe("Bob"))


def test_description_says_what_matters() -> None:
    mdp, state = busy_tomato_kitchen()
    text = describe_kitchen(mdp, state, ["Alice", "Bob"])
    assert "pot1 at (2,0): onion, tomato, tomato; cooking, tick 7 of " in text
    assert "Alice (chef 1) at (1,2), facing east, holding a soup of tomato, onion." in text
    assert "Bob (chef 2) at (3,1), facing north, holding a dish." in text
    assert "counter(0,0): an onion" in text
    assert "(bonus order)" in text
    ready = state.replace(
        pots=(Soup(("onion", "tomato", "tomato"), int(mdp.soup_time(state.pots[0]))),)
    )
    assert "; ready (cooked" in describe_kitchen(mdp, ready, ["Alice", "Bob"])
    empty = state.replace(pots=(None,))
    assert "pot1 at (2,0): empty" in describe_kitchen(mdp, empty, ["Alice", "Bob"])


def test_agent_view_lists_only_that_agents_options() -> None:
    env = envs.make_task("kitchen/cramped_room")
    view = env.describe("Bob")
    assert view.startswith("You are Bob (chef 2).")
    assert "- Bob: " in view and "- Alice: " not in view


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(LAYOUTS)), st.integers(0, 2**32 - 1))
def test_parse_of_describe_is_the_identity(name: str, seed: int) -> None:
    mdp = LAYOUTS[name]
    state = random_state(mdp, np.random.default_rng(seed), object_prob=0.6)
    names = chef_names(mdp.num_chefs)
    parsed = parse_description(describe_kitchen(mdp, state, names, horizon=400))
    assert parsed.state == state
    assert parsed.chef_names == tuple(names)
    assert parsed.mdp.terrain == mdp.terrain
    # What the parsed kitchen knows agrees with the real one where it matters.
    for recipe in state.orders.all:
        assert parsed.mdp.recipes.time(recipe) == mdp.recipes.time(recipe)
        assert parsed.state.orders.delivery_value[recipe] == state.orders.delivery_value[recipe]
    for soup in state.pots:
        if soup is not None and soup.ingredients:
            assert parsed.mdp.soup_time(soup) == mdp.soup_time(soup)


def test_parse_reads_the_task_description_too() -> None:
    env = envs.make_task("kitchen/cramped_room_tomato")
    parsed = parse_description(env.describe("Alice"))
    assert parsed.state == env.state


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("Kitchen", "Galley"), 'no "Kitchen'),
        (lambda t: t.replace("y=3 ", "y=9 "), "rows y=0..3"),
        (lambda t: t.replace("facing north", "facing up", 1), "unknown direction"),
        (lambda t: t.replace("holding nothing", "holding a banana", 1), "cannot read the item"),
        (
            lambda t: t.replace("- pot1 at (2,0): empty", "- pot1 at (2,0): bubbling"),
            "cannot read the pot",
        ),
        (lambda t: t.replace("Cooking: every soup cooks in 20 ticks.\n", ""), "Cooking"),
    ],
)
def test_parse_errors_say_where(edit: object, message: str) -> None:
    env = envs.make_task("kitchen/cramped_room")
    with pytest.raises(DescriptionParseError, match=message):
        parse_description(edit(env.describe()))  # type: ignore[operator]
