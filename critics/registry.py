"""Choosing a critic: ``--critic PATH|random|constant|oracle``, or the one shipped for a task.

Shipped checkpoints live in ``critics/checkpoints/<env id with / as _>/``
(trained by ``bench/train_shipped_critics.sh`` with the project's own
pipeline). Learned critics are loaded once per process and shared (they are
read-only); the controls and the oracle are built per episode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from brigade.critic import AdvantageCritic
from brigade.critics.controls import ConstantCritic, RandomCritic
from brigade.critics.learned import LearnedCritic
from brigade.critics.oracle import OracleCritic
from brigade.errors import ConfigError
from brigade.plan import JointPlan
from brigade.task_env import TaskEnv

CONTROLS = ("random", "constant", "oracle")
SHIPPED = Path(__file__).resolve().parent / "checkpoints"

_LOADED: dict[str, LearnedCritic] = {}
_LOCK = threading.Lock()


def shipped_checkpoint(env_id: str) -> Path | None:
    """The checkpoint shipped for ``env_id`` (``kitchen/cramped_room-v0``), if there is one."""
    path = SHIPPED / env_id.replace("/", "_")
    return path if (path / "critic.json").exists() else None


def learned_critic(spec: str, env_id: str) -> LearnedCritic:
    """The learned critic at ``spec`` (a folder), or the one shipped for ``env_id``."""
    if spec:
        path = Path(spec)
    else:
        found = shipped_checkpoint(env_id)
        if found is None:
            shipped = sorted(p.name for p in SHIPPED.glob("*") if (p / "critic.json").exists())
            raise ConfigError(
                f"no critic is shipped for {env_id} (shipped: {', '.join(shipped) or 'none'}); "
                "collect data and train one (`brigade collect`, `brigade train-critic`) "
                "and pass it with --critic",
                key="critic",
            )
        path = found
    key = str(path.resolve())
    with _LOCK:
        critic = _LOADED.get(key)
        if critic is None:
            critic = _LOADED[key] = LearnedCritic.load(path)
    return critic


def build_critic(
    spec: str,
    env_id: str,
    *,
    env: TaskEnv | None = None,
    seed: int = 0,
) -> AdvantageCritic:
    """The critic named by ``spec`` for one episode of ``env_id``.

    Args:
        spec: A checkpoint folder, ``random``, ``constant``, ``oracle`` or ``""``
            (the checkpoint shipped for the task).
        env_id: The task.
        env: The episode's environment (the oracle rolls it out).
        seed: The episode's seed (the random control's draws).
    """
    if spec == "random":
        return RandomCritic(seed=seed)
    if spec == "constant":
        return ConstantCritic()
    if spec == "oracle":
        expert: Callable[[], JointPlan] | None = getattr(env, "expert_plan", None)
        if env is None or not callable(expert):
            raise ConfigError(f"the oracle critic needs {env_id}'s scripted expert", key="critic")
        return OracleCritic(env, expert)
    return learned_critic(spec, env_id)
