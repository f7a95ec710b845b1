"""Record reference traces of the Overcooked-AI dynamics (overcooked-ai 1.1.0).

Our kitchen simulator is an exact re-implementation of overcooked-ai 1.1.0's
``OvercookedGridworld``. This script plays episodes in the reference package
with a goal-seeking noisy policy of our own and writes, per layout, the start
state, the joint actions and every resulting state, reward and event, so that
the tests can replay the actions in our simulator and compare step by step.

It runs only in the reference virtual environment (see README.md beside this
file)::

    .venv-ref-overcooked/bin/python tests/envs/kitchen/reference/record_traces.py

Each layout is recorded in a fresh interpreter (``PYTHONHASHSEED=0``), because
overcooked-ai keeps its recipe configuration and its cache of created recipes
at class level: a layout recorded after another would otherwise see the other
layout's recipes among "all recipes". The output is byte-for-byte
deterministic (gzip and zip timestamps are fixed).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[4]
SHIPPED_DIR = REPO / "envs" / "kitchen" / "layouts"
AUTHORED_DIR = REPO / "tests" / "envs" / "kitchen" / "layouts"
DEFAULT_OUT = REPO / "tests" / "envs" / "kitchen" / "traces"

SCHEMA = 1
RECORDED_WITH = "overcooked-ai 1.1.0"
HORIZON = 400  # horizon passed to lossless_state_encoding (urgency layer)
ENCODE_EVERY = 10  # encode states[i] for i % ENCODE_EVERY == ENCODE_EVERY - 1

SHIPPED = [
    "cramped_room",
    "asymmetric_advantages",
    "coordination_ring",
    "forced_coordination",
    "counter_circuit_o_1order",
    "cramped_room_tomato",
    "asymmetric_advantages_tomato",
    "forced_coordination_tomato",
    "counter_circuit",
    "read_cramped_room",
    "read_forced_coordination",
]
AUTHORED = [
    "k_one_chef",
    "k_three_chefs",
    "k_four_chefs",
    "k_nine_chefs",
    "k_corridor",
    "k_corridor_pair",
    "k_tomato",
    "k_bonus",
    "k_cook_time",
    "k_delivery_reward",
    "k_recipe_values_times",
    "k_ingredient_values",
    "k_ingredient_times",
    "k_falsy_cook_delivery",
    "k_falsy_ingredient_params",
    "k_shaping",
    "k_num_items_2",
    "k_max_ingredients_2",
    "k_max_ingredients_4",
    "k_any_order",
    "k_start_state",
]

# Per-layout recording plan: episodes from the standard start state, episodes
# from random start states, steps per episode. Bigger kitchens get fewer steps
# to keep the traces small.
DEFAULT_PLAN = (3, 6, 400)
PLANS = {
    "k_three_chefs": (2, 5, 300),
    "k_four_chefs": (2, 4, 250),
    "k_nine_chefs": (2, 3, 200),
    "k_corridor": (2, 4, 300),
}
# Extra params given to from_grid's params_to_overwrite (none so far).
PARAMS_OVERRIDE: dict[str, dict] = {}

# Action indices in overcooked-ai's order: Action.INDEX_TO_ACTION.
NORTH, SOUTH, EAST, WEST, STAY, INTERACT = range(6)
DIRS = [(0, -1), (0, 1), (1, 0), (-1, 0)]  # indexed by action 0..3

COVERAGE_KEYS = [
    "steps",
    "deliveries",
    "bonus_deliveries",
    "zero_value_deliveries",
    "collisions",
    "swap_attempts",
    "handoffs",
    "pottings",
    "cook_starts",
    "soup_pickups",
    "counter_drops",
    "counter_pickups",
]


def layout_path(name: str) -> Path:
    for folder in (SHIPPED_DIR, AUTHORED_DIR):
        path = folder / f"{name}.layout"
        if path.exists():
            return path
    raise SystemExit(f"no layout file named {name}.layout in {SHIPPED_DIR} or {AUTHORED_DIR}")


# --------------------------------------------------------------------------
# Building the reference MDP
# --------------------------------------------------------------------------


def build_mdp(name: str, params_override: dict):
    """Build the MDP from a layout file the way ``from_layout_name`` does.

    The file is read as a Python literal (never evaluated), the grid rows are
    stripped, a ``start_state`` becomes an ``OvercookedState`` and the rest goes
    to ``OvercookedGridworld.from_grid`` with ``layout_name`` set.
    """
    from overcooked_ai_py.mdp.overcooked_mdp import OvercookedGridworld, OvercookedState

    params = ast.literal_eval(layout_path(name).read_text())
    grid = params.pop("grid")
    params["layout_name"] = name
    rows = [row.strip() for row in grid.split("\n")]
    if "start_state" in params:
        # from_layout_name parses the start state before the layout configures
        # the (class-level) recipes, which raises in a fresh interpreter. Build
        # the layout once without it so that the recipes are this layout's,
        # then parse the start state and build it for real.
        OvercookedGridworld.from_grid(
            rows, {k: v for k, v in params.items() if k != "start_state"}, dict(params_override)
        )
        params["start_state"] = OvercookedState.from_dict(params["start_state"])
    return OvercookedGridworld.from_grid(rows, params, dict(params_override))


# --------------------------------------------------------------------------
# Static view of a kitchen for the policy
# --------------------------------------------------------------------------


def add(p, d):
    return (p[0] + d[0], p[1] + d[1])


class Kitchen:
    """Terrain facts the policy needs: floor components and who reaches what."""

    def __init__(self, mdp):
        self.terrain = [list(row) for row in mdp.terrain_mtx]
        self.height = len(self.terrain)
        self.width = len(self.terrain[0])
        self.floor = {
            (x, y)
            for y in range(self.height)
            for x in range(self.width)
            if self.terrain[y][x] == " "
        }
        self.comp: dict = {}
        n_comp = 0
        for cell in sorted(self.floor, key=lambda c: (c[1], c[0])):
            if cell in self.comp:
                continue
            queue = deque([cell])
            self.comp[cell] = n_comp
            while queue:
                cur = queue.popleft()
                for d in DIRS:
                    nxt = add(cur, d)
                    if nxt in self.floor and nxt not in self.comp:
                        self.comp[nxt] = n_comp
                        queue.append(nxt)
            n_comp += 1
        self.n_comp = n_comp
        # access[t] = [(floor cell, action index facing t)] for non-floor t
        self.access: dict = {}
        for y in range(self.height):
            for x in range(self.width):
                if self.terrain[y][x] == " ":
                    continue
                acc = []
                for a, d in enumerate(DIRS):
                    f = (x - d[0], y - d[1])
                    if f in self.floor:
                        acc.append((f, a))
                if acc:
                    self.access[(x, y)] = acc
        self.touch_comps = {t: {self.comp[f] for f, _ in acc} for t, acc in self.access.items()}
        self.by_type: dict = {}
        for t in sorted(self.access, key=lambda c: (c[1], c[0])):
            self.by_type.setdefault(self.kind(t), []).append(t)
        self.pots = self.by_type.get("P", [])
        self.counters = self.by_type.get("X", [])
        self.serves = self.by_type.get("S", [])
        self.dispensers = {
            "onion": self.by_type.get("O", []),
            "tomato": self.by_type.get("T", []),
            "dish": self.by_type.get("D", []),
        }
        self.shared = {t for t in self.counters if len(self.touch_comps[t]) > 1}
        # dead-end floor cells, where an idle chef can wait out of the way
        self.pockets = sorted(
            (f for f in self.floor if sum(add(f, d) in self.floor for d in DIRS) == 1),
            key=lambda c: (c[1], c[0]),
        )
        # partners[c] = components that share a counter with c
        self.partners = {c: set() for c in range(n_comp)}
        for t in self.shared:
            for c in self.touch_comps[t]:
                self.partners[c] |= self.touch_comps[t] - {c}

    def kind(self, cell):
        return self.terrain[cell[1]][cell[0]]

    def touches(self, comp, cell):
        return comp in self.touch_comps.get(cell, ())

    def bfs(self, start, blocked=frozenset()):
        dist = {start: 0}
        queue = deque([start])
        while queue:
            cur = queue.popleft()
            for d in DIRS:
                nxt = add(cur, d)
                if nxt in self.floor and nxt not in dist and nxt not in blocked:
                    dist[nxt] = dist[cur] + 1
                    queue.append(nxt)
        return dist


# --------------------------------------------------------------------------
# Goal-seeking noisy policy
# --------------------------------------------------------------------------


def is_sub(small: Counter, big: Counter) -> bool:
    return all(big[k] >= v for k, v in small.items())


class NoisyChefs:
    """A goal-seeking policy for every chef, with random actions mixed in.

    Each chef picks a subgoal from the state (fetch what the pots need, pot it,
    start cooking, fetch a dish, pick up the soup, serve it; hand items over a
    counter to a part of the kitchen that can use them), walks there by BFS and
    turns to face it, then interacts. Noise: random actions (``eps``), random
    interacts, detours that park the held item on a counter, junk pot targets
    (soups outside the orders), and random back-off when blocked.
    """

    def __init__(self, kitchen: Kitchen, mdp, rng: np.random.Generator, eps: float):
        self.k = kitchen
        self.rng = rng
        self.eps = eps
        self.n = mdp.num_players
        self.max_items = None
        self.pot_perm: dict = {}
        self.pot_was_empty: dict = {}
        self.detour = [None] * self.n
        self.wander = [0] * self.n
        self.stuck = [0] * self.n
        self.last = None  # (positions, intended moves)

    # ---- state summaries ----
    def _orders(self, state, ingredients_available):
        orders = []
        for r in state.all_orders:
            ing = tuple(r.ingredients)
            if all(i in ingredients_available for i in ing) and len(ing) <= self.max_items:
                orders.append(ing)
        return orders

    def _junk_recipe(self, orders, ingredients_available):
        size = int(self.rng.integers(1, self.max_items + 1))
        ings = sorted(ingredients_available)
        recipe = tuple(sorted(ings[int(self.rng.integers(len(ings)))] for _ in range(size)))
        return None if recipe in orders else recipe

    def _refresh_pots(self, state, orders, ingredients_available):
        for pot in self.k.pots:
            empty = pot not in state.objects
            if pot not in self.pot_perm or (empty and not self.pot_was_empty.get(pot, False)):
                perm = [orders[i] for i in self.rng.permutation(len(orders))]
                if self.rng.random() < 0.15 or not perm:
                    junk = self._junk_recipe(orders, ingredients_available)
                    if junk is not None:
                        perm = [junk, *perm]
                self.pot_perm[pot] = perm
            self.pot_was_empty[pot] = empty

    def _target(self, pot, contents: Counter):
        for recipe in self.pot_perm[pot]:
            if is_sub(contents, Counter(recipe)):
                return recipe
        return None

    # ---- navigation ----
    def _goto(self, i, state, cell, mode):
        """Action that brings chef i to face ``cell``, then interacts (or stays)."""
        player = state.players[i]
        pos, ori = player.position, player.orientation
        comp = self.k.comp[pos]
        spots = [(f, a) for f, a in self.k.access[cell] if self.k.comp[f] == comp]
        for f, a in spots:
            if f == pos:
                if DIRS[a] == ori:
                    return INTERACT if mode == "interact" else STAY
                return a
        goals = {f for f, _ in spots}
        others = {p.position for j, p in enumerate(state.players) if j != i}
        for blocked in (others, frozenset()):
            step = self._first_step(pos, goals, blocked)
            if step is not None:
                return step
        return STAY

    def _first_step(self, start, goals, blocked):
        order = [int(a) for a in self.rng.permutation(4)]
        parent = {start: None}
        queue = deque([start])
        while queue:
            cur = queue.popleft()
            if cur in goals:
                while parent[cur] is not None and parent[cur][0] != start:
                    cur = parent[cur][0]
                return parent[cur][1]
            for a in order:
                nxt = add(cur, DIRS[a])
                if nxt in self.k.floor and nxt not in parent and nxt not in blocked:
                    parent[nxt] = (cur, a)
                    queue.append(nxt)
        return None

    def _nearest(self, dist, comp, cells):
        best, best_d = None, None
        for cell in cells:
            for f, _ in self.k.access.get(cell, ()):
                if self.k.comp[f] == comp and f in dist and (best_d is None or dist[f] < best_d):
                    best, best_d = cell, dist[f]
        return best

    # ---- the policy ----
    def act(self, state) -> list[int]:
        from overcooked_ai_py.mdp.overcooked_mdp import Recipe

        self.max_items = Recipe.MAX_NUM_INGREDIENTS
        k = self.k
        available = {name for name in ("onion", "tomato") if k.dispensers[name]}
        orders = self._orders(state, available)
        self._refresh_pots(state, orders, available)
        positions = [p.position for p in state.players]

        # stuck detection: a chef that meant to move but did not
        if self.last is not None:
            last_pos, last_intent = self.last
            for i in range(self.n):
                if last_intent[i] and positions[i] == last_pos[i]:
                    self.stuck[i] += 1
                else:
                    self.stuck[i] = 0
                if self.stuck[i] >= 2 and self.wander[i] == 0:
                    self.wander[i] = int(self.rng.integers(1, 4))
                    self.stuck[i] = 0

        pots = {}
        for pot in k.pots:
            soup = state.objects.get(pot)
            if soup is None:
                pots[pot] = ("empty", Counter())
            elif soup.is_ready:
                pots[pot] = ("ready", Counter(soup.ingredients))
            elif soup.is_cooking:
                pots[pot] = ("cooking", Counter(soup.ingredients))
            else:
                pots[pot] = ("idle", Counter(soup.ingredients))
        on_counter = {pos: obj.name for pos, obj in state.objects.items() if k.kind(pos) == "X"}
        held = [p.held_object.name if p.held_object is not None else None for p in state.players]

        ctx = {
            "state": state,
            "pots": pots,
            "on_counter": on_counter,
            "held": held,
            "claims": Counter(),
        }
        actions = []
        for i in range(self.n):
            a = self._decide(i, ctx)
            noisy = False
            if self.rng.random() < self.eps:
                a, noisy = int(self.rng.integers(6)), True
            elif self.rng.random() < 0.02:
                a, noisy = INTERACT, True
            # random interacts still start half-filled pots, but rarely
            if (
                noisy
                and a == INTERACT
                and self._would_cook_early(state.players[i], pots)
                and self.rng.random() < 0.85
            ):
                a = STAY
            actions.append(a)

        intents = []
        for i, a in enumerate(actions):
            intents.append(a < 4 and add(positions[i], DIRS[a]) in k.floor)
        self.last = (positions, intents)
        return actions

    def _would_cook_early(self, player, pots):
        cell = add(player.position, player.orientation)
        if player.held_object is not None or cell not in pots:
            return False
        status, contents = pots[cell]
        if status != "idle":
            return False
        recipe = self._target(cell, contents)
        full = sum(contents.values()) >= self.max_items
        return not (full or recipe is None or Counter(recipe) == contents)

    def _accepts(self, pot, status, contents, ing):
        """Pot can take ing now and still make an order (or this pot's junk recipe)."""
        if status not in ("empty", "idle") or sum(contents.values()) >= self.max_items:
            return False
        return self._target(pot, contents + Counter([ing])) is not None

    def _can_use(self, comp, item, pots):
        """Chefs of this floor component can make use of item right now."""
        k = self.k
        if item in ("onion", "tomato"):
            return any(
                k.touches(comp, pot) and self._accepts(pot, status, c, item)
                for pot, (status, c) in pots.items()
            )
        if item == "dish":
            return any(
                k.touches(comp, pot) and pots[pot][0] in ("cooking", "ready") for pot in k.pots
            )
        if item == "soup":
            return any(k.touches(comp, s) for s in k.serves)
        return False

    def _forward_counter(self, comp, item, ctx, dist):
        """Nearest empty shared counter towards a component that can use item."""
        k = self.k
        cells = []
        for t in sorted(k.shared):
            if t in ctx["on_counter"] or not k.touches(comp, t):
                continue
            if any(c != comp and self._can_use(c, item, ctx["pots"]) for c in k.touch_comps[t]):
                cells.append(t)
        if dist is None:
            return cells[0] if cells else None
        return self._nearest(dist, comp, cells)

    def _relevant_pots(self, comp):
        k = self.k
        comps = {comp} | k.partners[comp]
        return [pot for pot in k.pots if k.touch_comps[pot] & comps]

    def _decide(self, i, ctx):
        k = self.k
        state = ctx["state"]
        player = state.players[i]
        pos = player.position
        comp = k.comp[pos]
        held = ctx["held"][i]
        rng = self.rng

        if self.wander[i] > 0:
            self.wander[i] -= 1
            return int(rng.integers(5))

        dist = k.bfs(pos)

        # a detour parks the held item on a nearby counter
        if held is None:
            self.detour[i] = None
        elif self.detour[i] is None and rng.random() < 0.015:
            free = [t for t in k.counters if t not in ctx["on_counter"] and k.touches(comp, t)]
            free.sort(key=lambda t: min(dist.get(f, 999) for f, _ in k.access[t]))
            if free:
                self.detour[i] = [free[int(rng.integers(min(3, len(free))))], 15]
        if self.detour[i] is not None:
            cell, ttl = self.detour[i]
            if ttl <= 0 or cell in ctx["on_counter"]:
                self.detour[i] = None
            else:
                self.detour[i][1] -= 1
                return self._goto(i, state, cell, "interact")

        if held is None:
            goal = self._goal_empty(i, comp, dist, ctx)
        elif held in ("onion", "tomato"):
            goal = self._goal_ingredient(i, comp, held, dist, ctx)
        elif held == "dish":
            goal = self._goal_dish(i, comp, dist, ctx)
        else:
            goal = self._goal_soup(i, comp, dist, ctx)
        if goal is None:
            return self._idle(i, state, comp, dist)
        return self._goto(i, state, goal[0], goal[1])

    def _idle(self, i, state, comp, dist):
        """No subgoal: wait in a free dead-end pocket if there is one, else mill about."""
        others = {p.position for j, p in enumerate(state.players) if j != i}
        pos = state.players[i].position
        pockets = [
            f for f in self.k.pockets if self.k.comp[f] == comp and f not in others and f in dist
        ]
        if pockets and pos not in self.k.pockets:
            goal = min(pockets, key=lambda f: (dist[f], f[1], f[0]))
            step = self._first_step(pos, {goal}, others)
            if step is not None:
                return step
        if self.rng.random() < 0.3:
            return int(self.rng.integers(4))
        return STAY

    def _pickable(self, comp, cell, item, ctx):
        """Pick a counter item up if this side can use it or pass it on now."""
        k = self.k
        if not k.touches(comp, cell):
            return False
        if self._can_use(comp, item, ctx["pots"]):
            return True
        if cell in k.shared:
            return False
        return self._forward_counter(comp, item, ctx, None) is not None

    def _goal_empty(self, i, comp, dist, ctx):
        k = self.k
        pots = ctx["pots"]
        claims = ctx["claims"]
        on_counter = ctx["on_counter"]
        held = ctx["held"]
        rel_pots = self._relevant_pots(comp)

        # 1. a soup on a counter goes to the serving window
        soups = [
            t
            for t, name in on_counter.items()
            if name == "soup" and self._pickable(comp, t, "soup", ctx)
        ]
        soups = [t for t in soups if claims[("take", t)] == 0]
        target = self._nearest(dist, comp, sorted(soups))
        if target is not None:
            claims[("take", target)] += 1
            return target, "interact"

        # 2. start cooking a pot whose contents are complete
        cookable = []
        for pot in k.pots:
            status, contents = pots[pot]
            if status != "idle" or not k.touches(comp, pot) or claims[("cook", pot)]:
                continue
            target_recipe = self._target(pot, contents)
            full = sum(contents.values()) >= self.max_items
            if full or target_recipe is None or Counter(target_recipe) == contents:
                cookable.append(pot)
        target = self._nearest(dist, comp, cookable)
        if target is not None:
            claims[("cook", target)] += 1
            return target, "interact"

        # 3. dishes for cooking or ready soups
        # (items on counters are taken before new ones are fetched)
        busy = sum(1 for pot in rel_pots if pots[pot][0] in ("cooking", "ready"))
        held_dishes = sum(1 for h in held if h == "dish")
        counter_dishes = sum(1 for n in on_counter.values() if n == "dish")
        if busy - held_dishes - claims["dish"] > 0:
            cells = [
                t
                for t, name in on_counter.items()
                if name == "dish" and self._pickable(comp, t, "dish", ctx)
            ]
            cells = [t for t in cells if claims[("take", t)] == 0]
            target = self._nearest(dist, comp, sorted(cells))
            if target is None and busy - held_dishes - counter_dishes - claims["dish"] > 0:
                target = self._nearest(dist, comp, k.dispensers["dish"])
            if target is not None:
                claims["dish"] += 1
                claims[("take", target)] += 1
                return target, "interact"

        # 4. ingredients the pots still need
        need = Counter()
        for pot in rel_pots:
            status, contents = pots[pot]
            if status in ("empty", "idle"):
                recipe = self._target(pot, contents)
                if recipe is not None:
                    need += Counter(recipe) - contents
        for h in held:
            if h in ("onion", "tomato"):
                need[h] -= 1
        on_counters = Counter(name for name in on_counter.values() if name in ("onion", "tomato"))
        # the nearest source of any wanted ingredient: counters first
        for sources in ("counter", "dispenser"):
            cells = []
            for ing in ("onion", "tomato"):
                left = need[ing] - claims[ing] - (on_counters[ing] if sources == "dispenser" else 0)
                if left <= 0:
                    continue
                if sources == "counter":
                    found = [
                        t
                        for t, name in on_counter.items()
                        if name == ing and self._pickable(comp, t, ing, ctx)
                    ]
                    cells += [(t, ing) for t in found if claims[("take", t)] == 0]
                else:
                    cells += [(t, ing) for t in k.dispensers[ing]]
            target = self._nearest(dist, comp, sorted(t for t, _ in cells))
            if target is not None:
                ing = dict(cells)[target]
                claims[ing] += 1
                claims[("take", target)] += 1
                return target, "interact"

        # 5. leftovers on counters that someone could use
        leftovers = [
            t
            for t, name in on_counter.items()
            if name in ("onion", "tomato", "dish")
            and t not in k.shared
            and self._pickable(comp, t, name, ctx)
        ]
        leftovers = [t for t in leftovers if claims[("take", t)] == 0]
        if leftovers and self.rng.random() < 0.2:
            target = self._nearest(dist, comp, sorted(leftovers))
            if target is not None:
                claims[("take", target)] += 1
                return target, "interact"
        return None

    def _goal_ingredient(self, i, comp, ing, dist, ctx):
        k = self.k
        pots = ctx["pots"]
        claims = ctx["claims"]
        keeps, retargets = [], []
        for pot in k.pots:
            status, contents = pots[pot]
            if status not in ("empty", "idle") or not k.touches(comp, pot):
                continue
            if sum(contents.values()) >= self.max_items:
                continue
            recipe = self._target(pot, contents)
            if recipe is not None and (Counter(recipe) - contents)[ing] > claims[("pot", pot, ing)]:
                keeps.append(pot)
            elif self._target(pot, contents + Counter([ing])) is not None:
                retargets.append(pot)
        target = self._nearest(dist, comp, keeps) or self._nearest(dist, comp, retargets)
        if target is not None:
            claims[("pot", target, ing)] += 1
            return target, "interact"
        target = self._forward_counter(comp, ing, ctx, dist)
        if target is not None and not any(k.touches(comp, pot) for pot in k.pots):
            return target, "interact"
        # nothing takes it now: park it on a counter
        free = [t for t in k.counters if t not in ctx["on_counter"] and k.touches(comp, t)]
        target = self._nearest(dist, comp, free)
        if target is not None:
            return target, "interact"
        return None

    def _goal_dish(self, i, comp, dist, ctx):
        k = self.k
        pots = ctx["pots"]
        claims = ctx["claims"]
        for wanted in ("ready", "cooking"):
            cells = [
                pot
                for pot in k.pots
                if pots[pot][0] == wanted and k.touches(comp, pot) and claims[("serve", pot)] == 0
            ]
            target = self._nearest(dist, comp, cells)
            if target is not None:
                claims[("serve", target)] += 1
                return target, "interact"
        target = self._forward_counter(comp, "dish", ctx, dist)
        if target is not None and not any(k.touches(comp, pot) for pot in k.pots):
            return target, "interact"
        cells = [pot for pot in k.pots if pots[pot][0] == "idle" and k.touches(comp, pot)]
        target = self._nearest(dist, comp, cells)
        if target is not None and self.rng.random() < 0.7:
            return target, "wait"
        free = [t for t in k.counters if t not in ctx["on_counter"] and k.touches(comp, t)]
        target = self._nearest(dist, comp, free)
        if target is not None:
            return target, "interact"
        return None

    def _goal_soup(self, i, comp, dist, ctx):
        k = self.k
        target = self._nearest(dist, comp, k.serves)
        if target is not None:
            return target, "interact"
        target = self._forward_counter(comp, "soup", ctx, dist)
        if target is not None:
            return target, "interact"
        return None


# --------------------------------------------------------------------------
# Random start states
# --------------------------------------------------------------------------


def random_start_state(mdp, kitchen: Kitchen, rng: np.random.Generator):
    """A valid start state with chefs, held items, counter items and pots."""
    from overcooked_ai_py.mdp.overcooked_mdp import (
        ObjectState,
        OvercookedState,
        PlayerState,
        Recipe,
        SoupState,
    )

    max_items = Recipe.MAX_NUM_INGREDIENTS
    base = mdp.get_standard_start_state()
    n = mdp.num_players
    floor = sorted(kitchen.floor, key=lambda c: (c[1], c[0]))
    ingredients = [name for name in ("onion", "tomato") if kitchen.dispensers[name]]
    if not ingredients:
        ingredients = ["onion"]
    orders = [tuple(r.ingredients) for r in base.all_orders if len(r.ingredients) <= max_items]

    # chef positions: keep each in its start component (so divided kitchens
    # stay divided) or anywhere on the floor
    keep_sides = kitchen.n_comp > 1 and rng.random() < 0.7
    taken: set = set()
    positions = []
    for j in range(n):
        if keep_sides:
            comp = kitchen.comp[tuple(mdp.start_player_positions[j])]
            cells = [c for c in floor if kitchen.comp[c] == comp and c not in taken]
        else:
            cells = [c for c in floor if c not in taken]
        cell = cells[int(rng.integers(len(cells)))]
        taken.add(cell)
        positions.append(cell)

    def random_soup_ingredients():
        if orders and rng.random() < 0.75:
            return list(orders[int(rng.integers(len(orders)))])
        size = int(rng.integers(1, max_items + 1))
        return [ingredients[int(rng.integers(len(ingredients)))] for _ in range(size)]

    def make_soup(pos, ings, tick=None, finished=False):
        n_on = ings.count("onion")
        n_to = ings.count("tomato")
        order = ings[:]
        rng.shuffle(order)
        soup = SoupState(pos, [ObjectState(name, pos) for name in order], -1)
        if finished:
            soup.auto_finish()
        elif tick is not None:
            soup._cooking_tick = tick
        assert n_on + n_to == len(ings)
        return soup

    def random_item(pos, weights):
        kinds = [*ingredients, "dish", "soup"]
        w = np.array([weights[0] / len(ingredients)] * len(ingredients) + list(weights[1:]))
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
        if kind == "soup":
            return make_soup(pos, random_soup_ingredients(), finished=True)
        return ObjectState(kind, pos)

    players = []
    for pos in positions:
        ori = DIRS[int(rng.integers(4))]
        obj = random_item(pos, (0.5, 0.25, 0.25)) if rng.random() < 0.4 else None
        players.append(PlayerState(pos, ori, obj))

    objects = {}
    density = float(rng.uniform(0.05, 0.3))
    for cell in kitchen.counters:
        if rng.random() < density:
            objects[cell] = random_item(cell, (0.5, 0.3, 0.2))
    for pot in kitchen.pots:
        u = rng.random()
        if u < 0.3:
            continue
        ings = random_soup_ingredients()
        if u < 0.55:  # idle, partial or full
            if rng.random() < 0.6 and len(ings) > 1:
                ings = ings[: int(rng.integers(1, len(ings)))]
            objects[pot] = make_soup(pot, ings)
        elif u < 0.8:  # cooking
            time = Recipe(ings).time
            objects[pot] = make_soup(pot, ings, tick=int(rng.integers(0, max(time, 1))))
            if objects[pot].is_ready:  # a zero-length cook time cannot be cooking
                objects[pot] = make_soup(pot, ings, finished=True)
        else:  # ready
            objects[pot] = make_soup(pot, ings, finished=True)

    timestep = 0 if rng.random() < 0.5 else int(rng.integers(1, 390))
    state = OvercookedState(
        players,
        objects,
        bonus_orders=[r.to_dict() for r in base.bonus_orders],
        all_orders=[r.to_dict() for r in base.all_orders],
        timestep=timestep,
    )
    mdp._check_valid_state(state)
    return state


# --------------------------------------------------------------------------
# Recording one layout
# --------------------------------------------------------------------------


def normalise(obj):
    """JSON-normalise (tuples become lists)."""
    return json.loads(json.dumps(obj))


class CoverageCounter:
    """Counts what the episodes exercised, from the reference's states and infos."""

    def __init__(self, mdp, kitchen: Kitchen):
        self.mdp = mdp
        self.k = kitchen
        self.c = Counter({key: 0 for key in COVERAGE_KEYS})
        self.dropper: dict = {}

    def new_episode(self):
        self.dropper = {}

    def step(self, old, joint, new, infos):
        from overcooked_ai_py.mdp.overcooked_mdp import Recipe

        k, mdp, c = self.k, self.mdp, self.c
        c["steps"] += 1
        ev = infos["event_infos"]
        n = len(joint)
        old_pos = [p.position for p in old.players]
        new_pos = [p.position for p in new.players]

        # movement: collisions and swap attempts
        intended = []
        for p, a in zip(old.players, joint, strict=True):
            target = add(p.position, DIRS[a]) if a < 4 else p.position
            intended.append(target if target in k.floor else p.position)
        moving = any(intended[i] != old_pos[i] for i in range(n))
        if moving and mdp.is_transition_collision(tuple(old_pos), tuple(intended)):
            assert new_pos == old_pos
            c["collisions"] += 1
            for i in range(n):
                for j in range(i + 1, n):
                    if intended[i] == old_pos[j] and intended[j] == old_pos[i]:
                        c["swap_attempts"] += 1
        else:
            assert new_pos == intended

        # counters: replay the interacts in chef order to see who put what where
        occupied = {pos for pos in old.objects if k.kind(pos) == "X"}
        drops_before = c["counter_drops"]
        for i, (p, a) in enumerate(zip(old.players, joint, strict=True)):
            if a != INTERACT:
                continue
            cell = add(p.position, p.orientation)
            if k.kind(cell) != "X":
                continue
            if p.held_object is not None and cell not in occupied:
                occupied.add(cell)
                self.dropper[cell] = i
                c["counter_drops"] += 1
            elif p.held_object is None and cell in occupied:
                occupied.discard(cell)
                c["counter_pickups"] += 1
                dropper = self.dropper.pop(cell, None)
                if dropper is not None and dropper != i:
                    c["handoffs"] += 1
        assert occupied == {pos for pos in new.objects if k.kind(pos) == "X"}
        drops = sum(sum(ev[f"{name}_drop"]) for name in ("onion", "tomato", "dish", "soup"))
        assert drops == c["counter_drops"] - drops_before

        # pots
        c["pottings"] += sum(ev["potting_onion"]) + sum(ev["potting_tomato"])
        for pot in k.pots:
            before, after = old.objects.get(pot), new.objects.get(pot)
            if after is not None and not after.is_idle and (before is None or before.is_idle):
                c["cook_starts"] += 1
            if before is not None and before.is_ready and after is None:
                c["soup_pickups"] += 1

        # deliveries
        for i in range(n):
            if not ev["soup_delivery"][i]:
                continue
            soup = old.players[i].held_object
            recipe = Recipe(soup.ingredients)
            c["deliveries"] += 1
            if recipe in old.bonus_orders:
                c["bonus_deliveries"] += 1
            if infos["sparse_reward_by_agent"][i] == 0:
                c["zero_value_deliveries"] += 1


def encode(mdp, state) -> np.ndarray:
    return np.stack(mdp.lossless_state_encoding(state, horizon=HORIZON))


def write_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed, but with fixed zip timestamps (deterministic bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


def write_json_gz(path: Path, data: dict) -> None:
    raw = json.dumps(data, separators=(",", ":")).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.write_bytes(buf.getvalue())


def smallest_int_dtype(arr: np.ndarray):
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return dtype
    raise ValueError("values out of range")


def layout_seed(name: str) -> int:
    # a stable seed per layout (Python's hash() of a str is salted per process)
    return int.from_bytes(name.encode(), "little") % (2**31)


def record_layout(name: str, out: Path) -> dict:
    from overcooked_ai_py.mdp.actions import Action
    from overcooked_ai_py.mdp.overcooked_mdp import EVENT_TYPES, OvercookedState

    override = PARAMS_OVERRIDE.get(name, {})
    mdp = build_mdp(name, override)
    kitchen = Kitchen(mdp)
    n_standard, n_random, n_steps = PLANS.get(name, DEFAULT_PLAN)
    coverage = CoverageCounter(mdp, kitchen)
    base_seed = layout_seed(name)
    episodes = []
    enc_episode, enc_step, enc_obs = [], [], []
    two_chefs = mdp.num_players == 2

    for e in range(n_standard + n_random):
        kind = "standard" if e < n_standard else "random"
        seed = base_seed * 100 + e
        rng = np.random.default_rng(seed)
        if kind == "standard":
            start = mdp.get_standard_start_state()
        else:
            start = random_start_state(mdp, kitchen, rng)
        mdp._check_valid_state(start)
        eps = 0.2 + 0.1 * float(rng.random())
        policy = NoisyChefs(kitchen, mdp, rng, eps)
        coverage.new_episode()
        state = start
        joint_actions, states, sparse, shaped, events = [], [], [], [], []
        if two_chefs:
            enc_episode.append(e)
            enc_step.append(-1)
            enc_obs.append(encode(mdp, start))
        for t in range(n_steps):
            joint = policy.act(state)
            new_state, infos = mdp.get_state_transition(
                state, [Action.INDEX_TO_ACTION[a] for a in joint]
            )
            coverage.step(state, joint, new_state, infos)
            joint_actions.append(joint)
            states.append(new_state.to_dict())
            sparse.append(list(infos["sparse_reward_by_agent"]))
            shaped.append(list(infos["shaped_reward_by_agent"]))
            ev = infos["event_infos"]
            events.append({key: list(ev[key]) for key in EVENT_TYPES if any(ev[key])})
            if two_chefs and t % ENCODE_EVERY == ENCODE_EVERY - 1:
                enc_episode.append(e)
                enc_step.append(t)
                enc_obs.append(encode(mdp, new_state))
            state = new_state
        episode = normalise(
            {
                "kind": kind,
                "seed": seed,
                "start_state": start.to_dict(),
                "joint_actions": joint_actions,
                "states": states,
                "sparse_reward_by_agent": sparse,
                "shaped_reward_by_agent": shaped,
                "events": events,
            }
        )
        # the recorded start dict alone must reproduce the episode
        replay = OvercookedState.from_dict(episode["start_state"])
        for joint, want in zip(episode["joint_actions"], episode["states"], strict=True):
            replay, _ = mdp.get_state_transition(replay, [Action.INDEX_TO_ACTION[a] for a in joint])
            assert normalise(replay.to_dict()) == want, (
                f"{name}: replay from the start dict diverged"
            )
        episodes.append(episode)

    rel = layout_path(name).resolve().relative_to(REPO).as_posix()
    data = {
        "schema": SCHEMA,
        "recorded_with": RECORDED_WITH,
        "layout_file": rel,
        "params_override": override,
        "num_players": mdp.num_players,
        "episodes": episodes,
        "coverage": {key: coverage.c[key] for key in COVERAGE_KEYS},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json_gz(out / f"{name}.json.gz", data)
    npz = out / f"{name}.lossless.npz"
    if two_chefs:
        obs = np.stack(enc_obs)
        write_npz(
            npz,
            {
                "episode": np.asarray(enc_episode, dtype=np.int64),
                "step": np.asarray(enc_step, dtype=np.int64),
                "obs": obs.astype(smallest_int_dtype(obs)),
            },
        )
    elif npz.exists():
        npz.unlink()
    return data["coverage"]


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def run_worker(name: str, out: Path) -> tuple[str, int, str]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return name, proc.returncode, proc.stderr


def print_table(names: list[str], out: Path) -> None:
    short = {
        "steps": "steps",
        "deliveries": "deliv",
        "bonus_deliveries": "bonus",
        "zero_value_deliveries": "zero",
        "collisions": "coll",
        "swap_attempts": "swap",
        "handoffs": "hand",
        "pottings": "pot",
        "cook_starts": "cook",
        "soup_pickups": "souppk",
        "counter_drops": "cdrop",
        "counter_pickups": "cpick",
    }
    width = max(len(n) for n in [*names, "layout", "TOTAL"])
    header = (
        "layout".ljust(width)
        + " chefs eps "
        + "".join(f"{short[k]:>7}" for k in COVERAGE_KEYS)
        + "    KiB"
    )
    print(header)
    total = Counter()
    total_bytes = 0
    for name in names:
        path = out / f"{name}.json.gz"
        data = json.loads(gzip.decompress(path.read_bytes()))
        cov = data["coverage"]
        total.update(cov)
        size = path.stat().st_size
        npz = out / f"{name}.lossless.npz"
        if npz.exists():
            size += npz.stat().st_size
        total_bytes += size
        print(
            name.ljust(width)
            + f" {data['num_players']:>5} {len(data['episodes']):>3} "
            + "".join(f"{cov[k]:>7}" for k in COVERAGE_KEYS)
            + f" {size / 1024:>6.0f}"
        )
    print(
        "TOTAL".ljust(width)
        + "           "
        + "".join(f"{total[k]:>7}" for k in COVERAGE_KEYS)
        + f" {total_bytes / 1024:>6.0f}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: the traces folder)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="record only this layout (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="layouts recorded in parallel"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = args.out.resolve()

    if args.worker:
        import warnings

        warnings.filterwarnings("ignore")
        record_layout(args.worker, out)
        return 0

    names = SHIPPED + AUTHORED
    if args.only:
        wanted = [n for item in args.only for n in item.split(",") if n]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown layout(s): {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, rc, err in pool.map(lambda n: run_worker(n, out), names):
            if rc != 0:
                failed = True
                print(f"--- {name} failed (exit {rc}) ---\n{err}", file=sys.stderr)
    done = [n for n in names if (out / f"{n}.json.gz").exists()]
    if done:
        print_table(done, out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
