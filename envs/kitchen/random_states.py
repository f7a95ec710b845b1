"""Random valid kitchen states, for tests, data collection and unusual starts.

:func:`random_start_positions` is the one rule for random starts, shared by
every kitchen API (the PettingZoo env, the batched engine and the skill-level
task): each chef on a random free cell of its own floor region, so that a
layout such as Forced Coordination stays solvable.

:func:`random_state` is like overcooked-ai's ``get_random_start_state_fn`` but
richer: chefs on random distinct floor cells with random orientations and held
items, random items on counters, and pots that are empty, partly filled,
cooking or ready. Every state produced is one the dynamics accept (off-pot
soups are ready, pots hold at most their capacity).
"""

from __future__ import annotations

import weakref

import numpy as np

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.recipes import Orders
from brigade.envs.kitchen.state import Chef, Item, KitchenState, Position, Soup
from brigade.errors import InputError

START_MODES = ("standard", "random")
"""How an episode starts: ``"standard"``, the layout's start state; ``"random"``,
each chef on a random free cell of its own floor region, with a random orientation
(see :func:`random_start_positions`)."""

_INGREDIENTS = ("onion", "tomato")

# Per kitchen and per_region flag: each chef's candidate cells (sorted) and how
# many cells of its pool are left once the chefs before it in the same pool
# have theirs. Computed once per kitchen, as batches draw thousands of starts.
_StartPools = tuple[tuple[tuple[Position, ...], ...], tuple[int, ...]]
_POOLS: weakref.WeakKeyDictionary[KitchenMDP, dict[bool, _StartPools]] = weakref.WeakKeyDictionary()


def _start_pools(mdp: KitchenMDP, per_region: bool) -> _StartPools:
    """Each chef's candidate cells and free-cell count (see :func:`random_start_positions`)."""
    cached = _POOLS.setdefault(mdp, {})
    if per_region in cached:
        return cached[per_region]
    floor = frozenset(mdp.floor_positions)
    pools: list[tuple[Position, ...]] = []
    if per_region:
        for i, start in enumerate(mdp.layout.start_positions):
            if start not in floor:
                raise InputError(
                    f"{mdp.name}: chef {i + 1} starts on {list(start)}, which is not a floor "
                    "cell, so it has no floor region to start in"
                )
            pools.append(tuple(sorted(mdp.floor_region(start))))
    else:
        pools = [tuple(sorted(floor))] * mdp.num_chefs
    free = []
    for i, pool in enumerate(pools):
        # Regions are equal or disjoint, so only the chefs before i in the same
        # pool take cells from it.
        sharing = [j for j in range(i + 1) if pools[j] == pool]
        if len(sharing) > len(pool):
            where = "floor region" if per_region else "floor"
            chefs = ", ".join(str(j + 1) for j in sharing)
            raise InputError(
                f"{mdp.name}: random starts need a floor cell per chef, but chefs {chefs} "
                f"share a {where} of {len(pool)} cell{'s' if len(pool) != 1 else ''}"
                + (f" (around {list(pool[0])})" if per_region else "")
            )
        free.append(len(pool) - len(sharing) + 1)
    result = (tuple(pools), tuple(free))
    cached[per_region] = result
    return result


def random_start_positions(
    mdp: KitchenMDP, rng: np.random.Generator, *, per_region: bool = True
) -> list[Position]:
    """Random distinct start cells for the chefs of ``mdp``.

    Chef ``i`` lands on a free floor cell drawn uniformly at random: with
    ``per_region``, one of the floor region (4-connected floor cells) that
    holds its standard start ``mdp.layout.start_positions[i]``, so that on
    layouts split by counters, such as Forced Coordination, no chef lands on
    the wrong side; without it, any floor cell. Chefs are placed in order, each
    on a cell no chef before it took, with one draw from ``rng`` per chef, so
    the same generator state gives the same cells.

    Args:
        mdp: The kitchen.
        rng: The generator drawn from.
        per_region: Keep each chef in the floor region of its standard start.

    Returns:
        One ``(x, y)`` cell per chef, chef 1 first.

    Raises:
        InputError: A floor region (or, without ``per_region``, the floor) has
            fewer cells than the chefs starting in it, or a chef's standard
            start is not a floor cell.
    """
    pools, free = _start_pools(mdp, per_region)
    taken: list[Position] = []
    for pool, count in zip(pools, free, strict=True):
        left = [cell for cell in pool if cell not in taken] if taken else pool
        taken.append(left[int(rng.integers(count))])
    return taken


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
