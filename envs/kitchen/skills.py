"""The kitchen's skill vocabulary: what each high-level action means and when it is feasible.

Verbs (arguments in brackets are optional)::

    PICK onion|tomato|dish|soup [counter(x,y)|dispenser]
                                                  take one from the nearest source
                                                  (dispenser or counter), from that
                                                  counter, or from a dispenser only
    PUT potN                                      put the held onion or tomato in a pot
    START potN                                    start cooking a pot (empty hands)
    FILL potN                                     with a dish, take the pot's soup (waits
                                                  at the pot while it finishes cooking)
    SERVE                                         deliver the held soup at a serving window
    PLACE [counter(x,y)]                          put the held item on that (or the nearest)
                                                  empty counter
    WAIT                                          do nothing until another chef finishes a
                                                  skill or a pot changes state

In ReAd's low-level setting (``moves`` mode) the verbs are ``MOVE north|south|
east|west``, ``INTERACT`` and ``WAIT``, one move per chef per step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from brigade.action import Action
from brigade.envs.kitchen.describe import (
    cell_text,
    counter_name,
    pot_name,
    pot_names,
    with_article,
)
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.motion import MotionPlanner
from brigade.envs.kitchen.state import DIRECTION_NAMES, KitchenState, Position, Soup, item_name
from brigade.errors import PlanError, did_you_mean

SKILL_VERBS = ("PICK", "PUT", "START", "FILL", "SERVE", "PLACE", "WAIT")
MOVE_VERBS = ("MOVE", "INTERACT", "WAIT")
PICKABLE = ("onion", "tomato", "dish", "soup")
_COUNTER_RE = re.compile(r"^counter\((\d+),(\d+)\)$")


@dataclass(frozen=True)
class Skill:
    """A parsed skill.

    Attributes:
        verb: One of :data:`SKILL_VERBS`.
        item: For PICK, the item to pick.
        cell: The pot or counter cell named in the action, if any.
        dispenser_only: For PICK, take from a dispenser, not from counters.
    """

    verb: str
    item: str | None = None
    cell: Position | None = None
    dispenser_only: bool = False


def parse_skill(mdp: KitchenMDP, action: Action) -> Skill:
    """Read an action of the skill vocabulary.

    Raises:
        PlanError: Unknown verb or bad arguments; the message says what is expected.
    """
    verb, args = action.verb, action.args
    who = f"{action.agent}: {action.command}"
    if verb not in SKILL_VERBS:
        raise PlanError(
            f"{who}: unknown verb {verb!r}{did_you_mean(verb, SKILL_VERBS)}; "
            f"verbs are {', '.join(SKILL_VERBS)}"
        )
    pots = pot_names(mdp)
    if verb in ("PUT", "START", "FILL"):
        if len(args) != 1 or args[0] not in pots:
            raise PlanError(f"{who}: {verb} takes one pot, one of {', '.join(pots)}")
        return Skill(verb, cell=mdp.pot_positions[pots.index(args[0])])
    if verb == "PICK":
        if not 1 <= len(args) <= 2 or args[0] not in PICKABLE:
            raise PlanError(
                f"{who}: PICK takes an item ({', '.join(PICKABLE)}) and optionally "
                "counter(x,y) or dispenser"
            )
        if len(args) == 2 and args[1] == "dispenser":
            if args[0] == "soup":
                raise PlanError(f"{who}: there is no soup dispenser; FILL a dish at a pot")
            return Skill(verb, item=args[0], dispenser_only=True)
        cell = _counter_cell(mdp, args[1], who) if len(args) == 2 else None
        return Skill(verb, item=args[0], cell=cell)
    if verb == "PLACE":
        if len(args) > 1:
            raise PlanError(f"{who}: PLACE takes at most one counter(x,y)")
        return Skill(verb, cell=_counter_cell(mdp, args[0], who) if args else None)
    if args:
        raise PlanError(f"{who}: {verb} takes no arguments")
    return Skill(verb)


def _counter_cell(mdp: KitchenMDP, text: str, who: str) -> Position:
    match = _COUNTER_RE.match(text)
    if not match:
        raise PlanError(f"{who}: {text!r} is not a counter; counters are written counter(x,y)")
    cell = (int(match[1]), int(match[2]))
    if cell not in mdp.counter_positions:
        raise PlanError(f"{who}: there is no counter at ({cell[0]},{cell[1]})")
    return cell


def skill_action(agent: str, mdp: KitchenMDP, skill: Skill) -> Action:
    """The action text of a skill (inverse of :func:`parse_skill`)."""
    if skill.verb in ("PUT", "START", "FILL"):
        assert skill.cell is not None
        return Action(agent, skill.verb, (pot_name(mdp, skill.cell),))
    args: tuple[str, ...] = ()
    if skill.item:
        args += (skill.item,)
    if skill.cell is not None:
        args += (counter_name(skill.cell),)
    elif skill.dispenser_only:
        args += ("dispenser",)
    return Action(agent, skill.verb, args)


class SkillBook:
    """Feasibility and targets of skills in one kitchen."""

    def __init__(self, mdp: KitchenMDP, planner: MotionPlanner | None = None):
        self.mdp = mdp
        self.planner = planner or MotionPlanner(mdp)
        self._dispensers = {
            "onion": mdp.onion_dispensers,
            "tomato": mdp.tomato_dispensers,
            "dish": mdp.dish_dispensers,
            "soup": (),
        }

    def _pot(self, state: KitchenState, cell: Position) -> Soup | None:
        return state.pots[self.mdp.pot_positions.index(cell)]

    def targets(self, state: KitchenState, chef: int, skill: Skill) -> list[Position]:
        """Cells the chef may interact with to do the skill now (any reachability)."""
        mdp = self.mdp
        verb = skill.verb
        if verb == "PICK":
            assert skill.item is not None
            if skill.cell is not None:
                return [skill.cell]
            cells = list(self._dispensers[skill.item])
            if not skill.dispenser_only:
                cells += [
                    pos for pos, item in state.counters.items() if item_name(item) == skill.item
                ]
            return cells
        if verb in ("PUT", "START", "FILL"):
            assert skill.cell is not None
            return [skill.cell]
        if verb == "SERVE":
            return list(mdp.serving_positions)
        if verb == "PLACE":
            if skill.cell is not None:
                return [skill.cell]
            return [pos for pos in mdp.counter_positions if pos not in state.counters]
        return []

    def reachable_targets(self, state: KitchenState, chef: int, skill: Skill) -> list[Position]:
        """Targets the chef can get to (ignoring other chefs)."""
        pos = state.chefs[chef].position
        return [t for t in self.targets(state, chef, skill) if self.planner.can_reach(pos, t)]

    def problem(self, state: KitchenState, chef: int, skill: Skill, name: str) -> str | None:
        """Why ``name`` (chef ``chef``) cannot do ``skill`` now, or ``None`` if it can."""
        held = state.chefs[chef].held
        verb = skill.verb
        if verb == "WAIT":
            return None
        holding = item_name(held) if held is not None else None
        if verb == "PICK":
            if held is not None:
                return f"{name} cannot PICK: their hands are full (holding {with_article(holding)})"
            if skill.cell is not None and _name_at(state, skill.cell) != skill.item:
                found = _name_at(state, skill.cell)
                return f"{name} cannot PICK {skill.item} from {counter_name(skill.cell)}: " + (
                    f"it holds {with_article(found)}" if found else "it is empty"
                )
            if not self.targets(state, chef, skill):
                return f"{name} cannot PICK {skill.item}: there is no {skill.item} to pick up"
        elif verb == "PUT":
            assert skill.cell is not None
            pot = pot_name(self.mdp, skill.cell)
            if holding not in ("onion", "tomato"):
                return (
                    f"{name} cannot PUT into {pot}: they hold {with_article(holding)}, "
                    "not an ingredient"
                )
            soup = self._pot(state, skill.cell)
            if soup is not None and soup.cooking_tick >= 0:
                return f"{name} cannot PUT into {pot}: it is already cooking"
            if soup is not None and len(soup.ingredients) >= self.mdp.max_ingredients:
                return f"{name} cannot PUT into {pot}: it is full"
        elif verb == "START":
            assert skill.cell is not None
            pot = pot_name(self.mdp, skill.cell)
            if held is not None:
                return (
                    f"{name} cannot START {pot}: their hands must be empty "
                    f"(holding {with_article(holding)})"
                )
            soup = self._pot(state, skill.cell)
            if soup is None or not soup.ingredients:
                return f"{name} cannot START {pot}: it has no ingredients"
            if soup.cooking_tick >= 0:
                return f"{name} cannot START {pot}: it is already cooking"
        elif verb == "FILL":
            assert skill.cell is not None
            pot = pot_name(self.mdp, skill.cell)
            if holding != "dish":
                return (
                    f"{name} cannot FILL from {pot}: they need a dish "
                    f"(holding {with_article(holding)})"
                )
            soup = self._pot(state, skill.cell)
            if soup is None or soup.cooking_tick < 0:
                return f"{name} cannot FILL from {pot}: no soup is cooking there"
        elif verb == "SERVE":
            if holding != "soup":
                return f"{name} cannot SERVE: they hold {with_article(holding)}, not a soup"
        elif verb == "PLACE":
            if held is None:
                return f"{name} cannot PLACE: their hands are empty"
            if skill.cell is not None and skill.cell in state.counters:
                return (
                    f"{name} cannot PLACE on {counter_name(skill.cell)}: it already holds "
                    f"{with_article(item_name(state.counters[skill.cell]))}"
                )
        if not self.reachable_targets(state, chef, skill):
            return (
                f"{name} cannot {verb}: they cannot reach {self._what(skill)} from "
                f"{cell_text(state.chefs[chef].position)}"
            )
        return None

    def _what(self, skill: Skill) -> str:
        if skill.verb in ("PUT", "START", "FILL"):
            assert skill.cell is not None
            return pot_name(self.mdp, skill.cell)
        if skill.cell is not None:
            return counter_name(skill.cell)
        if skill.verb == "PICK":
            return f"any {skill.item}"
        if skill.verb == "PLACE":
            return "an empty counter"
        return "a serving window"

    def candidates(self, state: KitchenState, chef: int) -> list[Skill]:
        """Every skill the chef could do now (the basis of legal actions)."""
        held = state.chefs[chef].held
        mdp = self.mdp
        options: list[Skill] = []
        if held is None:
            for item in PICKABLE:
                options.append(Skill("PICK", item=item))
                if item != "soup":
                    options.append(Skill("PICK", item=item, dispenser_only=True))
            options.extend(
                Skill("PICK", item=item_name(item), cell=pos)
                for pos, item in sorted(state.counters.items())
            )
            options.extend(Skill("START", cell=p) for p in mdp.pot_positions)
        else:
            name = item_name(held)
            if name in ("onion", "tomato"):
                options.extend(Skill("PUT", cell=p) for p in mdp.pot_positions)
            elif name == "dish":
                options.extend(Skill("FILL", cell=p) for p in mdp.pot_positions)
            else:
                options.append(Skill("SERVE"))
            options.append(Skill("PLACE"))
            options.extend(
                Skill("PLACE", cell=p) for p in mdp.counter_positions if p not in state.counters
            )
        options.append(Skill("WAIT"))
        return [s for s in options if self.problem(state, chef, s, "") is None]


def _name_at(state: KitchenState, cell: Position) -> str | None:
    return item_name(state.counters.get(cell))


def parse_move(action: Action) -> int:
    """Read an action of the low-level vocabulary into an action index.

    Raises:
        PlanError: Unknown verb or direction.
    """
    who = f"{action.agent}: {action.command}"
    if action.verb == "MOVE":
        if len(action.args) != 1 or action.args[0] not in DIRECTION_NAMES:
            raise PlanError(f"{who}: MOVE takes one direction, one of {', '.join(DIRECTION_NAMES)}")
        return DIRECTION_NAMES.index(action.args[0])
    if action.verb in ("INTERACT", "WAIT"):
        if action.args:
            raise PlanError(f"{who}: {action.verb} takes no arguments")
        return 5 if action.verb == "INTERACT" else 4
    raise PlanError(
        f"{who}: unknown verb {action.verb!r}{did_you_mean(action.verb, MOVE_VERBS)}; "
        "verbs are MOVE north|south|east|west, INTERACT, WAIT"
    )


def move_action(agent: str, index: int) -> Action:
    """The action text of a move index (inverse of :func:`parse_move`)."""
    if index < 4:
        return Action(agent, "MOVE", (DIRECTION_NAMES[index],))
    return Action(agent, "INTERACT" if index == 5 else "WAIT")
