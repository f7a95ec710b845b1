"""A table scene in MuJoCo: the arms, their tools, the fixtures and the objects.

:func:`build_spec` turns a :class:`~brigade.envs.table.spec.SceneSpec` into an
``MjSpec``; :class:`MujocoWorld` holds the compiled model and its data, puts
the arms in their rest pose, and reads the physics back into the
:class:`~brigade.envs.table.state.TableState` that the tasks judge. Contact
settings are those under which a Panda holds a 4 cm cube through a lift and a
sideways move with under half a millimetre of slip (docs/table.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from brigade.envs.table.geometry import TABLE_HALF, Vec3
from brigade.envs.table.mujoco_urdf import urdf_for_mujoco
from brigade.envs.table.robots import MODELS, RobotModel
from brigade.envs.table.spec import ArmSpec, BodySpec, SceneSpec
from brigade.envs.table.state import Pose, TableState

TIMESTEP = 0.002
TABLE_THICKNESS = 0.05
#: Critical damping ratio of the arms' position servos (2 settles a 0.3 rad step
#: in 0.5-0.8 s with a few hundredths of a radian of overshoot).
DAMPRATIO = 2.0
#: Contact stiffness for objects and fingers (a stiffer contact than MuJoCo's
#: default keeps grasped objects from creeping).
SOLREF = (0.005, 1.0)
WALL = 0.008  # thickness of the bin's walls


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


#: The tools' parts on the flange: (name, shape, size, position along the flange,
#: colour, mass), and the depth of the tool frame (the cup's face, the broom's
#: head, the dustpan's plate). Grippers keep the robot model's own frame.
_BLUE = (0.25, 0.45, 0.7, 1.0)
TOOL_PARTS: dict[str, tuple[tuple[str, str, Vec3, Vec3, tuple[float, ...], float], ...]] = {
    "suction": (
        ("suction_cup", "cylinder", (0.02, 0.02, 0), (0, 0, 0.02), (0.2, 0.2, 0.2, 1), 0.05),
    ),
    "broom": (
        ("broom_handle", "cylinder", (0.012, 0.12, 0), (0, 0, 0.12), (0.55, 0.35, 0.2, 1), 0.1),
        ("broom_head", "box", (0.015, 0.07, 0.02), (0, 0, 0.26), (0.85, 0.7, 0.3, 1), 0.1),
    ),
    "dustpan": (
        ("dustpan_handle", "cylinder", (0.012, 0.1, 0), (0, 0, 0.1), (0.3, 0.3, 0.35, 1), 0.1),
        ("dustpan_plate", "box", (0.07, 0.07, 0.004), (0, 0, 0.204), _BLUE, 0.1),
        ("dustpan_back", "box", (0.07, 0.004, 0.025), (0, 0.07, 0.23), _BLUE, 0.02),
        ("dustpan_side1", "box", (0.004, 0.07, 0.025), (0.07, 0, 0.23), _BLUE, 0.02),
        ("dustpan_side2", "box", (0.004, 0.07, 0.025), (-0.07, 0, 0.23), _BLUE, 0.02),
    ),
}  # fmt: skip
TOOL_DEPTH = {"suction": 0.04, "broom": 0.28, "dustpan": 0.208}
_GEOM_TYPES = {"box": mujoco.mjtGeom.mjGEOM_BOX, "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER}


def _add_tool(flange: mujoco.MjsBody, arm: ArmSpec, model: RobotModel) -> None:
    """The tool on the flange, and a ``tool`` site at the tool frame."""
    for name, shape, size, pos, rgba, mass in TOOL_PARTS.get(arm.tool, ()):
        flange.add_geom(
            name=name, type=_GEOM_TYPES[shape], size=list(size), pos=list(pos), rgba=list(rgba),
            mass=mass,
        )  # fmt: skip
    depth = TOOL_DEPTH.get(arm.tool, model.tool_offset)
    flange.add_site(name="tool", pos=[0, 0, depth], size=[0.006, 0, 0], rgba=[1, 0, 0, 0.6])


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
        friction=[1.0, 0.01, 0.001],
    )  # fmt: skip


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
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, pos=[0, 0, -0.75], size=[3, 3, 0.1],
        rgba=[0.3, 0.3, 0.32, 1],
    )  # fmt: skip
    world.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_BOX,
        pos=[0, 0, -TABLE_THICKNESS / 2], size=[*TABLE_HALF, TABLE_THICKNESS / 2],
        rgba=[0.72, 0.6, 0.45, 1], condim=4, solref=list(SOLREF),
    )  # fmt: skip
    world.add_camera(name="front", pos=[0, -1.55, 1.05], xyaxes=[1, 0, 0, 0, 0.56, 0.83])
    world.add_camera(name="top", pos=[0, 0, 1.9], xyaxes=[1, 0, 0, 0, 1, 0])
    for body in scene.bodies:
        _add_body(world, body)
    for arm in scene.arms:
        frame = world.add_frame(pos=list(arm.base), quat=_quat_yaw(arm.yaw))
        spec.attach(_robot_spec(arm), prefix=f"{arm.name}/", frame=frame)
    for arm in scene.arms:
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


class MujocoWorld:
    """A compiled table scene and its state."""

    def __init__(self, scene: SceneSpec):
        self.scene = scene
        self.spec = build_spec(scene)
        self.model = self.spec.compile()
        self.data = mujoco.MjData(self.model)
        self.arms = {arm.name: self._index(arm) for arm in scene.arms}
        self._held: dict[str, str | None] = {arm.name: None for arm in scene.arms}
        self.home()

    def _index(self, arm: ArmSpec) -> ArmIndex:
        model = MODELS[arm.model]
        joints = [self.model.joint(f"{arm.name}/{j}").id for j in model.arm_joints]
        gripper = None
        if model.gripper_joint is not None:
            gripper = self.model.actuator(f"{arm.name}/gripper").id
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
        )

    def home(self) -> None:
        """Every arm at rest, grippers open, objects at their start; time zero."""
        mujoco.mj_resetData(self.model, self.data)
        for index in self.arms.values():
            self.data.qpos[index.qpos] = index.model.home
            self.data.ctrl[index.actuators] = index.model.home
            if index.gripper_actuator is not None:
                self.data.ctrl[index.gripper_actuator] = index.model.gripper_open[0]
        mujoco.mj_forward(self.model, self.data)

    def step(self, steps: int = 1) -> None:
        """Advance the physics."""
        mujoco.mj_step(self.model, self.data, nstep=steps)

    def tool_pose(self, arm: str) -> Pose:
        """The arm's tool frame in the world."""
        site = self.arms[arm].tool_site
        quat = np.empty(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[site])
        return Pose(_vec3(self.data.site_xpos[site]), _quat(quat))

    def body_pose(self, name: str) -> Pose:
        """A body's pose in the world."""
        body = self.model.body(name).id
        return Pose(_vec3(self.data.xpos[body]), _quat(self.data.xquat[body]))

    def read_state(self) -> TableState:
        """The physics as the tasks see it."""
        bodies = {b.name: self.body_pose(b.name) for b in self.scene.movable}
        tools = {arm: self.tool_pose(arm) for arm in self.arms}
        return TableState(bodies, tools, dict(self._held))


def _vec3(values: np.ndarray) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _quat(values: np.ndarray) -> tuple[float, float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]), float(values[3]))
