"""Registers the table's environment ids: ``table/<family>-<level>-v0`` for every level.

Sweep Floor (``table/sweep-y1g1-v0`` ... ``y3g3``), Make Sandwich
(``table/sandwich-recipe1-v0`` ... ``recipe4``) and Sort Cubes
(``table/sort-1-v0`` ... ``sort-5``), each with ReAd's step limit of 15.
"""

from __future__ import annotations

from brigade.envs import ENVS
from brigade.envs.table.tasks import LEVELS
from brigade.registry import EnvSpec

#: What defines a table task: not overridable through make()/make_task().
IDENTITY = ("task",)

_DESCRIPTIONS = {
    "sweep": "DV-RoCoBench Sweep Floor",
    "sandwich": "DV-RoCoBench Make Sandwich",
    "sort": "DV-RoCoBench Sort Cubes",
}
_registered = False


def _make_parallel(**kwargs: object) -> object:
    from brigade.envs.table.parallel_env import TableParallelEnv

    return TableParallelEnv(**kwargs)  # type: ignore[arg-type]


def _make_task(**kwargs: object) -> object:
    from brigade.envs.table.task_env import TableTaskEnv

    return TableTaskEnv(**kwargs)  # type: ignore[arg-type]


def register_all() -> None:
    """Register every table id (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    for task_id in LEVELS:
        name = task_id.removeprefix("table/").removesuffix("-v0")
        family, level = name.split("-", 1)
        ENVS.register(
            EnvSpec(
                id=task_id,
                make_parallel=_make_parallel,
                make_task=_make_task,
                description=f"{_DESCRIPTIONS[family]}, level {level}",
                identity=IDENTITY,
                task_kwargs={"task": name},
                parallel_kwargs={"task": name},
            )
        )
