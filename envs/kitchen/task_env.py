"""The kitchen at the skill level: a :class:`~brigade.task_env.TaskEnv` for planners.

Two modes:

- ``skills`` (``kitchen/<layout>``): high-level actions (see
  :mod:`brigade.envs.kitchen.skills`) compiled into moves; one
  :meth:`~KitchenTaskEnv.execute` runs until the first chef becomes free and
  is one environment step (ES). Success: ``soups_to_win`` soups that pay
  delivered within ``step_limit`` steps.
- ``moves`` (``kitchen-read/<layout>``, ReAd's setting): each chef chooses one
  move per step (``MOVE north``, ``INTERACT``, ``WAIT``...).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.config import with_overrides
from brigade.envs.kitchen.describe import chef_text, describe_kitchen
from brigade.envs.kitchen.executor import SkillExecutor, count_deliveries, pot_status
from brigade.envs.kitchen.expert import KitchenExpert
from brigade.envs.kitchen.features import kitchen_features
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.names import chef_names
from brigade.envs.kitchen.random_states import START_MODES, random_start_positions
from brigade.envs.kitchen.skills import (
    SkillBook,
    move_action,
    parse_move,
    parse_skill,
    skill_action,
)
from brigade.envs.kitchen.state import Chef, KitchenState, Soup
from brigade.errors import BrigadeError, ConfigError, PlanError, StateError
from brigade.plan import JointPlan, Outcome
from brigade.task_env import TaskEnv

MODES = ("skills", "moves")


@dataclass
class KitchenTaskConfig:
    """Settings of a skill-level kitchen task (recorded in every run's manifest).

    Attributes:
        layout: A shipped layout name.
        layout_file: A ``.layout`` file to use instead of a shipped layout.
        mode: ``skills`` (high-level actions) or ``moves`` (one move per chef per step).
        soups_to_win: Paying soups to deliver for success.
        step_limit: Environment steps (plans executed) before the episode is truncated.
        horizon: Low-level moves before the episode is truncated.
        patience: Moves without progress before a blocked skill fails.
        max_moves_per_step: Cap on the moves of one environment step.
        start: ``standard`` (the layout's start) or ``random`` (chefs on random cells).
        record_frames: Render every move into ``Outcome.frames``.
        cell_px: Pixels per grid cell when rendering.
    """

    layout: str = "cramped_room"
    layout_file: str | None = None
    mode: str = "skills"
    soups_to_win: int = 2
    step_limit: int = 40
    horizon: int = 400
    patience: int = 4
    max_moves_per_step: int = 100
    start: str = "standard"
    record_frames: bool = False
    cell_px: int = 48

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values out of range."""
        if self.mode not in MODES:
            raise ConfigError(f"must be one of {MODES}, not {self.mode!r}", key="mode")
        if self.start not in START_MODES:
            raise ConfigError(f"must be one of {START_MODES}, not {self.start!r}", key="start")
        for key in ("soups_to_win", "step_limit", "horizon", "patience", "max_moves_per_step"):
            if getattr(self, key) < 1:
                raise ConfigError(f"must be at least 1, not {getattr(self, key)}", key=key)
        if self.cell_px < 16:
            raise ConfigError(f"must be at least 16 pixels, not {self.cell_px}", key="cell_px")


class KitchenTaskEnv(TaskEnv):
    """The kitchen as a skill-level multi-agent task."""

    def __init__(self, config: KitchenTaskConfig | None = None, **overrides: Any):
        # Typed merge: an unknown key or a bad value is a ConfigError naming the key.
        config = with_overrides(KitchenTaskConfig, config, overrides)
        config.validate()
        self.config = config
        if config.layout_file:
            self.mdp = KitchenMDP.from_layout_file(config.layout_file)
        else:
            self.mdp = KitchenMDP.from_layout_name(config.layout)
        self._agents = tuple(chef_names(self.mdp.num_chefs))
        self.book = SkillBook(self.mdp)
        self.executor = SkillExecutor(
            self.mdp, self.book, patience=config.patience, max_moves=config.max_moves_per_step
        )
        self._expert: KitchenExpert | None = None
        self._renderer: Any = None
        self.reset()

    # ------------------------------------------------------------------ episode

    @property
    def agents(self) -> tuple[str, ...]:
        """Chef names, in planning order."""
        return self._agents

    @property
    def state(self) -> KitchenState:
        """The current low-level state (for the runner, experts and tools; not for planners)."""
        return self._state

    @property
    def step_count(self) -> int:
        """Environment steps executed in this episode."""
        return self._steps

    @property
    def step_limit(self) -> int:
        """The episode's step limit."""
        return self.config.step_limit

    @property
    def delivered(self) -> int:
        """Paying soups delivered so far."""
        return self._delivered

    @property
    def score(self) -> float:
        """Sparse reward collected so far."""
        return self._score

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; ``seed`` drives the random start (if configured)."""
        self._rng = np.random.default_rng(seed)
        state = self.mdp.initial_state()
        if self.config.start == "random":
            cells = random_start_positions(self.mdp, self._rng)
            chefs = tuple(Chef(cell, int(self._rng.integers(4))) for cell in cells)
            state = state.replace(chefs=chefs)
        self._state = state
        self._steps = 0
        self._delivered = 0
        self._score = 0.0
        self._moves = 0
        self._done = False

    def metadata(self) -> dict[str, Any]:
        """The task's settings."""
        return {"env_id": self.env_id, **asdict(self.config), "layout": self.mdp.name}

    # ------------------------------------------------------------------ planner-facing

    def describe(self, agent: str | None = None) -> str:
        """The state in words, with the task's progress and what each chef can do now."""
        if agent is not None and agent not in self._agents:
            raise PlanError(f"unknown agent {agent!r}; agents are {list(self._agents)}")
        lines = []
        if agent is not None:
            lines.append(f"You are {agent} (chef {self._agents.index(agent) + 1}).")
        lines.append(
            describe_kitchen(self.mdp, self._state, self._agents, horizon=self.config.horizon)
        )
        lines.append(
            f"Environment step {self._steps} of {self.config.step_limit}; paying soups delivered: "
            f"{self._delivered} of {self.config.soups_to_win}; score {self._score:g}."
        )
        lines.append("What each chef can do now:" if agent is None else "What you can do now:")
        for name in self._agents if agent is None else (agent,):
            lines.append(f"- {name}: {self._options_text(name)}")
        return "\n".join(lines)

    def _options_text(self, agent: str) -> str:
        if self.config.mode == "moves":
            return "MOVE north, MOVE south, MOVE east, MOVE west, INTERACT, WAIT"
        actions = self.legal_actions(agent)
        places = [a.args[0] for a in actions if a.verb == "PLACE" and a.args]
        others = [a.command for a in actions if not (a.verb == "PLACE" and a.args)]
        text = ", ".join(others)
        if places:
            text += f"; PLACE on one of: {' '.join(places)}"
        return text

    def legal_actions(self, agent: str) -> list[Action]:
        """The actions ``agent`` can feasibly take now."""
        if agent not in self._agents:
            raise PlanError(f"unknown agent {agent!r}; agents are {list(self._agents)}")
        if self.config.mode == "moves":
            return [move_action(agent, i) for i in range(6)]
        chef = self._agents.index(agent)
        return [skill_action(agent, self.mdp, s) for s in self.book.candidates(self._state, chef)]

    def features(self) -> np.ndarray:
        """The critic's input vector."""
        return kitchen_features(
            self.mdp,
            self._state,
            delivered=min(self._delivered / self.config.soups_to_win, 1.0),
            steps=min(self._steps / self.config.step_limit, 1.0),
            horizon=self.config.horizon,
        )

    def agent_snippets(self) -> dict[str, str]:
        """Each chef's place, heading and held item, in one sentence."""
        return {
            name: f"{name} at {chef_text(chef)}."
            for name, chef in zip(self._agents, self._state.chefs)
        }

    def verify(self, plan: JointPlan) -> list[str]:
        """Why the plan is infeasible, in words (empty when it is fine); changes nothing."""
        problems: list[str] = []
        try:
            plan.check_agents(self._agents)
        except PlanError as exc:
            return [str(exc)]
        if self.config.mode == "moves":
            for action in plan.actions:
                try:
                    parse_move(action)
                except PlanError as exc:
                    problems.append(str(exc))
            return problems
        skills = []
        for i, action in enumerate(plan.actions):
            try:
                skill = parse_skill(self.mdp, action)
            except PlanError as exc:
                problems.append(str(exc))
                continue
            problem = self.book.problem(self._state, i, skill, action.agent)
            if problem:
                problems.append(problem)
            skills.append((i, skill))
        problems += self._conflicts(skills)
        return problems

    def _conflicts(self, skills: list[tuple[int, Any]]) -> list[str]:
        problems = []
        taken: dict[Any, str] = {}
        for i, skill in skills:
            if skill.verb == "PICK" and skill.cell is not None:
                if skill.cell in taken:
                    problems.append(
                        f"{taken[skill.cell]} and {self._agents[i]} both PICK from the same counter"
                    )
                taken[skill.cell] = self._agents[i]
        placed: dict[Any, str] = {}
        filled: dict[Any, str] = {}
        for i, skill in skills:
            if skill.verb == "PLACE" and skill.cell is not None:
                if skill.cell in placed:
                    problems.append(
                        f"{placed[skill.cell]} and {self._agents[i]} both PLACE on the same counter"
                    )
                placed[skill.cell] = self._agents[i]
            if skill.verb == "FILL" and skill.cell is not None:
                if skill.cell in filled:
                    problems.append(
                        f"{filled[skill.cell]} and {self._agents[i]} both FILL from the same "
                        "pot, which holds one soup"
                    )
                filled[skill.cell] = self._agents[i]
        room: dict[Any, int] = {}
        for i, skill in skills:
            if skill.verb == "PUT" and skill.cell is not None:
                soup = self._state.pots[self.mdp.pot_positions.index(skill.cell)]
                free = self.mdp.max_ingredients - (len(soup.ingredients) if soup else 0)
                room[skill.cell] = room.get(skill.cell, free) - 1
                if room[skill.cell] < 0:
                    problems.append(
                        f"{self._agents[i]} cannot PUT too: the pot has no room left for everyone"
                    )
        return problems

    # ------------------------------------------------------------------ acting

    def execute(self, plan: JointPlan) -> Outcome:
        """Execute a joint plan: one environment step.

        Raises:
            PlanError: The plan does not name each agent once, in order.
            BrigadeError: The episode is over (call :meth:`reset`).
        """
        if self._done:
            raise BrigadeError("the episode is over: call reset() before executing more plans")
        plan.check_agents(self._agents)
        frames: list[np.ndarray] = []
        record = self.render_frame if self.config.record_frames else None
        if record is not None and self._steps == 0 and self._moves == 0:
            frames.append(record(self._state))
        feedback: list[str] = []
        before = self._state
        if self.config.mode == "moves":
            joint = []
            for action in plan.actions:
                try:
                    joint.append(parse_move(action))
                except PlanError as exc:
                    feedback.append(f"{exc}; {action.agent} waited instead.")
                    joint.append(4)
            state, info = self.mdp.transition(self._state, joint)
            sparse = list(info["sparse_reward_by_agent"])
            shaped = list(info["shaped_reward_by_agent"])
            served, paying = count_deliveries(info)
            moves = 1
            if record is not None:
                frames.append(record(state))
        else:
            skills = []
            for action in plan.actions:
                try:
                    skills.append(parse_skill(self.mdp, action))
                except PlanError as exc:
                    feedback.append(f"{exc}; {action.agent} waited instead.")
                    skills.append(parse_skill(self.mdp, Action(action.agent, "WAIT")))
            result = self.executor.run(
                self._state,
                skills,
                self._agents,
                horizon=self.config.horizon,
                on_move=(lambda s: frames.append(record(s))) if record is not None else None,
            )
            state = result.state
            sparse, shaped, moves = result.sparse_by_chef, result.shaped_by_chef, result.moves
            feedback += result.feedback
            served, paying = result.deliveries, result.paying_deliveries
        reward = float(sum(sparse))
        if served > paying:
            feedback.append("A soup was served but it matches no order: it earned nothing.")
        self._state = state
        self._steps += 1
        self._moves += moves
        self._score += reward
        self._delivered += paying
        success = self._delivered >= self.config.soups_to_win
        out_of_steps = self._steps >= self.config.step_limit
        out_of_time = state.timestep >= self.config.horizon
        terminated = success
        truncated = not success and (out_of_steps or out_of_time)
        self._done = terminated or truncated
        for k, (a, b) in enumerate(zip(before.pots, state.pots)):
            if pot_status(self.mdp, a)[0] != "ready" and pot_status(self.mdp, b)[0] == "ready":
                feedback.append(f"pot{k + 1} is ready.")
        return Outcome(
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            success=success,
            steps=moves,
            feedback=tuple(feedback),
            frames=np.stack(frames) if frames else None,
            info={
                "shaped_reward": float(sum(shaped)),
                "deliveries": served,
                "paying_deliveries": paying,
                "moves_total": self._moves,
                "timestep": state.timestep,
            },
        )

    # ------------------------------------------------------------------ ground truth

    def expert(self) -> KitchenExpert:
        """The scripted expert for this kitchen (for runners and data collection)."""
        if self._expert is None:
            self._expert = KitchenExpert(self.mdp, self.book)
        return self._expert

    def expert_plan(self) -> JointPlan:
        """The expert's joint plan for the current state."""
        expert = self.expert()
        if self.config.mode == "moves":
            return JointPlan(
                tuple(move_action(a, m) for a, m in zip(self._agents, expert.moves(self._state)))
            )
        return JointPlan(
            tuple(
                skill_action(a, self.mdp, s) for a, s in zip(self._agents, expert.plan(self._state))
            )
        )

    def progress(self) -> float:
        """Ground-truth progress: delivered soups plus the best partial soup, over soups needed."""
        best = 0.0
        mdp = self.mdp
        dish_in_hand = any(c.held == "dish" for c in self._state.chefs)
        for chef in self._state.chefs:
            if (
                isinstance(chef.held, Soup)
                and self._state.orders.delivery_value.get(mdp.soup_recipe(chef.held), 0) > 0
            ):
                best = max(best, 0.9)
        for item in self._state.counters.values():
            if isinstance(item, Soup):
                best = max(best, 0.85)
        expert = self.expert()
        for soup in self._state.pots:
            if soup is None:
                continue
            if soup.cooking_tick >= 0:
                if mdp.soup_is_ready(soup):
                    best = max(best, 0.8 if dish_in_hand else 0.75)
                else:
                    best = max(best, 0.4 + 0.35 * soup.cooking_tick / max(mdp.soup_time(soup), 1))
            else:
                target = expert.target_recipe(self._state, soup)
                if target is not None and soup.ingredients:
                    best = max(best, 0.4 * len(soup.ingredients) / sum(target))
        total = (self._delivered + best) / self.config.soups_to_win
        return float(min(1.0, total))

    def snapshot(self) -> bytes:
        """The full state (kitchen state and episode counters) as JSON bytes."""
        data = {
            "schema": 1,
            "env_id": self.env_id,
            "layout": self.mdp.name,
            "state": self.mdp.to_overcooked_dict(self._state),
            "steps": self._steps,
            "delivered": self._delivered,
            "score": self._score,
            "moves": self._moves,
            "done": self._done,
        }
        return json.dumps(data).encode()

    def restore(self, snapshot: bytes) -> None:
        """Return to a snapshot taken by :meth:`snapshot` (of this same task).

        Raises:
            StateError: The bytes are not a kitchen snapshot, or one of another
                layout; nothing is changed then.
        """
        try:
            data = json.loads(snapshot)
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            if data.get("schema") != 1:
                raise ValueError(f"unsupported snapshot schema {data.get('schema')!r}")
            if data.get("layout") != self.mdp.name:
                raise ValueError(
                    f"it is of layout {data.get('layout')!r}, this kitchen is {self.mdp.name!r}"
                )
            state = self.mdp.from_overcooked_dict(data["state"])
            counters = (
                int(data["steps"]),
                int(data["delivered"]),
                float(data["score"]),
                int(data["moves"]),
                bool(data["done"]),
            )
        except StateError as exc:
            raise StateError(f"cannot restore the kitchen snapshot: {exc}") from None
        except (ValueError, TypeError, KeyError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StateError(f"cannot restore the kitchen snapshot: {what}") from None
        self._state = state
        self._steps, self._delivered, self._score, self._moves, self._done = counters

    # ------------------------------------------------------------------ pictures

    def render_frame(self, state: KitchenState | None = None) -> np.ndarray:
        """A picture of a state (the current one by default)."""
        if self._renderer is None:
            from brigade.envs.kitchen.render import KitchenRenderer

            self._renderer = KitchenRenderer(self.mdp, cell_px=self.config.cell_px)
        info = (
            f"step {self._steps}/{self.config.step_limit}  "
            f"soups {self._delivered}/{self.config.soups_to_win}"
        )
        frame: np.ndarray = self._renderer.render(
            state or self._state, score=self._score, step_info=info, chef_names=self._agents
        )
        return frame

    def render(self) -> np.ndarray:
        """A picture of the current state."""
        return self.render_frame()
