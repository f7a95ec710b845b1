"""A table scene in MuJoCo: the arms, their tools, the fixtures and the objects.

:func:`build_spec` turns a :class:`~brigade.envs.table.spec.SceneSpec` into an
``MjSpec``; :class:`MujocoWorld` holds the compiled model and its data, puts
the arms in their rest pose, and reads the physics back into the
:class:`~brigade.envs.table.state.TableState` that the tasks judge. Contact
settings are those under which a Panda holds a 4 cm cube through a lift and a
sideways move with under half a millimetre of slip (docs/table.md).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass

import mujoco
import numpy as np

from brigade.envs.table.geometry import TABLE_HALF, Vec3
from brigade.envs.table.mujoco_urdf import urdf_for_mujoco
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
)
from brigade.envs.table.robots import MODELS, RobotModel
from brigade.envs.table.spec import ArmSpec, BodySpec, SceneSpec
from brigade.envs.table.state import Pose
from brigade.envs.table.world import SUCTION_RANGE, TableWorld

#: Critical damping ratio of the arms' position servos (2 settles a 0.3 rad step
#: in 0.5-0.8 s with a few hundredths of a radian of overshoot).
DAMPRATIO = 2.0
#: Contact stiffness for objects and fingers (a stiffer contact than MuJoCo's
#: default keeps grasped objects from creeping).
SOLREF = (0.005, 1.0)


@dataclass(frozen=True)
class ArmIndex:
    """Where one arm's joints and actuators sit in the compiled model."""

    name: str
    model: RobotModel
    qpos: np.ndarray
    dof: np.ndarray
    actuators: np.ndarray
    gripper_actuator: int | None
    tool_site: int
    fingers: tuple[int, ...]
    flange: int
    cup: int
    suction: dict[str, int]


def _quat_yaw(yaw: float) -> list[float]:
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def _robot_spec(arm: ArmSpec) -> mujoco.MjSpec:
    """One arm with actuators, gravity compensation, contact excludes and its tool."""
    model = MODELS[arm.model]
    spec = mujoco.MjSpec.from_string(urdf_for_mujoco(model))
    for geom in spec.geoms:
        if geom.contype:
            geom.group = 3  # collision geometry: hidden in renders
    for body in spec.bodies:
        if body.name != "world":
            body.gravcomp = 1.0
    for joint in spec.joints:
        in_arm = joint.name in model.arm_joints
        # Armature steadies the tiny link inertias of the URDFs.
        joint.armature = 0.1 if in_arm else 0.01
        joint.damping[0] = max(joint.damping[0], 1.0 if in_arm else 0.1)
    for name, kp in zip(model.arm_joints, model.kp):
        actuator = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=kp, dampratio=DAMPRATIO)
        actuator.ctrlrange = spec.joint(name).range
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    bodies = [b.name for b in spec.bodies if b.name != "world"]
    # The base is welded to the world, so MuJoCo's parent-child contact filter
    # does not cover the base and the first link.
    excludes = [(bodies[0], bodies[1])]
    if arm.model == "xarm6":
        # The gripper is a closed four-bar whose meshes overlap by design.
        grip = bodies[bodies.index("xarm_gripper_base_link") :]
        excludes += [(a, b) for i, a in enumerate(grip) for b in grip[i + 1 :]]
    excludes += list(model.hull_overlaps)
    for a, b in excludes:
        spec.add_exclude(bodyname1=a, bodyname2=b)
    if model.gripper_joint is not None:
        actuator = spec.add_actuator(
            name="gripper", target=model.gripper_joint, trntype=mujoco.mjtTrn.mjTRN_JOINT
        )
        if arm.model == "panda":
            actuator.set_to_position(kp=400, kv=20)
            actuator.forcerange = [-20, 20]  # about 8 N per finger on a held cube
            actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        else:
            actuator.set_to_position(kp=20, kv=1)
        actuator.ctrlrange = sorted(model.gripper_open)
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    flange = spec.body(model.flange)
    _add_tool(flange, arm, model)
    return spec


