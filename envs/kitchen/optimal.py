"""The fewest joint moves to a delivery: an exact lower bound for any planner.

A breadth-first search over joint move-level actions (every chef picks one of
north, south, east, west, stay, interact at each step). States are compared
without their timestep, which changes nothing in the dynamics, so the search
space is the set of distinct kitchens reachable from the start. It answers how
far from optimal the scripted expert and the planners are, and whether a step
target is reachable at all (docs/results.md). It is exhaustive and therefore
meant for small layouts: ReAd's Cramped Room takes a few minutes in Python.

No graph library is used: the search needs nothing but a queue and a set of
hashable states, and a library graph would first have to materialise every
edge.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from brigade.envs.kitchen.executor import count_deliveries
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.state import KitchenState
from brigade.errors import InputError


@dataclass(frozen=True)
class SearchResult:
    """What the search found.

    Attributes:
        moves: The fewest joint moves that serve ``soups`` paying soups, or
            ``None`` when none was found within ``max_moves``.
        states: Distinct states visited.
    """

    moves: int | None
    states: int


def fewest_moves(
    mdp: KitchenMDP,
    state: KitchenState,
    *,
    soups: int = 1,
    max_moves: int = 30,
    on_depth: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """The fewest joint moves from ``state`` until ``soups`` paying soups are served.

    Args:
        mdp: The kitchen's dynamics.
        state: Where to start.
        soups: Paying deliveries needed (1 or more).
        max_moves: Depth at which to give up.
        on_depth: Called with (depth reached, states visited) after each depth,
            for progress output.

    Raises:
        InputError: ``soups`` or ``max_moves`` below 1.
    """
    if soups < 1:
        raise InputError(f"soups must be at least 1, not {soups}")
    if max_moves < 1:
        raise InputError(f"max_moves must be at least 1, not {max_moves}")
    joint_actions = list(itertools.product(range(6), repeat=len(state.chefs)))
    # A node is (state without its timestep, soups still to serve).
    start = (state.replace(timestep=0), soups)
    seen = {start}
    frontier = [start]
    for depth in range(1, max_moves + 1):
        following: list[tuple[KitchenState, int]] = []
        for current, needed in frontier:
            for joint in joint_actions:
                after, info = mdp.transition(current, joint)
                left = needed - (count_deliveries(info)[1] if info["events"] else 0)
                if left <= 0:
                    return SearchResult(depth, len(seen))
                node = (after.replace(timestep=0), left)
                if node not in seen:
                    seen.add(node)
                    following.append(node)
        if on_depth is not None:
            on_depth(depth, len(seen))
        if not following:
            break
        frontier = following
    return SearchResult(None, len(seen))
