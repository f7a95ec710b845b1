"""Executing one joint plan of skills: moves until the first chef becomes free.

Each move, every busy chef takes the first move of a shortest path to its
target, planned around the other chefs. Chefs plan in index order and reserve
the cell they step into, so the moves never collide. A chef that makes no
progress for ``patience`` moves (someone stands in its way) fails with
feedback. The step ends when the first chef's skill completes or fails, so
planners replan whenever a chef becomes free; a WAIT lasts until another
chef's skill ends or a pot changes state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from brigade.envs.kitchen.describe import pot_name
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.skills import Skill, SkillBook
from brigade.envs.kitchen.state import DIRECTIONS, INTERACT, STAY, KitchenState, Position, Soup


@dataclass
class _Run:
    chef: int
    skill: Skill
    status: str = "running"  # running | done | failed
    reason: str = ""
    best: int | None = None
    stalls: int = 0


@dataclass
class StepResult:
    """What one joint plan did at the move level."""

    state: KitchenState
    moves: int = 0
    sparse_by_chef: list[float] = field(default_factory=list)
    shaped_by_chef: list[float] = field(default_factory=list)
    deliveries: int = 0
    paying_deliveries: int = 0
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)


def count_deliveries(info: dict[str, Any]) -> tuple[int, int]:
    """Soups served in one transition, and how many of them earned a reward."""
    chefs = [chef for event, chef in info["events"] if event == "soup_delivery"]
    paying = sum(1 for chef in chefs if info["sparse_reward_by_agent"][chef] > 0)
    return len(chefs), paying


def pot_status(mdp: KitchenMDP, soup: Soup | None) -> tuple[str, int]:
    """A pot's coarse status: empty, idle (with a count), cooking or ready."""
    if soup is None:
        return ("empty", 0)
    if soup.cooking_tick < 0:
        return ("idle", len(soup.ingredients))
    return ("ready", 0) if mdp.soup_is_ready(soup) else ("cooking", 0)


@dataclass(frozen=True)
class MoveChoice:
    """One chef's move this tick.

    Attributes:
        action: The action index.
        distance: Moves left to face the target (a large number when blocked).
        waiting: The chef stands at a pot waiting for its soup.
    """

    action: int
    distance: int
    waiting: bool = False


_FAR = 10**6


def choose_moves(
    mdp: KitchenMDP, book: SkillBook, state: KitchenState, skills: Sequence[Skill | None]
) -> list[MoveChoice]:
    """Each chef's next move: busy chefs walk shortest paths, idle ones step out of the way.

    ``skills[i]`` is chef i's skill, or ``None`` for an idle chef.

    Busy chefs have priority in index order: each plans around the other chefs
    and, where it can, around the paths of the busy chefs before it; a chef
    whose only way runs through a higher-priority path yields (steps aside if
    it stands on it). Cells are reserved as moves are chosen, so moves never
    collide or swap.
    """
    planner = book.planner
    n = len(skills)
    positions = [c.position for c in state.chefs]
    targets = [
        book.reachable_targets(state, i, s) if s is not None else [] for i, s in enumerate(skills)
    ]
    busy = [i for i in range(n) if skills[i] is not None]
    # Pass 1: the paths busy chefs would like, around each other but not around idle chefs.
    wanted: set[Position] = set()
    for i in busy:
        chef = state.chefs[i]
        others = {positions[j] for j in busy if j != i}
        step = planner.step_towards((chef.position, chef.orientation), targets[i], others)
        if step is not None:
            wanted.update(step.cells)
    choices: list[MoveChoice | None] = [None] * n
    reserved: set[Position] = set()
    staying = set(positions)
    # Pass 2: idle chefs standing on a wanted path step aside.
    for i in range(n):
        if skills[i] is not None:
            continue
        action = STAY
        if positions[i] in wanted:
            cell = _free_neighbour(mdp, positions[i], staying | reserved, avoid=wanted)
            if cell is not None:
                action = _direction(positions[i], cell)
                reserved.add(cell)
                staying.discard(positions[i])
        choices[i] = MoveChoice(action, 0)
    # Pass 3: busy chefs, in priority order.
    soft: set[Position] = set()
    for i in busy:
        skill = skills[i]
        assert skill is not None
        chef = state.chefs[i]
        pose = (chef.position, chef.orientation)
        hard = (staying - {chef.position}) | reserved
        step = planner.step_towards(pose, targets[i], hard | soft)
        yielding = False
        if step is None and planner.step_towards(pose, targets[i], hard) is not None:
            # The only free way runs through a higher-priority path: give way.
            yielding = True
            cell = None
            if chef.position in soft:
                cell = _free_neighbour(mdp, chef.position, hard | {chef.position}, avoid=soft)
            around = planner.step_towards(pose, targets[i], hard)
            assert around is not None
            if cell is not None:
                choices[i] = MoveChoice(_direction(chef.position, cell), around.distance, True)
                reserved.add(cell)
                staying.discard(chef.position)
            else:
                choices[i] = MoveChoice(STAY, around.distance, True)
            continue
        if step is None and chef.position in soft:
            # Stuck on a higher-priority chef's path (say, each needs the other's cell):
            # step aside so that chef can pass.
            cell = _free_neighbour(mdp, chef.position, hard | {chef.position}, avoid=soft)
            if cell is not None:
                dists = [planner.static_distance(pose, t) for t in targets[i]]
                best = min((d for d in dists if d is not None), default=_FAR)
                choices[i] = MoveChoice(_direction(chef.position, cell), best, True)
                reserved.add(cell)
                staying.discard(chef.position)
                continue
        if step is None:
            # Other chefs stand where this one must go: head there along a path clear of
            # higher-priority paths (or any path), moving only into free cells.
            step = planner.step_towards(pose, targets[i], soft | reserved) or planner.step_towards(
                pose, targets[i], reserved
            )
            if step is not None and step.action < 4 and len(step.cells) > 1:
                if step.cells[1] in staying or step.cells[1] in reserved:
                    soft.update(step.cells[1:])
                    choices[i] = MoveChoice(STAY, step.distance)
                    continue
        if step is None:
            dists = [planner.static_distance(pose, t) for t in targets[i]]
            choices[i] = MoveChoice(STAY, min((d for d in dists if d is not None), default=_FAR))
            continue
        soft.update(step.cells[1:])
        action, waiting = step.action, yielding
        if action == INTERACT and skill.verb == "FILL":
            soup = state.pots[mdp.pot_positions.index(step.target)]
            if soup is not None and not mdp.soup_is_ready(soup):
                action, waiting = STAY, True
        if action < 4 and len(step.cells) > 1:
            reserved.add(step.cells[1])
            staying.discard(chef.position)
        choices[i] = MoveChoice(action, step.distance, waiting)
    return [c if c is not None else MoveChoice(STAY, 0) for c in choices]


