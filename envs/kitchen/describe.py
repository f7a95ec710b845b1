"""The kitchen in words, for LLM planners, and the way back.

:func:`describe_kitchen` writes everything an LLM planner is told about a
state: the map, the orders with their rewards and cooking times, the pots, the
items on counters and the chefs. :func:`parse_description` is its inverse: from
a description alone it rebuilds the layout and the exact state, so a simulated
LLM that reads its prompt this way knows exactly what a real LLM was told, and
nothing more. ``parse_description(describe_kitchen(mdp, s)).state == s`` for
every state ``s``.

The skill-level environment appends its own sections (the environment step,
what each chef can do now); the parser ignores lines it does not need.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from brigade.envs.kitchen.layout import KitchenLayout, parse_layout_dict
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.recipes import Recipe, ingredients_of, recipe_of
from brigade.envs.kitchen.state import DIRECTION_NAMES, Chef, Item, KitchenState, Position, Soup
from brigade.errors import DescriptionParseError

LEGEND = (
    "X counter, O onion dispenser, T tomato dispenser, D dish dispenser, P pot, "
    "S serving window, . floor, 1-9 chefs"
)


def pot_names(mdp: KitchenMDP) -> list[str]:
    """Names of the pots, ``pot1``, ``pot2``... in row-major order."""
    return [f"pot{i + 1}" for i in range(len(mdp.pot_positions))]


def pot_name(mdp: KitchenMDP, cell: Position) -> str:
    """The name (``pot2``) of the pot at ``cell``."""
    return f"pot{mdp.pot_positions.index(cell) + 1}"


def cell_text(pos: Position) -> str:
    """A cell as written in descriptions and actions: ``(x,y)``."""
    return f"({pos[0]},{pos[1]})"


def counter_name(pos: Position) -> str:
    """A counter's name in actions: ``counter(x,y)``."""
    return f"counter{cell_text(pos)}"


def recipe_text(recipe: Recipe) -> str:
    """``onion+onion+tomato``."""
    return "+".join(ingredients_of(recipe))


def _soup_words(soup: Soup) -> str:
    return ", ".join(soup.ingredients) if soup.ingredients else "no ingredients"


def with_article(name: str | None) -> str:
    """``an onion``, ``a dish``; ``nothing`` for ``None``."""
    if name is None:
        return "nothing"
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def item_text(item: Item | None) -> str:
    """An item in words: ``nothing``, ``an onion``, ``a dish``, ``a soup of onion, onion``."""
    if isinstance(item, Soup):
        return f"a soup of {_soup_words(item)}"
    return with_article(item)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def pot_text(mdp: KitchenMDP, soup: Soup | None) -> str:
    """A pot's contents and status in words."""
    if soup is None:
        return "empty"
    cap = mdp.max_ingredients
    if soup.cooking_tick < 0:
        room = cap - len(soup.ingredients)
        if not soup.ingredients:
            return f"idle with no ingredients, room for {room}"
        if room == 0:
            return f"{_soup_words(soup)}; idle, full: start it to cook"
        return f"{_soup_words(soup)}; idle, room for {room} more"
    total = mdp.soup_time(soup)
    if mdp.soup_is_ready(soup):
        return f"{_soup_words(soup)}; ready (cooked {_format_number(total)} ticks)"
    left = total - soup.cooking_tick
    return (
        f"{_soup_words(soup)}; cooking, tick {soup.cooking_tick} of {_format_number(total)} "
        f"(ready in {_format_number(left)})"
    )


def cooking_rule(mdp: KitchenMDP) -> str:
    """How long soups cook, as a rule (the same rule overcooked-ai applies)."""
    params = mdp.layout.params
    if params.get("cook_time"):
        return f"every soup cooks in {_format_number(params['cook_time'])} ticks."
    if params.get("recipe_times"):
        return "ordered soups cook as listed below; any other soup cooks in 20 ticks."
    if params.get("onion_time") and params.get("tomato_time"):
        return (
            f"a soup cooks {_format_number(params['onion_time'])} ticks per onion and "
            f"{_format_number(params['tomato_time'])} ticks per tomato."
        )
    return "every soup cooks in 20 ticks."


