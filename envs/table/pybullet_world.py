"""A table scene in PyBullet: the second physics backend of the table.

:class:`PybulletWorld` builds the same :class:`~brigade.envs.table.spec.SceneSpec`
as :class:`~brigade.envs.table.mujoco_world.MujocoWorld`, from the same
dimensions (:mod:`~brigade.envs.table.parts`) and the same URDFs
(:mod:`~brigade.envs.table.robots`), and implements
:class:`~brigade.envs.table.world.TableWorld` on a private ``pybullet`` client,
so several worlds live side by side in one process.

How the MuJoCo scene maps onto PyBullet:

- **Tools** are written into the arm's URDF before loading: every part of
  :data:`~brigade.envs.table.parts.TOOL_PARTS` becomes a link (with its mass)
  on a fixed joint to the flange, and a massless ``brigade_tool`` link marks
  the tool frame. A fixed joint inside the Featherstone tree is exactly
  rigid, where a ``JOINT_FIXED`` constraint to a separate body is solved
  iteratively and lets a tool sag and lag behind a fast arm. Being one
  weld group with the flange, the tool never collides with the flange or the
  link before it (as a geom on MuJoCo's flange body).
- **Self-collision** follows MuJoCo's filter: links joined by fixed joints
  count as one body, a body never touches its parent, the base never touches
  the first link, and the links of the xArm's four-bar gripper never touch
  each other.
- **Servos**: PyBullet's position motor is a velocity constraint that the
  solver meets with at most ``maxForce``. With ``velocityGain`` 1 it asks for
  ``positionGain * error / timestep`` each step, a first-order lag of
  ``timestep / positionGain`` seconds that holds a pose exactly under gravity.
  The lag is set to the velocity lag of MuJoCo's servo, ``kv / kp``, so the
  arms follow a trajectory alike in both engines (see :func:`servo_lag`).
  MuJoCo compensates gravity for free; here the motor carries it, within a
  force limit of ``kp`` times one radian.
- **Mimic joints**, which PyBullet ignores, become gear constraints with the
  URDF's multipliers: the Panda's second finger follows the first, the
  xArm's five linkage joints follow ``drive_joint``, and only the gripper
  joint has a servo, as in MuJoCo (one actuator, mimics as equalities). Two
  independently driven Panda fingers would let a held cube and both fingers
  drift sideways together (4.6 mm over a 10 cm lift; 0.01 mm coupled).
- **Suction** is a ``JOINT_FIXED`` constraint from the flange to the body,
  made at the pose the body has when the cup touches it.
- **Snapshots** carry PyBullet's own ``.bullet`` serialisation (positions,
  velocities and the contact manifolds that warm-start the solver, so a
  restored world replays bit for bit), plus what it leaves out: motor
  targets, gripper flags, suction attachments and time.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as pb
from pybullet_utils import bullet_client

from brigade.envs.table.geometry import TABLE_HALF
from brigade.envs.table.parts import (
    CAMERAS,
    FLOOR_Z,
    FRICTION,
    TABLE_RGBA,
    TABLE_THICKNESS,
    TIMESTEP,
    TOOL_FRAME,
    TOOL_PARTS,
    WALL,
    ToolPart,
)
from brigade.envs.table.robots import MODELS, RobotModel
from brigade.envs.table.spec import ArmSpec, BodySpec, SceneSpec
from brigade.envs.table.state import Pose
from brigade.envs.table.world import SUCTION_RANGE, TableWorld

#: MuJoCo's critical damping ratio of the arm servos (``mujoco_world.DAMPRATIO``).
DAMPRATIO = 2.0
#: The joint armature MuJoCo adds to the arm joints (kg m^2): part of the
#: inertia its servo damping is computed from.
ARMATURE = 0.1
#: ... and to the other joints (the grippers').
GRIPPER_ARMATURE = 0.01
#: The link added to every arm at its tool frame.
TOOL_LINK = "brigade_tool"
#: Torsional friction of objects and fingers (metres), MuJoCo's condim-4 value.
SPINNING_FRICTION = 0.01
#: Force limit of the gripper joint's servo. The Panda's ``panda_finger_joint1``
#: has MuJoCo's 20 N, 10 N per finger through the mimic coupling. The xArm's
#: ``drive_joint`` (N m) squeezes a 4 cm cube with 9.6 N per finger at 1 N m;
#: stronger drives push the convex finger hulls into the cube and twist the
#: four-bar (open in the URDF's tree) against its gear constraints, and the
#: cube slips (0.2 mm over a 10 cm lift at 1 N m, 0.7 at 2, 5 at 5, dropped at 10).
GRIPPER_FORCE = {"panda": 20.0, "xarm6": 1.0}
#: Lag of the grippers' servos (s): MuJoCo's ``kv / kp`` (20 / 400 and 1 / 20).
GRIPPER_LAG = 0.05
#: Force limit of the gear constraints that stand in for mimic joints.
GEAR_FORCE = 100.0
#: Share of a gear constraint's position error corrected per step.
GEAR_ERP = 0.2
#: Force limit of a suction attachment (N): far above any food's weight.
SUCTION_FORCE = 200.0
#: Near and far clipping planes of the cameras (m).
NEAR, FAR = 0.02, 8.0
_CONNECTIONS = {"direct": pb.DIRECT, "gui": pb.GUI}


@dataclass(frozen=True)
class Mimic:
    """A joint that follows the gripper joint: ``q = multiplier * q_gripper + offset``."""

    joint: str
    multiplier: float
    offset: float


@dataclass
class ArmIndex:
    """Where one arm sits in the PyBullet world, and its servo settings.

    Attributes:
        name: The agent's name.
        model: The robot model.
        body: The multibody's id.
        joints: The arm joints' indices, base to flange.
        lower: The arm joints' lower limits (targets are clipped to them, as
            MuJoCo's ``ctrlrange`` does).
        upper: Their upper limits.
        gains: ``positionGain`` of each arm joint.
        forces: Force limit of each arm joint (N m).
        gripper: The gripper joint (the only one with a servo), or -1.
        followers: The joints tied to it by gear constraints (the URDF's
            mimic joints), with their multiplier and offset.
        flange: The flange link's index.
        tool: The tool-frame link's index.
        cup: The suction cup link's index, or -1.
        fingers: The finger links' indices.
        target: The arm's joint targets.
        closed: Whether the gripper is commanded closed.
    """

    name: str
    model: RobotModel
    body: int
    joints: list[int]
    lower: np.ndarray
    upper: np.ndarray
    gains: list[float]
    forces: list[float]
    gripper: int
    followers: list[tuple[int, float, float]]
    flange: int
    tool: int
    cup: int
    fingers: tuple[int, ...]
    target: np.ndarray
    closed: bool = False


@dataclass(frozen=True)
class Attachment:
    """A body held by suction: the constraint and the body's pose in the flange's COM frame."""

    body: str
    constraint: int
    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]


def _xyzw(quaternion: Sequence[float]) -> list[float]:
    """A w-first quaternion in PyBullet's order (x, y, z, w)."""
    return [quaternion[1], quaternion[2], quaternion[3], quaternion[0]]


