"""Registers the kitchen's environment ids.

- ``kitchen/<layout>-v0`` for every shipped layout: the skill-level task
  (two paying soups within a step limit) and the PettingZoo API.
- ``kitchen-read/<layout>-v0``: ReAd's Overcooked setting (2-onion soups,
  2-tick cooking, one move per chef per step, one soup within 20 steps on
  Cramped Room and 25 on Forced Coordination).
"""

from __future__ import annotations

from brigade.envs import ENVS
from brigade.envs.kitchen.layout import shipped_layout_names
from brigade.registry import EnvSpec

#: Step limits of the skill-level tasks, set so that the scripted expert needs at
#: most 60% of them (its worst case over the standard start and 40 random starts,
#: docs/kitchen.md), rounded up to a multiple of 5.
SKILL_STEP_LIMITS: dict[str, int] = {
    "cramped_room": 40,
    "asymmetric_advantages": 40,
    "coordination_ring": 40,
    "forced_coordination": 65,
    "counter_circuit_o_1order": 50,
    "cramped_room_tomato": 35,
    "asymmetric_advantages_tomato": 40,
    "forced_coordination_tomato": 55,
    "counter_circuit": 40,
    "read_cramped_room": 30,
    "read_forced_coordination": 50,
}
DEFAULT_STEP_LIMIT = 60
SOUPS_TO_WIN = 2

#: ReAd's Overcooked tasks: (layout, step limit).
READ_TASKS: dict[str, tuple[str, int]] = {
    "cramped_room": ("read_cramped_room", 20),
    "forced_coordination": ("read_forced_coordination", 25),
}

#: What defines a kitchen task: not overridable through make()/make_task().
IDENTITY = ("layout", "layout_file", "mode")

_registered = False


def _make_parallel(**kwargs: object) -> object:
    from brigade.envs.kitchen.parallel_env import KitchenParallelEnv

    return KitchenParallelEnv(**kwargs)  # type: ignore[arg-type]


def _make_task(**kwargs: object) -> object:
    from brigade.envs.kitchen.task_env import KitchenTaskEnv

    return KitchenTaskEnv(**kwargs)  # type: ignore[arg-type]


def register_all() -> None:
    """Register every kitchen id (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    for layout in shipped_layout_names():
        ENVS.register(
            EnvSpec(
                id=f"kitchen/{layout}-v0",
                make_parallel=_make_parallel,
                make_task=_make_task,
                description=f"Overcooked-AI kitchen '{layout}': deliver {SOUPS_TO_WIN} soups",
                parallel_kwargs={"layout": layout},
                identity=IDENTITY,
                runner_options=("cell_px",),
                task_kwargs={
                    "layout": layout,
                    "mode": "skills",
                    "soups_to_win": SOUPS_TO_WIN,
                    "step_limit": SKILL_STEP_LIMITS.get(layout, DEFAULT_STEP_LIMIT),
                },
            )
        )
    for name, (layout, limit) in READ_TASKS.items():
        ENVS.register(
            EnvSpec(
                id=f"kitchen-read/{name}-v0",
                make_parallel=_make_parallel,
                make_task=_make_task,
                description=f"ReAd's Overcooked '{name}': one 2-onion soup in {limit} moves",
                parallel_kwargs={"layout": layout},
                identity=IDENTITY,
                runner_options=("cell_px",),
                task_kwargs={
                    "layout": layout,
                    "mode": "moves",
                    "soups_to_win": 1,
                    "step_limit": limit,
                },
            )
        )
