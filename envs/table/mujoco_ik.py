"""Inverse kinematics for one arm of a MuJoCo table scene, with ``mink``.

The tool frame (the arm's ``tool`` site) is driven to a target position and,
if given, orientation; every joint outside the arm is frozen, so the other
arms and the objects stay where they are. ``mink`` solves each iteration as a
small quadratic programme with the joint limits as constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

import mink
import numpy as np

from brigade.envs.table.mujoco_world import MujocoWorld
from brigade.envs.table.state import Quaternion

#: Integration step of the differential IK (larger converges in fewer, bolder steps).
DT = 0.1
#: Position and orientation tolerances (metres, radians).
POSITION_TOLERANCE = 1e-3
ORIENTATION_TOLERANCE = 1e-2


@dataclass(frozen=True)
class IKSolution:
    """The result of :meth:`ArmIK.solve`.

    Attributes:
        q: The arm's joint positions (the best found, even when not converged).
        converged: Whether both tolerances were met.
        position_error: Metres from the target.
        orientation_error: Radians from the target (0 when none was asked).
        iterations: Iterations used.
    """

    q: np.ndarray
    converged: bool
    position_error: float
    orientation_error: float
    iterations: int


class ArmIK:
    """IK for the arms of one world."""

    def __init__(self, world: MujocoWorld):
        self.world = world
        self.model = world.model
        self._limits = [mink.ConfigurationLimit(self.model)]

    def solve(
        self,
        arm: str,
        position: tuple[float, float, float],
        quaternion: Quaternion | None = None,
        *,
        start: np.ndarray | None = None,
        max_iterations: int = 60,
    ) -> IKSolution:
        """Joint positions that put ``arm``'s tool frame at the target.

        Args:
            arm: The arm's name.
            position: Target position of the tool frame (world frame).
            quaternion: Target orientation (w, x, y, z); ``None`` leaves it free.
            start: The arm's joint positions to start from (default: the current ones).
            max_iterations: Give up after this many iterations.
        """
        index = self.world.arms[arm]
        configuration = mink.Configuration(self.model)
        qpos = self.world.data.qpos.copy()
        if start is not None:
            qpos[index.qpos] = start
        configuration.update(qpos)
        frame = mink.FrameTask(
            f"{arm}/tool",
            "site",
            position_cost=1.0,
            orientation_cost=1.0 if quaternion is not None else 0.0,
            lm_damping=1e-3,
        )
        if quaternion is not None:
            rotation = mink.SO3(np.asarray(quaternion))
        else:
            # The current orientation as a nominal target; its cost is zero.
            rotation = configuration.get_transform_frame_to_world(f"{arm}/tool", "site").rotation()
        frame.set_target(mink.SE3.from_rotation_and_translation(rotation, np.asarray(position)))
        posture = mink.PostureTask(self.model, cost=1e-3)
        posture.set_target_from_configuration(configuration)
        own = {int(d) for d in index.dof}
        frozen = [d for d in range(self.model.nv) if d not in own]
        constraints = [mink.DofFreezingTask(self.model, dof_indices=frozen)]
        errors = (np.inf, np.inf)
        converged = False
        iterations = 0
        while iterations < max_iterations and not converged:
            iterations += 1
            velocity = mink.solve_ik(
                configuration,
                [frame, posture],
                DT,
                "daqp",
                damping=1e-6,
                limits=self._limits,
                constraints=constraints,
            )
            configuration.integrate_inplace(velocity, DT)
            error = frame.compute_error(configuration)
            errors = (float(np.linalg.norm(error[:3])), float(np.linalg.norm(error[3:])))
            converged = errors[0] < POSITION_TOLERANCE and (
                quaternion is None or errors[1] < ORIENTATION_TOLERANCE
            )
        return IKSolution(
            q=configuration.q[index.qpos].copy(),
            converged=converged,
            position_error=errors[0],
            orientation_error=errors[1] if quaternion is not None else 0.0,
            iterations=iterations,
        )
