"""Training targets: discounted Monte-Carlo returns of the task reward.

The reward of a step (``reward`` setting):

- ``progress`` (the default): the change of the task's ground-truth progress,
  in points (progress x 100): deliveries and every subgoal on the way (an
  onion in the pot, a soup cooking, a dish filled), so the critic sees
  credit before the first delivery. A potential-based shaping of the
  success signal, so it does not change which plans are best.
- ``sparse``: the environment's reward (in the kitchen, soups delivered).
- ``shaped``: the environment's reward plus its shaped reward.

Returns are discounted with ``gamma`` (0.9 by default: about ten steps of
horizon, the scale of the tasks' remaining plans). An episode that ended by
termination (the task done) has nothing after it; one that was truncated
(the step limit, or cut short) is not terminal: the value of the state it
stopped in is added, discounted (the critic's own estimate, refreshed while
it trains).
"""

from __future__ import annotations

import numpy as np

from brigade.critics.data import StepData
from brigade.errors import ConfigError

REWARDS = ("progress", "sparse", "shaped")
#: Progress is counted in points: a whole task is worth 100.
PROGRESS_POINTS = 100.0


def step_rewards(data: StepData, mode: str) -> np.ndarray:
    """The reward of each row under ``mode`` (see the module docstring)."""
    if mode == "progress":
        return np.asarray((data.progress_next - data.progress) * PROGRESS_POINTS, dtype=np.float64)
    if mode == "sparse":
        return np.asarray(data.reward, dtype=np.float64)
    if mode == "shaped":
        return np.asarray(data.reward + data.shaped_reward, dtype=np.float64)
    raise ConfigError(f"must be one of {REWARDS}, not {mode!r}", key="reward")


def discounted_returns(
    data: StepData,
    rewards: np.ndarray,
    gamma: float,
    bootstrap: np.ndarray | None = None,
) -> np.ndarray:
    """The discounted return from every row to its episode's end.

    Args:
        data: The logged steps.
        rewards: One reward per row.
        gamma: The discount.
        bootstrap: The value of the state after each row (only the rows that end
            a truncated episode are read); ``None``: zero.
    """
    out = np.zeros(len(rewards), dtype=np.float64)
    for start, end in data.episode_bounds:
        last = end - 1
        tail = 0.0
        if data.truncated[last] and not data.terminated[last] and bootstrap is not None:
            tail = float(bootstrap[last])
        for i in range(last, start - 1, -1):
            tail = rewards[i] + gamma * tail
            out[i] = tail
    return out
