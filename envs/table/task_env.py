"""The manipulation table at the skill level: a :class:`~brigade.task_env.TaskEnv`.

One :meth:`TableTaskEnv.execute` is one environment step: the joint plan is
verified in RoCoBench's order (the task's rules, reachability, IK at every
target, collisions at the goal and along every waypoint, a collision-free path
for all arms), compiled into arm motions, and played in the physics engine.
A plan that fails verification moves nothing: the step is spent and the
problems come back as feedback, as RoCoBench reports a failed plan. Success
and progress are read from the physical state.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.config import with_overrides
from brigade.envs.table.geometry import Vec3
from brigade.envs.table.ideal_world import IdealWorld
from brigade.envs.table.motion import MotionFailure
from brigade.envs.table.parts import CAMERAS
from brigade.envs.table.planning_scene import PlanningScene
from brigade.envs.table.skills import CompiledPlan, SkillCompiler, execute
from brigade.envs.table.state import Pose, TableState
from brigade.envs.table.tasks import TableTask, make_table_task
from brigade.envs.table.world import TableWorld
from brigade.errors import BrigadeError, ConfigError, PlanError
from brigade.plan import JointPlan, Outcome
from brigade.task_env import TaskEnv

BACKENDS = ("mujoco", "pybullet")
#: The symbolic backend (no physics: see :mod:`brigade.envs.table.ideal_world`).
IDEAL = "ideal"
#: Physics steps the scene settles for after objects are placed at a reset.
SETTLE_STEPS = 100


@dataclass
class TableTaskConfig:
    """Settings of a table task (recorded in every run's manifest).

    Attributes:
        task: The level (``sort-3``, ``sandwich-recipe1``, ``sweep-y1g1``).
        backend: The physics engine, ``mujoco`` or ``pybullet``; or ``ideal``, plans
            coming true without physics (for critic data; not for results).
        step_limit: Environment steps (plans executed) before the episode is truncated.
        jitter: Objects start up to this far (metres, in x and y) from their
            nominal places, drawn from the episode's seed (0: always nominal).
        record_frames: Render frames into ``Outcome.frames`` while arms move.
        frame_width: Width of one camera's picture (height is three quarters of it).
        frame_period: Simulated seconds between recorded frames.
        cameras: Cameras side by side in each frame.
    """

    task: str = "sort-3"
    backend: str = "mujoco"
    step_limit: int = 15
    jitter: float = 0.006
    record_frames: bool = False
    frame_width: int = 320
    frame_period: float = 0.1
    cameras: tuple[str, ...] = ("front", "top")

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values out of range."""
        if self.backend not in (*BACKENDS, IDEAL):
            raise ConfigError(
                f"must be one of {(*BACKENDS, IDEAL)}, not {self.backend!r}", key="backend"
            )
        if self.step_limit < 1:
            raise ConfigError(f"must be at least 1, not {self.step_limit}", key="step_limit")
        if not 0 <= self.jitter <= 0.03:
            raise ConfigError(f"must be within [0, 0.03] m, not {self.jitter}", key="jitter")
        if self.frame_width < 64:
            raise ConfigError(
                f"must be at least 64 pixels, not {self.frame_width}", key="frame_width"
            )
        if self.frame_period < 0.01:
            raise ConfigError(
                f"must be at least 0.01 s, not {self.frame_period}", key="frame_period"
            )
        known = [c.name for c in CAMERAS]
        unknown = [c for c in self.cameras if c not in known]
        if unknown or not self.cameras:
            raise ConfigError(
                f"cameras must be some of {known}, not {list(self.cameras)}", key="cameras"
            )


def make_world(
    task: TableTask, backend: str, kinematics: PlanningScene | None = None
) -> TableWorld:
    """The task's scene built in ``backend``.

    Args:
        task: The level.
        backend: ``mujoco``, ``pybullet`` or ``ideal``.
        kinematics: The task's planning scene, if one is built already (the
            ideal backend reads the arms' rest poses from it).
    """
    if backend == "mujoco":
        from brigade.envs.table.mujoco_world import MujocoWorld

        return MujocoWorld(task.scene)
    if backend == "pybullet":
        from brigade.envs.table.pybullet_world import PybulletWorld

        return PybulletWorld(task.scene)
    if backend == IDEAL:
        # Tools rest where the arms' home poses put them on the engines.
        kinematics = kinematics or PlanningScene(task.scene)
        rest: dict[str, Vec3] = {}
        for arm in task.agents:
            x, y, z = (float(v) for v in kinematics.tool_position(arm))
            rest[arm] = (x, y, z)
        return IdealWorld(task, rest)
    raise ConfigError(f"must be one of {BACKENDS}, not {backend!r}", key="backend")


class TableTaskEnv(TaskEnv):
    """One DV-RoCoBench level as a skill-level multi-agent task."""

    def __init__(self, config: TableTaskConfig | None = None, **overrides: Any):
        # Typed merge: an unknown key or a bad value is a ConfigError naming the key.
        config = with_overrides(TableTaskConfig, config, overrides)
        config.validate()
        self.config = config
        try:
            self.task = make_table_task(f"table/{config.task}")
        except KeyError as exc:
            raise ConfigError(str(exc.args[0]), key="task") from None
        scene = PlanningScene(self.task.scene)
        self.world = make_world(self.task, config.backend, scene)
        self.compiler = SkillCompiler(self.task, scene)
        self._agents = self.task.agents
        self._compiled: tuple[str, CompiledPlan] | None = None
        self.reset()

    # ------------------------------------------------------------------ episode

    @property
    def agents(self) -> tuple[str, ...]:
        """The arms' names, in planning order."""
        return self._agents

    @property
    def step_count(self) -> int:
        """Environment steps executed in this episode."""
        return self._steps

    @property
    def step_limit(self) -> int:
        """The episode's step limit."""
        return self.config.step_limit

    @property
    def state(self) -> TableState:
        """The physical state as the task reads it (for runners, experts and tests)."""
        return self.world.read_state()

    def reset(self, seed: int | None = None) -> None:
        """Arms at rest, objects at their (jittered) start; the same seed, the same start."""
        self._seed = 0 if seed is None else int(seed)
        self.world.home()
        if seed is not None and self.config.jitter > 0:
            rng = np.random.default_rng(seed)
            poses = {}
            for body in self.task.scene.movable:
                dx, dy = rng.uniform(-self.config.jitter, self.config.jitter, 2)
                x, y, z = body.position
                poses[body.name] = Pose((x + float(dx), y + float(dy), z))
            self.world.place_bodies(poses)
        self.world.step(SETTLE_STEPS)
        self._steps = 0
        self._done = False
        self._compiled = None
        self._last_feedback: tuple[str, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """The task's settings."""
        return {"env_id": self.env_id, **asdict(self.config), "task_id": self.task.task_id}

    # ------------------------------------------------------------------ planner-facing

    def describe(self, agent: str | None = None) -> str:
        """The rules and the state in words, with the step count and the last feedback."""
        self._check_agent(agent)
        lines = []
        if agent is not None:
            lines.append(f"You are {agent}.")
        lines.append(self.task.describe(self.state, agent))
        lines.append(f"Environment step {self._steps} of {self.config.step_limit}.")
        if self._last_feedback:
            lines.append("Last step: " + " ".join(self._last_feedback))
        return "\n".join(lines)

    def _check_agent(self, agent: str | None) -> None:
        if agent is not None and agent not in self._agents:
            raise PlanError(f"unknown agent {agent!r}; agents are {list(self._agents)}")

    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` may take now under the task's rules."""
        self._check_agent(agent)
        return self.task.legal_actions(self.state, agent)

    def features(self) -> np.ndarray:
        """Every object's position and whether it is held, every tool's position, step share."""
        state = self.state
        values: list[float] = []
        holders = set(state.held.values())
        for body in self.task.scene.movable:
            values += [*state.position(body.name), float(body.name in holders)]
        for agent in self._agents:
            values += [*state.tools[agent].position, float(state.held[agent] is not None)]
        values.append(min(self._steps / self.config.step_limit, 1.0))
        return np.asarray(values, dtype=np.float32)

    def agent_snippets(self) -> dict[str, str]:
        """Each arm's reach, tool position and load, in one sentence."""
        state = self.state
        return {agent: self.task.snippet(state, agent) for agent in self._agents}

    def verify(self, plan: JointPlan) -> list[str]:
        """Why the plan is infeasible (RoCoBench's order); empty when it is fine.

        Nothing moves: IK, collision checks and path planning run in a
        kinematic copy of the scene. A plan that passes is kept compiled for
        :meth:`execute`.
        """
        try:
            plan.check_agents(self._agents)
        except PlanError as exc:
            return [str(exc)]
        state = self.state
        problems = self.task.rule_problems(plan, state)
        if problems:
            return problems
        problems = self.task.reach_problems(plan, state)
        if problems:
            return problems
        if isinstance(self.world, IdealWorld):
            return []  # no arms to move: what the rules allow comes true
        key = self._plan_key(plan)
        if self._compiled is not None and self._compiled[0] == key:
            return []
        intents = [self.task.intent(action, state) for action in plan.actions]
        # Tools carry what lies on them (a dustpan's load); grasps are read from physics.
        carried = {
            agent: [b for b in self.task.carried(state, agent) if b != state.held[agent]]
            for agent in self._agents
        }
        try:
            compiled = self.compiler.compile(
                plan, self.world, intents, seed=self._seed * 1000 + self._steps, carried=carried
            )
        except MotionFailure as exc:
            return [str(exc)]
        self._compiled = (key, compiled)
        return []

    def _plan_key(self, plan: JointPlan) -> str:
        text = json.dumps([a.command for a in plan.actions]) + f"@{self._steps}"
        return hashlib.sha1(text.encode()).hexdigest()

    # ------------------------------------------------------------------ acting

    def execute(self, plan: JointPlan) -> Outcome:
        """Verify, compile and play a joint plan: one environment step.

        Raises:
            PlanError: The plan does not name each agent once, in order.
            BrigadeError: The episode is over (call :meth:`reset`).
        """
        if self._done:
            raise BrigadeError("the episode is over: call reset() before executing more plans")
        plan.check_agents(self._agents)
        frames: list[np.ndarray] = []
        if self.config.record_frames and self._steps == 0:
            frames.append(self.render())
        problems = self.verify(plan)
        physics_steps = 0
        feedback: list[str]
        if problems:
            feedback = ["The plan failed verification and nothing moved: " + "; ".join(problems)]
        elif isinstance(self.world, IdealWorld):
            self.world.apply(plan)
            feedback = []
        else:
            assert self._compiled is not None
            compiled = self._compiled[1]
            every = max(1, round(self.config.frame_period / 0.01))
            report = execute(
                compiled,
                self.world,
                on_tick=(lambda: frames.append(self.render()))
                if self.config.record_frames
                else None,
                frame_every=every if self.config.record_frames else 0,
            )
            physics_steps = report.physics_steps
            feedback = list(report.feedback)
        self._compiled = None
        self._steps += 1
        state = self.state
        success = self.task.success(state)
        truncated = not success and self._steps >= self.config.step_limit
        self._done = success or truncated
        self._last_feedback = tuple(feedback)
        return Outcome(
            reward=1.0 if success else 0.0,
            terminated=success,
            truncated=truncated,
            success=success,
            steps=physics_steps,
            feedback=tuple(feedback),
            frames=np.stack(frames) if frames else None,
            info={
                "progress": self.task.progress(state),
                "verified": not problems,
                "sim_seconds": physics_steps * self.world.timestep,
            },
        )

    # ------------------------------------------------------------------ ground truth

    def expert_plan(self) -> JointPlan:
        """The scripted expert's joint plan for the current state."""
        return self.task.expert_plan(self.state)

    def progress(self) -> float:
        """Ground-truth progress in [0, 1], read from the physics."""
        return self.task.progress(self.state)

    def snapshot(self) -> bytes:
        """The physics state, the step count and the episode's seed."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            world=np.frombuffer(self.world.snapshot(), dtype=np.uint8),
            counters=np.array([self._steps, self._seed, int(self._done)], dtype=np.int64),
            feedback=np.array(json.dumps(list(self._last_feedback))),
        )
        return buffer.getvalue()

    def restore(self, snapshot: bytes) -> None:
        """Return to a state captured by :meth:`snapshot`."""
        try:
            with np.load(io.BytesIO(snapshot)) as saved:
                world, counters, feedback = saved["world"], saved["counters"], saved["feedback"]
        except (ValueError, KeyError, OSError) as exc:
            raise BrigadeError(f"not a snapshot of a table task: {exc}") from None
        self.world.restore(world.tobytes())
        self._steps, self._seed, done = (int(v) for v in counters)
        self._done = bool(done)
        self._last_feedback = tuple(json.loads(str(feedback)))
        self._compiled = None

    def render(self) -> np.ndarray:
        """The configured cameras side by side, RGB uint8."""
        width = self.config.frame_width
        height = width * 3 // 4
        pictures = [self.world.render(camera, width, height) for camera in self.config.cameras]
        return np.concatenate(pictures, axis=1)
