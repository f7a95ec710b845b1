"""Shortest paths for chefs over (position, orientation).

A chef interacts with the cell it faces, so a path ends in a state where the
chef stands next to its target, facing it. Moving into a cell that is not
free (a counter, a wall, another chef) only turns the chef, exactly as in the
dynamics, so turning in place is a move of cost one like any other. Paths are
searched breadth-first over the (position, orientation) graph with the other
chefs' cells blocked, so plans respect the other chefs.

The graphs are tiny (at most 4 x the floor cells), so a breadth-first search
per chef per move costs tens of microseconds; a library (networkx) would add a
dependency and conversions for no gain.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.state import DIRECTIONS, INTERACT, Position

Pose = tuple[Position, int]


@dataclass(frozen=True)
class PathStep:
    """The first move of a shortest path and what the path reaches.

    Attributes:
        action: The action to take now (a direction, or INTERACT when already facing the target).
        distance: Moves until the chef faces the target (0 when it does now).
        target: The target cell the path leads to.
        cells: The cells the path walks through, the current one first.
    """

    action: int
    distance: int
    target: Position
    cells: tuple[Position, ...] = ()


class MotionPlanner:
    """Shortest paths to interact with cells of one kitchen."""

    def __init__(self, mdp: KitchenMDP):
        self.mdp = mdp
        self.floor = frozenset(mdp.floor_positions)
        self._goals: dict[Position, tuple[Pose, ...]] = {}
        for y in range(mdp.height):
            for x in range(mdp.width):
                goals = []
                for o, (dx, dy) in enumerate(DIRECTIONS):
                    stand = (x - dx, y - dy)
                    if stand in self.floor:
                        goals.append((stand, o))
                self._goals[(x, y)] = tuple(goals)
        self._static: dict[Position, dict[Pose, int]] = {}

    def region(self, pos: Position) -> frozenset[Position]:
        """The floor cells reachable from ``pos`` (ignoring other chefs)."""
        return self.mdp.floor_region(pos)

    def interact_poses(self, target: Position) -> tuple[Pose, ...]:
        """The poses from which a chef interacts with ``target``."""
        return self._goals.get(target, ())

    def can_reach(self, pos: Position, target: Position) -> bool:
        """A chef at ``pos`` can get to interact with ``target`` (ignoring other chefs)."""
        region = self.region(pos)
        return any(stand in region for stand, _ in self._goals.get(target, ()))

    def static_distance(self, pose: Pose, target: Position) -> int | None:
        """Moves from ``pose`` until facing ``target``, ignoring chefs (``None``: unreachable)."""
        table = self._static.get(target)
        if table is None:
            table = self._reverse_distances(target)
            self._static[target] = table
        return table.get(pose)

    def _reverse_distances(self, target: Position) -> dict[Pose, int]:
        # Breadth-first from the goal poses over reversed moves. A move with action a
        # from (p, o) leads to (p + d_a, a) if that cell is floor, else to (p, a).
        dist: dict[Pose, int] = {g: 0 for g in self._goals.get(target, ())}
        queue = deque(dist)
        while queue:
            pos, ori = queue.popleft()
            d = dist[pos, ori] + 1
            dx, dy = DIRECTIONS[ori]
            preds: list[Pose] = []
            back = (pos[0] - dx, pos[1] - dy)
            if back in self.floor:  # moved from `back` into `pos`, any orientation before
                preds.extend((back, o) for o in range(4))
            ahead = (pos[0] + dx, pos[1] + dy)
            if ahead not in self.floor:  # turned in place towards a non-floor cell
                preds.extend((pos, o) for o in range(4) if o != ori)
            for pred in preds:
                if pred not in dist:
                    dist[pred] = d
                    queue.append(pred)
        return dist

    def step_towards(
        self, pose: Pose, targets: Iterable[Position], blocked: Collection[Position] = ()
    ) -> PathStep | None:
        """The first move of a shortest path to face any of ``targets``, around ``blocked`` cells.

        Returns ``None`` when no target can be reached with the blocked cells in the way.
        """
        goal_of: dict[Pose, Position] = {}
        for target in targets:
            for goal in self._goals.get(target, ()):
                goal_of.setdefault(goal, target)
        if not goal_of:
            return None
        if pose in goal_of:
            return PathStep(INTERACT, 0, goal_of[pose], (pose[0],))
        floor = self.floor
        parent: dict[Pose, Pose | None] = {pose: None}
        frontier = [pose]
        depth = 0
        while frontier:
            depth += 1
            nxt_frontier = []
            for cur in frontier:
                (x, y), _ = cur
                for a, (dx, dy) in enumerate(DIRECTIONS):
                    cell = (x + dx, y + dy)
                    nxt: Pose = (cell, a) if cell in floor and cell not in blocked else ((x, y), a)
                    if nxt in parent:
                        continue
                    parent[nxt] = cur
                    if nxt in goal_of:
                        return self._unwind(parent, nxt, depth, goal_of[nxt])
                    nxt_frontier.append(nxt)
            frontier = nxt_frontier
        return None

    @staticmethod
    def _unwind(
        parent: dict[Pose, Pose | None], end: Pose, depth: int, target: Position
    ) -> PathStep:
        poses = [end]
        node = parent[end]
        while node is not None:
            poses.append(node)
            node = parent[node]
        poses.reverse()
        first = poses[1][1]  # the orientation after the first move is the action taken
        cells: list[Position] = []
        for p, _ in poses:
            if not cells or cells[-1] != p:
                cells.append(p)
        return PathStep(first, depth, target, tuple(cells))

    def path_cells(self, pose: Pose, targets: Iterable[Position]) -> list[Position]:
        """The cells a shortest path (ignoring other chefs) to face any target walks through."""
        goal_of = {g for t in targets for g in self._goals.get(t, ())}
        if not goal_of:
            return []
        parent: dict[Pose, Pose | None] = {pose: None}
        queue = deque([pose])
        end = None
        while queue:
            cur = queue.popleft()
            if cur in goal_of:
                end = cur
                break
            (x, y), _ = cur
            for a, (dx, dy) in enumerate(DIRECTIONS):
                cell = (x + dx, y + dy)
                nxt: Pose = (cell, a) if cell in self.floor else ((x, y), a)
                if nxt not in parent:
                    parent[nxt] = cur
                    queue.append(nxt)
        cells: list[Position] = []
        node = end
        while node is not None:
            if not cells or cells[-1] != node[0]:
                cells.append(node[0])
            node = parent[node]
        cells.reverse()
        return cells
