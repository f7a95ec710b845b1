"""The numba kernels behind :class:`~brigade.envs.kitchen.batch.KitchenBatch`.

State (one row per kitchen, all ``int32``):

- ``chefs`` (n, chefs, 6): per chef its cell, orientation and held item;
- ``objects`` (n, slots, 4): the item in each pot (slots ``0..pots-1``, aligned
  with ``mdp.pot_positions``) and on each counter (then, aligned with
  ``mdp.counter_positions``);
- ``envs`` (n, 2): the timestep and the orders (a row of the delivery table).

An item is four numbers, ``kind, len, mask, tick``, at :data:`C_ITEM` in a
chef's row and at 0 in an object slot, so moving an item is copying four
numbers. A soup is ``len`` ingredients, a bit mask whose bit ``k`` is set when
the ``k``-th ingredient to go in was a tomato (the order matters for
overcooked-ai's state dicts), and its cooking tick. Per-soup tables are indexed
by ``len * SOUP_KEY + mask``.

Cells are indexed ``x * height + y``, which is also the cell's row in a chef's
observation viewed as ``(width * height, channels)``.

A kitchen's step is :func:`_step_env`: interacts in chef order, the
all-or-nothing movement, the pot ticks, the timestep, the auto-reset, and
every chef's lossless observation, written in place. :func:`step_all` runs it
over all kitchens with ``prange`` (kitchens are independent, so the result
does not depend on the number of threads), :func:`step_all_serial` on the
calling thread. Two things keep them fast: every
helper is inlined (a call would count references to each array argument),
and the kernels take plain arrays, not named tuples (numba loses writes
through a named tuple's arrays inside ``prange``: numba issues 7135, 10338).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit, prange

FLOOR, COUNTER, ONION_DISPENSER, TOMATO_DISPENSER, POT, DISH_DISPENSER, SERVING = range(7)
"""Terrain codes (column :data:`T_TERRAIN` of the cell table)."""

TERRAIN_CODES = {
    " ": FLOOR,
    "X": COUNTER,
    "O": ONION_DISPENSER,
    "T": TOMATO_DISPENSER,
    "P": POT,
    "D": DISH_DISPENSER,
    "S": SERVING,
}

NOTHING, ONION, TOMATO, DISH, SOUP = range(5)
"""Item kinds."""

KIND, LEN, MASK, TICK = range(4)
"""Fields of an item (offsets from its start)."""

C_CELL, C_ORI, C_ITEM = 0, 1, 2
CHEF_FIELDS = 6
"""A chef's row: cell, orientation, then its held item's four fields."""

E_TIME, E_ORDERS = 0, 1
ENV_FIELDS = 2
"""A kitchen's row: timestep, orders."""

T_TERRAIN, T_SLOT, T_MOVE, T_FACED = 0, 1, 2, 6
CELL_FIELDS = 10
"""A cell's row of the cell table: terrain code, object slot (-1 if none), the
cell reached by moving in each direction (itself if blocked), the cell faced in
each orientation."""

S_READY, S_ONIONS, S_TOMATOES, S_RECIPE = range(4)
SOUP_FIELDS = 4
"""A soup's row of the soup table: first ready tick, onions, tomatoes, column of
the delivery table."""

SOUP_KEY = 256
"""Soup tables are indexed by ``len * SOUP_KEY + mask`` (at most 8 ingredients)."""

INTERACT = 5
NUM_ACTIONS = 6
URGENCY_WINDOW = 40
MAP_LAYERS = 6
# Offsets of the variable layers after the map layers (see encoding.py).
_ONIONS_IN_POT, _TOMATOES_IN_POT, _ONIONS_IN_SOUP, _TOMATOES_IN_SOUP = 0, 1, 2, 3
_COOK_TIME_REMAINING, _SOUP_DONE, _DISHES, _ONIONS, _TOMATOES = 4, 5, 6, 7, 8

F = TypeVar("F", bound=Callable[..., Any])


def _kernel(*, parallel: bool = False, inline: bool = False) -> Callable[[F], F]:
    """``numba.njit`` with an on-disk cache, typed for mypy."""

    def wrap(fn: F) -> F:
        options = njit(cache=True, parallel=parallel, inline="always" if inline else "never")
        return cast(F, options(fn))

    return wrap