def _direction(src: Position, dst: Position) -> int:
    return DIRECTIONS.index((dst[0] - src[0], dst[1] - src[1]))


def _free_neighbour(
    mdp: KitchenMDP, pos: Position, taken: set[Position], *, avoid: set[Position]
) -> Position | None:
    """The neighbouring cell to step to, to get off the ``avoid`` cells (``None``: stay).

    Breadth-first over free floor cells to the nearest one off ``avoid``; the
    answer is the first step of that walk (which may itself be on ``avoid``,
    as when a chef backs out of a corridor into a side pocket).
    """
    first: dict[Position, Position] = {}
    frontier = []
    for dx, dy in DIRECTIONS:
        cell = (pos[0] + dx, pos[1] + dy)
        if mdp.is_floor(cell) and cell not in taken:
            if cell not in avoid:
                return cell
            first[cell] = cell
            frontier.append(cell)
    while frontier:
        nxt = []
        for x, y in frontier:
            for dx, dy in DIRECTIONS:
                cell = (x + dx, y + dy)
                if cell == pos or cell in first or not mdp.is_floor(cell) or cell in taken:
                    continue
                first[cell] = first[(x, y)]
                if cell not in avoid:
                    return first[cell]
                nxt.append(cell)
        frontier = nxt
    return None


