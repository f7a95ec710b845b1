"""Sort Cubes: three arms pass three cubes along seven panels to their targets.

Seven square panels lie in a row across the table. Alice works on panels 1-3,
Bob on 3-5, Chad on 5-7, so a cube far from its target goes from arm to arm
over the shared panels 3 and 5. The levels differ in where the cubes start,
ordered by the total number of panels between cubes and targets.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import ClassVar

from brigade.action import Action
from brigade.envs.table.geometry import FACING_CAMERA, Region, Vec3
from brigade.envs.table.spec import ArmSpec, BodySpec, RobotModel, SceneSpec
from brigade.envs.table.state import TableState
from brigade.envs.table.tasks.base import Intent, TableTask
from brigade.plan import JointPlan

PANELS = 7
PANEL_PITCH = 0.2
PANEL_HALF = 0.075
PANEL_Y = 0.0
CUBE_HALF = 0.02
#: A cube counts as on a panel when its centre is over the panel with this margin
#: and it rests within this height of the panel's top.
ON_MARGIN = 0.01
REST_HEIGHT = 0.03

#: Each cube's target panel (RoCoBench's: blue to 2, pink to 4, yellow to 6).
TARGETS = {"blue_cube": 2, "pink_cube": 4, "yellow_cube": 6}
COLOURS = {
    "blue_cube": (0.15, 0.35, 0.9, 1.0),
    "pink_cube": (0.95, 0.45, 0.7, 1.0),
    "yellow_cube": (0.95, 0.85, 0.15, 1.0),
}
#: Start panels per level; total distances 3, 4, 5, 8 and 11 panels.
LEVELS: dict[str, dict[str, int]] = {
    "1": {"blue_cube": 1, "pink_cube": 3, "yellow_cube": 7},
    "2": {"blue_cube": 3, "pink_cube": 5, "yellow_cube": 4},
    "3": {"blue_cube": 4, "pink_cube": 2, "yellow_cube": 7},
    "4": {"blue_cube": 5, "pink_cube": 1, "yellow_cube": 4},
    "5": {"blue_cube": 7, "pink_cube": 1, "yellow_cube": 3},
}
#: Panels each arm works on.
REACH = {"Alice": (1, 2, 3), "Bob": (3, 4, 5), "Chad": (5, 6, 7)}
PANEL_TOP = 0.002


def panel_center(k: int) -> tuple[float, float]:
    """The centre of panel ``k`` (1-7)."""
    return ((k - (PANELS + 1) / 2) * PANEL_PITCH, PANEL_Y)


@functools.cache
def panel_region(k: int) -> Region:
    """The square of panel ``k``."""
    x, y = panel_center(k)
    return Region.around(x, y, PANEL_HALF)


def _reach_region(panels: tuple[int, ...]) -> Region:
    region = panel_region(panels[0])
    for k in panels[1:]:
        region = region.union(panel_region(k))
    # Room to hover and approach around the panels.
    return Region(region.x_min - 0.03, region.x_max + 0.03, -0.3, 0.5)


def build_scene(level: str) -> SceneSpec:
    """The arms, the panels and the cubes of a level."""
    starts = LEVELS[level]
    models: dict[str, RobotModel] = {"Alice": "panda", "Bob": "xarm6", "Chad": "panda"}
    arms = tuple(
        ArmSpec(name, model, (x, 0.42, 0.0), FACING_CAMERA, "gripper", _reach_region(REACH[name]))
        for (name, model), x in zip(models.items(), (-0.4, 0.0, 0.4))
    )
    panels = tuple(
        BodySpec(
            f"panel{k}",
            "panel",
            "box",
            (PANEL_HALF, PANEL_HALF, PANEL_TOP / 2),
            (*panel_center(k), PANEL_TOP / 2),
            (0.8, 0.8, 0.8, 1.0) if k % 2 else (0.65, 0.65, 0.65, 1.0),
            fixed=True,
        )
        for k in range(1, PANELS + 1)
    )
    cubes = tuple(
        BodySpec(
            name,
            "cube",
            "box",
            (CUBE_HALF, CUBE_HALF, CUBE_HALF),
            (*panel_center(starts[name]), PANEL_TOP + CUBE_HALF),
            COLOURS[name],
            mass=0.05,
        )
        for name in TARGETS
    )
    return SceneSpec(arms=arms, bodies=panels + cubes)


class SortTask(TableTask):
    """One level of Sort Cubes (``sort-1`` ... ``sort-5``)."""

    family = "sort"
    verbs: ClassVar[Mapping[str, int]] = {"PICK": 1, "PLACE": 1, "WAIT": 0}
    max_rounds = 10  # ReAd's cap on Sort Cubes

    def __init__(self, level: str):
        if level not in LEVELS:
            raise KeyError(f"Sort Cubes has levels {sorted(LEVELS)}, not {level!r}")
        super().__init__(level, build_scene(level))

    # ------------------------------------------------------------------ reading the state

    def panel_of(self, state: TableState, cube: str) -> int | None:
        """The panel the cube rests on, or ``None`` (held, between panels, fallen)."""
        if state.holder(cube) is not None:
            return None
        x, y, z = state.position(cube)
        if z > PANEL_TOP + CUBE_HALF + REST_HEIGHT:
            return None
        # Only the nearest panel can hold it (the expert's search asks this often).
        k = round(x / PANEL_PITCH + (PANELS + 1) / 2)
        if 1 <= k <= PANELS and panel_region(k).contains(x, y, margin=-ON_MARGIN):
            return k
        return None

    def occupant(self, state: TableState, panel: int) -> str | None:
        """The cube on ``panel``, if any."""
        for cube in TARGETS:
            if self.panel_of(state, cube) == panel:
                return cube
        return None

    # ------------------------------------------------------------------ words

    def rules_text(self) -> str:
        """The goal, the arms' reach and the rules, in words."""
        reach = "; ".join(f"{a} can reach panels {p[0]}-{p[-1]}" for a, p in REACH.items())
        goals = ", ".join(f"{c} on panel{k}" for c, k in TARGETS.items())
        return (
            f"[Task] Sort Cubes, level {self.level}. Seven panels lie in a row, panel1 to "
            f"panel7. Goal: {goals}. {reach}. A robot can hold one cube; a panel holds one "
            "cube. Actions: PICK <cube> (a cube on a panel you reach, hand empty), "
            "PLACE <panelN> (the cube you hold, onto a free panel you reach), WAIT. "
            "You can't all WAIT."
        )

    def object_lines(self, state: TableState) -> list[str]:
        """One sentence per object: where it is."""
        lines: list[str] = []
        for cube in TARGETS:
            holder = state.holder(cube)
            panel = self.panel_of(state, cube)
            if holder is not None:
                where = f"held by {holder}"
            elif panel is not None:
                where = f"on panel{panel}"
            else:
                where = "off the panels"
            lines.append(f"{cube} is {where} (target panel{TARGETS[cube]}).")
        return lines

    def snippet(self, state: TableState, agent: str) -> str:
        """One sentence about ``agent``."""
        held = state.held[agent]
        panels = REACH[agent]
        return (
            f"{agent} reaches panels {panels[0]}-{panels[-1]} and holds "
            f"{held if held else 'nothing'}."
        )

    # ------------------------------------------------------------------ actions

    def legal_actions(self, state: TableState, agent: str) -> list[Action]:
        """The actions ``agent`` may take now (WAIT included)."""
        actions = [Action(agent, "WAIT")]
        held = state.held[agent]
        for k in REACH[agent]:
            cube = self.occupant(state, k)
            if held is None and cube is not None:
                actions.append(Action(agent, "PICK", (cube,)))
            if held is not None and cube is None:
                actions.append(Action(agent, "PLACE", (f"panel{k}",)))
        return actions

    def intent(self, action: Action, state: TableState) -> Intent:
        """What ``action`` is meant to do."""
        if action.verb == "PICK":
            cube = action.args[0]
            return Intent(action.agent, "PICK", cube, tool_goal=state.position(cube), grasp=True)
        if action.verb == "PLACE":
            load = state.held[action.agent]
            x, y = panel_center(int(action.args[0].removeprefix("panel")))
            goal: Vec3 = (x, y, PANEL_TOP + CUBE_HALF)
            return Intent(action.agent, "PLACE", load, goal, goal, release=True)
        return Intent(action.agent, "WAIT")

    def task_rule_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """The rules of this task that ``plan`` breaks, in words."""
        problems: list[str] = []
        placed: dict[int, str] = {}
        picked: dict[str, str] = {}
        for action in plan.actions:
            agent, held = action.agent, state.held[action.agent]
            if action.verb == "PICK":
                cube = action.args[0]
                if cube not in TARGETS:
                    problems.append(f"{agent}: there is no cube called {cube}")
                elif held is not None:
                    problems.append(f"{agent} already holds {held} and cannot PICK {cube}")
                elif (panel := self.panel_of(state, cube)) is None:
                    problems.append(f"{agent} cannot PICK {cube}: it is not on a panel")
                elif panel not in REACH[agent]:
                    problems.append(f"{agent} cannot reach {cube} on panel{panel}")
                elif cube in picked:
                    problems.append(f"{agent} and {picked[cube]} both PICK {cube}")
                else:
                    picked[cube] = agent
            elif action.verb == "PLACE":
                target = action.args[0]
                k = (
                    int(target.removeprefix("panel"))
                    if target.removeprefix("panel").isdigit()
                    else 0
                )
                if not 1 <= k <= PANELS or not target.startswith("panel"):
                    problems.append(f"{agent}: {target} is not a panel (panel1 to panel7)")
                elif held is None:
                    problems.append(f"{agent} holds nothing to PLACE")
                elif k not in REACH[agent]:
                    problems.append(f"{agent} cannot reach panel{k}")
                elif (there := self.occupant(state, k)) is not None:
                    problems.append(f"panel{k} is taken by {there}")
                elif k in placed:
                    problems.append(f"{agent} and {placed[k]} both PLACE onto panel{k}")
                else:
                    placed[k] = agent
        return problems

    # ------------------------------------------------------------------ ground truth

    def success(self, state: TableState) -> bool:
        """Whether the task is done."""
        return all(self.panel_of(state, c) == k for c, k in TARGETS.items())

    def progress(self, state: TableState) -> float:
        """Mean over cubes of how much of the way to the target is done (1 when on it)."""
        if self.success(state):
            return 1.0
        starts = LEVELS[self.level]
        total = 0.0
        for cube, target in TARGETS.items():
            if self.panel_of(state, cube) == target:
                total += 1.0
                continue
            start_gap = abs(panel_center(starts[cube])[0] - panel_center(target)[0])
            gap = abs(state.position(cube)[0] - panel_center(target)[0])
            # Capped below 1 so only the target panel itself counts in full.
            total += min(0.9, max(0.0, 1.0 - gap / start_gap)) if start_gap > 0 else 0.0
        return min(total / len(TARGETS), 0.99)

    def key(self, state: TableState) -> tuple[object, ...]:
        """The symbolic state (for the expert's search)."""
        where = tuple(self.panel_of(state, cube) for cube in TARGETS)
        return where, tuple(state.held[a] for a in self.agents)
