"""Recipes, their values and cooking times, and the orders of a kitchen.

A recipe is identified by its ingredient counts ``(onions, tomatoes)``; the
order in which ingredients went into a pot does not change the recipe. Values
and times follow overcooked-ai 1.1.0's ``Recipe`` exactly, quirks included
(a zero ``cook_time`` or ``delivery_reward`` counts as "not given", and
per-ingredient values apply only when both are non-zero).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from brigade.envs.kitchen.layout import INGREDIENTS, KitchenLayout
from brigade.errors import InputError

Recipe = tuple[int, int]
"""A recipe as ``(number of onions, number of tomatoes)``."""

DEFAULT_VALUE = 20
DEFAULT_TIME = 20


def recipe_of(ingredients: Iterable[str]) -> Recipe:
    """The recipe made of these ingredients (in any order)."""
    onions = tomatoes = 0
    for ing in ingredients:
        if ing == "onion":
            onions += 1
        elif ing == "tomato":
            tomatoes += 1
        else:
            raise InputError(f"unknown ingredient {ing!r}; ingredients are {INGREDIENTS}")
    return (onions, tomatoes)


def ingredients_of(recipe: Recipe) -> tuple[str, ...]:
    """The sorted ingredient names of a recipe (overcooked-ai's form)."""
    onions, tomatoes = recipe
    return ("onion",) * onions + ("tomato",) * tomatoes


@dataclass(frozen=True)
class Orders:
    """The orders of a state: what can be delivered, and what earns a bonus.

    Attributes:
        all: Deliverable recipes, sorted as overcooked-ai sorts them.
        bonus: Bonus recipes, sorted likewise.
        delivery_value: Reward for delivering each recipe (0 when not ordered).
        best_reachable_value: For each recipe (and ``(0, 0)``, the empty pot), the
            best delivery value of any recipe that can still be made from it by
            adding ingredients (0 if none pays); used for potting events.
    """

    all: tuple[Recipe, ...]
    bonus: tuple[Recipe, ...]
    delivery_value: Mapping[Recipe, float] = field(compare=False, hash=False, repr=False)
    best_reachable_value: Mapping[Recipe, float] = field(compare=False, hash=False, repr=False)


class RecipeBook:
    """Values, times and orders for one layout's recipe parameters."""

    def __init__(self, layout: KitchenLayout):
        self.max_ingredients = layout.max_ingredients
        self.order_bonus = layout.order_bonus
        params: Mapping[str, Any] = layout.params
        self.recipes: tuple[Recipe, ...] = tuple(
            sorted(
                (
                    (o, t)
                    for o, t in product(range(self.max_ingredients + 1), repeat=2)
                    if 1 <= o + t <= self.max_ingredients
                ),
                key=self.sort_key,
            )
        )
        value_map: dict[Recipe, float] = {}
        time_map: dict[Recipe, float] = {}
        if "recipe_values" in params:
            value_map = {
                recipe_of(order): v for order, v in zip(layout.all_orders, params["recipe_values"])
            }
        if "recipe_times" in params:
            time_map = {
                recipe_of(order): v for order, v in zip(layout.all_orders, params["recipe_times"])
            }
        self._value = {r: self._base_value(r, params, value_map) for r in self.recipes}
        self._time = {r: self._base_time(r, params, time_map) for r in self.recipes}
        self._orders_cache: dict[tuple[tuple[Recipe, ...], tuple[Recipe, ...]], Orders] = {}

    @staticmethod
    def _base_value(r: Recipe, params: Mapping[str, Any], mapping: Mapping[Recipe, float]) -> float:
        # The truthiness tests are overcooked-ai's: a zero counts as "not given".
        if params.get("delivery_reward"):
            return params["delivery_reward"]  # type: ignore[no-any-return]
        if mapping and r in mapping:
            return mapping[r]
        if params.get("onion_value") and params.get("tomato_value"):
            return params["tomato_value"] * r[1] + params["onion_value"] * r[0]  # type: ignore[no-any-return]
        return DEFAULT_VALUE

    @staticmethod
    def _base_time(r: Recipe, params: Mapping[str, Any], mapping: Mapping[Recipe, float]) -> float:
        if params.get("cook_time"):
            return params["cook_time"]  # type: ignore[no-any-return]
        if mapping and r in mapping:
            return mapping[r]
        if params.get("onion_time") and params.get("tomato_time"):
            return params["onion_time"] * r[0] + params["tomato_time"] * r[1]  # type: ignore[no-any-return]
        return DEFAULT_TIME

    def sort_key(self, r: Recipe) -> int:
        """overcooked-ai's integer encoding of a recipe, which orders recipes."""
        onions, tomatoes = r
        base = self.max_ingredients + 1
        encoding = onions + base * tomatoes
        mixed = 1 if onions * tomatoes else 0
        return mixed * encoding * base**2 + encoding

    def value(self, r: Recipe) -> float:
        """The recipe's base value (before orders and bonuses)."""
        return self._value[r]

    def time(self, r: Recipe) -> float:
        """Ticks of cooking the recipe needs."""
        return self._time[r]

    def orders(self, all_orders: Iterable[Recipe], bonus_orders: Iterable[Recipe]) -> Orders:
        """The (cached) :class:`Orders` for these recipes; no ``all_orders`` means every recipe."""
        all_sorted = tuple(sorted(set(all_orders), key=self.sort_key)) or self.recipes
        bonus_sorted = tuple(sorted(set(bonus_orders), key=self.sort_key))
        key = (all_sorted, bonus_sorted)
        cached = self._orders_cache.get(key)
        if cached is not None:
            return cached
        delivery: dict[Recipe, float] = {}
        for r in self.recipes:
            if r not in all_sorted:
                delivery[r] = 0
            elif r in bonus_sorted:
                delivery[r] = self.order_bonus * self._value[r]
            else:
                delivery[r] = self._value[r]
        best: dict[Recipe, float] = {}
        for o in range(self.max_ingredients + 1):
            for t in range(self.max_ingredients + 1 - o):
                reachable = [delivery[r] for r in self.recipes if r[0] >= o and r[1] >= t]
                best[(o, t)] = max([0, *reachable])
        orders = Orders(all_sorted, bonus_sorted, delivery, best)
        self._orders_cache[key] = orders
        return orders