class SkillExecutor:
    """Runs joint skill plans on a kitchen."""

    def __init__(
        self, mdp: KitchenMDP, book: SkillBook, *, patience: int = 4, max_moves: int = 100
    ):
        self.mdp = mdp
        self.book = book
        self.planner = book.planner
        self.patience = patience
        self.max_moves = max_moves

    def run(
        self,
        state: KitchenState,
        skills: Sequence[Skill],
        names: Sequence[str],
        *,
        horizon: int,
        on_move: Callable[[KitchenState], None] | None = None,
    ) -> StepResult:
        """Execute one joint plan from ``state``.

        Skills that are infeasible at the start fail at once with feedback and
        their chefs wait; the others run.
        """
        mdp = self.mdp
        n = len(state.chefs)
        result = StepResult(state, sparse_by_chef=[0] * n, shaped_by_chef=[0] * n)
        runs = [_Run(i, s) for i, s in enumerate(skills)]
        for run in runs:
            if run.skill.verb != "WAIT":
                problem = self.book.problem(state, run.chef, run.skill, names[run.chef])
                if problem:
                    self._fail(run, problem, result)
        while True:
            if state.timestep >= horizon:
                break
            busy = any(r.status == "running" and r.skill.verb != "WAIT" for r in runs)
            cooking = any(pot_status(mdp, s)[0] == "cooking" for s in state.pots)
            if result.moves > 0 and not busy and not cooking:
                break  # everyone waits and nothing will change
            ended_before = len(result.completed) + len(result.failed)
            joint = self._choose_moves(state, runs, names, result)
            before = state
            state, info = mdp.transition(state, joint)
            result.moves += 1
            for i in range(n):
                result.sparse_by_chef[i] += info["sparse_reward_by_agent"][i]
                result.shaped_by_chef[i] += info["shaped_reward_by_agent"][i]
            served, paying = count_deliveries(info)
            result.deliveries += served
            result.paying_deliveries += paying
            if on_move is not None:
                on_move(state)
            self._check_completion(before, state, runs, joint, result)
            freed = len(result.completed) + len(result.failed) > ended_before
            pots_changed = any(
                pot_status(mdp, a) != pot_status(mdp, b) for a, b in zip(before.pots, state.pots)
            )
            waiting = any(r.skill.verb == "WAIT" for r in runs)
            if freed or (pots_changed and waiting):
                break
            if result.moves >= self.max_moves:
                result.feedback.append(
                    f"The step was cut after {self.max_moves} moves without any chef finishing."
                )
                break
        result.state = state
        return result

    def _fail(self, run: _Run, reason: str, result: StepResult) -> None:
        run.status = "failed"
        run.reason = reason
        result.failed.append(run.chef)
        result.feedback.append(reason)

    def _choose_moves(
        self, state: KitchenState, runs: list[_Run], names: Sequence[str], result: StepResult
    ) -> list[int]:
        for run in runs:
            if run.status == "running" and run.skill.verb != "WAIT":
                problem = self.book.problem(state, run.chef, run.skill, names[run.chef])
                if problem:
                    self._fail(run, problem.replace(" cannot ", " can no longer "), result)
        active = [
            r.skill if r.status == "running" and r.skill.verb != "WAIT" else None for r in runs
        ]
        choices = choose_moves(self.mdp, self.book, state, active)
        joint = []
        for run, choice in zip(runs, choices):
            joint.append(choice.action)
            if active[run.chef] is None:
                continue
            if run.best is None or choice.distance < run.best:
                run.best, run.stalls = choice.distance, 0
            elif not choice.waiting and choice.action != INTERACT:
                run.stalls += 1
            if run.stalls > self.patience:
                name = names[run.chef]
                who = self._blockers(state, run, names)
                self._fail(
                    run, f"{name} is blocked and cannot {self._label(run.skill)}{who}.", result
                )
                joint[-1] = STAY
        return joint

    def _blockers(self, state: KitchenState, run: _Run, names: Sequence[str]) -> str:
        """`` (Bob in the way)``: the chefs standing on the blocked chef's shortest path."""
        chef = state.chefs[run.chef]
        targets = self.book.reachable_targets(state, run.chef, run.skill)
        path = set(self.planner.path_cells((chef.position, chef.orientation), targets)[1:])
        blockers = [
            names[i] for i, c in enumerate(state.chefs) if i != run.chef and c.position in path
        ]
        return f" ({', '.join(blockers)} in the way)" if blockers else ""

    def _label(self, skill: Skill) -> str:
        if skill.verb in ("PUT", "START", "FILL") and skill.cell is not None:
            return f"{skill.verb} {pot_name(self.mdp, skill.cell)}"
        return " ".join(x for x in (skill.verb, skill.item) if x)

    def _check_completion(
        self,
        before: KitchenState,
        after: KitchenState,
        runs: list[_Run],
        joint: list[int],
        result: StepResult,
    ) -> None:
        for run in runs:
            if run.status != "running" or run.skill.verb == "WAIT" or joint[run.chef] != INTERACT:
                continue
            i = run.chef
            held_before = before.chefs[i].held
            held_after = after.chefs[i].held
            verb = run.skill.verb
            if verb == "PICK":
                done = held_before is None and held_after is not None
            elif verb in ("PUT", "SERVE", "PLACE"):
                done = held_before is not None and held_after is None
            elif verb == "FILL":
                done = held_before == "dish" and isinstance(held_after, Soup)
            else:  # START
                assert run.skill.cell is not None
                soup = after.pots[self.mdp.pot_positions.index(run.skill.cell)]
                done = soup is not None and soup.cooking_tick >= 0
            if done:
                run.status = "done"
                result.completed.append(i)
