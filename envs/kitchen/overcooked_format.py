"""Conversion between kitchen states and overcooked-ai's state dicts.

``OvercookedState.to_dict()`` is the form overcooked-ai's human play data,
its demo server and its tools use. :func:`state_to_overcooked_dict` writes
exactly that form (tuples where overcooked-ai has tuples); the objects are
listed in row-major cell order, whereas overcooked-ai lists them in the order
they were created, which carries no meaning. :func:`state_from_overcooked_dict`
reads it back (and the legacy ``"state": [ingredient, count, time]`` soups of
the 2019 data), validating every field: a bad dict raises
:class:`~brigade.errors.StateError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from brigade.envs.kitchen.layout import INGREDIENTS
from brigade.envs.kitchen.recipes import ingredients_of, recipe_of
from brigade.envs.kitchen.state import DIRECTIONS, Chef, Item, KitchenState, Position, Soup
from brigade.errors import StateError

if TYPE_CHECKING:
    from brigade.envs.kitchen.mdp import KitchenMDP

_OBJECT_NAMES = ("onion", "tomato", "dish", "soup")


def _soup_dict(mdp: KitchenMDP, soup: Soup, pos: Position) -> dict[str, Any]:
    tick = soup.cooking_tick
    idle = tick < 0
    time = -1 if idle else mdp.soup_time(soup)
    ready = (not idle) and tick >= time
    return {
        "name": "soup",
        "position": pos,
        "_ingredients": [{"name": ing, "position": pos} for ing in soup.ingredients],
        "cooking_tick": tick,
        "is_cooking": not idle and not ready,
        "is_ready": ready,
        "is_idle": idle,
        "cook_time": time,
        "_cooking_tick": tick,
    }


def _item_dict(mdp: KitchenMDP, item: Item, pos: Position) -> dict[str, Any]:
    if isinstance(item, Soup):
        return _soup_dict(mdp, item, pos)
    return {"name": item, "position": pos}


def state_to_overcooked_dict(mdp: KitchenMDP, state: KitchenState) -> dict[str, Any]:
    """The state as ``OvercookedState.to_dict()`` would give it."""
    players = [
        {
            "position": chef.position,
            "orientation": DIRECTIONS[chef.orientation],
            "held_object": None if chef.held is None else _item_dict(mdp, chef.held, chef.position),
        }
        for chef in state.chefs
    ]
    located: list[tuple[Position, Item]] = list(state.counters.items())
    located += [(pos, soup) for pos, soup in zip(mdp.pot_positions, state.pots) if soup is not None]
    located.sort(key=lambda pi: (pi[0][1], pi[0][0]))
    return {
        "players": players,
        "objects": [_item_dict(mdp, item, pos) for pos, item in located],
        "bonus_orders": [{"ingredients": ingredients_of(r)} for r in state.orders.bonus],
        "all_orders": [{"ingredients": ingredients_of(r)} for r in state.orders.all],
        "timestep": state.timestep,
    }


def _position(value: Any, where: str, mdp: KitchenMDP) -> Position:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise StateError(f"{where}: a position is [x, y] with integers, got {value!r}")
    x, y = value
    if not (0 <= x < mdp.width and 0 <= y < mdp.height):
        raise StateError(f"{where}: {list(value)} is outside the {mdp.width}x{mdp.height} grid")
    return (x, y)


def _orientation(value: Any, where: str) -> int:
    try:
        return DIRECTIONS.index(tuple(value))
    except (TypeError, ValueError):
        raise StateError(
            f"{where}: an orientation is one of {[list(d) for d in DIRECTIONS]}, got {value!r}"
        ) from None


def _soup_from_dict(data: Mapping[str, Any], where: str, mdp: KitchenMDP, pos: Position) -> Soup:
    if "state" in data and "_ingredients" not in data:
        # Legacy soups of overcooked-ai's 2019 data: [ingredient, count, time].
        try:
            ingredient, count, time = data["state"]
        except (TypeError, ValueError):
            raise StateError(f"{where}.state: expected [ingredient, count, time]") from None
        if ingredient not in INGREDIENTS or not isinstance(count, int) or not isinstance(time, int):
            raise StateError(f"{where}.state: bad legacy soup {data['state']!r}")
        soup = Soup((ingredient,) * count, -1 if time == 0 else time)
        if time >= 20 and count:
            soup = Soup(soup.ingredients, mdp.ready_tick(soup))
    else:
        raw = data.get("_ingredients")
        if not isinstance(raw, list):
            raise StateError(f"{where}._ingredients: a soup lists its ingredients")
        names = []
        for k, ing in enumerate(raw):
            name = ing.get("name") if isinstance(ing, Mapping) else None
            if name not in INGREDIENTS:
                raise StateError(f"{where}._ingredients[{k}]: unknown ingredient {ing!r}")
            names.append(name)
        tick = data.get("cooking_tick", data.get("_cooking_tick", -1))
        if not isinstance(tick, int) or isinstance(tick, bool) or tick < -1:
            raise StateError(f"{where}.cooking_tick: expected an integer >= -1, got {tick!r}")
        soup = Soup(tuple(names), tick)
    if len(soup.ingredients) > mdp.max_ingredients:
        raise StateError(
            f"{where}: {len(soup.ingredients)} ingredients, but a pot holds {mdp.max_ingredients}"
        )
    if soup.cooking_tick >= 0 and not soup.ingredients:
        raise StateError(f"{where}: an empty soup cannot be cooking")
    if soup.ingredients and soup.cooking_tick > mdp.ready_tick(soup):
        raise StateError(
            f"{where}: cooking_tick {soup.cooking_tick} is past the tick the soup is ready at "
            f"({mdp.ready_tick(soup)}); soups stop cooking when ready"
        )
    return soup


def _item_from_dict(
    data: Any, where: str, mdp: KitchenMDP, expected_pos: Position | None
) -> tuple[Position, Item]:
    if not isinstance(data, Mapping):
        raise StateError(f"{where}: an object is a dict with 'name' and 'position', got {data!r}")
    name = data.get("name")
    if name not in _OBJECT_NAMES:
        raise StateError(f"{where}.name: unknown object {name!r}; objects are {_OBJECT_NAMES}")
    pos = _position(data.get("position"), f"{where}.position", mdp)
    if expected_pos is not None and pos != expected_pos:
        raise StateError(f"{where}.position: {list(pos)} is not the holder's position")
    if name == "soup":
        return pos, _soup_from_dict(data, where, mdp, pos)
    return pos, name


def _orders(value: Any, where: str, mdp: KitchenMDP) -> list[tuple[int, int]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StateError(f"{where}: expected a list of {{'ingredients': [...]}}")
    recipes = []
    for k, order in enumerate(value):
        ings = order.get("ingredients") if isinstance(order, Mapping) else None
        if (
            not isinstance(ings, (list, tuple))
            or not ings
            or any(i not in INGREDIENTS for i in ings)
        ):
            raise StateError(f"{where}[{k}]: bad order {order!r}")
        if len(ings) > mdp.max_ingredients:
            raise StateError(f"{where}[{k}]: more ingredients than a pot holds")
        recipe = recipe_of(ings)
        if recipe in recipes:
            raise StateError(f"{where}[{k}]: duplicate order {list(ings)}")
        recipes.append(recipe)
    return recipes


def state_from_overcooked_dict(mdp: KitchenMDP, data: Mapping[str, Any]) -> KitchenState:
    """Read an ``OvercookedState.to_dict()`` dict into a state of ``mdp``.

    Raises:
        StateError: A field is missing or invalid for this layout; the message names it.
    """
    if not isinstance(data, Mapping):
        raise StateError("a state is a dict with 'players' and 'objects'")
    players = data.get("players")
    if not isinstance(players, list) or len(players) != mdp.num_chefs:
        count = len(players) if isinstance(players, list) else "no"
        raise StateError(f"players: the layout has {mdp.num_chefs} chefs, the state has {count}")
    chefs = []
    for i, p in enumerate(players):
        where = f"players[{i}]"
        if not isinstance(p, Mapping):
            raise StateError(f"{where}: expected a dict")
        pos = _position(p.get("position"), f"{where}.position", mdp)
        if not mdp.is_floor(pos):
            raise StateError(f"{where}.position: {list(pos)} is not a floor cell")
        ori = _orientation(p.get("orientation"), f"{where}.orientation")
        held_data = p.get("held_object")
        held: Item | None = None
        if held_data is not None:
            _, held = _item_from_dict(held_data, f"{where}.held_object", mdp, pos)
            if isinstance(held, Soup) and not mdp.soup_is_ready(held):
                raise StateError(f"{where}.held_object: a soup out of its pot must be ready")
        chefs.append(Chef(pos, ori, held))
    positions = [c.position for c in chefs]
    if len(set(positions)) != len(positions):
        raise StateError(f"players: two chefs share a cell ({positions})")

    objects = data.get("objects", [])
    if not isinstance(objects, list):
        raise StateError("objects: expected a list")
    pots: list[Soup | None] = [None] * len(mdp.pot_positions)
    counters: dict[Position, Item] = {}
    seen: set[Position] = set()
    for k, obj in enumerate(objects):
        where = f"objects[{k}]"
        pos, item = _item_from_dict(obj, where, mdp, None)
        if pos in seen:
            raise StateError(f"{where}: two objects lie on {list(pos)}")
        seen.add(pos)
        terrain = mdp.terrain_at(pos)
        if terrain == "P":
            if not isinstance(item, Soup):
                raise StateError(f"{where}: only a soup can be in a pot, not {item!r}")
            pots[mdp.pot_positions.index(pos)] = item
        elif terrain == "X":
            if isinstance(item, Soup) and not mdp.soup_is_ready(item):
                raise StateError(f"{where}: a soup out of its pot must be ready")
            counters[pos] = item
        else:
            raise StateError(
                f"{where}: objects lie on counters or in pots, {list(pos)} is {terrain!r}"
            )

    all_orders = _orders(data.get("all_orders"), "all_orders", mdp)
    bonus_orders = _orders(data.get("bonus_orders"), "bonus_orders", mdp)
    orders = mdp.recipes.orders(all_orders, bonus_orders)
    stray = [ingredients_of(r) for r in bonus_orders if r not in orders.all]
    if stray:
        raise StateError(f"bonus_orders: {stray} are not among all_orders")
    timestep = data.get("timestep", 0)
    if not isinstance(timestep, int) or isinstance(timestep, bool) or timestep < 0:
        raise StateError(f"timestep: expected a non-negative integer, got {timestep!r}")
    return KitchenState(tuple(chefs), tuple(pots), counters, timestep, orders)
