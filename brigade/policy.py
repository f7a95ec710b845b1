"""The policy interface (VLA and other low-level policies): observation in, action chunk out.

A vision-language-action policy reads an observation (camera images, joint
state, the language instruction) and returns a short chunk of future actions,
which the control loop plays at its own rate. Observations are plain mappings of
names to arrays or text so that the bus carries them without pickle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brigade.errors import InputError

#: An observation: named arrays (``images.front``: (H, W, 3) uint8, ``state``: (D,)
#: float32...) and texts (``task``: the language instruction).
Observation = Mapping[str, "np.ndarray | str | float | int"]


@dataclass(frozen=True)
class ActionChunk:
    """A chunk of future actions for one robot.

    Attributes:
        actions: Shape (H, D): H steps of a D-dimensional action (float32).
        dt_s: Seconds between two steps of the chunk.
        names: The D action dimensions' names (``joint_1.pos``...), or empty.
        info: What else the policy reports (its latency, a confidence).
    """

    actions: np.ndarray
    dt_s: float
    names: tuple[str, ...] = ()
    info: Mapping[str, float | int | str | bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.actions, np.ndarray) or self.actions.ndim != 2:
            raise InputError("an action chunk's actions are an array of shape (steps, dims)")
        if not self.dt_s > 0:
            raise InputError(f"an action chunk's dt_s is positive, not {self.dt_s!r}")
        if self.names and len(self.names) != self.actions.shape[1]:
            raise InputError(
                f"an action chunk names {len(self.names)} dimensions "
                f"but its actions have {self.actions.shape[1]}"
            )

    @property
    def horizon(self) -> int:
        """The number of steps in the chunk."""
        return int(self.actions.shape[0])


class Policy(ABC):
    """Maps an observation to a chunk of actions."""

    @abstractmethod
    def reset(self, seed: int | None = None) -> None:
        """Forget the previous episode (history, queued actions)."""

    @abstractmethod
    def act(self, observation: Observation) -> ActionChunk:
        """The actions to play from ``observation`` on."""

    def describe(self) -> dict[str, Any]:
        """What the policy is (name, weights, action space), for records."""
        return {"type": type(self).__name__}