_GEOM_TYPES = {"box": mujoco.mjtGeom.mjGEOM_BOX, "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER}


def _add_tool(flange: mujoco.MjsBody, arm: ArmSpec, model: RobotModel) -> None:
    """The tool as a body fixed to the flange, and a ``tool`` site at the tool frame.

    A child body rather than geoms on the flange: the flange's URDF inertia
    is explicit, so geoms added to it would not add their mass.
    """
    tool = flange.add_body(name="tool")
    for part in TOOL_PARTS.get(arm.tool, ()):
        tool.add_geom(
            name=part.name, type=_GEOM_TYPES[part.shape], size=list(part.size),
            pos=list(part.position), rgba=list(part.rgba), mass=part.mass,
            quat=[math.cos(part.tilt / 2), math.sin(part.tilt / 2), 0, 0],
        )  # fmt: skip
    if not TOOL_PARTS.get(arm.tool):
        # A massless tool body still needs an inertia for the compiler.
        tool.mass = 1e-4
        tool.inertia = [1e-8, 1e-8, 1e-8]
        tool.explicitinertial = True
    tool.gravcomp = 1.0
    frame = TOOL_FRAME.get(arm.tool, (0.0, 0.0, model.tool_offset))
    tool.add_site(name="tool", pos=list(frame), size=[0.006, 0, 0], rgba=[1, 0, 0, 0.6])


def _add_body(world: mujoco.MjsBody, body: BodySpec) -> None:
    box = _GEOM_TYPES["box"]
    kind = _GEOM_TYPES[body.shape]
    size = list(body.size) if body.shape == "box" else [body.size[0], body.size[1], 0.0]
    if body.kind == "bin":
        frame = world.add_body(name=body.name, pos=list(body.position))
        hx, hy, hz = body.size
        parts = (
            ("floor", [0, 0, -hz + WALL / 2], [hx, hy, WALL / 2]),
            ("wall_n", [0, hy, 0], [hx, WALL / 2, hz]),
            ("wall_s", [0, -hy, 0], [hx, WALL / 2, hz]),
            ("wall_e", [hx, 0, 0], [WALL / 2, hy, hz]),
            ("wall_w", [-hx, 0, 0], [WALL / 2, hy, hz]),
        )
        for name, pos, half in parts:
            frame.add_geom(name=f"{body.name}_{name}", type=box, pos=pos, size=half,
                           rgba=list(body.rgba))  # fmt: skip
        return
    new = world.add_body(name=body.name, pos=list(body.position), quat=_quat_yaw(body.yaw))
    if not body.fixed:
        new.add_freejoint(name=body.name)
    new.add_geom(
        name=body.name, type=kind, size=size, rgba=list(body.rgba),
        mass=body.mass if not body.fixed else 0.0, condim=4, solref=list(SOLREF),
        friction=[FRICTION, 0.01, 0.001],
    )  # fmt: skip


def _look_at(position: Vec3, target: Vec3) -> list[float]:
    """MuJoCo's camera axes (x right, y up) for a camera looking at ``target``."""
    forward = np.subtract(target, position)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return [*map(float, right), *map(float, up)]


def build_spec(scene: SceneSpec) -> mujoco.MjSpec:
    """The whole scene as an ``MjSpec`` (arms prefixed ``<name>/``)."""
    spec = mujoco.MjSpec()
    spec.option.timestep = TIMESTEP
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10
    spec.option.noslip_iterations = 3
    spec.compiler.balanceinertia = True
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.visual.quality.offsamples = 0  # multisampling doubles the cost of a frame
    world = spec.worldbody
    world.add_light(pos=[0, -0.5, 2.5], dir=[0, 0.2, -1], castshadow=False)
    world.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, pos=[0, 0, FLOOR_Z], size=[3, 3, 0.1],
        rgba=[0.3, 0.3, 0.32, 1],
    )  # fmt: skip
    world.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_BOX,
        pos=[0, 0, -TABLE_THICKNESS / 2], size=[*TABLE_HALF, TABLE_THICKNESS / 2],
        rgba=list(TABLE_RGBA), condim=4, solref=list(SOLREF),
    )  # fmt: skip
    for camera in CAMERAS:
        world.add_camera(
            name=camera.name, pos=list(camera.position), fovy=camera.fovy,
            xyaxes=_look_at(camera.position, camera.target),
        )  # fmt: skip
    for body in scene.bodies:
        _add_body(world, body)
    for arm in scene.arms:
        frame = world.add_frame(pos=list(arm.base), quat=_quat_yaw(arm.yaw))
        spec.attach(_robot_spec(arm), prefix=f"{arm.name}/", frame=frame)
    for arm in scene.arms:
        if arm.tool == "dustpan":
            # The pan's ramp reaches below the table top so a cube meets no edge
            # (parts.py); the pan and the table do not collide.
            spec.add_exclude(bodyname1="world", bodyname2=f"{arm.name}/tool")
        if arm.tool != "suction":
            continue
        flange = f"{arm.name}/{MODELS[arm.model].flange}"
        for body in scene.movable:
            # Suction: a weld switched on when the cup touches the object.
            spec.add_equality(
                name=f"{arm.name}/suction/{body.name}", type=mujoco.mjtEq.mjEQ_WELD,
                objtype=mujoco.mjtObj.mjOBJ_BODY, name1=flange, name2=body.name,
                active=False, solref=[0.01, 1.0],
            )  # fmt: skip
    return spec


