"""Collision-free joint paths for several arms at once.

Two kinds of motion, both checked configuration by configuration against the
:class:`~brigade.envs.table.planning_scene.PlanningScene`:

- :meth:`MotionPlanner.free_path`: from where the arms are to goal joint
  positions, in the joint space of all moving arms together (so they cannot
  hit each other), with OMPL's RRTConnect and path shortcutting, after trying
  the straight joint-space line first;
- :meth:`MotionPlanner.straight_path`: each arm's tool along a straight line
  (descending onto an object, lifting it, pushing with a broom), an IK
  solution every centimetre, so contact motions go where they are meant to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ompl import base as ob
from ompl import geometric as og
from ompl import util as ou

from brigade.envs.table.geometry import Vec3
from brigade.envs.table.mujoco_ik import ArmIK
from brigade.envs.table.planning_scene import Collision, PlanningScene
from brigade.envs.table.state import Quaternion

#: Spacing of the IK solutions along a straight tool motion (metres).
STRAIGHT_STEP = 0.01
#: ... and of its turn (radians): joints interpolated across a large turn would
#: swing the tool far off its line (a dustpan tipping in place flings its load).
STRAIGHT_TURN = math.radians(3)
#: The most any joint may turn between two neighbouring IK solutions of a
#: straight motion (radians); more means IK jumped to another branch and the
#: arm would swing its tool far off the line between them.
STRAIGHT_JUMP = 0.35
#: OMPL's collision-check spacing, as a fraction of the joint space's extent.
CHECK_RESOLUTION = 0.002
#: Seconds RRTConnect may search for one path; and for shortcutting it.
PLANNING_TIME = 1.0
SIMPLIFY_TIME = 0.1
#: IK attempts from perturbed rest poses before a target counts as unreachable.
IK_RESTARTS = 4
#: A free motion's goal keeps every joint this far from its limits where IK
#: offers such a solution (radians).
LIMIT_MARGIN = 0.3

ou.setLogLevel(ou.LOG_NONE)


@dataclass(frozen=True)
class ToolTarget:
    """Where one arm's tool frame must go."""

    position: Vec3
    quaternion: Quaternion | None


class MotionFailure(Exception):
    """A motion cannot be made; the message says why in words a planner can act on."""


