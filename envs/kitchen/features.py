"""A fixed-size feature vector of a kitchen state, the critic's input.

Per chef (13): position (x, y scaled to [0, 1]), orientation one-hot (4), held
item one-hot (none, onion, tomato, dish, soup), the held soup's onions and
tomatoes as a share of the pot capacity. Per pot (6): onions and tomatoes as a
share of capacity, idle, cooking, ready, cooking progress. Counters (4):
onions, tomatoes, dishes and soups lying on counters (each capped at 4, over
4). Task (3): soups delivered over soups needed, environment steps over the
limit, time step over the horizon.
"""

from __future__ import annotations

import numpy as np

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.state import KitchenState, Soup

_HELD = {None: 0, "onion": 1, "tomato": 2, "dish": 3}
PER_CHEF = 13
PER_POT = 6
COUNTER_FEATURES = 4
TASK_FEATURES = 3


def feature_size(mdp: KitchenMDP) -> int:
    """Length of the feature vector for a kitchen."""
    return (
        PER_CHEF * mdp.num_chefs
        + PER_POT * len(mdp.pot_positions)
        + COUNTER_FEATURES
        + TASK_FEATURES
    )


def feature_names(mdp: KitchenMDP) -> list[str]:
    """A name for each feature (for reports)."""
    names = []
    for i in range(mdp.num_chefs):
        names += [
            f"chef{i}_{k}"
            for k in (
                "x",
                "y",
                "north",
                "south",
                "east",
                "west",
                "empty",
                "onion",
                "tomato",
                "dish",
                "soup",
                "soup_onions",
                "soup_tomatoes",
            )
        ]
    for k in range(len(mdp.pot_positions)):
        names += [
            f"pot{k}_{f}" for f in ("onions", "tomatoes", "idle", "cooking", "ready", "progress")
        ]
    names += ["counter_onions", "counter_tomatoes", "counter_dishes", "counter_soups"]
    return [*names, "delivered", "steps", "time"]


def kitchen_features(
    mdp: KitchenMDP,
    state: KitchenState,
    *,
    delivered: float = 0.0,
    steps: float = 0.0,
    horizon: int = 400,
) -> np.ndarray:
    """The feature vector (float32) of a state; ``delivered`` and ``steps`` are shares in [0, 1]."""
    out = np.zeros(feature_size(mdp), dtype=np.float32)
    cap = float(mdp.max_ingredients)
    wx = max(mdp.width - 1, 1)
    wy = max(mdp.height - 1, 1)
    k = 0
    for chef in state.chefs:
        out[k] = chef.position[0] / wx
        out[k + 1] = chef.position[1] / wy
        out[k + 2 + chef.orientation] = 1.0
        held = chef.held
        if isinstance(held, Soup):
            out[k + 6 + 4] = 1.0
            out[k + 11] = held.onions / cap
            out[k + 12] = held.tomatoes / cap
        else:
            out[k + 6 + _HELD[held]] = 1.0
        k += PER_CHEF
    for soup in state.pots:
        if soup is not None:
            out[k] = soup.onions / cap
            out[k + 1] = soup.tomatoes / cap
            if soup.cooking_tick < 0:
                out[k + 2] = 1.0
            elif mdp.soup_is_ready(soup):
                out[k + 4] = 1.0
                out[k + 5] = 1.0
            else:
                out[k + 3] = 1.0
                out[k + 5] = soup.cooking_tick / max(mdp.soup_time(soup), 1)
        k += PER_POT
    counts = {"onion": 0, "tomato": 0, "dish": 0, "soup": 0}
    for item in state.counters.values():
        counts[item if isinstance(item, str) else "soup"] += 1
    for name in ("onion", "tomato", "dish", "soup"):
        out[k] = min(counts[name], 4) / 4.0
        k += 1
    out[k] = delivered
    out[k + 1] = steps
    out[k + 2] = min(state.timestep / max(horizon, 1), 1.0)
    return out
