"""The manipulation table as a PettingZoo ``ParallelEnv``: low-level control for RL.

Every arm is an agent. An action moves the arm for one control step
(:data:`CONTROL_STEP` seconds of physics) in one of two modes:

- ``joint``: a change of every arm joint's position target, as a fraction of
  :data:`JOINT_DELTA` radians;
- ``ee``: a move of the tool frame, as a fraction of :data:`EE_DELTA` metres
  along x, y and z, turned into joint targets by IK (the tool keeps its
  orientation);

plus, for arms with a gripper or a suction cup, one last entry: above zero
closes the gripper or switches suction on. Observations are the task's
features (every object's position and whether it is held, every tool's
position, the share of the horizon used) followed by the agent's own joint
positions. The reward is the change in the task's ground-truth progress,
shared by all arms; an episode terminates at success and is truncated after
``horizon`` control steps. The world is the same as the skill-level
:class:`~brigade.envs.table.task_env.TableTaskEnv`'s, built by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from brigade.envs.table.motion import MotionFailure, MotionPlanner, ToolTarget
from brigade.envs.table.task_env import IDEAL, TableTaskEnv
from brigade.errors import ConfigError, InputError

CONTROL_MODES = ("joint", "ee")
#: Seconds of physics per control step.
CONTROL_STEP = 0.05
#: Largest change of a joint target per step (radians) and of the tool position (metres).
JOINT_DELTA = 0.05
EE_DELTA = 0.02
#: Bounds of the observation entries (metres, radians, flags and shares all fit).
OBSERVATION_BOUND = 10.0


class TableParallelEnv(ParallelEnv[str, np.ndarray, np.ndarray]):  # type: ignore[misc]
    """One DV-RoCoBench level, every arm controlled at the joint or tool level."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "brigade_table_v0",
        "render_modes": ["rgb_array"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        task: str = "sort-3",
        *,
        backend: str = "mujoco",
        control: str = "joint",
        horizon: int = 400,
        jitter: float = 0.006,
        render_mode: str | None = None,
    ):
        if control not in CONTROL_MODES:
            raise ConfigError(f"must be one of {CONTROL_MODES}, not {control!r}", key="control")
        if horizon < 1:
            raise ConfigError(f"must be at least 1, not {horizon}", key="horizon")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(
                f"must be None or 'rgb_array', not {render_mode!r}", key="render_mode"
            )
        if backend == IDEAL:
            raise ConfigError(
                "low-level control needs a physics engine, not the ideal backend", key="backend"
            )
        self.skill_env = TableTaskEnv(task=task, backend=backend, jitter=jitter)
        self.world = self.skill_env.world
        self.task = self.skill_env.task
        self.control = control
        self.horizon = horizon
        self.render_mode = render_mode
        self.possible_agents = list(self.task.agents)
        self.agents: list[str] = []
        self._effector = {
            arm.name: arm.tool in ("gripper", "suction") for arm in self.task.scene.arms
        }
        self._dof = {arm: len(self.world.arm_q(arm)) for arm in self.possible_agents}
        # Tool-frame control solves IK in the skill env's planning scene.
        self._ik: MotionPlanner = self.skill_env.compiler.planner
        self._action_spaces = {
            agent: spaces.Box(-1.0, 1.0, (self._action_size(agent),), dtype=np.float32)
            for agent in self.possible_agents
        }
        size = len(self.skill_env.features())
        self._observation_spaces = {
            agent: spaces.Box(
                -OBSERVATION_BOUND, OBSERVATION_BOUND, (size + self._dof[agent],), dtype=np.float32
            )
            for agent in self.possible_agents
        }
        self._steps = 0
        self._progress = 0.0

    def _action_size(self, agent: str) -> int:
        motion = self._dof[agent] if self.control == "joint" else 3
        return motion + int(self._effector[agent])

    def observation_space(self, agent: str) -> spaces.Box:
        """The agent's observation space (the same object on every call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        """The agent's action space (the same object on every call)."""
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ episode

    def reset(
        self, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Arms at rest, objects at their start (jittered by ``seed``).

        ``options`` is accepted for the API's sake (PettingZoo's own test passes
        some) and read for nothing.
        """
        del options
        self.skill_env.reset(seed)
        if seed is not None:
            for k, agent in enumerate(self.possible_agents):
                self._action_spaces[agent].seed(seed + k)
        self.agents = list(self.possible_agents)
        self._steps = 0
        self._targets = {agent: self.world.arm_q(agent) for agent in self.agents}
        self._tool_targets = {
            agent: (np.array(pose.position), pose.quaternion)
            for agent, pose in ((a, self.world.tool_pose(a)) for a in self.agents)
        }
        self._progress = self.task.progress(self.world.read_state())
        return self._observations(), {agent: {} for agent in self.agents}

    def step(
        self, actions: Mapping[str, np.ndarray]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Apply every arm's action for one control step.

        Raises:
            InputError: An action is missing, unknown, or outside its space
                (nothing changes then).
        """
        commands = self._checked(actions)
        targets: dict[str, np.ndarray] = {}
        for agent, action in commands.items():
            motion = action[: len(action) - int(self._effector[agent])]
            if self.control == "joint":
                targets[agent] = self._targets[agent] + JOINT_DELTA * motion
            else:
                targets[agent] = self._ee_target(agent, motion)
        for agent, q in targets.items():
            self._targets[agent] = q
            self.world.command_arm(agent, q)
            if self._effector[agent]:
                on = bool(commands[agent][-1] > 0)
                if self.task.scene.arm(agent).tool == "gripper":
                    self.world.command_gripper(agent, on)
                elif on != (self.world.grasped(agent) is not None):
                    self.world.suction(agent, on)
        self.world.step(round(CONTROL_STEP / self.world.timestep))
        self._steps += 1
        state = self.world.read_state()
        progress = self.task.progress(state)
        reward = progress - self._progress
        self._progress = progress
        success = self.task.success(state)
        truncated = not success and self._steps >= self.horizon
        agents = list(self.agents)
        observations = self._observations()
        rewards = {agent: float(reward) for agent in agents}
        terminations = {agent: success for agent in agents}
        truncations = {agent: truncated for agent in agents}
        infos: dict[str, dict[str, Any]] = {
            agent: {"progress": progress, "held": state.held[agent]} for agent in agents
        }
        if success or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _checked(self, actions: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The actions as float arrays, after checking all of them."""
        unknown = sorted(set(actions) - set(self.agents))
        if unknown:
            raise InputError(f"actions for agents not in the episode: {unknown}")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise InputError(f"no action for {missing}: every live arm acts each step")
        checked = {}
        for agent in self.agents:
            action = np.asarray(actions[agent], dtype=np.float32)
            space = self._action_spaces[agent]
            if action.shape != space.shape or not np.all(np.isfinite(action)):
                raise InputError(
                    f"{agent}'s action must be {space.shape[0]} finite numbers, "
                    f"got {actions[agent]!r}"
                )
            if not space.contains(action):
                raise InputError(f"{agent}'s action {action.tolist()} lies outside [-1, 1]")
            checked[agent] = action.astype(np.float64)
        return checked

    def _ee_target(self, agent: str, motion: np.ndarray) -> np.ndarray:
        """Joint targets moving the tool by ``motion`` (IK; stays put when out of reach)."""
        self._ik.scene.sync(self.world)
        # The commanded tool pose accumulates (the arm lags behind it, as a servo does).
        position, quaternion = self._tool_targets[agent]
        goal = position + EE_DELTA * motion
        target = ToolTarget((float(goal[0]), float(goal[1]), float(goal[2])), quaternion)
        try:
            q = self._ik.solve(agent, target, start=self._targets[agent])
        except MotionFailure:
            return self._targets[agent]
        self._tool_targets[agent] = (goal, quaternion)
        return q

    def _observations(self) -> dict[str, np.ndarray]:
        features = self.skill_env.features()
        features[-1] = min(self._steps / self.horizon, 1.0)
        return {
            agent: np.clip(
                np.concatenate([features, self.world.arm_q(agent)]),
                -OBSERVATION_BOUND,
                OBSERVATION_BOUND,
            ).astype(np.float32)
            for agent in self.agents
        }

    def render(self) -> np.ndarray | None:
        """Both cameras side by side (``rgb_array``), or nothing."""
        if self.render_mode is None:
            return None
        return self.skill_env.render()

    def close(self) -> None:
        """Nothing to release beyond what garbage collection frees."""
