"""A fixed-size feature vector of a kitchen state, the critic's input.

Per chef (13): position (x, y scaled to [0, 1]), orientation one-hot (4), held
item one-hot (none, onion, tomato, dish, soup), the held soup's onions and
tomatoes as a share of the pot capacity. Per pot (6): onions and tomatoes as a
share of capacity, idle, cooking, ready, cooking progress. Counters (4):
onions, tomatoes, dishes and soups lying on counters (each capped at 4, over
4). Task (3): soups delivered over soups needed, environment steps over the
limit, time step over the horizon.

Geometry, per chef (5 per target): for each target (the nearest onion
dispenser, tomato dispenser, dish dispenser and serving window, then each pot)
the moves until the chef faces it (ignoring other chefs, over 15, capped at
1; 1 when unreachable), and how one move north, south, east or west would
change that distance (-1, 0 or +1, over 1). These make the same features
mean the same things on every layout, and let a critic judge single moves;
they are read from the static map, never from an expert.
"""

from __future__ import annotations

import numpy as np

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.motion import MotionPlanner, Pose
from brigade.envs.kitchen.state import DIRECTIONS, KitchenState, Position, Soup

_HELD = {None: 0, "onion": 1, "tomato": 2, "dish": 3}
PER_CHEF = 13
PER_POT = 6
COUNTER_FEATURES = 4
TASK_FEATURES = 3
PER_TARGET = 5
FIXED_TARGETS = ("onion", "tomato", "dish", "serving")
DISTANCE_SCALE = 15.0


def geometry_targets(mdp: KitchenMDP) -> list[str]:
    """The geometry features' targets: the fixed ones, then pot1..potN."""
    return [*FIXED_TARGETS, *(f"pot{k + 1}" for k in range(len(mdp.pot_positions)))]


def feature_size(mdp: KitchenMDP) -> int:
    """Length of the feature vector for a kitchen."""
    return (
        PER_CHEF * mdp.num_chefs
        + PER_POT * len(mdp.pot_positions)
        + COUNTER_FEATURES
        + TASK_FEATURES
        + PER_TARGET * len(geometry_targets(mdp)) * mdp.num_chefs
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
    names += ["delivered", "steps", "time"]
    for i in range(mdp.num_chefs):
        for target in geometry_targets(mdp):
            names.append(f"chef{i}_to_{target}")
            names += [f"chef{i}_to_{target}_after_{d}" for d in ("north", "south", "east", "west")]
    return names


class KitchenGeometry:
    """Static-map distances from chef poses to the kitchen's targets (cached per layout)."""

    def __init__(self, mdp: KitchenMDP):
        self.motion = MotionPlanner(mdp)
        self.floor = self.motion.floor
        groups: list[tuple[Position, ...]] = [
            mdp.onion_dispensers,
            mdp.tomato_dispensers,
            mdp.dish_dispensers,
            mdp.serving_positions,
        ]
        groups += [(pos,) for pos in mdp.pot_positions]
        self.groups = groups
        self._cache: dict[tuple[Pose, int], float] = {}

    def distance(self, pose: Pose, group: int) -> float:
        """Moves from ``pose`` until facing the group's nearest cell (``inf``: unreachable)."""
        key = (pose, group)
        found = self._cache.get(key)
        if found is None:
            best = float("inf")
            for target in self.groups[group]:
                d = self.motion.static_distance(pose, target)
                if d is not None and d < best:
                    best = float(d)
            self._cache[key] = found = best
        return found

    def after_move(self, pose: Pose, direction: int) -> Pose:
        """The pose after moving in ``direction`` on the static map (into a wall: a turn)."""
        (x, y), _ = pose
        dx, dy = DIRECTIONS[direction]
        cell = (x + dx, y + dy)
        return (cell, direction) if cell in self.floor else ((x, y), direction)

    def write(self, out: np.ndarray, start: int, pose: Pose) -> int:
        """Write one chef's geometry features at ``out[start:]``; return the next index."""
        k = start
        for group in range(len(self.groups)):
            d = self.distance(pose, group)
            out[k] = min(d / DISTANCE_SCALE, 1.0)
            for direction in range(4):
                after = self.distance(self.after_move(pose, direction), group)
                out[k + 1 + direction] = 0.0 if d == after else (1.0 if after > d else -1.0)
            k += PER_TARGET
        return k


_GEOMETRY: dict[int, KitchenGeometry] = {}


def kitchen_geometry(mdp: KitchenMDP) -> KitchenGeometry:
    """The cached :class:`KitchenGeometry` of a kitchen."""
    geometry = _GEOMETRY.get(id(mdp))
    if geometry is None or geometry.motion.mdp is not mdp:
        geometry = _GEOMETRY[id(mdp)] = KitchenGeometry(mdp)
    return geometry


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
    k += TASK_FEATURES
    geometry = kitchen_geometry(mdp)
    for chef in state.chefs:
        k = geometry.write(out, k, (chef.position, chef.orientation))
    return out
