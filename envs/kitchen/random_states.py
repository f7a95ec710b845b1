"""Random valid kitchen states, for tests, data collection and unusual starts.

Like overcooked-ai's ``get_random_start_state_fn`` but richer: chefs on random
distinct floor cells with random orientations and held items, random items
on counters, and pots that are empty, partly filled, cooking or ready. Every
state produced is one the dynamics accept (off-pot soups are ready, pots hold
at most their capacity).
"""

from __future__ import annotations

import numpy as np

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.recipes import Orders
from brigade.envs.kitchen.state import Chef, Item, KitchenState, Position, Soup

_INGREDIENTS = ("onion", "tomato")


def random_soup(mdp: KitchenMDP, rng: np.random.Generator, *, ready: bool) -> Soup:
    """A soup with 1..capacity random ingredients; ready, or in any pot state."""
    n = int(rng.integers(1, mdp.max_ingredients + 1))
    ingredients = tuple(_INGREDIENTS[int(rng.integers(2))] for _ in range(n))
    ready_at = mdp.ready_tick(Soup(ingredients))
    if ready:
        return Soup(ingredients, ready_at)
    kind = int(rng.integers(3))
    if kind == 0:
        return Soup(ingredients, -1)
    if kind == 1 and ready_at > 0:
        return Soup(ingredients, int(rng.integers(0, ready_at)))  # still cooking
    return Soup(ingredients, ready_at)


def random_item(mdp: KitchenMDP, rng: np.random.Generator) -> Item:
    """An onion, tomato, dish or ready soup."""
    kind = int(rng.integers(4))
    if kind == 3:
        return random_soup(mdp, rng, ready=True)
    return ("onion", "tomato", "dish")[kind]


def random_state(
    mdp: KitchenMDP,
    rng: np.random.Generator,
    *,
    object_prob: float = 0.4,
    timestep: int | None = None,
    orders: Orders | None = None,
    positions: list[Position] | None = None,
) -> KitchenState:
    """A random valid state of ``mdp``.

    Args:
        mdp: The kitchen.
        rng: The random generator (all randomness comes from it).
        object_prob: Chance that a chef holds something, a counter holds
            something and a pot is non-empty.
        timestep: The state's timestep (random in 0..399 if ``None``).
        orders: The state's orders (the layout's start orders if ``None``).
        positions: Fixed chef cells (random distinct floor cells if ``None``).
    """
    floor = list(mdp.floor_positions)
    if positions is None:
        picks = rng.choice(len(floor), size=mdp.num_chefs, replace=False)
        positions = [floor[int(p)] for p in picks]
    chefs = []
    for pos in positions:
        held = random_item(mdp, rng) if rng.random() < object_prob else None
        chefs.append(Chef(pos, int(rng.integers(4)), held))
    counters: dict[Position, Item] = {}
    for cell in mdp.counter_positions:
        if rng.random() < object_prob / 2:
            counters[cell] = random_item(mdp, rng)
    pots: list[Soup | None] = []
    for _ in mdp.pot_positions:
        pots.append(random_soup(mdp, rng, ready=False) if rng.random() < object_prob else None)
    t = int(rng.integers(0, 400)) if timestep is None else timestep
    return KitchenState(tuple(chefs), tuple(pots), counters, t, orders or mdp.start_orders)
