"""Sweep Floor: a broom sweeps the yellow and green cubes into a dustpan, then the bin.

Alice holds a dustpan and Bob a broom. For each cube, both MOVE to it (the
dustpan lies down on the cube's left, the broom stands on its right), then Bob
SWEEPs it into the dustpan while Alice keeps still; Alice DUMPs the dustpan's
load into the bin. Only the yellow and green cubes belong in the bin; the
others must stay. Levels name how many of each: ``y1g1`` (one yellow, one
green, seven cubes on the table) up to ``y3g3`` (three of each, nine cubes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from brigade.action import Action
from brigade.envs.table.geometry import FACING_CAMERA, Region, Vec3, planar_distance
from brigade.envs.table.parts import PAN_HALF, PAN_LEVEL, PAN_RAMP
from brigade.envs.table.spec import ArmSpec, BodySpec, SceneSpec
from brigade.envs.table.state import Quaternion, TableState
from brigade.envs.table.tasks.base import Intent, TableTask
from brigade.plan import JointPlan

CUBE_HALF = 0.02
#: Where the cubes start: a 3 x 3 grid, 23 cm apart across and 9 cm deep, so
#: a tool set at one cube touches none of its neighbours and both arms reach
#: every cube with their tools pointing down (nearer their bases the elbows
#: run out of range; further, the arms run out of length).
SPOTS: tuple[tuple[float, float], ...] = tuple(
    (x, y) for y in (0.03, -0.06, -0.15) for x in (-0.15, 0.08, 0.31)
)
BIN = "bin"
BIN_CENTER = (-0.6, -0.15)
BIN_HALF = (0.1, 0.1, 0.05)
#: The dustpan's plate (its tool frame) lies this far left of a cube, the
#: pan's ramp just clear of it; the broom's head this far right; and how near
#: a tool must be to count as at a cube.
DUSTPAN_OFFSET = CUBE_HALF + 0.005 + PAN_RAMP[0] + PAN_HALF[1]
BROOM_OFFSET = 0.06
AT_CUBE = 0.04
#: A tool counts as set down below this height (metres).
SET_DOWN = 0.03
#: Heights of the tools' frames when set down: the plate's top face, the
#: broom head's bottom edge (just above the ramp, so it sweeps over it).
PAN_Z = 2 * PAN_HALF[2]
BROOM_Z = 0.008
#: A cube lies in the dustpan when it is over the plate (half sizes in the
#: tool frame) and at most this high above it.
PLATE_HALF = (PAN_HALF[0], PAN_HALF[1])
PLATE_LOAD_HEIGHT = 0.06
#: Cubes the pan holds in a row; the expert dumps when it is full.
PAN_CAPACITY = 3

COLOURS = {
    "yellow": (0.95, 0.85, 0.15, 1.0),
    "green": (0.2, 0.75, 0.3, 1.0),
    "red": (0.85, 0.2, 0.2, 1.0),
    "blue": (0.2, 0.35, 0.9, 1.0),
}
#: Level: (yellow, green, total cubes).
LEVELS: dict[str, tuple[int, int, int]] = {
    "y1g1": (1, 1, 7),
    "y1g2": (1, 2, 7),
    "y2g2": (2, 2, 7),
    "y2g3": (2, 3, 9),
    "y3g3": (3, 3, 9),
}
#: The order in which spots are filled, so the targets are spread over the table.
FILL_ORDER = (4, 0, 8, 2, 6, 1, 7, 3, 5)


def cube_names(level: str) -> list[str]:
    """The cubes of a level: targets first (yellow, green), then the others (red, blue)."""
    yellow, green, total = LEVELS[level]
    names = [f"yellow_cube{k}" for k in range(1, yellow + 1)]
    names += [f"green_cube{k}" for k in range(1, green + 1)]
    others = total - yellow - green
    names += [f"red_cube{k}" for k in range(1, (others + 1) // 2 + 1)]
    names += [f"blue_cube{k}" for k in range(1, others // 2 + 1)]
    return names


def build_scene(level: str) -> SceneSpec:
    """The two arms with their tools, the bin and the cubes of a level."""
    table = Region(-0.75, 0.75, -0.42, 0.3)
    arms = (
        ArmSpec("Alice", "iiwa", (-0.35, 0.45, 0.0), FACING_CAMERA, "dustpan", table),
        ArmSpec("Bob", "iiwa", (0.35, 0.45, 0.0), FACING_CAMERA, "broom", table),
    )
    bin_body = BodySpec(
        BIN, "bin", "box", BIN_HALF, (*BIN_CENTER, BIN_HALF[2]), (0.4, 0.4, 0.45, 1.0), fixed=True
    )
    cubes = []
    # Interleave the spots (FILL_ORDER) with the names, targets and others alike.
    for name, spot in zip(cube_names(level), FILL_ORDER):
        colour = COLOURS[name.split("_")[0]]
        x, y = SPOTS[spot]
        cubes.append(
            BodySpec(name, "cube", "box", (CUBE_HALF,) * 3, (x, y, CUBE_HALF), colour, mass=0.03)
        )
    return SceneSpec(arms=arms, bodies=(bin_body, *cubes))


class SweepTask(TableTask):
    """One level of Sweep Floor (``y1g1`` ... ``y3g3``)."""

    family = "sweep"
    verbs: ClassVar[Mapping[str, int]] = {"MOVE": 1, "SWEEP": 1, "DUMP": 0, "WAIT": 0}

    def __init__(self, level: str):
        if level not in LEVELS:
            raise KeyError(f"Sweep Floor has levels {sorted(LEVELS)}, not {level!r}")
        super().__init__(level, build_scene(level))
        self.cubes = cube_names(level)
        self.targets = [c for c in self.cubes if c.startswith(("yellow", "green"))]

    def tool_orientation(self, agent: str) -> Quaternion:
        """The dustpan lies level, open towards +x (the broom); the broom's is not read."""
        return PAN_LEVEL if agent == "Alice" else super().tool_orientation(agent)

    # ------------------------------------------------------------------ reading the state

    def in_bin(self, state: TableState, cube: str) -> bool:
        """Whether ``cube`` lies inside the bin (its bottom below the rim: on the pile too)."""
        x, y, z = state.position(cube)
        region = Region.around(*BIN_CENTER, BIN_HALF[0], BIN_HALF[1])
        return region.contains(x, y) and z - CUBE_HALF < 2 * BIN_HALF[2]

    def in_dustpan(self, state: TableState, cube: str) -> bool:
        """Whether ``cube`` lies on the dustpan's plate."""
        local = state.tools["Alice"].to_local(state.position(cube))
        return bool(
            abs(local[0]) <= PLATE_HALF[0]
            and abs(local[1]) <= PLATE_HALF[1]
            and -0.005
            <= state.position(cube)[2] - state.tools["Alice"].position[2]
            <= PLATE_LOAD_HEIGHT
        )

    def place(self, state: TableState, cube: str) -> str:
        """``bin``, ``dustpan`` or ``table``."""
        if self.in_bin(state, cube):
            return "bin"
        if self.in_dustpan(state, cube):
            return "dustpan"
        return "table"

    def tool_at(self, state: TableState, agent: str) -> str | None:
        """The cube on the table that ``agent``'s tool is set down at, if any."""
        offset = -DUSTPAN_OFFSET if agent == "Alice" else BROOM_OFFSET
        tool = state.tools[agent].position
        if tool[2] > SET_DOWN:
            return None  # raised tools are at no cube
        for cube in self.cubes:
            if self.place(state, cube) != "table":
                continue
            x, y, _ = state.position(cube)
            if planar_distance(tool, (x + offset, y)) <= AT_CUBE:
                return cube
        return None

    def carried(self, state: TableState, agent: str) -> list[str]:
        """The bodies that move with ``agent``'s tool: the dustpan's load."""
        if agent != "Alice":
            return []
        return [c for c in self.cubes if self.in_dustpan(state, c)]

    # ------------------------------------------------------------------ words

    def rules_text(self) -> str:
        """The goal, the arms' reach and the rules, in words."""
        targets = ", ".join(self.targets)
        return (
            f"[Task] Sweep Floor, level {self.level}. Sweep these cubes into the bin: "
            f"{targets}; leave every other cube on the table. Alice holds a dustpan, Bob a "
            "broom. Alice's actions: MOVE <cube> (lay the dustpan next to the cube), DUMP "
            "(empty the dustpan into the bin), WAIT. Bob's actions: MOVE <cube> (set the "
            "broom next to the cube), SWEEP <cube> (sweep it into the dustpan), WAIT. Bob "
            "can SWEEP a cube only when both tools are at it, and Alice must WAIT while Bob "
            "SWEEPs. You can't all WAIT."
        )

    def object_lines(self, state: TableState) -> list[str]:
        """One sentence per object: where it is."""
        lines: list[str] = []
        for cube in self.cubes:
            where = self.place(state, cube)
            todo = " (sweep it)" if cube in self.targets and where != "bin" else ""
            lines.append(f"{cube} is {'on' if where == 'table' else 'in'} the {where}{todo}.")
        return lines

    def snippet(self, state: TableState, agent: str) -> str:
        """One sentence about ``agent``."""
        tool = "dustpan" if agent == "Alice" else "broom"
        at = self.tool_at(state, agent)
        where = f"at {at}" if at else "away from the cubes"
        if agent == "Alice":
            load = self.carried(state, agent)
            return f"Alice's dustpan is {where}, holding {', '.join(load) if load else 'nothing'}."
        return f"Bob's {tool} is {where}."

    # ------------------------------------------------------------------ actions

    def legal_actions(self, state: TableState, agent: str) -> list[Action]:
        """The actions ``agent`` may take now (WAIT included)."""
        actions = [Action(agent, "WAIT")]
        on_table = [c for c in self.cubes if self.place(state, c) == "table"]
        actions += [Action(agent, "MOVE", (c,)) for c in on_table]
        if agent == "Alice" and self.carried(state, agent):
            actions.append(Action(agent, "DUMP"))
        if agent == "Bob":
            at = self.tool_at(state, "Bob")
            if at is not None and self.tool_at(state, "Alice") == at:
                actions.append(Action(agent, "SWEEP", (at,)))
        return actions

    def intent(self, action: Action, state: TableState) -> Intent:
        """What ``action`` is meant to do."""
        agent = action.agent
        if action.verb == "MOVE":
            x, y, _ = state.position(action.args[0])
            if agent == "Alice":
                return Intent(agent, "MOVE", tool_goal=(x - DUSTPAN_OFFSET, y, PAN_Z))
            return Intent(agent, "MOVE", tool_goal=(x + BROOM_OFFSET, y, BROOM_Z))
        if action.verb == "SWEEP":
            cube = action.args[0]
            pan = state.tools["Alice"].position
            # The cube ends just inside the open edge (earlier ones pushed deeper).
            inside = pan[0] + PLATE_HALF[1] - CUBE_HALF - 0.005
            goal: Vec3 = (inside, pan[1], pan[2] + CUBE_HALF)
            _, y, _ = state.position(cube)
            return Intent(agent, "SWEEP", cube, (inside + CUBE_HALF + 0.015, y, BROOM_Z), goal)
        if action.verb == "DUMP":
            load = self.carried(state, agent)
            drop = {
                c: (BIN_CENTER[0] + 0.03 * (k % 3 - 1), BIN_CENTER[1] + 0.03 * (k // 3 - 1),
                    0.01 + CUBE_HALF)
                for k, c in enumerate(load)
            }  # fmt: skip
            # The dustpan comes back from the bin empty, beside it.
            home: Vec3 = (BIN_CENTER[0] + 0.2, BIN_CENTER[1] + 0.2, 0.15)
            return Intent(agent, "DUMP", tool_goal=home, others=drop)
        return Intent(agent, "WAIT")

    def task_rule_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """The rules of this task that ``plan`` breaks, in words."""
        problems: list[str] = []
        alice, bob = plan.for_agent("Alice"), plan.for_agent("Bob")
        for action in plan.actions:
            agent = action.agent
            if action.verb in ("MOVE", "SWEEP"):
                cube = action.args[0]
                if cube not in self.cubes:
                    problems.append(f"{agent}: there is no cube called {cube}")
                elif self.place(state, cube) != "table":
                    problems.append(f"{agent}: {cube} is in the {self.place(state, cube)} already")
        if problems:
            return problems
        if alice.verb == "SWEEP":
            problems.append("Alice holds the dustpan and cannot SWEEP; Bob sweeps")
        if bob.verb == "DUMP":
            problems.append("Bob holds the broom and cannot DUMP; Alice dumps")
        if alice.verb == "DUMP" and not self.carried(state, "Alice"):
            problems.append("Alice's dustpan is empty: nothing to DUMP")
        if bob.verb == "SWEEP":
            cube = bob.args[0]
            if alice.verb != "WAIT":
                problems.append("Alice must WAIT while Bob SWEEPs")
            if self.tool_at(state, "Bob") != cube:
                problems.append(f"Bob's broom is not at {cube}: MOVE there first")
            if self.tool_at(state, "Alice") != cube:
                problems.append(f"Alice's dustpan is not at {cube}: Alice must MOVE there first")
        return problems

    # ------------------------------------------------------------------ ground truth

    def success(self, state: TableState) -> bool:
        """Whether the task is done."""
        return all(self.in_bin(state, c) == (c in self.targets) for c in self.cubes) and not any(
            self.in_dustpan(state, c) for c in self.cubes
        )

    def progress(self, state: TableState) -> float:
        """Targets in the bin (half for the dustpan), less one for every wrong cube swept."""
        if self.success(state):
            return 1.0
        score = 0.0
        for cube in self.cubes:
            where = self.place(state, cube)
            worth = 1.0 if where == "bin" else 0.5 if where == "dustpan" else 0.0
            score += worth if cube in self.targets else -worth
        return min(max(score / len(self.targets), 0.0), 0.99)

    def key(self, state: TableState) -> tuple[object, ...]:
        """The symbolic state (for the expert's search)."""
        places = tuple(self.place(state, c) for c in self.cubes)
        return places, self.tool_at(state, "Alice"), self.tool_at(state, "Bob")

    def expert_steps(self, state: TableState, cap: int) -> int:
        """Steps the expert still needs from ``state`` (``cap + 1`` when more): its rollout."""
        steps = 0
        while not self.success(state) and steps <= cap:
            state = self.ideal_step(self.expert_plan(state), state)
            steps += 1
        return steps

    def expert_plan(self, state: TableState) -> JointPlan:
        """Sweep the targets one at a time, nearest the dustpan first; dump when full or done.

        A breadth-first search would be exact but too slow here (nine cubes, two
        tools); this rule takes two steps per cube and one per dump (of at most
        :data:`PAN_CAPACITY` cubes).
        """
        left = [c for c in self.targets if self.place(state, c) == "table"]
        alice_at, bob_at = self.tool_at(state, "Alice"), self.tool_at(state, "Bob")
        load = self.carried(state, "Alice")
        if not left or len(load) >= PAN_CAPACITY:
            # Bob waits: moving on now would save no step (Alice must MOVE after
            # dumping anyway) and his arm would cross hers on its way to the bin.
            return JointPlan((Action("Alice", "DUMP"), Action("Bob", "WAIT")))
        if alice_at is not None and alice_at == bob_at and alice_at in left:
            return JointPlan((Action("Alice", "WAIT"), Action("Bob", "SWEEP", (alice_at,))))
        pan = state.tools["Alice"].position
        nearest = min(left, key=lambda c: planar_distance(pan, state.position(c)))
        cube = bob_at if bob_at in left else nearest
        alice = Action("Alice", "WAIT") if alice_at == cube else Action("Alice", "MOVE", (cube,))
        bob = Action("Bob", "WAIT") if bob_at == cube else Action("Bob", "MOVE", (cube,))
        return JointPlan((alice, bob))
