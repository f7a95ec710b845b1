"""DV-RoCoBench's tasks, every level, independent of the physics engine.

``LEVELS`` maps each task id (``table/sort-3-v0``) to a factory of its
:class:`~brigade.envs.table.tasks.base.TableTask`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from brigade.envs.table.tasks import sandwich, sort, sweep
from brigade.envs.table.tasks.base import Intent, TableTask
from brigade.envs.table.tasks.sandwich import SandwichTask
from brigade.envs.table.tasks.sort import SortTask
from brigade.envs.table.tasks.sweep import SweepTask


def _levels() -> dict[str, Callable[[], TableTask]]:
    table: dict[str, Callable[[], TableTask]] = {}
    families: tuple[tuple[str, Mapping[str, object], type[TableTask]], ...] = (
        ("sweep", sweep.LEVELS, SweepTask),
        ("sandwich", sandwich.RECIPES, SandwichTask),
        ("sort", sort.LEVELS, SortTask),
    )
    for family, levels, cls in families:
        for level in levels:
            table[f"table/{family}-{level}-v0"] = functools.partial(cls, level)
    return table


#: Every task id and its factory.
LEVELS: dict[str, Callable[[], TableTask]] = _levels()


def make_table_task(task_id: str) -> TableTask:
    """The task of ``task_id`` (the ``-v0`` suffix optional).

    Raises:
        KeyError: No such task, with the known ids.
    """
    key = task_id if task_id.endswith("-v0") else f"{task_id}-v0"
    if key not in LEVELS:
        raise KeyError(f"no table task {task_id!r}; known: {', '.join(LEVELS)}")
    return LEVELS[key]()


__all__ = [
    "LEVELS",
    "Intent",
    "SandwichTask",
    "SortTask",
    "SweepTask",
    "TableTask",
    "make_table_task",
]