@_kernel()
def first_bad_action(actions: np.ndarray) -> int:
    """The flat index of the first action outside 0..5, or -1 if all are valid."""
    flat = actions.ravel()
    for k in range(flat.size):
        a = flat[k]
        if a < 0 or a >= NUM_ACTIONS:
            return k
    return -1


@_kernel(inline=True)
def _dish_pickup_useful(
    e: int, chefs: np.ndarray, objects: np.ndarray, num_pots: int, pots_needing_dishes: int
) -> bool:
    """overcooked-ai's useful dish pickup, a rule for 2 chefs only.

    No dish lies on any counter, and fewer dishes are held than pots need one
    (pots counted before the step's interacts).
    """
    for s in range(num_pots, objects.shape[1]):
        if objects[e, s, KIND] == DISH:
            return False
    held = 0
    for j in range(chefs.shape[1]):
        if chefs[e, j, C_ITEM + KIND] == DISH:
            held += 1
    return held < pots_needing_dishes


@_kernel(inline=True)
def _interact(
    e: int,
    i: int,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    cells: np.ndarray,
    soups: np.ndarray,
    delivery: np.ndarray,
    shaping: np.ndarray,
    num_pots: int,
    capacity: int,
    pots_needing_dishes: int,
    sparse: np.ndarray,
    shaped: np.ndarray,
) -> None:
    """Chef ``i`` of kitchen ``e`` interacts with the cell it faces."""
    target = cells[chefs[e, i, C_CELL], T_FACED + chefs[e, i, C_ORI]]
    terrain = cells[target, T_TERRAIN]
    held = chefs[e, i, C_ITEM + KIND]
    if terrain == COUNTER:
        s = cells[target, T_SLOT]
        if held != NOTHING:
            if objects[e, s, KIND] == NOTHING:  # put down
                for f in range(4):
                    objects[e, s, f] = chefs[e, i, C_ITEM + f]
                    chefs[e, i, C_ITEM + f] = 0
        elif objects[e, s, KIND] != NOTHING:  # pick up
            for f in range(4):
                chefs[e, i, C_ITEM + f] = objects[e, s, f]
                objects[e, s, f] = 0
    elif terrain == ONION_DISPENSER:
        if held == NOTHING:
            chefs[e, i, C_ITEM + KIND] = ONION
    elif terrain == TOMATO_DISPENSER:
        if held == NOTHING:
            chefs[e, i, C_ITEM + KIND] = TOMATO
    elif terrain == DISH_DISPENSER:
        if held == NOTHING:
            if chefs.shape[1] == 2 and _dish_pickup_useful(
                e, chefs, objects, num_pots, pots_needing_dishes
            ):
                shaped[e, i] += shaping[1]
            chefs[e, i, C_ITEM + KIND] = DISH
    elif terrain == POT:
        s = cells[target, T_SLOT]
        kind = objects[e, s, KIND]
        length = objects[e, s, LEN]
        if held == NOTHING:  # start cooking
            if kind == SOUP and objects[e, s, TICK] < 0 and length > 0:
                objects[e, s, TICK] = 0
        elif held == DISH:  # take a ready soup
            if kind == SOUP:
                tick = objects[e, s, TICK]
                if tick >= 0 and tick >= soups[length * SOUP_KEY + objects[e, s, MASK], S_READY]:
                    for f in range(4):
                        chefs[e, i, C_ITEM + f] = objects[e, s, f]
                        objects[e, s, f] = 0
                    shaped[e, i] += shaping[2]
        elif held in (ONION, TOMATO):  # add an ingredient
            if kind == NOTHING:
                objects[e, s, KIND] = SOUP
                objects[e, s, MASK] = 0
                objects[e, s, TICK] = -1
            if objects[e, s, TICK] < 0 and length < capacity:
                if held == TOMATO:
                    objects[e, s, MASK] |= 1 << length
                objects[e, s, LEN] = length + 1
                chefs[e, i, C_ITEM + KIND] = NOTHING
                shaped[e, i] += shaping[0]
    elif terrain == SERVING and held == SOUP:
        key = chefs[e, i, C_ITEM + LEN] * SOUP_KEY + chefs[e, i, C_ITEM + MASK]
        sparse[e, i] += delivery[envs[e, E_ORDERS], soups[key, S_RECIPE]]
        for f in range(4):
            chefs[e, i, C_ITEM + f] = 0