def _pose(position: Sequence[float], orientation: Sequence[float]) -> Pose:
    """A :class:`Pose` from PyBullet's position and (x, y, z, w) quaternion."""
    x, y, z, w = (float(v) for v in orientation)
    return Pose((float(position[0]), float(position[1]), float(position[2])), (w, x, y, z))


def _yaw(yaw: float) -> list[float]:
    """A rotation about z in PyBullet's quaternion order."""
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def servo_lag(kp: float, inertia: float, dampratio: float = DAMPRATIO) -> float:
    """The velocity lag ``kv / kp`` of MuJoCo's position servo (seconds).

    MuJoCo sets ``kv = 2 * dampratio * sqrt(kp * inertia)``; a servo then
    trails a target moving at speed v by ``v * kv / kp``, and an overdamped
    one settles a step with about this time constant. PyBullet's first-order
    motor with ``positionGain = timestep / lag`` does the same.
    """
    return 2.0 * dampratio * math.sqrt(inertia / kp)


def mimics(model: RobotModel) -> list[Mimic]:
    """The joints that follow the model's gripper joint, from the URDF's mimic tags."""
    if model.gripper_joint is None:
        return []
    root = ET.parse(model.urdf_path()).getroot()
    found = []
    for joint in root.findall("joint"):
        mimic = joint.find("mimic")
        if mimic is not None and mimic.get("joint") == model.gripper_joint:
            found.append(
                Mimic(
                    joint.get("name", ""),
                    float(mimic.get("multiplier", "1")),
                    float(mimic.get("offset", "0")),
                )
            )
    return found


def _inertia(part: ToolPart) -> tuple[float, float, float]:
    """The principal moments of a solid box or cylinder part about its centre."""
    m = part.mass
    if part.shape == "box":
        x, y, z = (2 * s for s in part.size)
        return (m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12)
    r, h = part.size[0], 2 * part.size[1]
    side = m * (3 * r * r + h * h) / 12
    return (side, side, m * r * r / 2)


_INERTIA_KEYS = ("ixx", "iyy", "izz", "ixy", "ixz", "iyz")