class MotionPlanner:
    """IK, straight tool motions and free joint paths in one planning scene."""

    def __init__(self, scene: PlanningScene):
        self.scene = scene
        self.ik = ArmIK(scene.kinematics)
        model = scene.model
        self._ranges = {
            arm: np.array([model.jnt_range[model.dof_jntid[d]] for d in index.dof])
            for arm, index in scene.arms.items()
        }

    # ------------------------------------------------------------------ IK

    def solve(self, arm: str, target: ToolTarget, start: np.ndarray | None = None) -> np.ndarray:
        """Joint positions putting ``arm``'s tool at ``target``.

        Raises:
            MotionFailure: The IK does not converge (out of reach or at a limit).
        """
        solution = self.ik.solve(arm, target.position, target.quaternion, start=start)
        home = np.array(self.scene.arms[arm].model.home)
        # Differential IK can stall at a joint limit; restarting from the rest
        # pose, then from fixed perturbations of it, finds the other solutions.
        restarts = iter([home, *(home + offset for offset in self._offsets(len(home)))])
        while not solution.converged and (retry := next(restarts, None)) is not None:
            solution = self.ik.solve(arm, target.position, target.quaternion, start=retry)
        if not solution.converged:
            x, y, z = target.position
            raise MotionFailure(
                f"{arm} cannot put its tool at ({x:.2f}, {y:.2f}, {z:.2f}): inverse kinematics "
                f"ends {solution.position_error * 100:.1f} cm away"
            )
        return solution.q

    def solve_apart(
        self,
        targets: Mapping[str, ToolTarget],
        fixed: Mapping[str, np.ndarray],
        allow: Iterable[frozenset[str]],
    ) -> dict[str, np.ndarray]:
        """IK for several arms whose goal configurations do not collide, if IK can find one.

        A 7-joint arm reaches a pose with its elbow anywhere on a circle; the
        first solution may put two elbows in each other's way where another
        does not. The solutions from the arms' current joints come first, then
        those from the perturbed rest poses of :meth:`solve`'s restarts.

        Args:
            targets: Where each arm's tool must go.
            fixed: Goal joint positions of further moving arms (checked with them).
            allow: Group pairs that may touch.

        Raises:
            MotionFailure: A target is out of reach (a colliding goal is returned
                for :meth:`free_path` to report).
        """
        allow = frozenset(allow)
        starts = {arm: self.scene.q(arm) for arm in [*targets, *fixed]}
        goals = {arm: self.solve(arm, t, start=starts[arm]) for arm, t in targets.items()}
        try:
            first_free: dict[str, np.ndarray] | None = None
            for candidate in self._goal_candidates(targets, goals):
                if self.check({**fixed, **candidate}, allow):
                    continue
                # A goal with a joint at its stop leaves no room for the straight
                # tool motions that follow (a wrist wound up to its limit cannot
                # turn on, and IK jumps to another branch): a roomier one is taken.
                if self._room(candidate) >= LIMIT_MARGIN:
                    return candidate
                first_free = first_free if first_free is not None else candidate
            return first_free if first_free is not None else dict(goals)
        finally:
            self.scene.set_q(starts)

    def _goal_candidates(
        self, targets: Mapping[str, ToolTarget], goals: Mapping[str, np.ndarray]
    ) -> Iterator[dict[str, np.ndarray]]:
        """``goals``, then the IK solutions from each perturbed rest pose (lazily)."""
        yield dict(goals)
        for attempt in range(IK_RESTARTS):
            candidate = {}
            for arm, target in targets.items():
                home = np.array(self.scene.arms[arm].model.home)
                start = home + self._offsets(len(home))[attempt]
                solution = self.ik.solve(arm, target.position, target.quaternion, start=start)
                candidate[arm] = solution.q if solution.converged else goals[arm]
            yield candidate

    def _room(self, configuration: Mapping[str, np.ndarray]) -> float:
        """The smallest distance of any joint from its limits (radians)."""
        return (
            min(
                float(np.min(np.minimum(q - self._ranges[arm][:, 0], self._ranges[arm][:, 1] - q)))
                for arm, q in configuration.items()
            )
            if configuration
            else math.inf
        )

    @staticmethod
    def _offsets(joints: int) -> list[np.ndarray]:
        """Fixed joint perturbations for IK restarts (the same every run)."""
        generator = np.random.default_rng(joints)
        return [generator.uniform(-0.6, 0.6, joints) for _ in range(IK_RESTARTS)]

    # ------------------------------------------------------------------ checks

    def check(
        self, configuration: Mapping[str, np.ndarray], allow: Iterable[frozenset[str]]
    ) -> list[Collision]:
        """The collisions of the moving arms at one configuration."""
        self.scene.set_q(configuration)
        return self.scene.collisions(configuration.keys(), allow)

    # ------------------------------------------------------------------ straight

    def straight_path(
        self,
        targets: Mapping[str, ToolTarget],
        allow: Iterable[frozenset[str]],
        what: str,
        via: Mapping[str, Sequence[Vec3]] | None = None,
    ) -> np.ndarray:
        """Joint waypoints moving every arm's tool in a straight line to its target.

        With ``via`` points for an arm, its tool follows the polyline through
        them instead, at a speed that brings every arm in at once (each at
        the same fraction of its own line). Orientation is interpolated (slerp)
        from the current one when a target quaternion is given. Rows are the
        arms' joints concatenated in the order of ``targets``; the first row
        is the current configuration.

        Raises:
            MotionFailure: IK fails along the way, or a waypoint collides.
        """
        allow = frozenset(allow)
        arms = list(targets)
        starts = {arm: self.scene.q(arm) for arm in arms}
        origins = {arm: self.scene.tool_position(arm) for arm in arms}
        start_quats = {arm: self.scene.kinematics.tool_pose(arm).quaternion for arm in arms}
        lines = {
            arm: _Polyline([tuple(origins[arm]), *(via or {}).get(arm, ()), targets[arm].position])
            for arm in arms
        }
        distance = max(line.length for line in lines.values())
        turn = max(
            (
                _turn_angle(start_quats[a], q)
                for a in arms
                if (q := targets[a].quaternion) is not None
            ),
            default=0.0,
        )
        count = max(1, math.ceil(distance / STRAIGHT_STEP), math.ceil(turn / STRAIGHT_TURN))
        rows = [np.concatenate([starts[a] for a in arms])]
        current = dict(starts)
        try:
            for k in range(1, count + 1):
                fraction = k / count
                previous = dict(current)
                for arm in arms:
                    target = targets[arm]
                    position = lines[arm].at(fraction)
                    quaternion = (
                        _slerp(start_quats[arm], target.quaternion, fraction)
                        if target.quaternion is not None
                        else None
                    )
                    current[arm] = self.solve(
                        arm,
                        ToolTarget(position, quaternion),
                        start=current[arm],
                    )
                    if np.abs(current[arm] - previous[arm]).max() > STRAIGHT_JUMP:
                        x, y, z = position
                        raise MotionFailure(
                            f"{what}: {arm} cannot keep its tool on a straight line near "
                            f"({x:.2f}, {y:.2f}, {z:.2f}) without flipping its arm"
                        )
                collisions = self.check(current, allow)
                if collisions:
                    raise MotionFailure(
                        f"{what}: {_collision_text(collisions)} "
                        f"{'at the goal' if k == count else 'on the way'}"
                    )
                rows.append(np.concatenate([current[a] for a in arms]))
        finally:
            self.scene.set_q(starts)
        return np.array(rows)

    # ------------------------------------------------------------------ free

    def free_path(
        self,
        goals: Mapping[str, np.ndarray],
        allow: Iterable[frozenset[str]],
        what: str,
        seed: int = 0,
    ) -> np.ndarray:
        """A collision-free joint path of the arms in ``goals`` from where they are.

        Raises:
            MotionFailure: The goal collides (the pairs named), or no path is found in time.
        """
        allow = frozenset(allow)
        arms = list(goals)
        starts = {arm: self.scene.q(arm) for arm in arms}
        sizes = [len(starts[a]) for a in arms]
        start = np.concatenate([starts[a] for a in arms])
        goal = np.concatenate([np.asarray(goals[a], dtype=float) for a in arms])
        try:
            collisions = self.check(goals, allow)
            if collisions:
                raise MotionFailure(f"{what}: {_collision_text(collisions)} at the goal")
            collisions = self.check(starts, allow)
            if collisions:
                raise MotionFailure(f"{what}: {_collision_text(collisions)} already at the start")
            return self._plan(arms, sizes, start, goal, allow, what, seed)
        finally:
            self.scene.set_q(starts)

    def _plan(
        self,
        arms: Sequence[str],
        sizes: Sequence[int],
        start: np.ndarray,
        goal: np.ndarray,
        allow: frozenset[frozenset[str]],
        what: str,
        seed: int,
    ) -> np.ndarray:
        dimension = len(start)
        splits = np.cumsum(sizes)[:-1]
        ou.RNG.setSeed(seed + 1)  # OMPL treats 0 as "pick a seed"
        space = ob.RealVectorStateSpace(dimension)
        bounds = ob.RealVectorBounds(dimension)
        ranges = np.concatenate([self._ranges[a] for a in arms])
        for i, (low, high) in enumerate(ranges):
            bounds.setLow(i, float(low))
            bounds.setHigh(i, float(high))
        space.setBounds(bounds)
        setup = og.SimpleSetup(space)
        buffer = np.empty(dimension)

        def valid(state: object) -> bool:
            for i in range(dimension):
                buffer[i] = state[i]  # type: ignore[index]
            parts = np.split(buffer, splits)
            return not self.check(dict(zip(arms, parts)), allow)

        setup.setStateValidityChecker(valid)
        info = setup.getSpaceInformation()
        info.setStateValidityCheckingResolution(CHECK_RESOLUTION)
        first, last = info.allocState(), info.allocState()
        for i in range(dimension):
            first[i] = float(start[i])
            last[i] = float(goal[i])
        if info.checkMotion(first, last):
            return np.array([start, goal])
        setup.setPlanner(og.RRTConnect(info))
        setup.setStartAndGoalStates(first, last)
        if not setup.solve(PLANNING_TIME) or not setup.haveExactSolutionPath():
            raise MotionFailure(
                f"{what}: no collision-free path for {', '.join(arms)} found in {PLANNING_TIME:g} s"
            )
        setup.simplifySolution(SIMPLIFY_TIME)
        path = setup.getSolutionPath()
        rows = [
            [path.getState(k)[i] for i in range(dimension)] for k in range(path.getStateCount())
        ]
        waypoints = np.array(rows)
        waypoints[0], waypoints[-1] = start, goal
        return waypoints


