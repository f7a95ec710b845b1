"""The table without physics: every plan that passes the rules comes true exactly.

``backend="ideal"`` swaps the physics engine for the task's own
:meth:`~brigade.envs.table.tasks.base.TableTask.ideal_step`: no arm moves, no
IK, collision or path is checked, and nothing slips. It is a symbolic mode
for work above the skills, where thousands of episodes are needed and the
physics would only slow them down: collecting critic data, trying planners'
prompts. Results that claim anything about the table are measured on
MuJoCo or PyBullet, never here (the skills' feedback, the slips and the
collisions are what make the benchmark hard).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from brigade.envs.table.geometry import Vec3
from brigade.envs.table.state import Pose, TableState
from brigade.envs.table.tasks.base import TableTask
from brigade.envs.table.world import TableWorld
from brigade.errors import BrigadeError
from brigade.plan import JointPlan

#: Simulated seconds one ideal step is said to take (nothing is integrated).
STEP_SECONDS = 1.0
#: Verbs whose skills end with the arm back at rest (besides grasps and releases).
RETREATING_VERBS = ("SWEEP",)
#: The table's extent in the schematic picture (metres, x and y).
_VIEW = ((-0.8, 0.8), (-0.45, 0.55))


class IdealWorld(TableWorld):
    """A :class:`TableTask`'s symbolic state standing in for a physics engine."""

    backend = "ideal"
    timestep = STEP_SECONDS

    def __init__(self, task: TableTask, rest: Mapping[str, Vec3] | None = None):
        """A task's world without physics.

        Args:
            task: The level.
            rest: Where each arm's tool is at rest, as the physics has it (the
                arm's home pose): a critic trained on this world reads
                features like the physical ones. Default: the task's rough
                :meth:`~brigade.envs.table.tasks.base.TableTask.home`.
        """
        self.task = task
        self.scene = task.scene
        self.rest = dict(rest) if rest is not None else {a: task.home(a) for a in task.agents}
        self._state = self._start()
        self._time = 0.0

    def _start(self) -> TableState:
        start = self.task.initial_state()
        tools = {a: Pose(self.rest[a], pose.quaternion) for a, pose in start.tools.items()}
        return TableState(start.bodies, tools, start.held)

    # ------------------------------------------------------------------ the state

    def home(self) -> None:
        """Every object at its start, tools above their bases, nothing held."""
        self._state = self._start()
        self._time = 0.0

    def place_bodies(self, poses: Mapping[str, Pose]) -> None:
        """Put movable bodies at ``poses``."""
        unknown = sorted(set(poses) - set(self._state.bodies))
        if unknown:
            raise BrigadeError(f"no movable bodies called {unknown}")
        self._state = TableState(
            {**self._state.bodies, **poses}, self._state.tools, self._state.held
        )

    @property
    def time(self) -> float:
        """Seconds said to have passed (one :data:`STEP_SECONDS` per plan)."""
        return self._time

    def step(self, steps: int = 1) -> None:
        """Nothing moves without a plan."""

    def apply(self, plan: JointPlan) -> None:
        """Make ``plan``'s intents come true (it has passed the task's rules).

        As the skills do, an arm that grasped, released or swept ends at rest
        above its base, with what it holds: a tool left where it acted would
        read as holding what it just put down.
        """
        before = self._state
        after = self.task.ideal_step(plan, before)
        bodies, tools = dict(after.bodies), dict(after.tools)
        for action in plan.actions:
            intent = self.task.intent(action, before)
            if intent.grasp or intent.release or intent.verb in RETREATING_VERBS:
                rest = self.rest[action.agent]
                tools[action.agent] = Pose(rest, tools[action.agent].quaternion)
                held = after.held[action.agent]
                if held is not None:
                    bodies[held] = Pose(rest, bodies[held].quaternion)
        self._state = TableState(bodies, tools, after.held)
        self._time += STEP_SECONDS

    def read_state(self) -> TableState:
        """The symbolic state."""
        return self._state

    def tool_pose(self, arm: str) -> Pose:
        """Where ``arm``'s tool is."""
        return self._state.tools[arm]

    def body_pose(self, name: str) -> Pose:
        """Where ``name`` is."""
        return self._state.bodies[name]

    def grasped(self, arm: str) -> str | None:
        """What ``arm`` holds."""
        return self._state.held[arm]

    # ------------------------------------------------------------------ no joints here

    def arm_q(self, arm: str) -> np.ndarray:
        """Refused: the ideal backend has no joints."""
        raise _no_joints()

    def command_arm(self, arm: str, q: np.ndarray) -> None:
        """Refused: the ideal backend has no joints."""
        raise _no_joints()

    def command_gripper(self, arm: str, closed: bool) -> None:
        """Refused: the ideal backend has no joints."""
        raise _no_joints()

    def suction(self, arm: str, on: bool) -> str | None:
        """Refused: the ideal backend has no joints."""
        raise _no_joints()

    # ------------------------------------------------------------------ snapshots, pictures

    def snapshot(self) -> bytes:
        """The state and the time, as JSON."""
        state = self._state
        data = {
            "time": self._time,
            "bodies": {n: [list(p.position), list(p.quaternion)] for n, p in state.bodies.items()},
            "tools": {n: [list(p.position), list(p.quaternion)] for n, p in state.tools.items()},
            "held": dict(state.held),
        }
        return json.dumps(data).encode()

    def restore(self, snapshot: bytes) -> None:
        """Return to a state captured by :meth:`snapshot`."""
        try:
            data = json.loads(snapshot)
            bodies = {n: _pose(v) for n, v in data["bodies"].items()}
            tools = {n: _pose(v) for n, v in data["tools"].items()}
            held = {str(a): (None if h is None else str(h)) for a, h in data["held"].items()}
            time = float(data["time"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BrigadeError(f"not a snapshot of an ideal table: {exc!r}") from None
        if set(bodies) != set(self._state.bodies) or set(tools) != set(self._state.tools):
            raise BrigadeError("the snapshot is of another table task")
        self._state, self._time = TableState(bodies, tools, held), time

    def render(self, camera: str = "front", width: int = 320, height: int = 240) -> np.ndarray:
        """A schematic top view (any camera): the fixtures, the objects and the tools.

        Drawn with numpy alone: there is no scene to render, only rectangles.
        """
        picture = np.full((height, width, 3), 235, dtype=np.uint8)
        (x0, x1), (y0, y1) = _VIEW

        def box(x: float, y: float, hx: float, hy: float, colour: tuple[int, ...]) -> None:
            left = int((x - hx - x0) / (x1 - x0) * width)
            right = int((x + hx - x0) / (x1 - x0) * width)
            top = int((y1 - (y + hy)) / (y1 - y0) * height)
            bottom = int((y1 - (y - hy)) / (y1 - y0) * height)
            picture[max(top, 0) : max(bottom, top + 1), max(left, 0) : max(right, left + 1)] = (
                colour
            )

        for body in self.scene.bodies:
            x, y, _ = body.position if body.fixed else self._state.position(body.name)
            colour = tuple(int(255 * c) for c in body.rgba[:3])
            half_y = body.size[1] if body.shape == "box" else body.size[0]
            box(x, y, body.size[0], half_y, colour)
        for arm in self.agents:
            x, y, _ = self._state.tools[arm].position
            box(x, y, 0.015, 0.015, (30, 30, 30))
        return picture


def _pose(value: list[list[float]]) -> Pose:
    position, quaternion = value
    return Pose(
        (float(position[0]), float(position[1]), float(position[2])),
        (float(quaternion[0]), float(quaternion[1]), float(quaternion[2]), float(quaternion[3])),
    )


def _no_joints() -> BrigadeError:
    return BrigadeError("the ideal backend has no joints: it applies plans without physics")
