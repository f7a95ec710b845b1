"""The table's physical state as the tasks read it, whatever the engine.

Backends fill a :class:`TableState` from their physics state: where every
movable body is, where every arm's tool frame is, and what each arm holds.
Tasks decide success, progress and their text descriptions from it alone, so
the two engines are judged by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from brigade.envs.table.geometry import Vec3

Quaternion = tuple[float, float, float, float]
IDENTITY: Quaternion = (1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Pose:
    """A position and an orientation (unit quaternion, w first)."""

    position: Vec3
    quaternion: Quaternion = IDENTITY

    def to_local(self, point: Vec3) -> np.ndarray:
        """``point`` (world frame) expressed in this pose's frame."""
        return rotate(conjugate(self.quaternion), np.subtract(point, self.position))


def conjugate(q: Quaternion) -> Quaternion:
    """The inverse rotation of a unit quaternion."""
    return (q[0], -q[1], -q[2], -q[3])


def rotate(q: Quaternion, v: np.ndarray) -> np.ndarray:
    """Rotate vector ``v`` by unit quaternion ``q`` (w, x, y, z)."""
    w = q[0]
    u = np.array(q[1:], dtype=float)
    v = np.asarray(v, dtype=float)
    out: np.ndarray = 2.0 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * v + 2.0 * w * np.cross(u, v)
    return out


@dataclass(frozen=True)
class TableState:
    """What the tasks see of the physics.

    Attributes:
        bodies: The pose of every movable body, by name.
        tools: The pose of every arm's tool frame (between the fingers, at the
            suction cup, at the broom's head or the dustpan's plate), by arm.
        held: The body each arm holds (grasped or attached), or ``None``.
    """

    bodies: Mapping[str, Pose]
    tools: Mapping[str, Pose]
    held: Mapping[str, str | None]

    def position(self, body: str) -> Vec3:
        """Where ``body`` is."""
        return self.bodies[body].position

    def holder(self, body: str) -> str | None:
        """The arm holding ``body``, if any."""
        for arm, held in self.held.items():
            if held == body:
                return arm
        return None
