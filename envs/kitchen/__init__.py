"""The kitchen: an exact, fast re-implementation of Overcooked-AI.

- :class:`KitchenMDP`: the pure transition function (overcooked-ai 1.1.0's dynamics).
- :class:`KitchenBatch`: many kitchens stepped at once by a compiled kernel.
- Layouts in overcooked-ai's ``.layout`` format (:func:`load_layout`).
"""

from brigade.envs.kitchen.layout import (
    KitchenLayout,
    load_layout,
    load_layout_file,
    shipped_layout_names,
)
from brigade.envs.kitchen.mdp import EVENT_TYPES, KitchenMDP, events_as_overcooked
from brigade.envs.kitchen.state import ACTION_NAMES, Chef, KitchenState, Soup

__all__ = [
    "ACTION_NAMES",
    "EVENT_TYPES",
    "Chef",
    "KitchenBatch",
    "KitchenLayout",
    "KitchenMDP",
    "KitchenState",
    "Soup",
    "events_as_overcooked",
    "load_layout",
    "load_layout_file",
    "shipped_layout_names",
]


def __getattr__(name: str) -> object:
    # KitchenBatch imports numba (slow to import); load it only when asked for.
    if name == "KitchenBatch":
        from brigade.envs.kitchen.batch import KitchenBatch

        return KitchenBatch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
