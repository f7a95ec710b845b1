"""Conformance checks shipped for third parties: run them over your own components.

- :func:`check_task_env`: the skill-level :class:`~brigade.task_env.TaskEnv` interface.
- :func:`check_parallel_env`: PettingZoo's API and seed tests plus brigade's own
  checks (observations inside their declared spaces, determinism, invalid actions).
"""

from brigade.testing.parallel_conformance import check_parallel_env
from brigade.testing.task_conformance import check_task_env

__all__ = ["check_parallel_env", "check_task_env"]
