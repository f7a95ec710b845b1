"""High-level actions compiled into arm motions, and their execution in physics.

Every action of a joint plan becomes up to five *stages* for its arm, in
fixed slots so that the arms of one plan move together:

========= ==========================================================
slot      what happens
========= ==========================================================
raise     a tool resting on the table goes straight up first
approach  a free motion to above the target (planned for all arms at once)
descend   a straight tool motion onto the target (slow: it ends in contact)
act       the effector: close or open the gripper, suction on or off
back      a pushing tool backs off what it pushed, so lifting drags nothing up
lift      a straight tool motion up and away
retreat   a free motion back to the rest pose
========= ==========================================================

A dustpan with a load moves only in straight lines, level, so the load stays
on it; the broom pushes a cube along a straight line into the pan, and the
pan tips its load into the bin by turning about its width.

:class:`SkillCompiler` turns a plan into :class:`Motion` and :class:`Effect`
segments before anything moves, in MuJoCo's kinematics (the
:class:`~brigade.envs.table.planning_scene.PlanningScene`): IK for every
target, collision checks of each goal and waypoint, OMPL for free motions,
ruckig for timing. Any failure is a :class:`~brigade.envs.table.motion.MotionFailure`
whose message names what failed. :func:`execute` then plays the segments in
the physics engine through joint-position targets and effector commands:
objects move only by contact, a grasp holds by friction, suction attaches only
when the cup touches.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import mujoco
import numpy as np

from brigade.envs.table.geometry import Vec3
from brigade.envs.table.motion import MotionFailure, MotionPlanner, ToolTarget
from brigade.envs.table.parts import PAN_HALF, PAN_LEVEL
from brigade.envs.table.planning_scene import PlanningScene, pair
from brigade.envs.table.state import Quaternion
from brigade.envs.table.tasks.base import Intent, TableTask
from brigade.envs.table.trajectory import time_path
from brigade.envs.table.world import TableWorld
from brigade.plan import JointPlan

SLOTS = ("raise", "approach", "descend", "act", "back", "lift", "retreat")
#: Control period of the joint-position targets (the physics runs faster).
CONTROL_PERIOD = 0.01
#: Heights above a target from which tools descend (metres), the first preferred.
APPROACH_HEIGHT = 0.12
CLEARANCES = (APPROACH_HEIGHT, 0.08, 0.05)
#: Gap left under a placed object, so it is set down rather than pressed in.
PLACE_GAP = 0.004
#: How deep a suction cup presses onto a food's top to make contact.
SUCTION_PRESS = 0.002
#: Fraction of the joint limits used in contact motions.
CONTACT_SPEED = 0.3
#: Seconds each effector command is given to take effect.
SETTLE = {"close": 0.6, "open": 0.4, "suction_on": 0.15, "suction_off": 0.3, "pause": 1.2}
#: Speed of a broom's push, as a fraction of the joint limits.
SWEEP_SPEED = 0.15
#: Where a dustpan tips its load: this high over the bin, turned this far.
DUMP_HEIGHT = 0.21
DUMP_TILT = math.radians(90)
#: How far beyond the pan's open edge a tipped load lands (measured, metres).
DUMP_THROW = 0.05
#: How far a dustpan turns about the vertical on its way to the bin, as
#: fractions of the arm's swing, in the order tried: the first that compiles
#: is used. Turned all the way, the wrist keeps still but cannot tip the pan
#: over the bin; turned part way, the wrist turns less on the way.
DUMP_SWINGS = (0.35, 0.5, 0.2, 0.65, 0.0)
#: How far the broom backs off the cube it pushed before it lifts (metres, +x).
BACK_OFF = 0.015
#: How far the broom's handle leans from the vertical (radians).
BROOM_LEAN = math.radians(25)
#: A tool lower than this is raised straight up before it moves anywhere.
LOW_TOOL = 0.06
#: A motion has arrived when every joint is this close to its target (radians).
ARRIVAL_TOLERANCE = 0.002
ARRIVAL_TIMEOUT = 1.5

Effector = Literal["close", "open", "suction_on", "suction_off", "pause"]
MotionKind = Literal["free", "straight", "home"]
#: Pointing down: half a turn about x.
DOWN: Quaternion = (0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Stage:
    """One slot of one arm's action.

    Attributes:
        motion: ``free`` (planned), ``straight`` (tool on a line) or ``home``
            (planned, to the rest pose); ``None`` for an effector stage.
        target: The tool's goal (not for ``home``).
        effector: The command of an ``act`` stage.
        body: The body the effector acts on (grasped, released).
        allow: Group pairs allowed to touch during this stage.
        speed: Fraction of the joint limits.
        leaves: Where the bodies this effector lets go of come to rest (a dumped load).
        via: Points the tool passes through on a straight way to ``target`` (a PATH).
    """

    motion: MotionKind | None = None
    target: ToolTarget | None = None
    effector: Effector | None = None
    body: str | None = None
    allow: frozenset[frozenset[str]] = frozenset()
    speed: float = 1.0
    leaves: Mapping[str, Vec3] = field(default_factory=dict)
    via: tuple[Vec3, ...] = ()


@dataclass(frozen=True)
class Motion:
    """Arms following joint targets together.

    Attributes:
        arms: The moving arms.
        targets: (T, n) joint targets at the control period, the arms' joints
            concatenated in the order of ``arms``.
        sizes: Joints per arm.
        label: What the motion is, for feedback.
    """

    arms: tuple[str, ...]
    targets: np.ndarray
    sizes: tuple[int, ...]
    label: str

    def split(self, row: np.ndarray) -> dict[str, np.ndarray]:
        """One row of targets, per arm."""
        return dict(zip(self.arms, np.split(row, np.cumsum(self.sizes)[:-1])))


@dataclass(frozen=True)
class Effect:
    """Effector commands given together, then time for them to act.

    Attributes:
        commands: (arm, command, body expected to be held or released).
        settle: Seconds to wait after the commands.
    """

    commands: tuple[tuple[str, Effector, str | None], ...]
    settle: float


Segment = Motion | Effect


@dataclass
class CompiledPlan:
    """A joint plan ready to execute: its segments and what it expects."""

    plan: JointPlan
    segments: list[Segment] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Simulated seconds of motion and settling (without arrival waits)."""
        total = 0.0
        for segment in self.segments:
            if isinstance(segment, Motion):
                total += len(segment.targets) * CONTROL_PERIOD
            else:
                total += segment.settle
        return total


