"""Kitchen layouts in overcooked-ai's ``.layout`` format, parsed as literals.

A layout file holds one Python-literal dict: a ``grid`` string plus order and
reward parameters. It is parsed with :func:`ast.literal_eval` (never ``eval``)
and validated; every problem is reported as a
:class:`~brigade.errors.LayoutError` naming the file, the grid row and column,
and what is wrong.

Grid characters: ``X`` counter, space floor, ``O`` onion dispenser, ``T``
tomato dispenser, ``P`` pot, ``D`` dish dispenser, ``S`` serving window,
``1``-``9`` chef start cells (floor).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from brigade.errors import LayoutError, did_you_mean

INGREDIENTS = ("onion", "tomato")
TERRAIN_CHARS = "XOTPDS "
CHEF_CHARS = "123456789"

#: Shaped-reward parameters and overcooked-ai's defaults for them.
DEFAULT_SHAPING: dict[str, float] = {
    "PLACEMENT_IN_POT_REW": 3,
    "DISH_PICKUP_REWARD": 3,
    "SOUP_PICKUP_REWARD": 5,
    "DISH_DISP_DISTANCE_REW": 0,
    "POT_DISTANCE_REW": 0,
    "SOUP_DISTANCE_REW": 0,
}

#: The recipe parameters overcooked-ai 1.1.0's ``Recipe`` reads.
RECIPE_KEYS = (
    "cook_time",
    "delivery_reward",
    "recipe_values",
    "recipe_times",
    "onion_value",
    "tomato_value",
    "onion_time",
    "tomato_time",
    "num_items_for_soup",
)

#: Every key a layout may hold (what overcooked-ai 1.1.0 reads, plus its legacy keys).
LAYOUT_KEYS = (
    "grid",
    "start_all_orders",
    "start_bonus_orders",
    "rew_shaping_params",
    *RECIPE_KEYS,
    "max_num_ingredients",
    "order_bonus",
    "start_state",
    "layout_name",
)

Order = tuple[str, ...]


@dataclass(frozen=True)
class KitchenLayout:
    """A validated kitchen layout.

    Attributes:
        name: The layout's name (file stem).
        terrain: Grid rows with chef digits replaced by floor (``" "``).
        start_positions: Each chef's start cell ``(x, y)``, chef 1 first.
        all_orders: Recipes that can be delivered for reward (sorted ingredient
            tuples); empty means every recipe.
        bonus_orders: Recipes worth ``order_bonus`` times their value.
        params: The recipe parameters (``cook_time``, ``recipe_values``...) as given.
        shaping: Shaped-reward parameters (defaults filled in).
        order_bonus: Multiplier for bonus orders.
        max_ingredients: Pot capacity (overcooked-ai's ``max_num_ingredients``).
        start_state: An overcooked-ai state dict to start from, if the layout has one.
        path: The file it came from, if any.
    """

    name: str
    terrain: tuple[str, ...]
    start_positions: tuple[tuple[int, int], ...]
    all_orders: tuple[Order, ...] = ()
    bonus_orders: tuple[Order, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    shaping: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SHAPING))
    order_bonus: float = 2
    max_ingredients: int = 3
    start_state: Mapping[str, Any] | None = None
    path: str | None = None

    @property
    def width(self) -> int:
        """Grid width (columns)."""
        return len(self.terrain[0])

    @property
    def height(self) -> int:
        """Grid height (rows)."""
        return len(self.terrain)

    @property
    def num_chefs(self) -> int:
        """Number of chefs."""
        return len(self.start_positions)

    def cells(self, char: str) -> list[tuple[int, int]]:
        """Cells ``(x, y)`` of one terrain type, in row-major order."""
        return [
            (x, y) for y, row in enumerate(self.terrain) for x, c in enumerate(row) if c == char
        ]

    def with_params(self, **overrides: Any) -> KitchenLayout:
        """A copy with layout parameters overridden (validated like a file's)."""
        data = self.to_dict()
        data.update(overrides)
        return parse_layout_dict(data, name=self.name, path=self.path)

    def to_dict(self) -> dict[str, Any]:
        """The layout as an overcooked-ai layout dict (grid with chef digits)."""
        rows = [list(r) for r in self.terrain]
        for i, (x, y) in enumerate(self.start_positions):
            rows[y][x] = str(i + 1)
        data: dict[str, Any] = {"grid": "\n".join("".join(r) for r in rows)}
        data["start_all_orders"] = [{"ingredients": list(o)} for o in self.all_orders]
        data["start_bonus_orders"] = [{"ingredients": list(o)} for o in self.bonus_orders]
        data["rew_shaping_params"] = dict(self.shaping)
        data["order_bonus"] = self.order_bonus
        data["max_num_ingredients"] = self.max_ingredients
        data.update(self.params)
        if self.start_state is not None:
            data["start_state"] = self.start_state
        return data


def _line_of(text: str, needle: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    return None


_LITERAL_NODES = (
    ast.Expression,
    ast.Dict,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Constant,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Load,
)


def _first_non_literal(tree: ast.AST) -> ast.AST | None:
    """The first node that ``ast.literal_eval`` would refuse (a name, a call...)."""
    for node in ast.walk(tree):
        if not isinstance(node, _LITERAL_NODES):
            return node
    return None


def parse_layout_text(text: str, *, name: str, path: str | None = None) -> KitchenLayout:
    """Parse the text of a ``.layout`` file.

    Raises:
        LayoutError: The text is not a literal dict, or the layout is invalid.
    """
    body = text.strip()
    # Lines stripped from the top, so that errors report the file's own line numbers.
    skipped = text[: text.index(body)].count("\n") if body else 0
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        line = exc.lineno + skipped if exc.lineno is not None else None
        raise LayoutError(
            f"not a Python literal dict ({exc.msg})", path=path, line=line, column=exc.offset
        ) from None
    try:
        data = ast.literal_eval(tree)
    except ValueError:
        bad = _first_non_literal(tree)
        snippet = ast.get_source_segment(body, bad) if bad is not None else None
        raise LayoutError(
            f"not a Python literal dict: {snippet or 'an expression'!s} is not a literal; "
            "layouts are parsed as literals, so names, calls and expressions are not allowed",
            path=path,
            line=getattr(bad, "lineno", 1) + skipped if bad is not None else None,
            column=getattr(bad, "col_offset", -1) + 1 if bad is not None else None,
        ) from None
    if not isinstance(data, dict):
        raise LayoutError("a layout file must hold one dict", path=path)
    return parse_layout_dict(data, name=name, path=path, text=text)


def _parse_orders(
    value: Any, key: str, path: str | None, max_ingredients: int
) -> tuple[Order, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise LayoutError(f"'{key}' must be a list of {{'ingredients': [...]}} dicts", path=path)
    orders: list[Order] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"ingredients"}:
            raise LayoutError(f"'{key}'[{i}] must be a dict with one key 'ingredients'", path=path)
        ingredients = item["ingredients"]
        if not isinstance(ingredients, (list, tuple)) or not ingredients:
            raise LayoutError(f"'{key}'[{i}]: ingredients must be a non-empty list", path=path)
        for ing in ingredients:
            if ing not in INGREDIENTS:
                raise LayoutError(
                    f"'{key}'[{i}]: unknown ingredient {ing!r}{did_you_mean(str(ing), INGREDIENTS)}"
                    f"; ingredients are {', '.join(INGREDIENTS)}",
                    path=path,
                )
        if len(ingredients) > max_ingredients:
            raise LayoutError(
                f"'{key}'[{i}] has {len(ingredients)} ingredients but a pot holds at most "
                f"{max_ingredients} (max_num_ingredients)",
                path=path,
            )
        order = tuple(sorted(ingredients))
        if order in orders:
            raise LayoutError(f"'{key}'[{i}] repeats the order {list(order)}", path=path)
        orders.append(order)
    return tuple(orders)


_EXCLUSIVE = (
    ("tomato_value", "delivery_reward"),
    ("tomato_value", "recipe_values"),
    ("recipe_values", "delivery_reward"),
    ("tomato_time", "cook_time"),
    ("tomato_time", "recipe_times"),
    ("recipe_times", "cook_time"),
)


def _check_recipe_params(data: Mapping[str, Any], path: str | None) -> dict[str, Any]:
    params = {}
    for key in RECIPE_KEYS:
        if key in data and data[key] is not None:
            params[key] = data[key]
    for a, b in (("onion_time", "tomato_time"), ("onion_value", "tomato_value")):
        if (a in params) != (b in params):
            raise LayoutError(f"give both '{a}' and '{b}', or neither", path=path)
    for a, b in _EXCLUSIVE:
        if a in params and b in params:
            raise LayoutError(f"'{a}' and '{b}' cannot be used together", path=path)
    for key in (
        "cook_time",
        "delivery_reward",
        "onion_value",
        "tomato_value",
        "onion_time",
        "tomato_time",
        "num_items_for_soup",
    ):
        if key in params and (
            not isinstance(params[key], (int, float)) or isinstance(params[key], bool)
        ):
            raise LayoutError(f"'{key}' must be a number, not {params[key]!r}", path=path)
    for key in ("cook_time", "onion_time", "tomato_time"):
        if key in params and params[key] < 0:
            raise LayoutError(f"'{key}' cannot be negative ({params[key]})", path=path)
    for key in ("recipe_values", "recipe_times"):
        if key in params:
            values = params[key]
            if not isinstance(values, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise LayoutError(f"'{key}' must be a list of numbers", path=path)
            orders = data.get("start_all_orders") or []
            if not orders:
                raise LayoutError(
                    f"'{key}' needs 'start_all_orders' to say which recipe is which", path=path
                )
            if len(values) != len(orders):
                raise LayoutError(
                    f"'{key}' has {len(values)} entries but 'start_all_orders' has {len(orders)}",
                    path=path,
                )
            if key == "recipe_times" and any(v < 0 for v in values):
                raise LayoutError(f"'{key}' cannot hold negative times", path=path)
            params[key] = list(values)
    return params


def _check_grid(grid: Any, path: str | None, text: str | None) -> list[str]:
    if not isinstance(grid, str):
        raise LayoutError("'grid' must be a string of rows", path=path)
    rows = [row.strip() for row in grid.split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    if not rows or not rows[0]:
        raise LayoutError("the grid is empty", path=path)
    width = len(rows[0])
    for r, row in enumerate(rows, start=1):
        if len(row) != width:
            raise LayoutError(
                f"ragged grid: this row has {len(row)} cells, the first row has {width} "
                "(rows are stripped of surrounding spaces, as in overcooked-ai)",
                path=path,
                row=r,
                column=min(len(row), width) + 1,
            )
        for c, char in enumerate(row, start=1):
            if char not in TERRAIN_CHARS + CHEF_CHARS:
                raise LayoutError(
                    f"invalid character {char!r}; use X (counter), O (onion), T (tomato), "
                    "P (pot), D (dishes), S (serving), space (floor) or 1-9 (chef starts)",
                    path=path,
                    row=r,
                    column=c,
                )
    height = len(rows)
    for r, row in enumerate(rows, start=1):
        for c, char in enumerate(row, start=1):
            on_border = r in (1, height) or c in (1, width)
            if on_border and char in " " + CHEF_CHARS:
                raise LayoutError(
                    "the border must be closed (no floor or chef start on the edge)",
                    path=path,
                    row=r,
                    column=c,
                )
    return rows


def parse_layout_dict(
    data: Mapping[str, Any], *, name: str, path: str | None = None, text: str | None = None
) -> KitchenLayout:
    """Validate a layout dict (as in a ``.layout`` file) and build a :class:`KitchenLayout`.

    Raises:
        LayoutError: Unknown keys, a bad grid, bad orders or conflicting parameters.
    """
    for key in data:
        if key not in LAYOUT_KEYS:
            raise LayoutError(
                f"unknown key {key!r}{did_you_mean(str(key), LAYOUT_KEYS)}; "
                f"layout keys are: {', '.join(LAYOUT_KEYS)}",
                path=path,
                line=_line_of(text, f'"{key}"') if text else None,
            )
    if "grid" not in data:
        raise LayoutError("the layout has no 'grid'", path=path)
    rows = _check_grid(data["grid"], path, text)

    starts: dict[int, tuple[int, int]] = {}
    terrain = []
    for y, row in enumerate(rows):
        chars = list(row)
        for x, char in enumerate(chars):
            if char in CHEF_CHARS:
                chef = int(char)
                if chef in starts:
                    raise LayoutError(
                        f"chef {chef} starts twice (also at column {starts[chef][0] + 1}, "
                        f"row {starts[chef][1] + 1})",
                        path=path,
                        row=y + 1,
                        column=x + 1,
                    )
                starts[chef] = (x, y)
                chars[x] = " "
        terrain.append("".join(chars))
    if not starts:
        raise LayoutError("no chef start (digits 1-9) in the grid", path=path)
    missing = [i for i in range(1, max(starts) + 1) if i not in starts]
    if missing:
        raise LayoutError(
            f"chef starts must be numbered 1..{len(starts)} without gaps; missing {missing}",
            path=path,
        )
    flat = "".join(terrain)
    for char, what in (("D", "a dish dispenser"), ("S", "a serving window"), ("P", "a pot")):
        if char not in flat:
            raise LayoutError(f"the grid needs {what} ('{char}')", path=path)
    if "O" not in flat and "T" not in flat:
        raise LayoutError("the grid needs an onion ('O') or tomato ('T') dispenser", path=path)

    max_ingredients = data.get("max_num_ingredients", 3)
    if (
        not isinstance(max_ingredients, int)
        or isinstance(max_ingredients, bool)
        or not (1 <= max_ingredients <= 8)
    ):
        raise LayoutError(
            f"'max_num_ingredients' must be an integer in 1..8, not {max_ingredients!r}", path=path
        )
    all_orders = _parse_orders(
        data.get("start_all_orders"), "start_all_orders", path, max_ingredients
    )
    bonus_orders = _parse_orders(
        data.get("start_bonus_orders"), "start_bonus_orders", path, max_ingredients
    )
    if all_orders:
        outside = [list(o) for o in bonus_orders if o not in all_orders]
        if outside:
            raise LayoutError(f"bonus orders {outside} are not in 'start_all_orders'", path=path)
    params = _check_recipe_params(data, path)
    if "num_items_for_soup" in params and params["num_items_for_soup"] != max_ingredients:
        warnings.warn(
            f"{path or name}: 'num_items_for_soup' has no effect on overcooked-ai's dynamics, "
            f"which read the pot capacity from 'max_num_ingredients' ({max_ingredients} here)",
            stacklevel=2,
        )

    shaping = dict(DEFAULT_SHAPING)
    given = data.get("rew_shaping_params")
    if given is not None:
        if not isinstance(given, dict):
            raise LayoutError("'rew_shaping_params' must be a dict or None", path=path)
        for key, value in given.items():
            if key not in DEFAULT_SHAPING:
                raise LayoutError(
                    f"unknown shaped-reward parameter {key!r}"
                    f"{did_you_mean(str(key), DEFAULT_SHAPING)}",
                    path=path,
                )
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise LayoutError(f"shaped reward {key!r} must be a number", path=path)
            shaping[key] = value
    order_bonus = data.get("order_bonus", 2)
    if not isinstance(order_bonus, (int, float)) or isinstance(order_bonus, bool):
        raise LayoutError("'order_bonus' must be a number", path=path)
    start_state = data.get("start_state")
    if start_state is not None and not isinstance(start_state, dict):
        raise LayoutError("'start_state' must be an overcooked-ai state dict", path=path)

    return KitchenLayout(
        name=name,
        terrain=tuple(terrain),
        start_positions=tuple(starts[i] for i in sorted(starts)),
        all_orders=all_orders,
        bonus_orders=bonus_orders,
        params=params,
        shaping=shaping,
        order_bonus=order_bonus,
        max_ingredients=max_ingredients,
        start_state=start_state,
        path=path,
    )


def load_layout_file(path: str | Path) -> KitchenLayout:
    """Load and validate a ``.layout`` file.

    Raises:
        LayoutError: The file is missing, not a literal dict, or not a valid layout.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise LayoutError(f"cannot read the layout file: {exc.strerror}", path=str(p)) from None
    return parse_layout_text(text, name=p.stem, path=str(p))


def shipped_layout_names() -> list[str]:
    """Names of the layouts shipped with brigade."""
    root = resources.files("brigade.envs.kitchen").joinpath("layouts")
    return sorted(
        entry.name[: -len(".layout")] for entry in root.iterdir() if entry.name.endswith(".layout")
    )


def load_layout(name: str) -> KitchenLayout:
    """Load a shipped layout by name.

    Raises:
        LayoutError: No shipped layout of that name (the message suggests one).
    """
    root = resources.files("brigade.envs.kitchen").joinpath("layouts")
    entry = root.joinpath(f"{name}.layout")
    if not entry.is_file():
        names = shipped_layout_names()
        raise LayoutError(
            f"no shipped layout named {name!r}{did_you_mean(name, names)}; "
            f"shipped: {', '.join(names)}"
        )
    return parse_layout_text(entry.read_text(), name=name, path=f"layouts/{name}.layout")