def _balance(inertia: ET.Element) -> None:
    """MuJoCo's ``balanceinertia``: principal moments that break A + B >= C become their mean.

    PyBullet would zero such an inertia instead (the xArm's ``link2`` and
    ``link3`` break the rule), which leaves those links without rotational inertia.
    """
    xx, yy, zz, xy, xz, yz = (float(inertia.get(key, "0")) for key in _INERTIA_KEYS)
    moments = np.linalg.eigvalsh([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    if moments[0] + moments[1] >= moments[2]:
        return
    mean = str(float(moments.mean()))
    for key in _INERTIA_KEYS:
        inertia.set(key, mean if key in ("ixx", "iyy", "izz") else "0")


def _geometry(parent: ET.Element, part: ToolPart) -> None:
    geometry = ET.SubElement(parent, "geometry")
    if part.shape == "box":
        size = " ".join(str(2 * s) for s in part.size)
        ET.SubElement(geometry, "box", size=size)
    else:
        ET.SubElement(geometry, "cylinder", radius=str(part.size[0]), length=str(2 * part.size[1]))


def _fixed_link(
    root: ET.Element, parent: str, name: str, position: Sequence[float], tilt: float = 0.0
) -> ET.Element:
    """A link on a fixed joint at ``position`` in ``parent``'s frame, turned ``tilt`` about x."""
    link = ET.SubElement(root, "link", name=name)
    joint = ET.SubElement(root, "joint", name=f"{name}_joint", type="fixed")
    ET.SubElement(joint, "parent", link=parent)
    ET.SubElement(joint, "child", link=name)
    ET.SubElement(joint, "origin", xyz=" ".join(map(str, position)), rpy=f"{tilt} 0 0")
    return link


def arm_urdf(model: RobotModel, tool: str) -> str:
    """The model's URDF with absolute mesh paths, the tool's parts and a tool-frame link."""
    path = model.urdf_path()
    root = ET.parse(path).getroot()
    for mesh in root.iter("mesh"):
        name = mesh.get("filename", "").removeprefix("package://")
        mesh.set("filename", str((path.parent / name).resolve()))
    for inertia in root.iter("inertia"):
        _balance(inertia)
    for part in TOOL_PARTS.get(tool, ()):
        link = _fixed_link(root, model.flange, part.name, part.position, part.tilt)
        inertial = ET.SubElement(link, "inertial")
        ET.SubElement(inertial, "origin", xyz="0 0 0", rpy="0 0 0")
        ET.SubElement(inertial, "mass", value=str(part.mass))
        ixx, iyy, izz = _inertia(part)
        ET.SubElement(
            inertial, "inertia", ixx=str(ixx), iyy=str(iyy), izz=str(izz), ixy="0", ixz="0", iyz="0"
        )
        visual = ET.SubElement(link, "visual")
        _geometry(visual, part)
        material = ET.SubElement(visual, "material", name=f"brigade_{part.name}")
        ET.SubElement(material, "color", rgba=" ".join(map(str, part.rgba)))
        _geometry(ET.SubElement(link, "collision"), part)
    frame = TOOL_FRAME.get(tool, (0.0, 0.0, model.tool_offset))
    marker = ET.SubElement(_fixed_link(root, model.flange, TOOL_LINK, frame), "inertial")
    # Massless: without an inertial element PyBullet would make it 1 kg.
    ET.SubElement(marker, "mass", value="0")
    ET.SubElement(marker, "inertia", attrib=dict.fromkeys(_INERTIA_KEYS, "0"))
    return ET.tostring(root, encoding="unicode")


class PybulletWorld(TableWorld):
    """A table scene simulated by PyBullet (see the module's docstring)."""

    backend = "pybullet"

    def __init__(self, scene: SceneSpec, *, connection: str = "direct"):
        if connection not in _CONNECTIONS:
            raise ValueError(
                f"connection must be one of {sorted(_CONNECTIONS)}, not {connection!r}"
            )
        self.scene = scene
        self.timestep = TIMESTEP
        self.client: Any = bullet_client.BulletClient(connection_mode=_CONNECTIONS[connection])
        client = self.client
        client.setTimeStep(TIMESTEP)
        client.setGravity(0.0, 0.0, -9.81)
        # Sorted overlapping pairs make a step depend on the state alone, not
        # on the order pairs were found in, so restored snapshots replay.
        client.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        self._step = client.stepSimulation
        self._steps = 0
        self._bodies: dict[str, int] = {}
        self._build_static()
        for body in scene.bodies:
            self._bodies[body.name] = self._add_body(body)
        self._movable: dict[str, int] = {b.name: self._bodies[b.name] for b in scene.movable}
        self._welded: dict[str, list[int]] = {}
        self.arms = {arm.name: self._add_arm(arm) for arm in scene.arms}
        self._filter_static()
        self._dustpan_through_table()
        self._attached: dict[str, Attachment] = {}
        self._put_home()
        # The clean start: home() returns here, with no contact history, so
        # every episode starts from the same solver state.
        self._initial = client.saveState()

    # ------------------------------------------------------------------ building

    def _build_static(self) -> None:
        """The floor and the table."""
        client = self.client
        plane = client.createCollisionShape(pb.GEOM_PLANE)
        # A plane has no visual shape in TinyRenderer: a thin box shows the floor.
        floor = client.createVisualShape(
            pb.GEOM_BOX, halfExtents=[3.0, 3.0, 0.005], visualFramePosition=[0, 0, -0.005],
            rgbaColor=[0.3, 0.3, 0.32, 1.0],
        )  # fmt: skip
        self._floor = int(client.createMultiBody(0.0, plane, floor, basePosition=[0, 0, FLOOR_Z]))
        half = [*TABLE_HALF, TABLE_THICKNESS / 2]
        self._table = table = client.createMultiBody(
            0.0,
            client.createCollisionShape(pb.GEOM_BOX, halfExtents=half),
            client.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=list(TABLE_RGBA)),
            basePosition=[0.0, 0.0, -TABLE_THICKNESS / 2],
        )
        self._friction(table, -1)

    def _friction(self, body: int, link: int) -> None:
        """Friction as MuJoCo's objects have it (PyBullet multiplies the two sides' values)."""
        self.client.changeDynamics(
            body, link, lateralFriction=FRICTION, spinningFriction=SPINNING_FRICTION,
            rollingFriction=0.0,
        )  # fmt: skip

    def _add_body(self, body: BodySpec) -> int:
        """A fixture (mass 0) or a movable body; a bin is a floor and four walls."""
        client = self.client
        rgba = list(body.rgba)
        if body.kind == "bin":
            hx, hy, hz = body.size
            parts = (
                ([0, 0, -hz + WALL / 2], [hx, hy, WALL / 2]),
                ([0, hy, 0], [hx, WALL / 2, hz]),
                ([0, -hy, 0], [hx, WALL / 2, hz]),
                ([hx, 0, 0], [WALL / 2, hy, hz]),
                ([-hx, 0, 0], [WALL / 2, hy, hz]),
            )
            positions = [position for position, _ in parts]
            halves = [half for _, half in parts]
            shape = client.createCollisionShapeArray(
                [pb.GEOM_BOX] * 5, halfExtents=halves, collisionFramePositions=positions
            )
            visual = client.createVisualShapeArray(
                [pb.GEOM_BOX] * 5, halfExtents=halves, visualFramePositions=positions,
                rgbaColors=[rgba] * 5,
            )  # fmt: skip
            # As in MuJoCo, the bin's frame has no yaw.
            made = int(client.createMultiBody(0.0, shape, visual, basePosition=list(body.position)))
            self._friction(made, -1)
            return made
        if body.shape == "box":
            shape = client.createCollisionShape(pb.GEOM_BOX, halfExtents=list(body.size))
            visual = client.createVisualShape(
                pb.GEOM_BOX, halfExtents=list(body.size), rgbaColor=rgba
            )
        else:
            radius, half = body.size[0], body.size[1]
            shape = client.createCollisionShape(pb.GEOM_CYLINDER, radius=radius, height=2 * half)
            visual = client.createVisualShape(
                pb.GEOM_CYLINDER, radius=radius, length=2 * half, rgbaColor=rgba
            )
        made = int(
            client.createMultiBody(
                0.0 if body.fixed else body.mass, shape, visual,
                basePosition=list(body.position), baseOrientation=_yaw(body.yaw),
            )
        )  # fmt: skip
        self._friction(made, -1)
        if not body.fixed:
            # MuJoCo has no sleeping; PyBullet's would freeze a body that rested
            # for a while, so a step would depend on how long it had rested.
            client.changeDynamics(made, -1, activationState=pb.ACTIVATION_STATE_DISABLE_SLEEPING)
        return made

    def _add_arm(self, arm: ArmSpec) -> ArmIndex:
        """Load the arm with its tool, filter its self-collisions, set up its servos."""
        client = self.client
        model = MODELS[arm.model]
        with tempfile.TemporaryDirectory(prefix="brigade-urdf-") as folder:
            urdf = Path(folder) / f"{arm.model}.urdf"
            urdf.write_text(arm_urdf(model, arm.tool))
            flags = (
                pb.URDF_USE_SELF_COLLISION
                | pb.URDF_USE_INERTIA_FROM_FILE
                | pb.URDF_ENABLE_CACHED_GRAPHICS_SHAPES
            )
            body = int(
                client.loadURDF(
                    os.fspath(urdf), basePosition=list(arm.base), baseOrientation=_yaw(arm.yaw),
                    useFixedBase=True, flags=flags,
                )
            )  # fmt: skip
        links = {
            client.getJointInfo(body, j)[12].decode(): j for j in range(client.getNumJoints(body))
        }
        joints = {
            client.getJointInfo(body, j)[1].decode(): j for j in range(client.getNumJoints(body))
        }
        self._welded[arm.name] = self._filter_self_collisions(arm, body)
        # MuJoCo's default friction is 1 on every geom, PyBullet's 0.5 on links.
        for link in range(-1, len(links)):
            self._friction(body, link)
        client.changeDynamics(body, -1, activationState=pb.ACTIVATION_STATE_DISABLE_SLEEPING)
        arm_joints = [joints[name] for name in model.arm_joints]
        info = [client.getJointInfo(body, j) for j in arm_joints]
        lower = np.array([i[8] for i in info])
        upper = np.array([i[9] for i in info])
        gripper = -1
        followers: list[tuple[int, float, float]] = []
        if model.gripper_joint is not None:
            gripper = drive = joints[model.gripper_joint]
            for mimic in mimics(model):
                follower = joints[mimic.joint]
                followers.append((follower, mimic.multiplier, mimic.offset))
                # The follower's default velocity motor would brake the linkage.
                client.setJointMotorControl2(body, follower, pb.VELOCITY_CONTROL, force=0.0)
                # q_follower - multiplier * q_drive = offset (PyBullet's gear
                # constraint holds q_parent + ratio * q_child at the target).
                gear = client.createConstraint(
                    body, follower, body, drive, pb.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0]
                )
                client.changeConstraint(
                    gear, gearRatio=-mimic.multiplier, maxForce=GEAR_FORCE, erp=GEAR_ERP,
                    relativePositionTarget=mimic.offset,
                )  # fmt: skip
        fingers: tuple[int, ...] = ()
        if model.fingers is not None:
            fingers = tuple(links[f] for f in model.fingers)
        cup = links["suction_cup"] if arm.tool == "suction" else -1
        index = ArmIndex(
            name=arm.name,
            model=model,
            body=body,
            joints=arm_joints,
            lower=lower,
            upper=upper,
            gains=[],
            # MuJoCo's servo torque at a one-radian error: far above the gravity
            # loads, yet bounded, so an arm pressing on the table yields like a spring.
            forces=[float(kp) for kp in model.kp],
            gripper=gripper,
            followers=followers,
            flange=links[model.flange],
            tool=links[TOOL_LINK],
            cup=cup,
            fingers=fingers,
            target=np.array(model.home, dtype=float),
        )
        self._reset_arm(index)
        index.gains = self._servo_gains(index)
        return index

    def _filter_self_collisions(self, arm: ArmSpec, body: int) -> list[int]:
        """Keep only the link pairs that MuJoCo collides (see the module's docstring).

        MuJoCo merges bodies joined without a joint into one and never
        collides a body with its parent, except when one side is the world
        (the fixed base): hence the explicit base and first-link exclude.
        """
        client = self.client
        count = client.getNumJoints(body)
        parent = {j: client.getJointInfo(body, j)[16] for j in range(count)}
        kind = {j: client.getJointInfo(body, j)[2] for j in range(count)}
        names = {j: client.getJointInfo(body, j)[12].decode() for j in range(count)}
        names[-1] = client.getBodyInfo(body)[0].decode()
        weld: dict[int, int] = {-1: -1}  # -1: the world, to which the base is fixed
        for j in range(count):  # parents come before their children
            weld[j] = weld[parent[j]] if kind[j] == pb.JOINT_FIXED else j

        def weld_parent(link: int) -> int:
            return weld[parent[weld[link]]] if weld[link] >= 0 else -1

        model = MODELS[arm.model]
        # MuJoCo's bodies in order, without a URDF link called "world".
        order = [link for link in range(-1, count) if names[link] != "world"]
        excluded = {frozenset(order[:2])}
        if arm.model == "xarm6":
            flange = next(j for j in range(count) if names[j] == model.flange)
            grip = [flange, *self._descendants(flange, parent)]
            excluded |= {frozenset((a, b)) for a in grip for b in grip if a != b}
        link = {name: index for index, name in names.items()}
        excluded |= {frozenset((link[a], link[b])) for a, b in model.hull_overlaps}
        for a in range(-1, count):
            for b in range(a + 1, count):
                wa, wb = weld[a], weld[b]
                same = wa == wb
                family = wa >= 0 and wb >= 0 and (wa == weld_parent(b) or wb == weld_parent(a))
                if same or family or frozenset((a, b)) in excluded:
                    client.setCollisionFilterPair(body, body, a, b, 0)
        return [link for link in range(count) if weld[link] < 0]

    def _filter_static(self) -> None:
        """No contacts between things welded to the world, as in MuJoCo.

        Links on fixed joints to a fixed base (the xArm's ``link_base``) are
        not static to PyBullet, so they would touch the table they stand on.
        """
        static = [(self._floor, -1), (self._table, -1)]
        static += [(self._bodies[b.name], -1) for b in self.scene.bodies if b.fixed]
        for arm, links in self._welded.items():
            body = self.arms[arm].body
            for link in links:
                for other, other_link in static:
                    self.client.setCollisionFilterPair(body, other, link, other_link, 0)
            static += [(body, -1)] + [(body, link) for link in links]

    def _dustpan_through_table(self) -> None:
        """A dustpan and the table do not collide, as in MuJoCo.

        The pan's ramp reaches just below the table top so a swept cube meets
        no edge (:mod:`~brigade.envs.table.parts`).
        """
        parts = {part.name for part in TOOL_PARTS["dustpan"]} | {TOOL_LINK}
        for arm in self.scene.arms:
            if arm.tool != "dustpan":
                continue
            body = self.arms[arm.name].body
            for link in range(self.client.getNumJoints(body)):
                name = self.client.getJointInfo(body, link)[12].decode()
                if name in parts:
                    for static in (self._table, self._floor):
                        self.client.setCollisionFilterPair(body, static, link, -1, 0)

    @staticmethod
    def _descendants(link: int, parent: Mapping[int, int]) -> list[int]:
        found: list[int] = []
        for child in sorted(parent):
            if parent[child] == link or parent[child] in found:
                found.append(child)
        return found

    def _servo_gains(self, index: ArmIndex) -> list[float]:
        """``positionGain`` per arm joint, from MuJoCo's servo lag (:func:`servo_lag`).

        MuJoCo takes the inertia a servo sees from the joint-space inertia at
        the zero configuration, armature included: ``1 / (M^-1)_jj``.
        """
        client = self.client
        movable = [
            j
            for j in range(client.getNumJoints(index.body))
            if client.getJointInfo(index.body, j)[2] != pb.JOINT_FIXED
        ]
        mass = np.array(client.calculateMassMatrix(index.body, [0.0] * len(movable)))
        armature = [ARMATURE if j in index.joints else GRIPPER_ARMATURE for j in movable]
        inverse = np.linalg.inv(mass + np.diag(armature))
        gains = []
        for joint, kp in zip(index.joints, index.model.kp):
            inertia = 1.0 / float(inverse[movable.index(joint), movable.index(joint)])
            gains.append(TIMESTEP / servo_lag(kp, inertia))
        return gains

    # ------------------------------------------------------------------ commands to motors

    def _apply_arm(self, index: ArmIndex) -> None:
        self.client.setJointMotorControlArray(
            index.body, index.joints, pb.POSITION_CONTROL,
            targetPositions=list(index.target), targetVelocities=[0.0] * len(index.joints),
            forces=index.forces, positionGains=index.gains,
            velocityGains=[1.0] * len(index.joints),
        )  # fmt: skip

    def _apply_gripper(self, index: ArmIndex) -> None:
        if index.gripper < 0:
            return
        target = index.model.gripper_open[1 if index.closed else 0]
        self.client.setJointMotorControl2(
            index.body, index.gripper, pb.POSITION_CONTROL, targetPosition=target,
            targetVelocity=0.0, force=GRIPPER_FORCE[index.model.name],
            positionGain=TIMESTEP / GRIPPER_LAG, velocityGain=1.0,
        )  # fmt: skip

    def _reset_arm(self, index: ArmIndex) -> None:
        """The arm's joints at home, gripper open, at rest; targets to match (not yet applied)."""
        for joint, q in zip(index.joints, index.model.home):
            self.client.resetJointState(index.body, joint, q, 0.0)
        index.target = np.array(index.model.home, dtype=float)
        index.closed = False
        opened = index.model.gripper_open[0]
        if index.gripper >= 0:
            self.client.resetJointState(index.body, index.gripper, opened, 0.0)
        for joint, multiplier, offset in index.followers:
            self.client.resetJointState(index.body, joint, multiplier * opened + offset, 0.0)

    def _put_home(self) -> None:
        for index in self.arms.values():
            self._reset_arm(index)
            self._apply_arm(index)
            self._apply_gripper(index)
        for body in self.scene.movable:
            self.client.resetBasePositionAndOrientation(
                self._movable[body.name], list(body.position), _yaw(body.yaw)
            )
            self.client.resetBaseVelocity(self._movable[body.name], [0, 0, 0], [0, 0, 0])
        self._steps = 0

    # ------------------------------------------------------------------ episode

    def home(self) -> None:
        """Every arm at rest, grippers open, suction off, objects at their start; time zero."""
        self._release_all()
        self.client.restoreState(self._initial)
        self._put_home()

    def place_bodies(self, poses: Mapping[str, Pose]) -> None:
        """Put movable bodies at rest at the given poses."""
        for name, pose in poses.items():
            if name not in self._movable:
                raise KeyError(f"{name!r} is not a movable body of this scene")
            body = self._movable[name]
            self.client.resetBasePositionAndOrientation(
                body, list(pose.position), _xyzw(pose.quaternion)
            )
            self.client.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])

    @property
    def time(self) -> float:
        """Simulated seconds since :meth:`home`."""
        return float(self._steps * self.timestep)

    def step(self, steps: int = 1) -> None:
        """Advance the physics."""
        for _ in range(steps):
            self._step()
        self._steps += steps

    # ------------------------------------------------------------------ commands

    def arm_q(self, arm: str) -> np.ndarray:
        """The arm's joint positions."""
        index = self.arms[arm]
        states = self.client.getJointStates(index.body, index.joints)
        return np.array([state[0] for state in states])

    def command_arm(self, arm: str, q: np.ndarray) -> None:
        """Set the arm's joint position targets (clipped to the joint limits)."""
        index = self.arms[arm]
        index.target = np.clip(np.asarray(q, dtype=float), index.lower, index.upper)
        self._apply_arm(index)

    def command_gripper(self, arm: str, closed: bool) -> None:
        """Close or open the gripper."""
        index = self.arms[arm]
        if index.gripper < 0:
            raise ValueError(f"{arm} has no gripper (it carries a {self.scene.arm(arm).tool})")
        index.closed = closed
        self._apply_gripper(index)

    def suction(self, arm: str, on: bool) -> str | None:
        """Switch suction on (attaching what touches the cup) or off."""
        index = self.arms[arm]
        if index.cup < 0:
            raise ValueError(f"{arm} has no suction cup (it carries a {self.scene.arm(arm).tool})")
        self._release(arm)
        if not on:
            return None
        touching = self._touching_cup(index)
        if touching is None:
            return None
        # The constraint keeps the body where it is now relative to the flange.
        # PyBullet's constraint frames are given in the links' centre-of-mass frames.
        flange = self.client.getLinkState(index.body, index.flange, computeForwardKinematics=True)
        body = self.client.getBasePositionAndOrientation(self._movable[touching])
        inverse = self.client.invertTransform(flange[0], flange[1])
        position, orientation = self.client.multiplyTransforms(*inverse, body[0], body[1])
        self._attach(arm, touching, tuple(position), tuple(orientation))
        return touching

    def _attach(
        self,
        arm: str,
        name: str,
        position: tuple[float, float, float],
        orientation: tuple[float, float, float, float],
    ) -> None:
        index = self.arms[arm]
        constraint = int(
            self.client.createConstraint(
                index.body, index.flange, self._movable[name], -1, pb.JOINT_FIXED, [0, 0, 0],
                list(position), [0, 0, 0], list(orientation), [0, 0, 0, 1],
            )
        )  # fmt: skip
        self.client.changeConstraint(constraint, maxForce=SUCTION_FORCE)
        self._attached[arm] = Attachment(name, constraint, position, orientation)

    def _release(self, arm: str) -> None:
        attachment = self._attached.pop(arm, None)
        if attachment is not None:
            self.client.removeConstraint(attachment.constraint)

    def _release_all(self) -> None:
        for arm in list(self._attached):
            self._release(arm)

    def _touching_cup(self, index: ArmIndex) -> str | None:
        """The movable body nearest the cup within :data:`SUCTION_RANGE`."""
        best, nearest = None, SUCTION_RANGE
        for name, body in self._movable.items():
            points = self.client.getClosestPoints(
                index.body, body, SUCTION_RANGE, linkIndexA=index.cup, linkIndexB=-1
            )
            for point in points:
                if point[8] < nearest:
                    best, nearest = name, float(point[8])
        return best

    def grasped(self, arm: str) -> str | None:
        """The body held by suction, or touched by both closed fingers."""
        attachment = self._attached.get(arm)
        if attachment is not None:
            return attachment.body
        index = self.arms[arm]
        if not index.fingers or not index.closed:
            return None
        touched: dict[int, set[int]] = {}
        for finger in index.fingers:
            for contact in self.client.getContactPoints(bodyA=index.body, linkIndexA=finger):
                touched.setdefault(int(contact[2]), set()).add(finger)
        for name, body in self._movable.items():
            if len(touched.get(body, ())) == 2:
                return name
        return None

    # ------------------------------------------------------------------ reading

    def tool_pose(self, arm: str) -> Pose:
        """The arm's tool frame in the world."""
        index = self.arms[arm]
        state = self.client.getLinkState(index.body, index.tool, computeForwardKinematics=True)
        return _pose(state[4], state[5])

    def body_pose(self, name: str) -> Pose:
        """A body's pose in the world."""
        if name not in self._bodies:
            raise KeyError(f"{name!r} is not a body of this scene")
        position, orientation = self.client.getBasePositionAndOrientation(self._bodies[name])
        return _pose(position, orientation)

    # ------------------------------------------------------------------ state capture

    def _joint_states(self) -> np.ndarray:
        """Position and velocity of every joint of every arm, in order, (n, 2)."""
        rows = []
        for index in self.arms.values():
            count = self.client.getNumJoints(index.body)
            rows += [state[:2] for state in self.client.getJointStates(index.body, range(count))]
        return np.array(rows, dtype=float).reshape(-1, 2)

    def _body_states(self) -> np.ndarray:
        """Position, quaternion, linear and angular velocity of every movable body, (n, 13)."""
        rows = []
        for body in self._movable.values():
            position, orientation = self.client.getBasePositionAndOrientation(body)
            linear, angular = self.client.getBaseVelocity(body)
            rows.append([*position, *orientation, *linear, *angular])
        return np.array(rows, dtype=float).reshape(-1, 13)

    def snapshot(self) -> bytes:
        """The full physics state, the servo targets, the gripper flags and the attachments.

        An ``.npz`` archive. PyBullet's ``.bullet`` serialisation carries the
        contact manifolds besides positions and velocities; restoring them is
        what makes a restored world replay bit for bit (resetting positions and
        velocities alone would leave the solver's warm start from another
        moment). The joint and body states are stored again in the clear, to
        check the restore against.
        """
        with tempfile.TemporaryDirectory(prefix="brigade-snapshot-") as folder:
            path = os.path.join(folder, "state.bullet")
            self.client.saveBullet(path)
            bullet = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
        arms = list(self.arms)
        bodies = list(self._movable)
        attached = [(arms.index(arm), bodies.index(a.body)) for arm, a in self._attached.items()]
        relative = [[*a.position, *a.orientation] for a in self._attached.values()]
        buffer = io.BytesIO()
        np.savez(
            buffer,
            bullet=bullet,
            joints=self._joint_states(),
            bodies=self._body_states(),
            targets=np.concatenate([index.target for index in self.arms.values()]),
            closed=np.array([index.closed for index in self.arms.values()], dtype=bool),
            attached=np.array(attached, dtype=np.int64).reshape(-1, 2),
            relative=np.array(relative, dtype=float).reshape(-1, 7),
            steps=np.array(self._steps, dtype=np.int64),
        )
        return buffer.getvalue()

    def restore(self, snapshot: bytes) -> None:
        """Return to a state captured by :meth:`snapshot` (of this world or one of the same scene).

        Raises:
            ValueError: The snapshot was taken of another scene.
        """
        with np.load(io.BytesIO(snapshot)) as saved:
            data = {key: saved[key] for key in saved.files}
        arms = list(self.arms.values())
        joints, bodies = data["joints"], data["bodies"]
        targets = sum(len(index.joints) for index in arms)
        if (
            joints.shape != self._joint_states().shape
            or bodies.shape != (len(self._movable), 13)
            or data["targets"].shape != (targets,)
        ):
            raise ValueError("this snapshot was taken of another scene")
        self._release_all()
        with tempfile.TemporaryDirectory(prefix="brigade-snapshot-") as folder:
            path = os.path.join(folder, "state.bullet")
            Path(path).write_bytes(data["bullet"].tobytes())
            self.client.restoreState(fileName=path)
        if not (
            np.array_equal(self._joint_states(), joints)
            and np.array_equal(self._body_states(), bodies)
        ):
            raise ValueError("this snapshot was taken of another scene")
        start = 0
        for index, closed in zip(arms, data["closed"]):
            index.target = data["targets"][start : start + len(index.joints)].copy()
            start += len(index.joints)
            index.closed = bool(closed)
            self._apply_arm(index)
            self._apply_gripper(index)
        names = list(self._movable)
        for (arm, body), pose in zip(data["attached"], data["relative"]):
            position = (float(pose[0]), float(pose[1]), float(pose[2]))
            orientation = (float(pose[3]), float(pose[4]), float(pose[5]), float(pose[6]))
            self._attach(arms[int(arm)].name, names[int(body)], position, orientation)
        self._steps = int(data["steps"])

    def render(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        """An RGB picture from a named camera, drawn by PyBullet's TinyRenderer."""
        view = next((c for c in CAMERAS if c.name == camera), None)
        if view is None:
            raise KeyError(f"no camera {camera!r}; there are {[c.name for c in CAMERAS]}")
        client = self.client
        # Up = +z as MuJoCo's cameras: the top camera sits a millimetre towards
        # -y of its target, which turns image-up towards +y.
        matrix = client.computeViewMatrix(list(view.position), list(view.target), [0, 0, 1])
        projection = client.computeProjectionMatrixFOV(view.fovy, width / height, NEAR, FAR)
        image = client.getCameraImage(
            width, height, matrix, projection, renderer=pb.ER_TINY_RENDERER,
            flags=pb.ER_NO_SEGMENTATION_MASK,
        )  # fmt: skip
        rgba = np.asarray(image[2], dtype=np.uint8).reshape(height, width, 4)
        return np.ascontiguousarray(rgba[:, :, :3])

    def close(self) -> None:
        """Disconnect from the physics server."""
        self.client.disconnect()
