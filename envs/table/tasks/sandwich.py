"""Make Sandwich: two suction arms stack a recipe's ingredients on a cutting board.

Chad works on the right half of the table and Dave on the left; the cutting
board sits between them, where both reach. The ingredients start on both
halves, so each recipe needs both arms, taking turns at the board. The levels
are recipes of 3, 5, 7 and 9 ingredients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from brigade.action import Action
from brigade.envs.table.geometry import FACING_CAMERA, Region, Vec3, planar_distance
from brigade.envs.table.spec import ArmSpec, BodySpec, SceneSpec, Shape
from brigade.envs.table.state import TableState
from brigade.envs.table.tasks.base import Intent, TableTask
from brigade.plan import JointPlan

BOARD = "cutting_board"
BOARD_CENTER = (0.0, 0.0)
BOARD_HALF = (0.1, 0.08, 0.01)
#: How far (metres) a food's centre may sit from the one below and still count
#: as stacked on it, and the slack on heights (half the thinnest food).
STACK_XY = 0.03
STACK_Z = 0.004

#: Food: shape, half extents (box) or (radius, half height, 0), colour, start (x, y).
FOODS: dict[str, tuple[Shape, Vec3, tuple[float, float, float, float], tuple[float, float]]] = {
    "bread_slice1": ("box", (0.035, 0.035, 0.01), (0.87, 0.7, 0.4, 1.0), (-0.55, -0.15)),
    "lettuce": ("box", (0.035, 0.035, 0.004), (0.35, 0.75, 0.25, 1.0), (-0.4, -0.15)),
    "cheese": ("box", (0.03, 0.03, 0.005), (1.0, 0.85, 0.2, 1.0), (-0.25, -0.15)),
    "cucumber": ("cylinder", (0.028, 0.005, 0.0), (0.3, 0.6, 0.3, 1.0), (-0.55, 0.05)),
    "beef_patty": ("cylinder", (0.032, 0.008, 0.0), (0.45, 0.25, 0.15, 1.0), (0.55, 0.05)),
    "bread_slice2": ("box", (0.035, 0.035, 0.01), (0.87, 0.7, 0.4, 1.0), (0.55, -0.15)),
    "ham": ("box", (0.032, 0.032, 0.005), (0.95, 0.6, 0.6, 1.0), (0.4, -0.15)),
    "tomato": ("cylinder", (0.03, 0.006, 0.0), (0.9, 0.2, 0.15, 1.0), (0.25, -0.15)),
    "bacon": ("box", (0.035, 0.015, 0.004), (0.75, 0.3, 0.25, 1.0), (-0.4, 0.05)),
}
#: The recipes, bottom to top (lengths 3, 5, 7, 9).
RECIPES: dict[str, tuple[str, ...]] = {
    "recipe1": ("bread_slice1", "ham", "bread_slice2"),
    "recipe2": ("bread_slice1", "lettuce", "tomato", "cheese", "bread_slice2"),
    "recipe3": (
        "bread_slice1", "lettuce", "beef_patty", "cheese", "tomato", "bacon", "bread_slice2",
    ),
    "recipe4": (
        "bread_slice1", "lettuce", "tomato", "cucumber", "ham", "cheese", "bacon",
        "beef_patty", "bread_slice2",
    ),
}  # fmt: skip
#: Free spots on each half for PUT <food> table.
SPARE = {"Chad": ((0.25, 0.05), (0.4, 0.05)), "Dave": ((-0.25, 0.05),)}


def _half_height(food: str) -> float:
    shape, size, _, _ = FOODS[food]
    return size[2] if shape == "box" else size[1]


def build_scene() -> SceneSpec:
    """The two arms, the board and every food (all recipes share the scene)."""
    right, left = Region(-0.13, 0.75, -0.35, 0.3), Region(-0.75, 0.13, -0.35, 0.3)
    arms = (
        ArmSpec("Chad", "iiwa", (0.45, 0.45, 0.0), FACING_CAMERA, "suction", right),
        ArmSpec("Dave", "iiwa", (-0.45, 0.45, 0.0), FACING_CAMERA, "suction", left),
    )
    board = BodySpec(
        BOARD, "board", "box", BOARD_HALF, (*BOARD_CENTER, BOARD_HALF[2]), (0.6, 0.42, 0.25, 1.0),
        fixed=True,
    )  # fmt: skip
    foods = tuple(
        BodySpec(name, "food", shape, size, (xy[0], xy[1], size[2] if shape == "box" else size[1]),
                 rgba, mass=0.03)
        for name, (shape, size, rgba, xy) in FOODS.items()
    )  # fmt: skip
    return SceneSpec(arms=arms, bodies=(board, *foods))


class SandwichTask(TableTask):
    """One level of Make Sandwich (``recipe1`` ... ``recipe4``)."""

    family = "sandwich"
    verbs: ClassVar[Mapping[str, int]] = {"PICK": 1, "PUT": 2, "WAIT": 0}

    def __init__(self, level: str):
        if level not in RECIPES:
            raise KeyError(f"Make Sandwich has levels {sorted(RECIPES)}, not {level!r}")
        super().__init__(level, build_scene())
        self.recipe = RECIPES[level]

    # ------------------------------------------------------------------ reading the state

    def stack(self, state: TableState) -> list[str]:
        """The foods stacked on the board, bottom to top (held foods excluded)."""
        resting = [f for f in FOODS if state.holder(f) is None]
        order: list[str] = []
        top_z = 2 * BOARD_HALF[2]
        below_xy = BOARD_CENTER
        while True:
            # The resting food whose bottom is nearest the top of the stack so far.
            found, best = None, STACK_Z
            for food in resting:
                if food in order:
                    continue
                x, y, z = state.position(food)
                near = planar_distance((x, y), below_xy) <= (
                    STACK_XY if order else max(BOARD_HALF[:2]) - 0.01
                )
                gap = abs(z - (top_z + _half_height(food)))
                if near and gap <= best:
                    found, best = food, gap
            if found is None:
                return order
            order.append(found)
            x, y, z = state.position(found)
            below_xy = (x, y)
            top_z = z + _half_height(found)

    def on_top(self, state: TableState, food: str) -> str | None:
        """What lies on ``food`` (or on the board), if anything."""
        resting = [f for f in FOODS if f != food and state.holder(f) is None]
        if food == BOARD:
            stack = self.stack(state)
            return stack[0] if stack else None
        x, y, z = state.position(food)
        for other in resting:
            ox, oy, oz = state.position(other)
            if planar_distance((x, y), (ox, oy)) <= STACK_XY + 0.02 and oz > z:
                return other
        return None

    def _side(self, x: float) -> str:
        return "Chad" if x > 0 else "Dave"

    # ------------------------------------------------------------------ words

    def rules_text(self) -> str:
        """The goal, the arms' reach and the rules, in words."""
        order = ", ".join(self.recipe)
        return (
            f"[Task] Make Sandwich, {self.level}. Stack on the cutting_board, bottom to top: "
            f"{order}. Chad reaches the right half of the table and the cutting_board; "
            "Dave reaches the left half and the cutting_board. A robot holds one food at a "
            "time, with suction. Actions: PICK <food> (a food with nothing on it, in your "
            "reach, hand empty), PUT <food> <target> (the food you hold onto the "
            "cutting_board, onto the top food of the stack, or onto the table), WAIT. "
            "Only one robot may PUT onto the cutting_board at a time. You can't all WAIT."
        )

    def object_lines(self, state: TableState) -> list[str]:
        """One sentence per object: where it is."""
        stack = self.stack(state)
        lines = [
            "On the cutting_board, bottom to top: "
            + (", ".join(stack) if stack else "nothing")
            + ".",
        ]
        for food in FOODS:
            if food in stack:
                continue
            holder = state.holder(food)
            if holder is not None:
                lines.append(f"{food} is held by {holder}.")
            else:
                x = state.position(food)[0]
                half = "right" if x > 0 else "left"
                lines.append(f"{food} is on the table, {half} half ({self._side(x)}'s side).")
        return lines

    def snippet(self, state: TableState, agent: str) -> str:
        """One sentence about ``agent``."""
        held = state.held[agent]
        side = "right" if agent == "Chad" else "left"
        return f"{agent} works on the {side} half and holds {held if held else 'nothing'}."

    # ------------------------------------------------------------------ actions

    def _reachable(self, state: TableState, agent: str, food: str) -> bool:
        x, y, _ = state.position(food)
        return self.scene.arm(agent).reach.contains(x, y)

    def legal_actions(self, state: TableState, agent: str) -> list[Action]:
        """The actions ``agent`` may take now (WAIT included)."""
        actions = [Action(agent, "WAIT")]
        held = state.held[agent]
        if held is None:
            for food in FOODS:
                if (
                    state.holder(food) is None
                    and self.on_top(state, food) is None
                    and self._reachable(state, agent, food)
                ):
                    actions.append(Action(agent, "PICK", (food,)))
            return actions
        stack = self.stack(state)
        actions.append(Action(agent, "PUT", (held, stack[-1] if stack else BOARD)))
        if self._spare(state, agent) is not None:
            actions.append(Action(agent, "PUT", (held, "table")))
        return actions

    def expert_actions(self, state: TableState, agent: str) -> list[Action]:
        """Only moves that build the recipe: pick the next foods, stack in order."""
        stack = self.stack(state)
        held_now = {h for h in state.held.values() if h}
        wanted = [f for f in self.recipe if f not in stack]
        out = [Action(agent, "WAIT")]
        for action in self.legal_actions(state, agent):
            if (
                action.verb == "PICK"
                and action.args[0] in wanted
                and action.args[0] not in held_now
            ):
                out.append(action)
            elif action.verb == "PUT" and action.args[1] != "table":
                if wanted and action.args[0] == wanted[0]:
                    out.append(action)
        return out

    def _spare(self, state: TableState, agent: str) -> tuple[float, float] | None:
        for spot in SPARE[agent]:
            if all(
                planar_distance(spot, state.position(f)[:2]) > 0.06
                for f in FOODS
                if state.holder(f) is None
            ):
                return spot
        return None

    def intent(self, action: Action, state: TableState) -> Intent:
        """What ``action`` is meant to do."""
        agent = action.agent
        if action.verb == "PICK":
            food = action.args[0]
            x, y, z = state.position(food)
            return Intent(agent, "PICK", food, (x, y, z + _half_height(food)), grasp=True)
        if action.verb == "PUT":
            food, target = action.args
            if target == "table":
                spot = self._spare(state, agent) or SPARE[agent][0]
                goal: Vec3 = (spot[0], spot[1], _half_height(food))
            elif target == BOARD:
                goal = (*BOARD_CENTER, 2 * BOARD_HALF[2] + _half_height(food))
            else:
                x, y, z = state.position(target)
                goal = (x, y, z + _half_height(target) + _half_height(food))
            tool: Vec3 = (goal[0], goal[1], goal[2] + _half_height(food))
            return Intent(agent, "PUT", food, tool, goal, release=True)
        return Intent(agent, "WAIT")

    def task_rule_problems(self, plan: JointPlan, state: TableState) -> list[str]:
        """The rules of this task that ``plan`` breaks, in words."""
        problems: list[str] = []
        picked: dict[str, str] = {}
        onto_board = []
        stack = self.stack(state)
        for action in plan.actions:
            agent, held = action.agent, state.held[action.agent]
            if action.verb == "PICK":
                food = action.args[0]
                if food not in FOODS:
                    problems.append(f"{agent}: there is no food called {food}")
                elif held is not None:
                    problems.append(f"{agent} already holds {held} and cannot PICK {food}")
                elif (holder := state.holder(food)) is not None:
                    problems.append(f"{agent} cannot PICK {food}: {holder} holds it")
                elif (cover := self.on_top(state, food)) is not None:
                    problems.append(f"{agent} cannot PICK {food}: {cover} is on it")
                elif not self._reachable(state, agent, food):
                    problems.append(f"{agent} cannot reach {food}")
                elif food in picked:
                    problems.append(f"{agent} and {picked[food]} both PICK {food}")
                else:
                    picked[food] = agent
            elif action.verb == "PUT":
                food, target = action.args
                if held != food:
                    problems.append(
                        f"{agent} cannot PUT {food}: it holds {held if held else 'nothing'}"
                    )
                elif target == "table":
                    if self._spare(state, agent) is None:
                        problems.append(f"{agent} has no free spot on its half of the table")
                elif target == BOARD or target in FOODS:
                    top = stack[-1] if stack else BOARD
                    if target != top:
                        problems.append(
                            f"{agent} cannot PUT {food} onto {target}: the top of the "
                            f"stack is {top}"
                        )
                    else:
                        onto_board.append(agent)
                else:
                    problems.append(
                        f"{agent}: {target} is not a target (cutting_board, a food or table)"
                    )
        if len(onto_board) > 1:
            problems.append(f"{' and '.join(onto_board)} cannot both PUT onto the cutting_board")
        return problems

    # ------------------------------------------------------------------ ground truth

    def _prefix(self, state: TableState) -> int:
        stack = self.stack(state)
        n = 0
        for have, want in zip(stack, self.recipe):
            if have != want:
                break
            n += 1
        return n

    def success(self, state: TableState) -> bool:
        """Whether the task is done."""
        return self.stack(state) == list(self.recipe)

    def progress(self, state: TableState) -> float:
        """Correctly stacked foods over the recipe, half a food for holding the next one."""
        if self.success(state):
            return 1.0
        n = self._prefix(state)
        extra = 0.5 if n < len(self.recipe) and self.recipe[n] in state.held.values() else 0.0
        return min((n + extra) / len(self.recipe), 0.99)

    def key(self, state: TableState) -> tuple[object, ...]:
        """The symbolic state (for the expert's search)."""
        stack = tuple(self.stack(state))
        held = tuple(state.held[a] for a in self.agents)
        return stack, held