class MujocoWorld(TableWorld):
    """A compiled table scene and its state."""

    backend = "mujoco"

    def __init__(self, scene: SceneSpec):
        self.scene = scene
        self.timestep = TIMESTEP
        self.spec = build_spec(scene)
        self.model = self.spec.compile()
        self.data = mujoco.MjData(self.model)
        self.arms = {arm.name: self._index(arm) for arm in scene.arms}
        self._body_ids = {b.name: self.model.body(b.name).id for b in scene.movable}
        self._free_qpos = {
            b.name: int(self.model.jnt_qposadr[self.model.body_jntadr[i]])
            for b, i in ((b, self._body_ids[b.name]) for b in scene.movable)
        }
        self._geoms_of_body: dict[int, list[int]] = {}
        for geom in range(self.model.ngeom):
            self._geoms_of_body.setdefault(int(self.model.geom_bodyid[geom]), []).append(geom)
        self._closed = {arm: False for arm in self.arms}
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._stale = False
        self.home()

    def _index(self, arm: ArmSpec) -> ArmIndex:
        model = MODELS[arm.model]
        joints = [self.model.joint(f"{arm.name}/{j}").id for j in model.arm_joints]
        gripper = None
        if model.gripper_joint is not None:
            gripper = self.model.actuator(f"{arm.name}/gripper").id
        fingers: tuple[int, ...] = ()
        if model.fingers is not None:
            fingers = tuple(self.model.body(f"{arm.name}/{f}").id for f in model.fingers)
        suction: dict[str, int] = {}
        cup = -1
        if arm.tool == "suction":
            cup = self.model.geom(f"{arm.name}/suction_cup").id
            suction = {
                b.name: self.model.equality(f"{arm.name}/suction/{b.name}").id
                for b in self.scene.movable
            }
        return ArmIndex(
            name=arm.name,
            model=model,
            qpos=np.array([self.model.jnt_qposadr[j] for j in joints]),
            dof=np.array([self.model.jnt_dofadr[j] for j in joints]),
            actuators=np.array(
                [self.model.actuator(f"{arm.name}/{j}").id for j in model.arm_joints]
            ),
            gripper_actuator=gripper,
            tool_site=self.model.site(f"{arm.name}/tool").id,
            fingers=fingers,
            flange=self.model.body(f"{arm.name}/{model.flange}").id,
            cup=cup,
            suction=suction,
        )

    # ------------------------------------------------------------------ episode

    def home(self) -> None:
        """Every arm at rest, grippers open, suction off, objects at their start; time zero."""
        mujoco.mj_resetData(self.model, self.data)
        for index in self.arms.values():
            self.data.qpos[index.qpos] = index.model.home
            self.data.ctrl[index.actuators] = index.model.home
            if index.gripper_actuator is not None:
                self.data.ctrl[index.gripper_actuator] = index.model.gripper_open[0]
            for eq in index.suction.values():
                self.data.eq_active[eq] = 0
        self._closed = {arm: False for arm in self.arms}
        mujoco.mj_forward(self.model, self.data)

    def place_bodies(self, poses: Mapping[str, Pose]) -> None:
        """Put movable bodies at rest at the given poses."""
        for name, pose in poses.items():
            if name not in self._free_qpos:
                raise KeyError(f"{name!r} is not a movable body of this scene")
            adr = self._free_qpos[name]
            self.data.qpos[adr : adr + 3] = pose.position
            self.data.qpos[adr + 3 : adr + 7] = pose.quaternion
            dof = self.model.jnt_dofadr[self.model.body_jntadr[self._body_ids[name]]]
            self.data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    @property
    def time(self) -> float:
        """Simulated seconds since :meth:`home`."""
        return float(self.data.time)

    def step(self, steps: int = 1) -> None:
        """Advance the physics."""
        mujoco.mj_step(self.model, self.data, nstep=steps)
        self._stale = True

    def _fresh(self) -> None:
        """Bring poses and contacts up to date with the state.

        After ``mj_step`` the positions and contacts in ``data`` are those from
        before the last integration; reads recompute them once, when asked,
        rather than after every step (the control loop never reads them).
        """
        if self._stale:
            mujoco.mj_forward(self.model, self.data)
            self._stale = False

    # ------------------------------------------------------------------ commands

    def arm_q(self, arm: str) -> np.ndarray:
        """The arm's joint positions."""
        q: np.ndarray = self.data.qpos[self.arms[arm].qpos].copy()
        return q

    def command_arm(self, arm: str, q: np.ndarray) -> None:
        """Set the arm's joint position targets."""
        self.data.ctrl[self.arms[arm].actuators] = q

    def command_gripper(self, arm: str, closed: bool) -> None:
        """Close or open the gripper."""
        index = self.arms[arm]
        if index.gripper_actuator is None:
            raise ValueError(f"{arm} has no gripper (it carries a {self.scene.arm(arm).tool})")
        self.data.ctrl[index.gripper_actuator] = index.model.gripper_open[1 if closed else 0]
        self._closed[arm] = closed

    def suction(self, arm: str, on: bool) -> str | None:
        """Switch suction on (attaching what touches the cup) or off."""
        self._fresh()
        index = self.arms[arm]
        if index.cup < 0:
            raise ValueError(f"{arm} has no suction cup (it carries a {self.scene.arm(arm).tool})")
        for eq in index.suction.values():
            self.data.eq_active[eq] = 0
        if not on:
            return None
        touching = self._touching_cup(index)
        if touching is None:
            return None
        eq = index.suction[touching]
        # The weld keeps the body where it is now relative to the flange: its
        # relative pose is the body's pose in the flange frame at contact.
        flange, body = index.flange, self._body_ids[touching]
        relpos = np.empty(3)
        relquat = np.empty(4)
        flange_inv_pos = np.empty(3)
        flange_inv_quat = np.empty(4)
        mujoco.mju_negPose(
            flange_inv_pos, flange_inv_quat, self.data.xpos[flange], self.data.xquat[flange]
        )
        mujoco.mju_mulPose(
            relpos, relquat, flange_inv_pos, flange_inv_quat,
            self.data.xpos[body], self.data.xquat[body],
        )  # fmt: skip
        self.model.eq_data[eq, 0:3] = 0.0
        self.model.eq_data[eq, 3:6] = relpos
        self.model.eq_data[eq, 6:10] = relquat
        self.model.eq_data[eq, 10] = 1.0
        self.data.eq_active[eq] = 1
        return touching

    def _touching_cup(self, index: ArmIndex) -> str | None:
        """The movable body nearest the cup's face within :data:`SUCTION_RANGE`."""
        best, nearest = None, SUCTION_RANGE
        fromto = np.empty(6)
        for name, body in self._body_ids.items():
            for geom in self._geoms_of_body.get(body, ()):
                distance = mujoco.mj_geomDistance(
                    self.model, self.data, index.cup, geom, SUCTION_RANGE * 4, fromto
                )
                if distance < nearest:
                    best, nearest = name, distance
        return best

    def grasped(self, arm: str) -> str | None:
        """The body held by suction, or touched by both closed fingers."""
        self._fresh()
        index = self.arms[arm]
        for name, eq in index.suction.items():
            if self.data.eq_active[eq]:
                return name
        if not index.fingers or not self._closed[arm]:
            return None
        touched: dict[int, set[int]] = {}
        bodies = set(self._body_ids.values())
        for contact in self.data.contact[: self.data.ncon]:
            a = int(self.model.geom_bodyid[contact.geom1])
            b = int(self.model.geom_bodyid[contact.geom2])
            for finger, other in ((a, b), (b, a)):
                if finger in index.fingers and other in bodies:
                    touched.setdefault(other, set()).add(finger)
        for name, body in self._body_ids.items():
            if len(touched.get(body, ())) == 2:
                return name
        return None

    # ------------------------------------------------------------------ reading

    def tool_pose(self, arm: str) -> Pose:
        """The arm's tool frame in the world."""
        self._fresh()
        site = self.arms[arm].tool_site
        quat = np.empty(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[site])
        return Pose(_vec3(self.data.site_xpos[site]), _quat(quat))

    def body_pose(self, name: str) -> Pose:
        """A body's pose in the world."""
        self._fresh()
        body = self.model.body(name).id
        return Pose(_vec3(self.data.xpos[body]), _quat(self.data.xquat[body]))

    # ------------------------------------------------------------------ state capture

    def snapshot(self) -> bytes:
        """The full physics state, the suction welds' poses and the gripper commands."""
        size = mujoco.mj_stateSize(self.model, mujoco.mjtState.mjSTATE_INTEGRATION)
        state = np.empty(size)
        mujoco.mj_getState(self.model, self.data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        closed = np.array([self._closed[a] for a in self.agents], dtype=bool)
        buffer = io.BytesIO()
        np.savez(buffer, state=state, eq_data=self.model.eq_data, closed=closed)
        return buffer.getvalue()

    def restore(self, snapshot: bytes) -> None:
        """Return to a state captured by :meth:`snapshot`."""
        with np.load(io.BytesIO(snapshot)) as saved:
            state, eq_data, closed = saved["state"], saved["eq_data"], saved["closed"]
        expected = mujoco.mj_stateSize(self.model, mujoco.mjtState.mjSTATE_INTEGRATION)
        if state.shape != (expected,) or eq_data.shape != self.model.eq_data.shape:
            raise ValueError("this snapshot was taken of another scene")
        mujoco.mj_setState(self.model, self.data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        self.model.eq_data[:] = eq_data
        self._closed = dict(zip(self.agents, map(bool, closed)))
        mujoco.mj_forward(self.model, self.data)
        self._stale = False

    def render(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        """An RGB picture from a named camera."""
        self._fresh()
        renderer = self._renderers.get((width, height))
        if renderer is None:
            renderer = mujoco.Renderer(self.model, height=height, width=width)
            self._renderers[(width, height)] = renderer
        renderer.update_scene(self.data, camera=camera)
        picture: np.ndarray = renderer.render().copy()
        return picture

    def close(self) -> None:
        """Free the renderers' GL contexts."""
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


def _vec3(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _quat(values: np.ndarray) -> tuple[float, float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))
