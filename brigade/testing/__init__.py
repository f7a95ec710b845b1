"""Conformance checks shipped for third parties: run them over your own components.

- :func:`check_task_env`: the skill-level :class:`~brigade.task_env.TaskEnv` interface.
- :func:`check_parallel_env`: PettingZoo's API and seed tests plus brigade's own
  checks (observations inside their declared spaces, determinism, invalid actions).
- :func:`check_node`: a component served as a bus node answers like the component
  itself (same results, errors of the same class, pings while busy, refusals).
"""

from brigade.testing.node_conformance import check_node
from brigade.testing.parallel_conformance import check_parallel_env
from brigade.testing.task_conformance import check_task_env

__all__ = ["check_node", "check_parallel_env", "check_task_env"]