@_kernel(inline=True)
def _pots_needing_dishes(e: int, objects: np.ndarray, num_pots: int, capacity: int) -> int:
    """Pots cooking, ready or partly full: overcooked-ai's count for dish usefulness."""
    count = 0
    for p in range(num_pots):
        if objects[e, p, KIND] == SOUP and (
            objects[e, p, TICK] >= 0 or 1 <= objects[e, p, LEN] < capacity
        ):
            count += 1
    return count


@_kernel(inline=True)
def _blocked(e: int, actions: np.ndarray, chefs: np.ndarray, cells: np.ndarray) -> bool:
    """Whether any two chefs would end on one cell or swap cells (then nobody moves)."""
    n = chefs.shape[1]
    for i in range(n):
        old_i = chefs[e, i, C_CELL]
        a = actions[e, i]
        new_i = cells[old_i, T_MOVE + a] if a < 4 else old_i
        for j in range(i + 1, n):
            old_j = chefs[e, j, C_CELL]
            b = actions[e, j]
            new_j = cells[old_j, T_MOVE + b] if b < 4 else old_j
            if new_i == new_j or (new_i == old_j and new_j == old_i):
                return True
    return False


@_kernel(inline=True)
def _reset_env(
    e: int,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    start_chefs: np.ndarray,
    start_objects: np.ndarray,
    start_env: np.ndarray,
    start_cells: np.ndarray,
) -> None:
    """Puts kitchen ``e`` in the start state, with its chefs on ``start_cells[e]``."""
    for i in range(chefs.shape[1]):
        for f in range(CHEF_FIELDS):
            chefs[e, i, f] = start_chefs[i, f]
        chefs[e, i, C_CELL] = start_cells[e, i]
    for s in range(objects.shape[1]):
        for f in range(4):
            objects[e, s, f] = start_objects[s, f]
    for f in range(ENV_FIELDS):
        envs[e, f] = start_env[f]


@_kernel(inline=True)
def _put_loose(obs: np.ndarray, e: int, at: int, item: np.ndarray, soups: np.ndarray) -> None:
    """Encodes an item outside the pots (on a counter or held) at ``at`` (its variable layers).

    ``item`` holds the item's four fields.
    """
    kind = item[KIND]
    if kind == SOUP:
        key = item[LEN] * SOUP_KEY + item[MASK]
        obs[e, 0, at + _ONIONS_IN_SOUP] = soups[key, S_ONIONS]
        obs[e, 0, at + _TOMATOES_IN_SOUP] = soups[key, S_TOMATOES]
        obs[e, 0, at + _SOUP_DONE] = 1
    elif kind == DISH:
        obs[e, 0, at + _DISHES] = 1
    elif kind == ONION:
        obs[e, 0, at + _ONIONS] = 1
    elif kind == TOMATO:
        obs[e, 0, at + _TOMATOES] = 1


