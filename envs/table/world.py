"""What a physics backend of the table offers the skills: :class:`TableWorld`.

MuJoCo (:class:`~brigade.envs.table.mujoco_world.MujocoWorld`, the default)
and PyBullet (:class:`~brigade.envs.table.pybullet_world.PybulletWorld`) build
the same :class:`~brigade.envs.table.spec.SceneSpec` and implement this
interface, so skills, verification and the task environment run unchanged on
either. Objects move only through the physics: the interface has no way to
set a held object's pose, only joint targets, the gripper, and suction that
attaches on contact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from brigade.envs.table.spec import SceneSpec
from brigade.envs.table.state import Pose, TableState

#: Suction attaches a body whose surface is at most this far from the cup's face.
SUCTION_RANGE = 0.003


class TableWorld(ABC):
    """A table scene simulated by one physics engine.

    Attributes:
        scene: What was built.
        timestep: Seconds per physics step.
    """

    scene: SceneSpec
    timestep: float
    #: The backend's name as given to ``--backend``.
    backend: str = ""

    @property
    def agents(self) -> tuple[str, ...]:
        """The arms' names, in the scene's order."""
        return tuple(arm.name for arm in self.scene.arms)

    @abstractmethod
    def home(self) -> None:
        """Arms at rest with open grippers and suction off, objects at their start, time zero."""

    @abstractmethod
    def place_bodies(self, poses: Mapping[str, Pose]) -> None:
        """Put movable bodies at rest at the given poses (episode starts only)."""

    @property
    @abstractmethod
    def time(self) -> float:
        """Simulated seconds since :meth:`home`."""

    @abstractmethod
    def step(self, steps: int = 1) -> None:
        """Advance the physics by ``steps`` time steps, holding the current commands."""

    @abstractmethod
    def arm_q(self, arm: str) -> np.ndarray:
        """The arm's joint positions (radians, base to flange)."""

    @abstractmethod
    def command_arm(self, arm: str, q: np.ndarray) -> None:
        """Set the arm's joint position targets (the servos track them as the physics runs)."""

    @abstractmethod
    def command_gripper(self, arm: str, closed: bool) -> None:
        """Close or open the parallel gripper.

        Raises:
            ValueError: The arm has no gripper.
        """

    @abstractmethod
    def suction(self, arm: str, on: bool) -> str | None:
        """Switch suction on (attaching the movable body touching the cup, if any) or off.

        Returns:
            The body now attached, or ``None``.

        Raises:
            ValueError: The arm has no suction cup.
        """

    @abstractmethod
    def grasped(self, arm: str) -> str | None:
        """The body the arm holds: attached by suction, or touched by both closed fingers."""

    @abstractmethod
    def tool_pose(self, arm: str) -> Pose:
        """The arm's tool frame in the world."""

    @abstractmethod
    def body_pose(self, name: str) -> Pose:
        """A body's pose in the world."""

    def read_state(self) -> TableState:
        """The physics as the tasks see it."""
        bodies = {b.name: self.body_pose(b.name) for b in self.scene.movable}
        tools = {arm: self.tool_pose(arm) for arm in self.agents}
        held = {arm: self.grasped(arm) for arm in self.agents}
        return TableState(bodies, tools, held)

    @abstractmethod
    def snapshot(self) -> bytes:
        """The full physics state (positions, velocities, commands, attachments, time)."""

    @abstractmethod
    def restore(self, snapshot: bytes) -> None:
        """Return exactly to a state captured by :meth:`snapshot` of this world."""

    @abstractmethod
    def render(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        """An RGB picture from one of :data:`~brigade.envs.table.parts.CAMERAS`, (H, W, 3) uint8."""
