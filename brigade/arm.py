"""The arm interface: one robot arm, simulated or real, at the joint level.

Modelled on LeRobot's robots: an arm declares the features of its observations
and actions, reads observations, and ``send_action`` returns the action that was
really sent after the safety layer clipped it, so callers record the truth.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

#: An arm's observation or action: named scalars and arrays (``joint_1.pos``: 0.3,
#: ``images.wrist``: (H, W, 3) uint8).
ArmData = Mapping[str, "float | np.ndarray"]


@dataclass(frozen=True)
class Feature:
    """One named entry of an arm's observations or actions.

    Attributes:
        dtype: The numpy dtype name (``float32``, ``uint8``).
        shape: The shape (``()`` for a scalar).
        unit: The unit (``rad``, ``m``, ``""`` for images).
    """

    dtype: str
    shape: tuple[int, ...] = ()
    unit: str = ""


class Arm(ABC):
    """One robot arm. Use it as a context manager so it always disconnects.

    Attributes:
        name: The arm's name on its cell (``alice``).
    """

    name: str = "arm"

    @abstractmethod
    def connect(self) -> None:
        """Open the connection (motors enabled, cameras streaming)."""

    @abstractmethod
    def disconnect(self) -> None:
        """Stop safely and close the connection."""

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        """Whether the arm is connected."""

    @property
    @abstractmethod
    def observation_features(self) -> dict[str, Feature]:
        """The entries of :meth:`get_observation`."""

    @property
    @abstractmethod
    def action_features(self) -> dict[str, Feature]:
        """The entries :meth:`send_action` takes."""

    @abstractmethod
    def get_observation(self) -> dict[str, Any]:
        """The current observation, with every entry of :attr:`observation_features`."""

    @abstractmethod
    def send_action(self, action: ArmData) -> dict[str, Any]:
        """Command ``action``; returns what was really sent after safety clipping."""

    def __enter__(self) -> Arm:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()
