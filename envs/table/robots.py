"""The robot arms of the table, as data both physics engines use.

Each model is a URDF shipped by ``pybullet_data`` (Franka Panda, UFactory
xArm6 with its gripper, KUKA iiwa), so MuJoCo and PyBullet simulate the same
kinematics and meshes. This module says which joints are the arm's, which
drive the gripper, the pose the arm rests in, the position gains, and which
link carries the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RobotModel:
    """One arm model.

    Attributes:
        name: ``panda``, ``xarm6`` or ``iiwa``.
        urdf: The URDF, relative to ``pybullet_data``'s folder.
        arm_joints: The arm's revolute joints, base to flange.
        gripper_joint: The joint that opens and closes the gripper, if any
            (the other finger joints follow it through the URDF's mimic tags).
        gripper_open: ``gripper_joint``'s open and closed positions.
        home: Arm joint positions at rest, tool above the table in front.
        kp: Position gains of the arm joints (N m / rad).
        flange: The link that carries the tool (or the gripper's base).
        tool_offset: From ``flange`` to the tool frame along the flange's z axis
            (metres): between the fingertips, or the tip of a mounted tool.
        fingers: The two links whose contact with a body means it is held.
        hull_overlaps: Link pairs that never touch on the real arm but whose
            convex collision hulls overlap within the joint limits (both
            engines collide convex hulls of the meshes): left out of contacts.
    """

    name: str
    urdf: str
    arm_joints: tuple[str, ...]
    gripper_joint: str | None
    gripper_open: tuple[float, float]
    home: tuple[float, ...]
    kp: tuple[float, ...]
    flange: str
    tool_offset: float
    fingers: tuple[str, str] | None = None
    hull_overlaps: tuple[tuple[str, str], ...] = ()

    def urdf_path(self) -> Path:
        """The URDF file (``pybullet_data`` must be installed: it comes with pybullet)."""
        import pybullet_data

        return Path(pybullet_data.getDataPath()) / self.urdf


MODELS: dict[str, RobotModel] = {
    "panda": RobotModel(
        name="panda",
        urdf="franka_panda/panda.urdf",
        arm_joints=tuple(f"panda_joint{i}" for i in range(1, 8)),
        gripper_joint="panda_finger_joint1",
        gripper_open=(0.04, 0.0),
        home=(0.0, -0.5, 0.0, -2.3, 0.0, 1.8, 0.785),
        kp=(600, 600, 400, 400, 150, 150, 100),
        flange="panda_hand",
        tool_offset=0.105,
        fingers=("panda_leftfinger", "panda_rightfinger"),
    ),
    "xarm6": RobotModel(
        name="xarm6",
        urdf="xarm/xarm6_with_gripper.urdf",
        arm_joints=tuple(f"joint{i}" for i in range(1, 7)),
        gripper_joint="drive_joint",
        gripper_open=(0.0, 0.85),
        home=(0.0, -0.4, -0.8, 0.0, 1.2, 0.0),
        kp=(500, 500, 400, 150, 150, 100),
        flange="xarm_gripper_base_link",
        tool_offset=0.16,
        fingers=("left_finger", "right_finger"),
    ),
    "iiwa": RobotModel(
        name="iiwa",
        urdf="kuka_iiwa/model.urdf",
        arm_joints=tuple(f"lbr_iiwa_joint_{i}" for i in range(1, 8)),
        gripper_joint=None,
        gripper_open=(0.0, 0.0),
        home=(0.0, 0.5, 0.0, -1.4, 0.0, 1.2, 0.0),
        kp=(800, 800, 500, 500, 200, 150, 100),
        flange="lbr_iiwa_link_7",
        tool_offset=0.045,
        # Link 5's hull spans the fork that joint 6 turns in, so it meets link
        # 7's when the wrist bends far (as a dustpan tipping into a bin needs).
        hull_overlaps=(("lbr_iiwa_link_5", "lbr_iiwa_link_7"),),
    ),
}