def _turn(axis: int, angle: float) -> np.ndarray:
    """The rotation by ``angle`` about world axis ``axis`` (0 x, 1 y, 2 z), as a quaternion."""
    turn = np.zeros(4)
    turn[0] = math.cos(angle / 2)
    turn[1 + axis] = math.sin(angle / 2)
    return turn


def _product(a: np.ndarray | Quaternion, b: np.ndarray | Quaternion) -> Quaternion:
    """The rotation ``a`` after ``b`` (quaternion product ``a b``)."""
    out = np.empty(4)
    mujoco.mju_mulQuat(out, np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def _yaw_quaternion(yaw: float, base: Quaternion = DOWN) -> Quaternion:
    """``base`` turned by ``yaw`` about the world's z axis."""
    return _product(_turn(2, yaw), base)


def _leaning(quaternion: Quaternion, angle: float) -> Quaternion:
    """``quaternion`` turned by ``angle`` about the world's y axis (tips lean towards +x)."""
    return _product(_turn(1, angle), quaternion)


def _turned(quaternion: Quaternion, angle: float) -> Quaternion:
    """``quaternion`` turned by ``angle`` about its own x axis."""
    return _product(quaternion, _turn(0, angle))


def _yaw_of(quaternion: Quaternion) -> float:
    """The heading of a downward tool's x axis in the table plane."""
    matrix = np.empty(9)
    mujoco.mju_quat2Mat(matrix, np.asarray(quaternion, dtype=float))
    return math.atan2(matrix[3], matrix[0])


def _angle_gap(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


def _above(position: Vec3, height: float) -> Vec3:
    return (position[0], position[1], position[2] + height)


def _drop_point(intent: Intent) -> np.ndarray:
    """Where a dump's load should land: the middle of its bodies' drop points."""
    points = np.array([list(p) for p in intent.others.values()], dtype=float)
    middle: np.ndarray = points.mean(axis=0)
    return middle


def _along(
    stages: dict[str, Stage], path: Sequence[Sequence[float]], intent: Intent
) -> dict[str, Stage]:
    """``stages`` with the approach taken in straight lines through the waypoints of ``path``.

    Raises:
        MotionFailure: The action has no approach for a path to shape.
    """
    approach = stages.get("approach")
    if approach is None or approach.target is None:
        raise MotionFailure(
            f"{intent.agent}'s {intent.verb} has no travel for a PATH to shape; leave the PATH out"
        )
    via = tuple((float(p[0]), float(p[1]), float(p[2])) for p in path)
    return {**stages, "approach": replace(approach, motion="straight", via=via)}


class SkillCompiler:
    """Compiles joint plans of one task into motions, in a planning scene."""

    def __init__(self, task: TableTask, scene: PlanningScene):
        self.task = task
        self.scene = scene
        self.planner = MotionPlanner(scene)
        self.tools = {arm.name: arm.tool for arm in task.scene.arms}
        self._statics = scene.static_groups

    # ------------------------------------------------------------------ stages

    def orientations(self, arm: str, yaw: float | None = None) -> list[Quaternion]:
        """Tool orientations to try for ``arm``, best first.

        Grippers and suction cups point down, turned like the object (any
        quarter turn of a cube) and nearest the tool's current heading, so the
        wrist does not wind up; the broom's head lies across x so it pushes
        along x; the dustpan's open side faces +x, towards the broom.
        """
        tool = self.tools[arm]
        current = _yaw_of(self.scene.kinematics.tool_pose(arm).quaternion)
        if tool == "dustpan":
            return [PAN_LEVEL]
        if tool == "broom":
            # Leaning away from the pan (towards +x), so the arms' wrists keep apart.
            return [_leaning(_yaw_quaternion(y), BROOM_LEAN) for y in (0.0, math.pi)]
        elif tool == "suction":
            options = [current]
        else:
            base = yaw or 0.0
            options = [base + k * math.pi / 2 for k in range(4)]
        options.sort(key=lambda y: _angle_gap(y, current))
        return [_yaw_quaternion(y) for y in options]

    def stages(
        self, intent: Intent, orientation: Quaternion, clearance: float = APPROACH_HEIGHT
    ) -> dict[str, Stage]:
        """The stages of one intent (slots left out are idle).

        Args:
            intent: What the action is meant to do.
            orientation: The tool's orientation throughout.
            clearance: How high above its target the tool arrives and leaves.
        """
        tool = self.tools[intent.agent]
        arm, body = intent.agent, intent.body
        if intent.verb == "WAIT" or intent.tool_goal is None:
            return {}
        goal = intent.tool_goal
        touch = frozenset({pair(arm, body)} if body else ())
        support = frozenset(pair(body, g) for g in self._statics if g != body) if body else touch
        if body is not None and (intent.grasp or intent.release):
            suction = tool == "suction"
            above = ToolTarget(_above(goal, clearance), orientation)
            effector: Effector
            if intent.grasp:
                effector = "suction_on" if suction else "close"
                down = _above(goal, -SUCTION_PRESS) if suction else goal
                down_allow = touch
            else:
                effector = "suction_off" if suction else "open"
                down = _above(goal, PLACE_GAP)
                down_allow = support
            return {
                "approach": Stage("free", above),
                "descend": Stage(
                    "straight", ToolTarget(down, orientation), allow=down_allow,
                    speed=CONTACT_SPEED,
                ),
                "act": Stage(effector=effector, body=body),
                "lift": Stage("straight", above, allow=touch | support, speed=CONTACT_SPEED),
                # Out of the other arms' way (they may work on a shared panel next).
                "retreat": Stage("home"),
            }  # fmt: skip
        return self.task_stages(intent, orientation, clearance)

    def task_stages(
        self, intent: Intent, orientation: Quaternion, clearance: float
    ) -> dict[str, Stage]:
        """Stages of the tool verbs: MOVE (set a tool down), SWEEP and DUMP.

        Raises:
            MotionFailure: The verb has no skill for this arm's tool.
        """
        arm, tool, goal = intent.agent, self.tools[intent.agent], intent.tool_goal
        assert goal is not None
        stages: dict[str, Stage] = {}
        here = tuple(float(v) for v in self.scene.tool_position(arm))
        if intent.verb == "MOVE" and here[2] < LOW_TOOL:
            raised = (here[0], here[1], here[2] + clearance)
            stages["raise"] = Stage(
                "straight", ToolTarget(raised, orientation), speed=CONTACT_SPEED
            )
        # A pan with a load keeps level: straight lines only.
        loaded = tool == "dustpan" and bool(self.scene.attached.get(arm))
        travel: MotionKind = "straight" if loaded else "free"
        if intent.verb == "MOVE":
            stages["approach"] = Stage(travel, ToolTarget(_above(goal, clearance), orientation))
            stages["descend"] = Stage(
                "straight", ToolTarget(goal, orientation), speed=CONTACT_SPEED
            )
            return stages
        if intent.verb == "SWEEP" and intent.body is not None and tool == "broom":
            cube = intent.body
            pans = [a for a, t in self.tools.items() if t == "dustpan"]
            others = [b.name for b in self.task.scene.movable if b.name != cube]
            # The pan's load is pushed deeper by the cube coming in; the planning
            # scene leaves it where it is, so the broom may meet it there.
            load = [body for p in pans for body, _, _ in self.scene.attached.get(p, ())]
            allow = frozenset(
                [pair(arm, cube), *(pair(cube, p) for p in pans), *(pair(cube, o) for o in others)]
                + [pair(arm, body) for body in load]
            )
            stages["descend"] = Stage(
                "straight", ToolTarget(goal, orientation), allow=allow, speed=SWEEP_SPEED
            )
            # The planning scene does not push the cube: the broom starts backing
            # off inside it. A leaning broom lifted straight away would pinch the
            # cube against the pan's load and drag it up and out.
            backed: Vec3 = (goal[0] + BACK_OFF, goal[1], goal[2])
            stages["back"] = Stage(
                "straight", ToolTarget(backed, orientation), allow=allow, speed=CONTACT_SPEED
            )
            stages["lift"] = Stage(
                "straight", ToolTarget(_above(backed, clearance), orientation), allow=allow,
                speed=CONTACT_SPEED,
            )  # fmt: skip
            stages["retreat"] = Stage("home")  # clear of the pan, which leaves next
            return stages
        if intent.verb == "DUMP" and tool == "dustpan" and intent.others:
            drop = _drop_point(intent)
            # ``orientation`` is the pan's heading over the bin (see _dump_headings).
            level = orientation
            # The load leaves over the open edge, thrown on a little by the tip:
            # the plate's centre goes that far short of where it should land.
            edge = _yaw_of(level) - math.pi / 2
            short = PAN_HALF[1] + DUMP_THROW
            over: Vec3 = (
                float(drop[0]) - short * math.cos(edge),
                float(drop[1]) - short * math.sin(edge),
                DUMP_HEIGHT,
            )
            tipped = _turned(level, DUMP_TILT)
            stages["raise"] = Stage(
                "straight", ToolTarget((here[0], here[1], DUMP_HEIGHT), self._heading(arm)),
                speed=CONTACT_SPEED,
            )  # fmt: skip
            stages["approach"] = Stage("straight", ToolTarget(over, level))
            stages["descend"] = Stage("straight", ToolTarget(over, tipped), speed=CONTACT_SPEED)
            stages["act"] = Stage(effector="pause", leaves=dict(intent.others))
            stages["lift"] = Stage("straight", ToolTarget(over, level), speed=CONTACT_SPEED)
            # Back to the heading of a pan on the table, ready for the next MOVE.
            stages["retreat"] = Stage("free", ToolTarget(goal, self.orientations(arm)[0]))
            return stages
        raise MotionFailure(f"{arm}: a {tool} cannot {intent.verb}")

    # ------------------------------------------------------------------ compiling

    def compile(
        self,
        plan: JointPlan,
        world: TableWorld,
        intents: Sequence[Intent],
        *,
        seed: int = 0,
        carried: Mapping[str, Sequence[str]] | None = None,
    ) -> CompiledPlan:
        """Every segment of ``plan``, planned from the state of ``world``.

        Args:
            plan: The joint plan.
            world: The executing world (read only: joint positions, poses, holds).
            intents: The intent of each action, in the plan's order.
            seed: Seeds the motion planner (the same seed gives the same motions).
            carried: Bodies that ride on a tool without being grasped (a dustpan's load).

        Raises:
            MotionFailure: IK, a collision or path planning fails; nothing has moved.
        """
        options = {
            intent.agent: self._stage_options(
                intent, world, carried, plan.paths.get(intent.agent, ())
            )
            for intent in intents
        }
        by_arm = {arm: next(choices) for arm, choices in options.items()}
        # Only a dump has options worth planning again (see DUMP_SWINGS): for
        # other verbs a failure is the verifier's answer.
        retrying = [i.agent for i in intents if i.verb == "DUMP"]
        first: MotionFailure | None = None
        while True:
            self._sync(world, carried)
            try:
                return self._compile_stages(plan, by_arm, seed)
            except MotionFailure as failure:
                first = first or failure
                others = {arm: next(options[arm], None) for arm in retrying}
                if not any(others.values()):
                    raise first from None
                by_arm.update({arm: stages for arm, stages in others.items() if stages})

    def _sync(self, world: TableWorld, carried: Mapping[str, Sequence[str]] | None) -> None:
        """The planning scene set to ``world``, with the bodies riding on tools attached."""
        self.scene.sync(world)
        for arm, bodies in (carried or {}).items():
            for body in bodies:
                self.scene.attach(arm, body)

    def _compile_stages(
        self, plan: JointPlan, by_arm: Mapping[str, Mapping[str, Stage]], seed: int
    ) -> CompiledPlan:
        """The segments of every arm's stages, slot by slot, from the planning scene."""
        compiled = CompiledPlan(plan)
        for number, slot in enumerate(SLOTS):
            stages = {arm: s[slot] for arm, s in by_arm.items() if slot in s}
            if not stages:
                continue
            if slot == "act":
                compiled.segments.append(self._effect(stages))
                continue
            straight = {a: s for a, s in stages.items() if s.motion == "straight"}
            free = {a: s for a, s in stages.items() if s.motion != "straight"}
            # Straight and planned motions cannot share one path: straight ones go first.
            for group in (straight, free):
                motion = self._motion(slot, group, seed * 8 + number) if group else None
                if motion is not None:
                    compiled.segments.append(motion)
        return compiled

    def _stage_options(
        self,
        intent: Intent,
        world: TableWorld,
        carried: Mapping[str, Sequence[str]] | None,
        path: Sequence[Sequence[float]] = (),
    ) -> Iterator[dict[str, Stage]]:
        """The stages of one intent for each orientation and clearance IK can reach, best first.

        Close to an arm's base, pointing straight down 12 cm above a target can
        be beyond the elbow's range where the target itself is not; a lower
        approach is tried before giving up. Each option is built from the
        state of ``world`` (the planning scene is synced before each). A
        ``path`` (an LLM's PATH waypoints) turns the approach into straight
        lines through its points.

        Raises:
            MotionFailure: No option is reachable (on the first ``next``).
        """
        if intent.verb == "DUMP":
            self._sync(world, carried)
            options = self._dump_headings(intent)
        else:
            options = self.orientations(intent.agent, self._body_yaw(intent.body))
        failure: MotionFailure | None = None
        found = False
        for clearance, orientation in itertools.product(CLEARANCES, options):
            self._sync(world, carried)
            stages = self.stages(intent, orientation, clearance)
            if path:
                stages = _along(stages, path, intent)
            try:
                for stage in stages.values():
                    if stage.target is not None:
                        self.planner.solve(intent.agent, stage.target)
            except MotionFailure as error:
                failure = failure or error
                continue
            found = True
            yield stages
        if not found:
            assert failure is not None
            raise MotionFailure(f"{failure} for {intent.verb}")

    def _dump_headings(self, intent: Intent) -> list[Quaternion]:
        """Headings of a level dustpan over the bin, turned part of the arm's swing to it."""
        arm = intent.agent
        here = self.scene.tool_position(arm)
        drop = _drop_point(intent)
        base = self.task.scene.arm(arm).base
        swing = math.atan2(drop[1] - base[1], drop[0] - base[0]) - math.atan2(
            here[1] - base[1], here[0] - base[0]
        )
        heading = self._heading(arm)
        return [_product(_turn(2, swing * fraction), heading) for fraction in DUMP_SWINGS]

    def _heading(self, arm: str) -> Quaternion:
        """The arm's tool pointing down, turned to its current heading."""
        return _yaw_quaternion(_yaw_of(self.scene.kinematics.tool_pose(arm).quaternion))

    def _body_yaw(self, body: str | None) -> float | None:
        if body is None:
            return None
        return _yaw_of(self.scene.kinematics.body_pose(body).quaternion)

    def _effect(self, stages: Mapping[str, Stage]) -> Effect:
        commands: list[tuple[str, Effector, str | None]] = []
        for arm, stage in stages.items():
            assert stage.effector is not None
            commands.append((arm, stage.effector, stage.body))
            # The planning scene expects what the effector is meant to do.
            # (A pause tips a dustpan's load out: it stays behind too.)
            if stage.effector in ("close", "suction_on") and stage.body is not None:
                self.scene.attach(arm, stage.body)
            else:
                self.scene.detach(arm)
            for body, position in stage.leaves.items():
                self.scene.place(body, position)
        return Effect(tuple(commands), max(SETTLE[c] for _, c, _ in commands))

    def _motion(self, slot: str, stages: Mapping[str, Stage], seed: int) -> Motion | None:
        arms = tuple(stages)
        what = f"{' and '.join(arms)} {slot}"
        allow: frozenset[frozenset[str]] = frozenset().union(*(s.allow for s in stages.values()))
        speed = min(s.speed for s in stages.values())
        if all(s.motion == "straight" for s in stages.values()):
            targets = {arm: s.target for arm, s in stages.items() if s.target is not None}
            via = {arm: s.via for arm, s in stages.items() if s.via}
            waypoints = self.planner.straight_path(targets, allow, what, via=via)
            dense = True
        else:
            homes = {
                arm: np.array(self.scene.arms[arm].model.home)
                for arm, stage in stages.items()
                if stage.motion == "home"
            }
            targets = {
                arm: stage.target
                for arm, stage in stages.items()
                if stage.motion != "home" and stage.target is not None
            }
            goals = {**homes, **self.planner.solve_apart(targets, homes, allow)}
            goals = {arm: goals[arm] for arm in arms}
            waypoints = self.planner.free_path(goals, allow, what, seed)
            dense = False
        sizes = tuple(len(self.scene.arms[arm].qpos) for arm in arms)
        final = dict(zip(arms, np.split(waypoints[-1], np.cumsum(sizes)[:-1])))
        self.scene.set_q(final)
        if len(waypoints) < 2 or np.abs(waypoints[-1] - waypoints[0]).max() < 1e-6:
            return None
        timed = time_path(waypoints, CONTROL_PERIOD, dense=dense, speed=speed)
        return Motion(arms, timed, sizes, what)


# ---------------------------------------------------------------------- execution


@dataclass
class ExecutionReport:
    """What executing a compiled plan did.

    Attributes:
        physics_steps: Physics steps taken.
        feedback: Effector outcomes that differ from the plan, in words.
    """

    physics_steps: int = 0
    feedback: list[str] = field(default_factory=list)


def execute(
    compiled: CompiledPlan,
    world: TableWorld,
    *,
    on_tick: Callable[[], None] | None = None,
    frame_every: int = 0,
) -> ExecutionReport:
    """Play a compiled plan in the physics engine.

    Args:
        compiled: From :meth:`SkillCompiler.compile`.
        world: The engine.
        on_tick: Called every ``frame_every`` control ticks (to record video frames).
        frame_every: See ``on_tick``; 0 never calls it.
    """
    report = ExecutionReport()
    per_tick = max(1, round(CONTROL_PERIOD / world.timestep))
    ticks = 0

    def advance(steps: int) -> None:
        nonlocal ticks
        world.step(steps)
        report.physics_steps += steps
        ticks += 1
        if on_tick is not None and frame_every and ticks % frame_every == 0:
            on_tick()

    for segment in compiled.segments:
        if isinstance(segment, Motion):
            for row in segment.targets:
                for arm, q in segment.split(row).items():
                    world.command_arm(arm, q)
                advance(per_tick)
            final = segment.split(segment.targets[-1])
            waited = 0.0
            while waited < ARRIVAL_TIMEOUT and any(
                np.abs(world.arm_q(arm) - q).max() > ARRIVAL_TOLERANCE for arm, q in final.items()
            ):
                advance(per_tick)
                waited += CONTROL_PERIOD
            continue
        attached: dict[str, str | None] = {}
        for arm, command, _body in segment.commands:
            if command in ("close", "open"):
                world.command_gripper(arm, command == "close")
            elif command != "pause":
                attached[arm] = world.suction(arm, command == "suction_on")
        for _ in range(max(1, round(segment.settle / CONTROL_PERIOD))):
            advance(per_tick)
        for arm, command, body in segment.commands:
            if command in ("close", "suction_on"):
                held = world.grasped(arm)
                if held != body:
                    how = "closed its gripper" if command == "close" else "switched suction on"
                    got = f"holds {held}" if held else "holds nothing"
                    report.feedback.append(f"{arm} {how} on {body} but {got}")
    return report
