"""The simulated LLM's knowledge of the manipulation table: reading prompts, the expert, mistakes.

Everything starts from the description in the prompt, as for a real LLM: the
``[Task]`` line names the task and level, and the ``[Coordinates]`` section
gives every object's and tool's position (to the millimetre). From those the
simulator rebuilds the task's symbolic state (a body at an arm's gripper or
suction cup is held by it), asks the task's scripted expert what to do, and
lists the mistakes LLM planners make at the table (RoCoBench's failure kinds):
copying a partner's target or ignoring the partner's needs, actions the rules
or the arms' reach refuse, objects that do not exist, legal but useless
actions, and waiting.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass

from brigade.action import Action
from brigade.envs.table.state import Pose, TableState
from brigade.envs.table.tasks import make_table_task
from brigade.envs.table.tasks.base import TableTask
from brigade.plan import JointPlan

_TASK = re.compile(r"\[Task\] (Sort Cubes|Sweep Floor|Make Sandwich), (?:level )?(\w+)\.")
_FAMILIES = {"Sort Cubes": "sort", "Sweep Floor": "sweep", "Make Sandwich": "sandwich"}
_COORDINATES = "[Coordinates]"
_POINT = re.compile(r"^(\w+?)(?:'s (\w+))?: \((-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\)$")
_STEP = re.compile(r"Environment step (\d+) of (\d+)")
#: A body this near a gripper's or suction cup's frame is read as held (metres).
HELD_WITHIN = 0.04
_CACHE_SIZE = 256


@dataclass(frozen=True)
class TableReading:
    """A table task as read from a prompt."""

    task: TableTask
    state: TableState
    agents: tuple[str, ...]
    steps_left: int
    key: tuple[object, ...]


class TableTasks:
    """The simulated LLM's adapter for table prompts."""

    name = "table"

    def __init__(self) -> None:
        self._tasks: dict[str, TableTask] = {}
        self._remaining: OrderedDict[tuple[object, ...], int] = OrderedDict()

    # ------------------------------------------------------------------ reading

    def read(self, text: str) -> TableReading | None:
        """Read the table task described in ``text`` (``None``: no table task there)."""
        start = text.rfind("[Task] ")  # the current state comes last in a prompt
        found = _TASK.match(text, start) if start >= 0 else None
        if found is None:
            return None
        family = _FAMILIES[found.group(1)]
        task_id = f"table/{family}-{found.group(2)}-v0"
        try:
            task = self._tasks.get(task_id) or make_table_task(task_id)
        except KeyError:
            return None
        self._tasks[task_id] = task
        body = text[start:]
        positions: dict[str, tuple[float, float, float]] = {}
        tools: dict[str, tuple[float, float, float]] = {}
        coordinates = body.find(_COORDINATES)
        if coordinates < 0:
            return None
        for line in body[coordinates:].splitlines()[1:]:
            point = _POINT.match(line.strip())
            if point is None:
                break
            name, tool = point.group(1), point.group(2)
            xyz = (float(point.group(3)), float(point.group(4)), float(point.group(5)))
            (tools if tool else positions)[name] = xyz
        movable = [b.name for b in task.scene.movable]
        if set(positions) != set(movable) or set(tools) != set(task.agents):
            return None
        held: dict[str, str | None] = {}
        for agent in task.agents:
            held[agent] = None
            if task.scene.arm(agent).tool in ("gripper", "suction"):
                near = [b for b in movable if math.dist(positions[b], tools[agent]) <= HELD_WITHIN]
                held[agent] = min(
                    near, key=lambda b: math.dist(positions[b], tools[agent]), default=None
                )
        state = TableState(
            {b: Pose(positions[b]) for b in movable},
            {a: Pose(tools[a], task.tool_orientation(a)) for a in task.agents},
            held,
        )
        step = _STEP.search(body)
        steps_left = int(step.group(2)) - int(step.group(1)) if step else task.step_limit
        return TableReading(task, state, task.agents, steps_left, (task_id, task.key(state)))

    # ------------------------------------------------------------------ the expert

    def expert_plan(self, reading: TableReading) -> dict[str, Action]:
        """The expert's action for every agent, from the state read."""
        plan = reading.task.expert_plan(reading.state)
        return {a.agent: a for a in plan.actions}

    def remaining_steps(self, reading: TableReading, cap: int) -> int:
        """Steps the expert still needs from the state read (at most ``cap + 1``)."""
        if reading.key in self._remaining:
            self._remaining.move_to_end(reading.key)
            return self._remaining[reading.key]
        steps = reading.task.expert_steps(reading.state, cap)
        self._remaining[reading.key] = steps
        if len(self._remaining) > _CACHE_SIZE:
            self._remaining.popitem(last=False)
        return steps

    # ------------------------------------------------------------------ mistakes

    def mistakes(
        self, reading: TableReading, agent: str, expert: dict[str, Action]
    ) -> dict[str, list[Action]]:
        """The mistakes ``agent`` could make now, by kind (kinds with none are left out)."""
        task, state = reading.task, reading.state
        mine = expert[agent]
        legal = task.legal_actions(state, agent)
        ignore: list[Action] = []
        # Going for what a partner is about to do (the same cube, the same panel).
        for other, action in expert.items():
            copied = Action(agent, action.verb, action.args)
            if other != agent and copied != mine and action.verb != "WAIT" and copied not in ignore:
                ignore.append(copied)
        infeasible = [
            a
            for a in self._vocabulary(task, agent)
            if a not in legal and self._refused(task, state, {**expert, agent: a})
        ]
        nonexistent = [
            Action(agent, "PICK", ("purple_cube",)),
            Action(agent, "PLACE", ("panel9",)),
            Action(agent, "MOVE", ("banana",)),
            Action(agent, "PUT", ("pickle", "cutting_board")),
        ]
        wrong = [a for a in legal if a != mine and a.verb != "WAIT" and a not in ignore]
        wait = [Action(agent, "WAIT")] if mine.verb != "WAIT" else []
        options = {
            "ignore_partner": ignore,
            "infeasible": infeasible,
            "nonexistent": nonexistent,
            "wrong": wrong,
            "wait": wait,
        }
        return {kind: actions for kind, actions in options.items() if actions}

    @staticmethod
    def _vocabulary(task: TableTask, agent: str) -> list[Action]:
        """Every action ``agent`` could write with the task's verbs and object names."""
        names = [b.name for b in task.scene.movable]
        targets = names + [b.name for b in task.scene.bodies if b.fixed]
        actions: list[Action] = []
        for verb, arity in task.verbs.items():
            if arity == 0:
                actions.append(Action(agent, verb))
            elif arity == 1:
                actions += [Action(agent, verb, (n,)) for n in targets]
            else:
                actions += [Action(agent, verb, (n, t)) for n in names for t in targets if n != t]
        return actions

    @staticmethod
    def _refused(task: TableTask, state: TableState, actions: dict[str, Action]) -> bool:
        plan = JointPlan(tuple(actions[a] for a in task.agents))
        return bool(task.rule_problems(plan, state) or task.reach_problems(plan, state))