@_kernel(inline=True)
def _encode_env(
    e: int,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    base: np.ndarray,
    num_pots: int,
    horizon: int,
    obs: np.ndarray,
) -> None:
    """Writes every chef's lossless encoding of kitchen ``e`` into ``obs[e]``.

    ``obs`` has shape (n, chefs, cells * channels). The layers every chef
    shares are written for chef 0 and copied to the others; then each chef's
    player layers (itself first, then the others in index order) are set.
    """
    n_chefs = chefs.shape[1]
    size = base.shape[0]
    var0 = 5 * n_chefs + MAP_LAYERS
    channels = var0 + 10  # 9 variable layers, then urgency
    for k in range(size):
        obs[e, 0, k] = base[k]
    for p in range(num_pots):
        if objects[e, p, KIND] == SOUP:
            at = slot_cell[p] * channels + var0
            key = objects[e, p, LEN] * SOUP_KEY + objects[e, p, MASK]
            tick = objects[e, p, TICK]
            if tick < 0:
                obs[e, 0, at + _ONIONS_IN_POT] = soups[key, S_ONIONS]
                obs[e, 0, at + _TOMATOES_IN_POT] = soups[key, S_TOMATOES]
            else:
                obs[e, 0, at + _ONIONS_IN_SOUP] = soups[key, S_ONIONS]
                obs[e, 0, at + _TOMATOES_IN_SOUP] = soups[key, S_TOMATOES]
                # overcooked-ai stores the float difference into the integer grid (truncation).
                obs[e, 0, at + _COOK_TIME_REMAINING] = int(soup_time[key] - tick)
                if tick >= soups[key, S_READY]:
                    obs[e, 0, at + _SOUP_DONE] = 1
    for s in range(num_pots, objects.shape[1]):
        if objects[e, s, KIND] != NOTHING:
            _put_loose(obs, e, slot_cell[s] * channels + var0, objects[e, s], soups)
    for j in range(n_chefs):
        if chefs[e, j, C_ITEM + KIND] != NOTHING:
            at = chefs[e, j, C_CELL] * channels + var0
            _put_loose(obs, e, at, chefs[e, j, C_ITEM:], soups)
    if horizon - envs[e, E_TIME] < URGENCY_WINDOW:
        for k in range(channels - 1, size, channels):
            obs[e, 0, k] = 1
    for i in range(1, n_chefs):
        for k in range(size):
            obs[e, i, k] = obs[e, 0, k]
    for i in range(n_chefs):
        at = chefs[e, i, C_CELL] * channels
        obs[e, i, at] = 1
        obs[e, i, at + n_chefs + chefs[e, i, C_ORI]] = 1
        rank = 1
        for j in range(n_chefs):
            if j != i:
                at = chefs[e, j, C_CELL] * channels
                obs[e, i, at + rank] = 1
                obs[e, i, at + n_chefs + 4 * rank + chefs[e, j, C_ORI]] = 1
                rank += 1


@_kernel(inline=True)
def _step_env(
    e: int,
    actions: np.ndarray,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    cells: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    delivery: np.ndarray,
    shaping: np.ndarray,
    base: np.ndarray,
    num_pots: int,
    capacity: int,
    horizon: int,
    auto_reset: bool,
    start_chefs: np.ndarray,
    start_objects: np.ndarray,
    start_env: np.ndarray,
    start_cells: np.ndarray,
    obs: np.ndarray,
    sparse: np.ndarray,
    shaped: np.ndarray,
    rewards: np.ndarray,
    truncated: np.ndarray,
) -> int:
    """One step of kitchen ``e``; returns 1 if it reached the horizon and was reset."""
    n_chefs = chefs.shape[1]
    any_interact = False
    for i in range(n_chefs):
        sparse[e, i] = 0.0
        shaped[e, i] = 0.0
        if actions[e, i] == INTERACT:
            any_interact = True

    # 1. Interacts, chef 0 first, each seeing what the chefs before it did; the
    #    dish rule (2 chefs only) counts the pots as they were before any interact.
    if any_interact:
        needing = _pots_needing_dishes(e, objects, num_pots, capacity) if n_chefs == 2 else 0
        for i in range(n_chefs):
            if actions[e, i] == INTERACT:
                _interact(
                    e, i, chefs, objects, envs, cells, soups, delivery, shaping, num_pots,
                    capacity, needing, sparse, shaped,
                )  # fmt: skip

    # 2. Movement, all or nothing; orientations change either way.
    if n_chefs == 2:
        c0 = chefs[e, 0, C_CELL]
        c1 = chefs[e, 1, C_CELL]
        a0 = actions[e, 0]
        a1 = actions[e, 1]
        t0 = cells[c0, T_MOVE + a0] if a0 < 4 else c0
        t1 = cells[c1, T_MOVE + a1] if a1 < 4 else c1
        blocked = t0 == t1 or (t0 == c1 and t1 == c0)
    else:
        blocked = _blocked(e, actions, chefs, cells)
    for i in range(n_chefs):
        a = actions[e, i]
        if a < 4:
            if not blocked:
                chefs[e, i, C_CELL] = cells[chefs[e, i, C_CELL], T_MOVE + a]
            chefs[e, i, C_ORI] = a

    # 3. Soups cook (only in pots), and time advances.
    for p in range(num_pots):
        if objects[e, p, KIND] == SOUP:
            tick = objects[e, p, TICK]
            ready = soups[objects[e, p, LEN] * SOUP_KEY + objects[e, p, MASK], S_READY]
            if tick >= 0 and tick < ready:
                objects[e, p, TICK] = tick + 1
    timestep = envs[e, E_TIME] + 1
    envs[e, E_TIME] = timestep

    total = 0.0
    for i in range(n_chefs):
        total += sparse[e, i]
    rewards[e] = total
    done = timestep >= horizon
    truncated[e] = done
    reset = 0
    if done and auto_reset:
        _reset_env(e, chefs, objects, envs, start_chefs, start_objects, start_env, start_cells)
        reset = 1
    _encode_env(e, chefs, objects, envs, slot_cell, soups, soup_time, base, num_pots, horizon, obs)
    return reset