def _collision_text(collisions: Sequence[Collision]) -> str:
    pairs = "; ".join(str(c) for c in collisions)
    return f"collision between {pairs}"


class _Polyline:
    """Points joined by straight lines, walked by the fraction of its length."""

    def __init__(self, points: Sequence[Sequence[float]]):
        self.points = np.asarray(points, dtype=float)
        gaps = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.cumulative = np.concatenate([[0.0], np.cumsum(gaps)])
        self.length = float(self.cumulative[-1])

    def at(self, fraction: float) -> Vec3:
        """The point ``fraction`` of the way along (the last point at 1)."""
        if self.length == 0.0:
            point = self.points[-1]
        else:
            walked = fraction * self.length
            k = min(
                int(np.searchsorted(self.cumulative, walked, side="right")) - 1,
                len(self.points) - 2,
            )
            span = self.cumulative[k + 1] - self.cumulative[k]
            share = 0.0 if span == 0.0 else (walked - self.cumulative[k]) / span
            point = self.points[k] + min(share, 1.0) * (self.points[k + 1] - self.points[k])
        return (float(point[0]), float(point[1]), float(point[2]))


def _turn_angle(a: Quaternion, b: Quaternion) -> float:
    """The angle (radians) of the rotation between two unit quaternions (w, x, y, z)."""
    dot = min(1.0, abs(float(np.dot(a, b))))
    return 2.0 * math.acos(dot)


def _slerp(a: Quaternion, b: Quaternion, fraction: float) -> Quaternion:
    """Spherical interpolation of unit quaternions (w, x, y, z), the short way round."""
    qa, qb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    dot = float(np.dot(qa, qb))
    if dot < 0:
        qb, dot = -qb, -dot
    if dot > 0.9995:
        out = qa + fraction * (qb - qa)
    else:
        angle = math.acos(dot)
        out = (math.sin((1 - fraction) * angle) * qa + math.sin(fraction * angle) * qb) / math.sin(
            angle
        )
    out /= np.linalg.norm(out)
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))
