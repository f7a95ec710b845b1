"""The engine-independent side of a table task.

A :class:`TableTask` knows its scene, its verbs, its rules, what success and
progress mean, how to describe a state in words, and what each high-level
action is meant to achieve (an :class:`Intent`: where the tool goes and where
the object should come to rest). The skills turn intents into arm motions in a
physics engine; :meth:`TableTask.ideal_step` applies them without physics, as
the scripted expert's look-ahead and as the tests' model of a perfect step.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from brigade.action import Action
from brigade.envs.table.geometry import Vec3
from brigade.envs.table.spec import SceneSpec
from brigade.envs.table.state import Pose, Quaternion, TableState
from brigade.plan import JointPlan

#: ReAd's step limit on DV-RoCoBench.
STEP_LIMIT = 15
#: Symbolic states whose expert plan a task remembers.
PLAN_CACHE = 4096
#: Waypoints of an LLM's PATH: the heights a tool may pass at (metres above
#: the table), and the longest gap between neighbouring waypoints.
PATH_HEIGHTS = (0.02, 0.6)
PATH_SPACING = 0.3
PATH_HELP = (
    "An arm's line may end with PATH [(x, y, z), ...]: waypoints its tool passes on "
    f"the way, in metres, over its reach, {PATH_HEIGHTS[0]:g} to {PATH_HEIGHTS[1]:g} m high "
    f"and at most {PATH_SPACING:g} m apart."
)


@dataclass(frozen=True)
class Intent:
    """What one agent's action is meant to do.

    Attributes:
        agent: Who acts.
        verb: The action's verb.
        body: The body acted on (picked, placed, swept), if any.
        tool_goal: Where the arm's tool frame must go (world frame), if it moves.
        body_goal: Where ``body`` should come to rest, if the action places it.
        grasp: The arm holds ``body`` after the action.
        release: The arm lets go of what it holds.
        others: Further bodies the action moves, and where they come to rest
            (a dustpan's load going into the bin).
    """

    agent: str
    verb: str
    body: str | None = None
    tool_goal: Vec3 | None = None
    body_goal: Vec3 | None = None
    grasp: bool = False
    release: bool = False
    others: Mapping[str, Vec3] = dataclasses.field(default_factory=dict)


class TableTask(ABC):
    """One level of one table task.

    Attributes:
        family: The task's family (``sort``, ``sweep``, ``sandwich``).
        level: The level's name within the family (``sort-3``, ``y2g3``, ``recipe1``).
        scene: Arms and bodies.
        step_limit: Environment steps before truncation.
        max_rounds: ReAd's cap on refinement rounds for this task.
    """

    family: ClassVar[str]
    #: Verbs and the number of arguments each takes.
    verbs: ClassVar[Mapping[str, int]]
    step_limit: int = STEP_LIMIT
    max_rounds: int = 15

    def __init__(self, level: str, scene: SceneSpec):
        self.level = level
        self.scene = scene
        # Shortest plans by symbolic state (the search is the expert's cost).
        self._plans: OrderedDict[Hashable, JointPlan] = OrderedDict()

    @property
    def agents(self) -> tuple[str, ...]:
        """The arms' names, in planning order."""
        return tuple(arm.name for arm in self.scene.arms)

    @property
    def task_id(self) -> str:
        """The registered id, e.g. ``table/sort-3-v0``."""
        return f"table/{self.family}-{self.level}-v0"

    # ------------------------------------------------------------------ words

    @abstractmethod
    def rules_text(self) -> str:
        """The task's goal, the arms' reach and the rules, in words (fixed per level)."""

    @abstractmethod
    def object_lines(self, state: TableState) -> list[str]:
        """One sentence per object of the task: where it is."""

    def state_text(self, state: TableState, agent: str | None = None) -> str:
        """The current state in words: the objects, then every agent or just ``agent``.

        Every arm sees the whole table, as in RoCoBench's Sort Cubes and Sweep
        Floor; only the agents' own sentences are left out of another's view.
        """
        agents = self.agents if agent is None else (agent,)
        lines = ["[State]", *self.object_lines(state)]
        lines += [self.snippet(state, a) for a in agents]
        return "\n".join(lines)

    def describe(self, state: TableState, agent: str | None = None) -> str:
        """The rules followed by the state, with coordinates for PATH waypoints."""
        return (
            f"{self.rules_text()}\n{PATH_HELP}\n\n{self.state_text(state, agent)}\n"
            f"{self.coordinates_text(state)}"
        )

    def coordinates_text(self, state: TableState) -> str:
        """Where every object and tool is, in metres (what a PATH is written in)."""
        lines = ["[Coordinates] metres; x to the right, y away from the camera, z up."]
        for body in self.scene.movable:
            x, y, z = state.position(body.name)
            lines.append(f"{body.name}: ({x:.3f}, {y:.3f}, {z:.3f})")
        for agent in self.agents:
            x, y, z = state.tools[agent].position
            lines.append(f"{agent}'s {self.scene.arm(agent).tool}: ({x:.3f}, {y:.3f}, {z:.3f})")
        return "\n".join(lines)

    @abstractmethod
    def snippet(self, state: TableState, agent: str) -> str:
        """One sentence about ``agent``: what it holds and where its tool is."""

    # ------------------------------------------------------------------ actions

    @abstractmethod
    def legal_actions(self, state: TableState, agent: str) -> list[Action]:
        """The actions ``agent`` may take now under the task's rules (WAIT included)."""

    @abstractmethod
    def intent(self, action: Action, state: TableState) -> Intent:
        """What ``action`` is meant to do (assumes it passed :meth:`rule_problems`)."""

    @abstractmethod
    def task_rule_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """The task's own rules that ``plan`` breaks, in words."""

    def rule_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """Every rule ``plan`` breaks: unknown verbs, wrong arguments, the task's rules.

        RoCoBench checks these first, before reachability, IK and collisions.
        """
        problems: list[str] = []
        for action in plan.actions:
            arity = self.verbs.get(action.verb)
            if arity is None:
                problems.append(
                    f"{action.agent}: {action.verb} is not an action here; "
                    f"use one of {', '.join(self.verbs)}"
                )
            elif len(action.args) != arity:
                problems.append(
                    f"{action.agent}: {action.verb} takes {arity} argument(s), "
                    f"got {len(action.args)}"
                )
        if problems:
            return problems
        if all(action.verb == "WAIT" for action in plan.actions):
            return ["you can't all WAIT: at least one robot must act"]
        return self.task_rule_problems(plan, state)

    def reach_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """Targets and waypoints outside the region an arm works in, and waypoints too far apart.

        RoCoBench's reachability and waypoint checks: a PATH's points must lie
        over the arm's region, between :data:`PATH_HEIGHTS`, at most
        :data:`PATH_SPACING` apart, and only a moving action can take one.
        """
        problems = []
        for action in plan.actions:
            goal = self.intent(action, state).tool_goal
            arm = self.scene.arm(action.agent)
            if goal is not None and not arm.reach.contains(goal[0], goal[1]):
                problems.append(
                    f"{action.agent} cannot reach ({goal[0]:.2f}, {goal[1]:.2f}) "
                    f"for {action.command}"
                )
            path = plan.paths.get(action.agent, ())
            if path and goal is None:
                problems.append(f"{action.agent}: a PATH needs an action that moves the arm")
                continue
            for number, (x, y, z) in enumerate(path, start=1):
                if not arm.reach.contains(x, y) or not PATH_HEIGHTS[0] <= z <= PATH_HEIGHTS[1]:
                    problems.append(
                        f"{action.agent} cannot reach PATH waypoint {number} "
                        f"({x:.2f}, {y:.2f}, {z:.2f})"
                    )
            for number, (a, b) in enumerate(itertools.pairwise(path), start=1):
                gap = math.dist(a, b)
                if gap > PATH_SPACING:
                    problems.append(
                        f"{action.agent}'s PATH waypoints {number} and {number + 1} are "
                        f"{gap:.2f} m apart; at most {PATH_SPACING:.2f}"
                    )
        return problems

    # ------------------------------------------------------------------ ground truth

    @abstractmethod
    def success(self, state: TableState) -> bool:
        """Whether the task is done."""

    @abstractmethod
    def progress(self, state: TableState) -> float:
        """Ground-truth progress in [0, 1]; 1 exactly when :meth:`success`."""

    @abstractmethod
    def key(self, state: TableState) -> Hashable:
        """The symbolic state: what the rules and the goal depend on (a hashable value)."""

    def expert_actions(self, state: TableState, agent: str) -> list[Action]:
        """The actions the expert considers for ``agent`` (all legal ones by default)."""
        return self.legal_actions(state, agent)

    def expert_plan(self, state: TableState) -> JointPlan:
        """The scripted expert's joint plan: the first step of a shortest symbolic plan.

        A breadth-first search over joint actions that pass the rules, applied
        with :meth:`ideal_step`; symbolic states are compared by :meth:`key`.
        When no plan reaches the goal within the step limit the arms WAIT
        (the task's rules forbid that, so the episode visibly stalls).
        """
        key = self.key(state)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        found = shortest_plan(self, state, self.step_limit)
        plan = found[0] if found else JointPlan(tuple(Action(a, "WAIT") for a in self.agents))
        self._plans[key] = plan
        if len(self._plans) > PLAN_CACHE:
            self._plans.popitem(last=False)
        return plan

    def expert_steps(self, state: TableState, cap: int) -> int:
        """Steps the expert still needs from ``state`` (``cap + 1`` when more).

        The expert's plan is a shortest one, so its length is searched once.
        """
        if self.success(state):
            return 0
        plans = shortest_plan(self, state, cap + 1)
        return len(plans) if plans else cap + 1

    # ------------------------------------------------------------------ without physics

    def ideal_step(self, plan: JointPlan, state: TableState) -> TableState:
        """The state after ``plan`` if every intent came true exactly (no physics)."""
        bodies = dict(state.bodies)
        tools = dict(state.tools)
        held = dict(state.held)
        for action in plan.actions:
            intent = self.intent(action, state)
            if intent.tool_goal is not None:
                old = tools[intent.agent].position
                shift = [g - o for g, o in zip(intent.tool_goal, old)]
                # What the tool carries travels with it.
                for body in self.carried(state, intent.agent):
                    p = bodies[body].position
                    moved = (p[0] + shift[0], p[1] + shift[1], p[2] + shift[2])
                    bodies[body] = Pose(moved, bodies[body].quaternion)
                tools[intent.agent] = dataclasses.replace(
                    tools[intent.agent], position=intent.tool_goal
                )
            if intent.body is not None and intent.body_goal is not None:
                bodies[intent.body] = Pose(intent.body_goal, bodies[intent.body].quaternion)
            for body, goal in intent.others.items():
                bodies[body] = Pose(goal, bodies[body].quaternion)
            if intent.grasp:
                held[intent.agent] = intent.body
            if intent.release:
                held[intent.agent] = None
        return TableState(bodies, tools, held)

    def carried(self, state: TableState, agent: str) -> list[str]:
        """The bodies that move with ``agent``'s tool (what it holds, by default)."""
        held = state.held[agent]
        return [held] if held else []

    def initial_state(self) -> TableState:
        """The state at the start, with tools at their home positions."""
        bodies = {b.name: Pose(b.position) for b in self.scene.movable}
        tools = {
            arm.name: Pose(self.home(arm.name), self.tool_orientation(arm.name))
            for arm in self.scene.arms
        }
        return TableState(bodies, tools, {arm.name: None for arm in self.scene.arms})

    def tool_orientation(self, agent: str) -> Quaternion:
        """The orientation of ``agent``'s tool frame while it works (for states without physics)."""
        return (1.0, 0.0, 0.0, 0.0)

    def home(self, agent: str) -> Vec3:
        """Where ``agent``'s tool rests between actions: above its base, 30 cm over the table."""
        arm = self.scene.arm(agent)
        return (arm.base[0], arm.base[1] - 0.25, 0.3)


def shortest_plan(task: TableTask, state: TableState, max_steps: int) -> list[JointPlan]:
    """A shortest sequence of rule-abiding joint plans from ``state`` to success.

    Breadth-first over the symbolic states of :meth:`TableTask.key`, with the
    expert's candidate actions; empty when the goal is out of reach within
    ``max_steps`` (or already reached).
    """
    if task.success(state):
        return []
    start = task.key(state)
    parents: dict[Hashable, tuple[Hashable, JointPlan] | None] = {start: None}
    frontier = [state]
    for _ in range(max_steps):
        following: list[TableState] = []
        for current in frontier:
            here = task.key(current)
            options = [task.expert_actions(current, agent) for agent in task.agents]
            for combo in itertools.product(*options):
                plan = JointPlan(tuple(combo))
                if task.rule_problems(plan, current):
                    continue
                after = task.ideal_step(plan, current)
                key = task.key(after)
                if key in parents:
                    continue
                parents[key] = (here, plan)
                if task.success(after):
                    plans: list[JointPlan] = []
                    node: Hashable = key
                    while (link := parents[node]) is not None:
                        node, step = link
                        plans.append(step)
                    return plans[::-1]
                following.append(after)
        if not following:
            break
        frontier = following
    return []
