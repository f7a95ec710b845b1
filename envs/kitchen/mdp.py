"""The kitchen MDP: overcooked-ai's dynamics as a pure transition function.

:meth:`KitchenMDP.transition` reproduces ``OvercookedGridworld
.get_state_transition`` of overcooked-ai 1.1.0 exactly (states, sparse and
shaped rewards, events), for 1 to 9 chefs, onions and tomatoes, any orders and
bonus orders and every recipe parameter. The order of a step:

1. interacts resolve, chef 0 first, each seeing what the chefs before it did;
2. chefs move; if any two would end on one cell or swap cells, nobody moves
   (orientations still change);
3. cooking soups tick and the timestep advances.

The reference is object-oriented and deep-copies the whole state every step;
here a state is a small immutable value and a step builds only what changed,
which is what makes it several times faster.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations, product
from pathlib import Path
from typing import Any

from brigade.envs.kitchen.layout import KitchenLayout, load_layout, load_layout_file
from brigade.envs.kitchen.recipes import Orders, Recipe, RecipeBook, recipe_of
from brigade.envs.kitchen.state import (
    DIRECTIONS,
    EMPTY_COUNTERS,
    INTERACT,
    STAY,
    Chef,
    FrozenDict,
    Item,
    KitchenState,
    Position,
    Soup,
    item_name,
)
from brigade.errors import InputError

Events = tuple[tuple[str, int], ...]
"""Events of one step: ``(event_type, chef_index)`` pairs in the order they happened."""

EVENT_TYPES = (
    "tomato_pickup",
    "useful_tomato_pickup",
    "tomato_drop",
    "useful_tomato_drop",
    "potting_tomato",
    "onion_pickup",
    "useful_onion_pickup",
    "onion_drop",
    "useful_onion_drop",
    "potting_onion",
    "dish_pickup",
    "useful_dish_pickup",
    "dish_drop",
    "useful_dish_drop",
    "soup_pickup",
    "soup_delivery",
    "soup_drop",
    "optimal_onion_potting",
    "optimal_tomato_potting",
    "viable_onion_potting",
    "viable_tomato_potting",
    "catastrophic_onion_potting",
    "catastrophic_tomato_potting",
    "useless_onion_potting",
    "useless_tomato_potting",
)
"""overcooked-ai's event types."""


def events_as_overcooked(events: Events, num_chefs: int) -> dict[str, list[bool]]:
    """Events in overcooked-ai's ``event_infos`` form: each type to a list of flags per chef."""
    infos = {event: [False] * num_chefs for event in EVENT_TYPES}
    for event, chef in events:
        infos[event][chef] = True
    return infos