def describe_kitchen(
    mdp: KitchenMDP,
    state: KitchenState,
    chef_names: Sequence[str],
    *,
    horizon: int | None = None,
) -> str:
    """Describe a state in words (everything; see the module docstring)."""
    lines = [
        f'Kitchen "{mdp.name}": {mdp.width} wide, {mdp.height} high; time step {state.timestep}'
        + (f" of {horizon}." if horizon else "."),
        f"Map (row y=0 first, column x=0 first; {LEGEND}):",
    ]
    grid = [list(row.replace(" ", ".")) for row in mdp.terrain]
    for i, chef in enumerate(state.chefs):
        x, y = chef.position
        grid[y][x] = str(i + 1)
    for y, row in enumerate(grid):
        lines.append(f"y={y:<2} {''.join(row)}")
    lines.append(
        f"A pot holds at most {mdp.max_ingredients} ingredients; an empty-handed chef starts it "
        "cooking; a chef with a dish takes a ready soup; soups are served at S."
    )
    lines.append(f"Cooking: {cooking_rule(mdp)}")
    lines.append(
        f"Orders (bonus orders pay {_format_number(mdp.recipes.order_bonus)}x; "
        "other soups pay nothing):"
    )
    for recipe in state.orders.all:
        bonus = " (bonus order)" if recipe in state.orders.bonus else ""
        lines.append(
            f"- {recipe_text(recipe)}: reward {_format_number(mdp.recipes.value(recipe))}{bonus}, "
            f"cooks in {_format_number(mdp.recipes.time(recipe))} ticks"
        )
    lines.append("Pots:")
    for name, pos, soup in zip(pot_names(mdp), mdp.pot_positions, state.pots):
        lines.append(f"- {name} at {cell_text(pos)}: {pot_text(mdp, soup)}")
    if state.counters:
        lines.append("Items on counters:")
        for pos in sorted(state.counters, key=lambda p: (p[1], p[0])):
            lines.append(f"- {counter_name(pos)}: {item_text(state.counters[pos])}")
    else:
        lines.append("Items on counters: none.")
    lines.append("Chefs:")
    for i, (name, chef) in enumerate(zip(chef_names, state.chefs)):
        lines.append(f"- {name} (chef {i + 1}) at {chef_text(chef)}.")
    return "\n".join(lines)


def chef_text(chef: Chef) -> str:
    """Where a chef stands, which way it faces and what it holds, in words."""
    return (
        f"{cell_text(chef.position)}, facing {DIRECTION_NAMES[chef.orientation]}, "
        f"holding {item_text(chef.held)}"
    )


# ---------------------------------------------------------------------- parsing

_HEADER = re.compile(
    r'^Kitchen "(?P<name>[^"]+)": (?P<w>\d+) wide, (?P<h>\d+) high; time step (?P<t>\d+)'
)
_ROW = re.compile(r"^y=(?P<y>\d+)\s+(?P<row>[XOTPDS.1-9]+)$")
_CAP = re.compile(r"^A pot holds at most (?P<cap>\d+) ingredients")
_COOK_ALL = re.compile(r"^Cooking: every soup cooks in (?P<time>[0-9.]+) ticks\.$")
_COOK_LISTED = "Cooking: ordered soups cook as listed below; any other soup cooks in 20 ticks."
_COOK_PER = re.compile(
    r"^Cooking: a soup cooks (?P<onion>[0-9.]+) ticks per onion and (?P<tomato>[0-9.]+) ticks "
    r"per tomato\.$"
)
_BONUS = re.compile(r"^Orders \(bonus orders pay (?P<bonus>[0-9.]+)x")
_ORDER = re.compile(
    r"^- (?P<recipe>[a-z+]+): reward (?P<value>[0-9.eE+-]+)(?P<bonus> \(bonus order\))?, "
    r"cooks in (?P<time>[0-9.eE+-]+) ticks$"
)
_POT = re.compile(r"^- pot(?P<n>\d+) at \((?P<x>\d+),(?P<y>\d+)\): (?P<text>.+)$")
_COUNTER = re.compile(r"^- counter\((?P<x>\d+),(?P<y>\d+)\): (?P<text>.+)$")
_CHEF = re.compile(
    r"^- (?P<name>\S+) \(chef (?P<n>\d+)\) at \((?P<x>\d+),(?P<y>\d+)\), facing (?P<dir>\w+), "
    r"holding (?P<held>.+)\.$"
)
_COOKING = re.compile(r"^(?P<ings>.+); cooking, tick (?P<tick>\d+) of ")
_READY = re.compile(r"^(?P<ings>.+); ready \(cooked (?P<time>[0-9.]+) ticks\)$")
_IDLE = re.compile(r"^(?P<ings>.+); idle, (room for \d+ more|full: start it to cook)$")


