"""Simulators and their task interfaces: ``brigade.envs.make``, ``make_task``, ``registered``.

One environment id names a task in both APIs: :func:`make` builds the
PettingZoo ``ParallelEnv`` (low-level actions, for RL) and :func:`make_task`
the skill-level :class:`~brigade.task_env.TaskEnv` (for planners). Ids look
like ``kitchen/cramped_room-v0``; the version suffix may be left out.
"""

from __future__ import annotations

from typing import Any

from brigade.registry import EnvRegistry, EnvSpec
from brigade.task_env import TaskEnv

#: The environment registry; built-in simulators load on first use, then plug-ins.
ENVS = EnvRegistry(
    entry_point_group="brigade.envs",
    builtins=("brigade.envs.kitchen.registration", "brigade.envs.table.registration"),
)


def register(spec: EnvSpec) -> None:
    """Register an environment id (for simulators outside brigade, too)."""
    ENVS.register(spec)


def registered() -> list[str]:
    """Every registered environment id, with its version."""
    return ENVS.ids()


def spec(env_id: str) -> EnvSpec:
    """The spec of an id (the latest version when the suffix is left out)."""
    return ENVS.spec(env_id)


def make(env_id: str, **kwargs: Any) -> Any:
    """Build the PettingZoo ``ParallelEnv`` of an environment id.

    Raises:
        RegistryError: Unknown id (the message suggests the closest), or the id
            has no low-level API.
        ConfigError: ``kwargs`` override what defines the task (its layout).
    """
    s = ENVS.spec(env_id)
    s.check_overrides(kwargs)
    if s.make_parallel is None:
        from brigade.errors import RegistryError

        raise RegistryError(f"{s.id} has no PettingZoo API; use make_task")
    return s.make_parallel(**{**s.parallel_kwargs, **kwargs})


def make_task(env_id: str, **kwargs: Any) -> TaskEnv:
    """Build the skill-level :class:`~brigade.task_env.TaskEnv` of an environment id.

    Raises:
        RegistryError: Unknown id, or the id has no skill-level API.
        ConfigError: ``kwargs`` override what defines the task, or are invalid.
    """
    s = ENVS.spec(env_id)
    s.check_overrides(kwargs)
    if s.make_task is None:
        from brigade.errors import RegistryError

        raise RegistryError(f"{s.id} has no skill-level API; use make")
    env = s.make_task(**{**s.task_kwargs, **kwargs})
    env.env_id = s.id
    return env  # type: ignore[no-any-return]


__all__ = ["ENVS", "EnvSpec", "make", "make_task", "register", "registered", "spec"]