class KitchenMDP:
    """A kitchen layout and its dynamics.

    Args:
        layout: A validated layout (see :func:`~brigade.envs.kitchen.layout.load_layout`).
    """

    def __init__(self, layout: KitchenLayout):
        self.layout = layout
        self.recipes = RecipeBook(layout)
        self.terrain = layout.terrain
        self.width = layout.width
        self.height = layout.height
        self.num_chefs = layout.num_chefs
        self.max_ingredients = layout.max_ingredients
        self.shaping = dict(layout.shaping)
        self.pot_positions: tuple[Position, ...] = tuple(layout.cells("P"))
        self.counter_positions: tuple[Position, ...] = tuple(layout.cells("X"))
        self.floor_positions: tuple[Position, ...] = tuple(layout.cells(" "))
        self.onion_dispensers = tuple(layout.cells("O"))
        self.tomato_dispensers = tuple(layout.cells("T"))
        self.dish_dispensers = tuple(layout.cells("D"))
        self.serving_positions = tuple(layout.cells("S"))
        self._pot_index = {pos: i for i, pos in enumerate(self.pot_positions)}
        self._terrain_at: dict[Position, str] = {
            (x, y): c for y, row in enumerate(self.terrain) for x, c in enumerate(row)
        }
        floor = set(self.floor_positions)
        # motion[(pos, action)] -> (new position ignoring other chefs, new orientation or -1)
        self._motion: dict[tuple[Position, int], tuple[Position, int]] = {}
        for pos in self.floor_positions:
            for a, (dx, dy) in enumerate(DIRECTIONS):
                target = (pos[0] + dx, pos[1] + dy)
                self._motion[pos, a] = (target if target in floor else pos, a)
            self._motion[pos, STAY] = (pos, -1)
            self._motion[pos, INTERACT] = (pos, -1)
        # The cell each (position, orientation) faces.
        self._faced = {
            (pos, o): (pos[0] + d[0], pos[1] + d[1])
            for pos in self.floor_positions
            for o, d in enumerate(DIRECTIONS)
        }
        # Cooking time of a soup, by its ingredients in insertion order.
        self._soup_time: dict[tuple[str, ...], float] = {}
        for n in range(1, self.max_ingredients + 1):
            for ings in product(("onion", "tomato"), repeat=n):
                self._soup_time[ings] = self.recipes.time(recipe_of(ings))
        self._regions: dict[Position, frozenset[Position]] | None = None
        self.start_orders: Orders = self.recipes.orders(
            (recipe_of(o) for o in layout.all_orders), (recipe_of(o) for o in layout.bonus_orders)
        )

    # ------------------------------------------------------------------ building

    @classmethod
    def from_layout_name(cls, name: str, **params: Any) -> KitchenMDP:
        """The MDP of a shipped layout, with optional layout parameters overridden."""
        layout = load_layout(name)
        return cls(layout.with_params(**params) if params else layout)

    @classmethod
    def from_layout_file(cls, path: str | Path, **params: Any) -> KitchenMDP:
        """The MDP of a ``.layout`` file, with optional layout parameters overridden."""
        layout = load_layout_file(path)
        return cls(layout.with_params(**params) if params else layout)

    @property
    def name(self) -> str:
        """The layout's name."""
        return self.layout.name

    def initial_state(self) -> KitchenState:
        """The standard start state (the layout's ``start_state`` if it has one)."""
        if self.layout.start_state is not None:
            from brigade.envs.kitchen.overcooked_format import state_from_overcooked_dict

            return state_from_overcooked_dict(self, self.layout.start_state)
        chefs = tuple(Chef(pos, 0, None) for pos in self.layout.start_positions)
        return KitchenState(
            chefs, (None,) * len(self.pot_positions), EMPTY_COUNTERS, 0, self.start_orders
        )

    def to_overcooked_dict(self, state: KitchenState) -> dict[str, Any]:
        """The state in the exact form of overcooked-ai's ``OvercookedState.to_dict()``."""
        from brigade.envs.kitchen.overcooked_format import state_to_overcooked_dict

        return state_to_overcooked_dict(self, state)

    def from_overcooked_dict(self, data: dict[str, Any]) -> KitchenState:
        """A state from overcooked-ai's ``OvercookedState.to_dict()`` form (legacy soups too).

        Raises:
            StateError: The dict does not describe a valid state of this layout.
        """
        from brigade.envs.kitchen.overcooked_format import state_from_overcooked_dict

        return state_from_overcooked_dict(self, data)

    # ------------------------------------------------------------------ queries

    def terrain_at(self, pos: Position) -> str:
        """The terrain character at a cell (``X O T P D S`` or space)."""
        return self._terrain_at[pos]

    def soup_time(self, soup: Soup) -> float:
        """Ticks of cooking the soup needs."""
        return self._soup_time[soup.ingredients]

    def ready_tick(self, soup: Soup) -> int:
        """The cooking tick at which the soup is ready, and where it stays.

        The recipe's cooking time rounded up: times may be fractional in layouts,
        and a soup is ready once its tick reaches the time.
        """
        return math.ceil(self._soup_time[soup.ingredients])

    def soup_is_ready(self, soup: Soup) -> bool:
        """The soup has cooked long enough."""
        return soup.cooking_tick >= 0 and soup.cooking_tick >= self._soup_time[soup.ingredients]

    def soup_is_cooking(self, soup: Soup) -> bool:
        """The soup is on the fire and not yet ready."""
        return 0 <= soup.cooking_tick < self._soup_time[soup.ingredients]

    def soup_recipe(self, soup: Soup) -> Recipe:
        """The soup's recipe as ``(onions, tomatoes)``."""
        return recipe_of(soup.ingredients)

    def delivery_value(self, soup: Soup, orders: Orders | None = None) -> float:
        """The reward for serving this soup under ``orders`` (the start orders by default)."""
        return (orders or self.start_orders).delivery_value[recipe_of(soup.ingredients)]

    def faced_cell(self, chef: Chef) -> Position:
        """The cell a chef faces."""
        return self._faced[chef.position, chef.orientation]

    def floor_region(self, pos: Position) -> frozenset[Position]:
        """The floor cells 4-connected to ``pos`` (empty if ``pos`` is not floor).

        Chefs never leave their region: on Forced Coordination the two sides of
        the counter are two regions.
        """
        if self._regions is None:
            regions: dict[Position, frozenset[Position]] = {}
            floor = set(self.floor_positions)
            for cell in self.floor_positions:
                if cell in regions:
                    continue
                seen = {cell}
                todo = [cell]
                while todo:
                    x, y = todo.pop()
                    for dx, dy in DIRECTIONS:
                        nxt = (x + dx, y + dy)
                        if nxt in floor and nxt not in seen:
                            seen.add(nxt)
                            todo.append(nxt)
                region = frozenset(seen)
                regions.update((c, region) for c in region)
            self._regions = regions
        return self._regions.get(pos, frozenset())

    def is_floor(self, pos: Position) -> bool:
        """Chefs can stand on this cell."""
        return self._terrain_at.get(pos) == " "

    # ------------------------------------------------------------------ dynamics

    def transition(
        self, state: KitchenState, joint_action: Sequence[int]
    ) -> tuple[KitchenState, dict[str, Any]]:
        """One step of the dynamics.

        Args:
            state: The current state.
            joint_action: One action index per chef: 0 north, 1 south, 2 east,
                3 west, 4 stay, 5 interact.

        Returns:
            The next state, and an info dict with ``sparse_reward_by_agent``,
            ``shaped_reward_by_agent`` (lists, one entry per chef) and ``events``
            (``(event_type, chef)`` pairs; see :func:`events_as_overcooked`).

        Raises:
            InputError: Wrong number of actions or an action outside 0..5.
        """
        chefs = state.chefs
        n = len(chefs)
        if len(joint_action) != n:
            raise InputError(
                f"a joint action needs one action per chef ({n}), got {len(joint_action)}"
            )
        motion = self._motion
        try:
            moves = [motion[c.position, a] for c, a in zip(chefs, joint_action)]
        except KeyError:
            bad = [
                a
                for a in joint_action
                if not (isinstance(a, int) or hasattr(a, "__index__")) or not 0 <= int(a) <= 5
            ]
            if bad:
                raise InputError(f"actions are indices 0..5, got {list(joint_action)}") from None
            raise InputError("a chef stands on a cell that is not floor") from None
        sparse: list[float] = [0] * n
        shaped: list[float] = [0] * n
        pots = state.pots
        counters = state.counters
        events: Events = ()
        if INTERACT in joint_action:
            held = [c.held for c in chefs]
            pots, counters, events = self._resolve_interacts(
                state, joint_action, held, sparse, shaped
            )
            new_held: list[Item | None] | None = held
        else:
            new_held = None

        # Movement: if any two chefs would share a cell or swap, nobody moves.
        if n == 2:
            (p0, o0), (p1, o1) = moves
            q0, q1 = chefs[0].position, chefs[1].position
            if p0 == p1 or (p0 == q1 and p1 == q0):
                p0, p1 = q0, q1
            positions: tuple[Position, ...] = (p0, p1)
            oris: tuple[int, ...] = (o0, o1)
        else:
            positions = tuple(m[0] for m in moves)
            oris = tuple(m[1] for m in moves)
            old = tuple(c.position for c in chefs)
            if self._collides(old, positions):
                positions = old
        new_chefs = []
        for i, chef in enumerate(chefs):
            ori = oris[i]
            if ori < 0:
                ori = chef.orientation
            h = chef.held if new_held is None else new_held[i]
            pos = positions[i]
            if pos == chef.position and ori == chef.orientation and h is chef.held:
                new_chefs.append(chef)
            else:
                new_chefs.append(tuple.__new__(Chef, (pos, ori, h)))

        # Environment effects: cooking soups tick.
        soup_time = self._soup_time
        ticked: list[Soup | None] | None = None
        for i, soup in enumerate(pots):
            if soup is not None and 0 <= soup.cooking_tick < soup_time[soup.ingredients]:
                if ticked is None:
                    ticked = list(pots)
                ticked[i] = tuple.__new__(Soup, (soup.ingredients, soup.cooking_tick + 1))
        if ticked is not None:
            pots = tuple(ticked)
        next_state = KitchenState(
            tuple(new_chefs), pots, counters, state.timestep + 1, state.orders
        )
        info = {
            "sparse_reward_by_agent": sparse,
            "shaped_reward_by_agent": shaped,
            "events": events,
        }
        return next_state, info

    @staticmethod
    def _collides(old: Sequence[Position], new: Sequence[Position]) -> bool:
        if len(set(new)) < len(new):
            return True
        return any(
            new[i] == old[j] and new[j] == old[i] for i, j in combinations(range(len(new)), 2)
        )

    def _pot_summary(self, pots: Sequence[Soup | None]) -> tuple[int, int]:
        """``(full pots, non-empty pots counted for dish usefulness)``, as overcooked-ai counts."""
        full = useful_for_dish = 0
        cap = self.max_ingredients
        for soup in pots:
            if soup is None:
                continue
            if soup.cooking_tick >= 0:  # cooking or ready
                full += 1
                useful_for_dish += 1
            elif len(soup.ingredients) == cap:  # full but not started: not counted for dishes
                full += 1
            elif len(soup.ingredients) >= 1:  # partially full
                useful_for_dish += 1
        return full, useful_for_dish

    def _resolve_interacts(
        self,
        state: KitchenState,
        joint_action: Sequence[int],
        held: list[Item | None],
        sparse: list[float],
        shaped: list[float],
    ) -> tuple[tuple[Soup | None, ...], FrozenDict, Events]:
        """Resolve every INTERACT in chef order, mutating ``held``, ``sparse`` and ``shaped``."""
        pots: list[Soup | None] = list(state.pots)
        counters = dict(state.counters)
        events: list[tuple[str, int]] = []
        n = len(held)
        two = n == 2
        # overcooked-ai classifies the pots once, before any interact of the step.
        summary = self._pot_summary(state.pots) if two else (0, 0)
        num_pots = len(pots)
        shaping = self.shaping
        soup_time = self._soup_time
        for i, action in enumerate(joint_action):
            if action != INTERACT:
                continue
            chef = state.chefs[i]
            target = self._faced[chef.position, chef.orientation]
            terrain = self._terrain_at[target]
            item = held[i]
            if terrain == "X":
                if item is not None and target not in counters:
                    name = item_name(item)
                    events.append((f"{name}_drop", i))
                    if (
                        two
                        and name != "soup"
                        and self._drop_useful(name, summary, num_pots, held, i)
                    ):
                        events.append((f"useful_{name}_drop", i))
                    counters[target] = item
                    held[i] = None
                elif item is None and target in counters:
                    obj = counters[target]
                    name = item_name(obj)
                    events.append((f"{name}_pickup", i))
                    if (
                        two
                        and name != "soup"
                        and self._pickup_useful(name, summary, num_pots, held, counters, i)
                    ):
                        events.append((f"useful_{name}_pickup", i))
                    del counters[target]
                    held[i] = obj
            elif terrain == "O" and item is None:
                events.append(("onion_pickup", i))
                if two and self._pickup_useful("onion", summary, num_pots, held, counters, i):
                    events.append(("useful_onion_pickup", i))
                held[i] = "onion"
            elif terrain == "T" and item is None:
                held[i] = "tomato"  # overcooked-ai logs no event for a tomato from a dispenser
            elif terrain == "D" and item is None:
                events.append(("dish_pickup", i))
                if two and self._pickup_useful("dish", summary, num_pots, held, counters, i):
                    events.append(("useful_dish_pickup", i))
                    shaped[i] += shaping["DISH_PICKUP_REWARD"]
                held[i] = "dish"
            elif terrain == "P":
                p = self._pot_index[target]
                soup = pots[p]
                if item is None:
                    if soup is not None and soup.cooking_tick < 0 and soup.ingredients:
                        pots[p] = Soup(soup.ingredients, 0)
                elif item == "dish":
                    if (
                        soup is not None
                        and soup.cooking_tick >= 0
                        and soup.cooking_tick >= soup_time[soup.ingredients]
                    ):
                        events.append(("soup_pickup", i))
                        held[i] = soup
                        pots[p] = None
                        shaped[i] += shaping["SOUP_PICKUP_REWARD"]
                elif item == "onion" or item == "tomato":
                    if soup is None:
                        soup = Soup((), -1)
                        pots[p] = soup
                    if soup.cooking_tick < 0 and len(soup.ingredients) < self.max_ingredients:
                        new_soup = Soup((*soup.ingredients, item), -1)
                        pots[p] = new_soup
                        held[i] = None
                        shaped[i] += shaping["PLACEMENT_IN_POT_REW"]
                        self._log_potting(events, state.orders, soup, new_soup, item, i)
            elif terrain == "S" and isinstance(item, Soup):
                sparse[i] += state.orders.delivery_value[recipe_of(item.ingredients)]
                events.append(("soup_delivery", i))
                held[i] = None
        return tuple(pots), FrozenDict(counters), tuple(events)

    @staticmethod
    def _other_holds(held: list[Item | None], i: int, name: str) -> bool:
        return held[1 - i] == name

    def _pickup_useful(
        self,
        name: str,
        summary: tuple[int, int],
        num_pots: int,
        held: list[Item | None],
        counters: dict[Position, Item],
        i: int,
    ) -> bool:
        full, non_empty = summary
        if name == "dish":
            # No dish lies on a counter, and fewer dishes are held than pots need.
            if any(obj == "dish" for obj in counters.values()):
                return False
            return sum(1 for h in held if h == "dish") < non_empty
        # An ingredient is useful unless every pot is full and the other chef has no dish.
        return not (num_pots == full and not self._other_holds(held, i, "dish"))

    def _drop_useful(
        self, name: str, summary: tuple[int, int], num_pots: int, held: list[Item | None], i: int
    ) -> bool:
        full, _ = summary
        if name == "dish":
            return full == 0 and not self._other_holds(held, i, "onion")
        return full == num_pots and not self._other_holds(held, i, "dish")

    def _log_potting(
        self,
        events: list[tuple[str, int]],
        orders: Orders,
        old: Soup,
        new: Soup,
        ingredient: str,
        i: int,
    ) -> None:
        events.append((f"potting_{ingredient}", i))
        best = orders.best_reachable_value
        old_val = best[recipe_of(old.ingredients)]
        new_val = best[recipe_of(new.ingredients)]
        if old_val == new_val:
            events.append((f"optimal_{ingredient}_potting", i))
        if old_val > 0 and new_val == 0:
            events.append((f"catastrophic_{ingredient}_potting", i))
        if new_val > 0:
            events.append((f"viable_{ingredient}_potting", i))
        if old_val == 0:
            events.append((f"useless_{ingredient}_potting", i))

    def __repr__(self) -> str:
        return f"KitchenMDP({self.name!r}, chefs={self.num_chefs}, {self.width}x{self.height})"