@dataclass(frozen=True)
class KitchenDescription:
    """What a description says: the layout (as far as told), the state and the chefs' names."""

    layout: KitchenLayout
    mdp: KitchenMDP
    state: KitchenState
    chef_names: tuple[str, ...]


def _number(text: str) -> float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _ingredients(text: str, where: str) -> tuple[str, ...]:
    if text == "no ingredients":
        return ()
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if name not in ("onion", "tomato"):
            raise DescriptionParseError(f"{where}: unknown ingredient {name!r}")
    return names


def _parse_item(text: str, where: str) -> Item | None:
    if text == "nothing":
        return None
    for simple in ("an onion", "a tomato", "a dish"):
        if text == simple:
            return simple.split()[-1]
    if text.startswith("a soup of "):
        return Soup(_ingredients(text[len("a soup of ") :], where), -1)
    raise DescriptionParseError(f"{where}: cannot read the item {text!r}")


def parse_description(text: str) -> KitchenDescription:
    """Rebuild the layout and the exact state from a description.

    Raises:
        DescriptionParseError: A section is missing or a line cannot be read;
            the message names the line.
    """
    lines = text.splitlines()
    header = None
    rows: dict[int, str] = {}
    cap = None
    cooking: dict[str, float] | None = None
    order_bonus: float = 2
    orders: list[tuple[Recipe, float, float, bool]] = []
    pots: dict[int, tuple[Position, str]] = {}
    counters: dict[Position, str] = {}
    chefs: dict[int, tuple[str, Position, str, str]] = {}
    section = ""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        where = f"line {number}"
        if (m := _HEADER.match(line)) is not None:
            header = m
            continue
        if (m := _ROW.match(line)) is not None:
            rows[int(m["y"])] = m["row"]
            continue
        if (m := _CAP.match(line)) is not None:
            cap = int(m["cap"])
            continue
        if (m := _COOK_ALL.match(line)) is not None:
            cooking = {"cook_time": _number(m["time"])}
            continue
        if (m := _COOK_PER.match(line)) is not None:
            cooking = {"onion_time": _number(m["onion"]), "tomato_time": _number(m["tomato"])}
            continue
        if line == _COOK_LISTED:
            cooking = {}
            continue
        if (m := _BONUS.match(line)) is not None:
            order_bonus = _number(m["bonus"])
            section = "orders"
            continue
        if line in ("Pots:", "Items on counters:", "Chefs:"):
            section = line[:-1]
            continue
        if line.endswith(":") or not line.startswith("- "):
            section = "" if not line.startswith("- ") else section
            continue
        if section == "orders" and (m := _ORDER.match(line)) is not None:
            try:
                recipe = recipe_of(m["recipe"].split("+"))
            except ValueError as exc:
                raise DescriptionParseError(f"{where}: {exc}") from None
            orders.append((recipe, _number(m["value"]), _number(m["time"]), bool(m["bonus"])))
        elif section == "Pots" and (m := _POT.match(line)) is not None:
            pots[int(m["n"])] = ((int(m["x"]), int(m["y"])), m["text"])
        elif section == "Items on counters" and (m := _COUNTER.match(line)) is not None:
            counters[(int(m["x"]), int(m["y"]))] = m["text"]
        elif section == "Chefs" and (m := _CHEF.match(line)) is not None:
            chefs[int(m["n"])] = (m["name"], (int(m["x"]), int(m["y"])), m["dir"], m["held"])
        elif section in ("orders", "Pots", "Items on counters", "Chefs"):
            raise DescriptionParseError(f"{where}: cannot read {line!r} in the {section} section")
    if header is None:
        raise DescriptionParseError('no "Kitchen ...: W wide, H high; time step T" line')
    width, height = int(header["w"]), int(header["h"])
    if sorted(rows) != list(range(height)):
        raise DescriptionParseError(f"the map needs rows y=0..{height - 1}, found {sorted(rows)}")
    if any(len(r) != width for r in rows.values()):
        raise DescriptionParseError(f"every map row must have {width} cells")
    if cap is None:
        raise DescriptionParseError('no "A pot holds at most N ingredients" line')
    if cooking is None:
        raise DescriptionParseError('no "Cooking: ..." line')
    if not chefs or sorted(chefs) != list(range(1, len(chefs) + 1)):
        raise DescriptionParseError("the Chefs section must list chefs 1..N")

    grid = [list(rows[y]) for y in range(height)]
    for n, (_, (x, y), _, _) in chefs.items():
        if grid[y][x] != str(n):
            raise DescriptionParseError(
                f"chef {n} is at ({x},{y}) but the map shows {grid[y][x]!r}"
            )
    layout_grid = "\n".join("".join(" " if c == "." else c for c in row) for row in grid)
    all_orders = [{"ingredients": list(ingredients_of(r))} for r, _, _, _ in orders]
    data = {
        "grid": layout_grid,
        "start_all_orders": all_orders,
        "start_bonus_orders": [
            {"ingredients": list(ingredients_of(r))} for r, _, _, b in orders if b
        ],
        "max_num_ingredients": cap,
        "order_bonus": order_bonus,
    }
    if orders:
        data["recipe_values"] = [v for _, v, _, _ in orders]
    if cooking:
        data.update(cooking)
    elif orders:
        data["recipe_times"] = [t for _, _, t, _ in orders]
    try:
        layout = parse_layout_dict(data, name=header["name"])
    except Exception as exc:
        raise DescriptionParseError(f"the described kitchen is not a valid layout: {exc}") from None
    mdp = KitchenMDP(layout)

    chef_list = []
    names = []
    for n in sorted(chefs):
        name, pos, direction, held_text = chefs[n]
        if direction not in DIRECTION_NAMES:
            raise DescriptionParseError(f"chef {n}: unknown direction {direction!r}")
        held = _parse_item(held_text, f"chef {n}")
        if isinstance(held, Soup):
            held = Soup(held.ingredients, mdp.ready_tick(held))
        chef_list.append(Chef(pos, DIRECTION_NAMES.index(direction), held))
        names.append(name)
    pot_state: list[Soup | None] = [None] * len(mdp.pot_positions)
    for n, (pos, pot_desc) in pots.items():
        if pos not in mdp.pot_positions:
            raise DescriptionParseError(f"pot{n} at {pos} is not a pot on the map")
        pot_state[mdp.pot_positions.index(pos)] = _parse_pot(mdp, pot_desc, f"pot{n}")
    counter_items: dict[Position, Item] = {}
    for pos, item_desc in counters.items():
        item = _parse_item(item_desc, f"counter{cell_text(pos)}")
        if item is None:
            continue
        if isinstance(item, Soup):
            item = Soup(item.ingredients, mdp.ready_tick(item))
        counter_items[pos] = item
    state_orders = mdp.recipes.orders(
        [r for r, _, _, _ in orders], [r for r, _, _, b in orders if b]
    )
    state = KitchenState(
        tuple(chef_list), tuple(pot_state), counter_items, int(header["t"]), state_orders
    )
    return KitchenDescription(layout, mdp, state, tuple(names))


def _parse_pot(mdp: KitchenMDP, text: str, where: str) -> Soup | None:
    if text == "empty":
        return None
    if text.startswith("idle with no ingredients"):
        return Soup((), -1)
    if (m := _IDLE.match(text)) is not None:
        return Soup(_ingredients(m["ings"], where), -1)
    if (m := _COOKING.match(text)) is not None:
        return Soup(_ingredients(m["ings"], where), int(m["tick"]))
    if (m := _READY.match(text)) is not None:
        return Soup(_ingredients(m["ings"], where), math.ceil(float(m["time"])))
    raise DescriptionParseError(f"{where}: cannot read the pot {text!r}")
