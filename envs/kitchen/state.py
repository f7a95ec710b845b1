"""The kitchen's immutable state.

States are small immutable values, cheap to create (the transition function
makes a new one every step) and hashable (planners search over them). Objects
in pots live in ``pots`` (aligned with the MDP's pot cells); every other
object lies on a counter, in ``counters``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, NoReturn, Union, overload

from brigade.envs.kitchen.recipes import Orders

Position = tuple[int, int]

NORTH, SOUTH, EAST, WEST, STAY, INTERACT = range(6)
"""Action indices, in overcooked-ai's order."""

ACTION_NAMES = ("north", "south", "east", "west", "stay", "interact")
DIRECTIONS: tuple[Position, ...] = ((0, -1), (0, 1), (1, 0), (-1, 0))
"""Unit vectors of the four orientations, indexed like the actions."""
DIRECTION_NAMES = ("north", "south", "east", "west")


class Soup(NamedTuple):
    """A soup: the ingredients in the order they went in, and its cooking tick.

    ``cooking_tick`` is -1 while the soup is idle (ingredients can still be
    added), then counts up from 0 once cooking starts; it is ready when the tick
    reaches its recipe's cooking time.
    """

    ingredients: tuple[str, ...]
    cooking_tick: int = -1

    @property
    def is_idle(self) -> bool:
        """Cooking has not started."""
        return self.cooking_tick < 0

    @property
    def onions(self) -> int:
        """Number of onions."""
        return self.ingredients.count("onion")

    @property
    def tomatoes(self) -> int:
        """Number of tomatoes."""
        return self.ingredients.count("tomato")


Item = Union[str, Soup]  # noqa: UP007 (a runtime alias: `str | Soup` fails on Python 3.10)
"""An object: ``"onion"``, ``"tomato"``, ``"dish"`` or a :class:`Soup`."""


@overload
def item_name(item: Item) -> str: ...


@overload
def item_name(item: None) -> None: ...


@overload
def item_name(item: Item | None) -> str | None: ...


def item_name(item: Item | None) -> str | None:
    """``"onion"``, ``"tomato"``, ``"dish"``, ``"soup"``, or ``None`` for no item."""
    if item is None:
        return None
    return item if isinstance(item, str) else "soup"


class Chef(NamedTuple):
    """One chef: position, orientation (an index into :data:`DIRECTIONS`) and held item."""

    position: Position
    orientation: int
    held: Item | None = None


class FrozenDict(dict[Position, Item]):
    """A dict that cannot be changed after construction (and so can be hashed)."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("kitchen states are immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __copy__(self) -> FrozenDict:
        return self  # immutable: a copy is the same value

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


EMPTY_COUNTERS = FrozenDict()


class KitchenState:
    """An immutable kitchen state.

    Attributes:
        chefs: One :class:`Chef` per chef.
        pots: The soup in each pot (``None`` for an empty pot), aligned with
            :attr:`KitchenMDP.pot_positions`.
        counters: Items lying on counters, by cell.
        timestep: Steps since the episode started.
        orders: The deliverable and bonus recipes.
    """

    __slots__ = ("_hash", "chefs", "counters", "orders", "pots", "timestep")

    chefs: tuple[Chef, ...]
    pots: tuple[Soup | None, ...]
    counters: FrozenDict
    timestep: int
    orders: Orders
    _hash: int | None

    def __init__(
        self,
        chefs: tuple[Chef, ...],
        pots: tuple[Soup | None, ...],
        counters: Mapping[Position, Item],
        timestep: int,
        orders: Orders,
    ):
        setattr_ = object.__setattr__
        setattr_(self, "chefs", chefs)
        setattr_(self, "pots", pots)
        setattr_(
            self,
            "counters",
            counters if type(counters) is FrozenDict else FrozenDict(counters),
        )
        setattr_(self, "timestep", timestep)
        setattr_(self, "orders", orders)
        setattr_(self, "_hash", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("kitchen states are immutable")

    def _key(self) -> tuple[Any, ...]:
        return (self.chefs, self.pots, self.counters, self.timestep, self.orders)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KitchenState):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        value = self._hash
        if value is None:
            value = hash(self._key())
            object.__setattr__(self, "_hash", value)
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            KitchenState,
            (self.chefs, self.pots, dict(self.counters), self.timestep, self.orders),
        )

    def replace(self, **changes: Any) -> KitchenState:
        """A copy with some fields replaced."""
        fields: dict[str, Any] = {
            "chefs": self.chefs,
            "pots": self.pots,
            "counters": self.counters,
            "timestep": self.timestep,
            "orders": self.orders,
        }
        fields.update(changes)
        return KitchenState(**fields)

    def __repr__(self) -> str:
        chefs = ", ".join(
            f"{c.position}{DIRECTION_NAMES[c.orientation][0].upper()}:{c.held}" for c in self.chefs
        )
        return (
            f"KitchenState(t={self.timestep}, chefs=[{chefs}], pots={self.pots}, "
            f"counters={dict(self.counters)})"
        )
