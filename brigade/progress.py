"""The progress model interface (VLAC-style): how much closer to the goal one step came.

Given two observations and a language goal, a progress model says how much the
second observation moved towards the goal (a delta, negative when it moved
away) and whether the goal is done. Per-step deltas accumulate as shares of the
remaining progress: ``v(t+1) = v(t) + (1 - v(t)) * delta(t)`` (``REFERENCE.md``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from brigade.policy import Observation


@dataclass(frozen=True)
class ProgressEstimate:
    """A progress model's judgement of one pair of observations.

    Attributes:
        delta: Progress from the first observation to the second, in [-1, 1].
        done: The goal holds in the second observation.
    """

    delta: float
    done: bool


def accumulate(value: float, delta: float) -> float:
    """The next progress value: ``delta`` read as a share of the remaining progress."""
    return value + (1.0 - value) * delta


class ProgressModel(ABC):
    """Judges progress between two observations towards a language goal."""

    @abstractmethod
    def compare(
        self, observation_a: Observation, observation_b: Observation, goal: str
    ) -> ProgressEstimate:
        """How much ``observation_b`` moved towards ``goal`` from ``observation_a``."""

    def describe(self) -> dict[str, Any]:
        """What the model is (name, weights), for records."""
        return {"type": type(self).__name__}
