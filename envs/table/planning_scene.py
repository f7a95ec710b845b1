"""A kinematic copy of a table scene for IK, collision checks and motion planning.

Skills plan in MuJoCo's kinematics whatever engine executes them: the
:class:`PlanningScene` is the scene compiled once more in MuJoCo, never
stepped, and synchronised from the executing :class:`~brigade.envs.table.world.TableWorld`
(joint positions, object poses, what each arm holds). Checking one joint
configuration is a forward-kinematics pass and ``mj_collision``; held objects
are moved with their holder's flange first, as rigid attachments.

Every body belongs to a *group*: an arm (all its links and its tool), an
object, a fixture, or ``table`` (the table and the floor). Collisions are
reported per pair of groups and filtered by what the current motion allows
(fingers touching the cube they are about to grasp, a dustpan resting on the
table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import mujoco
import numpy as np

from brigade.envs.table.geometry import Vec3
from brigade.envs.table.mujoco_world import MujocoWorld
from brigade.envs.table.spec import SceneSpec
from brigade.envs.table.world import TableWorld

#: Penetration below this depth is touching, not colliding (metres).
TOUCH_DEPTH = 5e-4
TABLE = "table"


@dataclass(frozen=True)
class Collision:
    """Two groups in contact, and the bodies that touch."""

    group1: str
    group2: str
    body1: str
    body2: str
    depth: float

    def __str__(self) -> str:
        def name(group: str, body: str) -> str:
            part = body.split("/", 1)[-1]
            return group if part == group else f"{group} ({part})"

        return f"{name(self.group1, self.body1)} and {name(self.group2, self.body2)}"


def pair(a: str, b: str) -> frozenset[str]:
    """An unordered pair of group names (for allowed-contact sets)."""
    return frozenset((a, b))


class PlanningScene:
    """The scene's kinematics and collisions, detached from the executing physics."""

    def __init__(self, scene: SceneSpec):
        self.kinematics = MujocoWorld(scene)
        self.scene = scene
        self.model = self.kinematics.model
        self.data = self.kinematics.data
        self.arms = self.kinematics.arms
        model = self.model
        self.group_of_body: list[str] = []
        for body in range(model.nbody):
            name = model.body(body).name
            if body == 0:
                self.group_of_body.append(TABLE)
            elif "/" in name:
                self.group_of_body.append(name.split("/", 1)[0])
            else:
                self.group_of_body.append(name)
        self._body_names = [model.body(b).name for b in range(model.nbody)]
        self._free = {
            b.name: int(model.jnt_qposadr[model.body_jntadr[model.body(b.name).id]])
            for b in scene.movable
        }
        #: arm -> [(body, position and quaternion of the body in the flange frame)]
        self.attached: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}

    # ------------------------------------------------------------------ state

    def sync(self, world: TableWorld) -> None:
        """Copy joint positions, object poses and attachments from the executing world."""
        for arm in self.arms:
            self.data.qpos[self.arms[arm].qpos] = world.arm_q(arm)
        for body, adr in self._free.items():
            pose = world.body_pose(body)
            self.data.qpos[adr : adr + 3] = pose.position
            self.data.qpos[adr + 3 : adr + 7] = pose.quaternion
        mujoco.mj_kinematics(self.model, self.data)
        self.attached.clear()
        for arm in self.arms:
            held = world.grasped(arm)
            if held is not None:
                self.attach(arm, held)

    def q(self, arm: str) -> np.ndarray:
        """The arm's joint positions in the planning scene."""
        q: np.ndarray = self.data.qpos[self.arms[arm].qpos].copy()
        return q

    def set_q(self, configuration: Mapping[str, np.ndarray]) -> None:
        """Set some arms' joint positions; held objects follow (kinematics updated)."""
        for arm, q in configuration.items():
            self.data.qpos[self.arms[arm].qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        if self.attached:
            for arm, loads in self.attached.items():
                flange = self.arms[arm].flange
                for body, position, quaternion in loads:
                    adr = self._free[body]
                    mujoco.mju_mulPose(
                        self.data.qpos[adr : adr + 3], self.data.qpos[adr + 3 : adr + 7],
                        self.data.xpos[flange], self.data.xquat[flange], position, quaternion,
                    )  # fmt: skip
            mujoco.mj_kinematics(self.model, self.data)

    def attach(self, arm: str, body: str) -> None:
        """Carry ``body`` with ``arm``'s flange from now on, at its current relative pose."""
        flange = self.arms[arm].flange
        body_id = self.model.body(body).id
        inverse_position, inverse_quaternion = np.empty(3), np.empty(4)
        mujoco.mju_negPose(
            inverse_position, inverse_quaternion, self.data.xpos[flange], self.data.xquat[flange]
        )
        position, quaternion = np.empty(3), np.empty(4)
        mujoco.mju_mulPose(
            position, quaternion, inverse_position, inverse_quaternion,
            self.data.xpos[body_id], self.data.xquat[body_id],
        )  # fmt: skip
        self.attached.setdefault(arm, []).append((body, position, quaternion))

    def detach(self, arm: str) -> None:
        """Stop carrying what ``arm`` carries (it stays where it is)."""
        self.attached.pop(arm, None)

    def place(self, body: str, position: Vec3) -> None:
        """Put a free body somewhere (the planning copy only): where an action leaves it."""
        adr = self._free[body]
        self.data.qpos[adr : adr + 3] = position
        mujoco.mj_kinematics(self.model, self.data)

    @property
    def static_groups(self) -> list[str]:
        """The groups that are not arms: the table, fixtures and objects."""
        return [TABLE, *(b.name for b in self.scene.bodies)]

    def tool_position(self, arm: str) -> np.ndarray:
        """The arm's tool frame position in the planning scene."""
        position: np.ndarray = self.data.site_xpos[self.arms[arm].tool_site].copy()
        return position

    # ------------------------------------------------------------------ collisions

    def collisions(
        self, moving: Iterable[str], allow: Iterable[frozenset[str]] = ()
    ) -> list[Collision]:
        """Contacts deeper than :data:`TOUCH_DEPTH` that involve a moving group.

        Args:
            moving: The arms in motion (what they hold moves with them).
            allow: Group pairs that may touch (e.g. a gripper and the cube it grasps).
        """
        moving_groups = set(moving)
        allowed = set(allow)
        for arm in list(moving_groups):
            for body, _, _ in self.attached.get(arm, ()):
                moving_groups.add(body)
                allowed.add(pair(arm, body))
        mujoco.mj_collision(self.model, self.data)
        found: dict[frozenset[str], Collision] = {}
        bodies = self.model.geom_bodyid
        for contact in self.data.contact[: self.data.ncon]:
            if contact.dist > -TOUCH_DEPTH:
                continue
            b1, b2 = int(bodies[contact.geom1]), int(bodies[contact.geom2])
            g1, g2 = self.group_of_body[b1], self.group_of_body[b2]
            if g1 not in moving_groups and g2 not in moving_groups:
                continue
            key = pair(g1, g2)
            if key in allowed or (g1 == g2 and g1 not in self.arms):
                continue
            depth = -float(contact.dist)
            if key not in found or found[key].depth < depth:
                found[key] = Collision(g1, g2, self._body_names[b1], self._body_names[b2], depth)
        return sorted(found.values(), key=lambda c: (c.group1, c.group2))