@_kernel(parallel=True)
def step_all(
    actions: np.ndarray,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    cells: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    delivery: np.ndarray,
    shaping: np.ndarray,
    base: np.ndarray,
    config: tuple[int, int, int, int],
    start_chefs: np.ndarray,
    start_objects: np.ndarray,
    start_env: np.ndarray,
    start_cells: np.ndarray,
    obs: np.ndarray,
    sparse: np.ndarray,
    shaped: np.ndarray,
    rewards: np.ndarray,
    truncated: np.ndarray,
) -> int:
    """Steps every kitchen, spread over numba's threads; returns the number of resets.

    ``config`` is ``(num_pots, capacity, horizon, auto_reset)``.
    """
    num_pots, capacity, horizon, auto_reset = config
    resets = 0
    for e in prange(actions.shape[0]):
        resets += _step_env(
            e, actions, chefs, objects, envs, cells, slot_cell, soups, soup_time, delivery,
            shaping, base, num_pots, capacity, horizon, auto_reset != 0, start_chefs,
            start_objects, start_env, start_cells, obs, sparse, shaped, rewards, truncated,
        )  # fmt: skip
    return resets


@_kernel()
def step_all_serial(
    actions: np.ndarray,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    cells: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    delivery: np.ndarray,
    shaping: np.ndarray,
    base: np.ndarray,
    config: tuple[int, int, int, int],
    start_chefs: np.ndarray,
    start_objects: np.ndarray,
    start_env: np.ndarray,
    start_cells: np.ndarray,
    obs: np.ndarray,
    sparse: np.ndarray,
    shaped: np.ndarray,
    rewards: np.ndarray,
    truncated: np.ndarray,
) -> int:
    """:func:`step_all` on the calling thread only.

    Faster for a few kitchens (no thread pool to wake), and safe in a process
    forked after it ran (GNU OpenMP, numba's usual thread pool, is not).
    """
    num_pots, capacity, horizon, auto_reset = config
    resets = 0
    for e in range(actions.shape[0]):
        resets += _step_env(
            e, actions, chefs, objects, envs, cells, slot_cell, soups, soup_time, delivery,
            shaping, base, num_pots, capacity, horizon, auto_reset != 0, start_chefs,
            start_objects, start_env, start_cells, obs, sparse, shaped, rewards, truncated,
        )  # fmt: skip
    return resets


@_kernel()
def reset_envs(
    which: np.ndarray,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    base: np.ndarray,
    config: tuple[int, int, int, int],
    start_chefs: np.ndarray,
    start_objects: np.ndarray,
    start_env: np.ndarray,
    start_cells: np.ndarray,
    obs: np.ndarray,
) -> None:
    """Resets the kitchens listed in ``which`` and encodes their observations."""
    num_pots, _, horizon, _ = config
    for k in range(which.shape[0]):
        e = which[k]
        _reset_env(e, chefs, objects, envs, start_chefs, start_objects, start_env, start_cells)
        _encode_env(
            e, chefs, objects, envs, slot_cell, soups, soup_time, base, num_pots, horizon, obs
        )


@_kernel()
def encode_envs(
    which: np.ndarray,
    chefs: np.ndarray,
    objects: np.ndarray,
    envs: np.ndarray,
    slot_cell: np.ndarray,
    soups: np.ndarray,
    soup_time: np.ndarray,
    base: np.ndarray,
    config: tuple[int, int, int, int],
    obs: np.ndarray,
) -> None:
    """Encodes the observations of the kitchens listed in ``which``."""
    num_pots, _, horizon, _ = config
    for k in range(which.shape[0]):
        _encode_env(
            which[k], chefs, objects, envs, slot_cell, soups, soup_time, base, num_pots,
            horizon, obs,
        )  # fmt: skip
