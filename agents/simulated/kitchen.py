"""The simulated LLM's knowledge of the kitchen: reading descriptions, the expert, mistakes.

Everything starts from the description text in the prompt
(:func:`~brigade.envs.kitchen.describe.parse_description`): the simulator knows
exactly what a real LLM would be told. From that state it asks the kitchen's
scripted expert what to do, and lists the mistakes LLM planners make there:
ignoring a partner (the choice a chef would make alone, or a partner's own
target), infeasible actions, objects that do not exist, legal but wrong
actions, and waiting.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from brigade.action import Action
from brigade.envs.kitchen.describe import KitchenDescription, parse_description, pot_names
from brigade.envs.kitchen.executor import SkillExecutor
from brigade.envs.kitchen.expert import KitchenExpert
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.skills import SkillBook, move_action, parse_skill, skill_action
from brigade.envs.kitchen.state import DIRECTIONS, STAY, KitchenState
from brigade.errors import BrigadeError, PlanError

_HEADER = 'Kitchen "'
_DELIVERED = re.compile(r"paying soups delivered: (\d+) of (\d+)")
_CACHE_SIZE = 64


@dataclass
class _Tools:
    mdp: KitchenMDP
    book: SkillBook
    expert: KitchenExpert
    executor: SkillExecutor


@dataclass(frozen=True)
class KitchenReading:
    """A kitchen as read from a prompt."""

    description: KitchenDescription
    state: KitchenState
    agents: tuple[str, ...]
    mode: str  # "skills" or "moves"
    delivered: int
    needed: int
    key: str


class KitchenWorld:
    """The simulated LLM's adapter for kitchen prompts."""

    name = "kitchen"

    def __init__(self) -> None:
        self._tools: OrderedDict[str, _Tools] = OrderedDict()
        self._remaining: OrderedDict[tuple[str, KitchenState, int, str], int] = OrderedDict()

    # ------------------------------------------------------------------ reading

    def read(self, text: str) -> KitchenReading | None:
        """Read the kitchen described in ``text`` (``None``: no kitchen there)."""
        start = text.rfind(_HEADER)  # the current state comes last in a prompt
        if start < 0:
            return None
        body = text[start:]
        try:
            description = parse_description(body)
        except BrigadeError:
            return None
        mode = "moves" if "MOVE north" in text else "skills"
        matches = _DELIVERED.findall(text[start:])
        delivered, needed = (int(matches[-1][0]), int(matches[-1][1])) if matches else (0, 1)
        key = body[: body.find("Pots:")] if "Pots:" in body else body
        key = re.sub(r"time step \d+", "", key)
        return KitchenReading(
            description, description.state, description.chef_names, mode, delivered, needed, key
        )

    def _tools_for(self, reading: KitchenReading) -> _Tools:
        tools = self._tools.get(reading.key)
        if tools is None:
            mdp = reading.description.mdp
            book = SkillBook(mdp)
            tools = _Tools(mdp, book, KitchenExpert(mdp, book), SkillExecutor(mdp, book))
            self._tools[reading.key] = tools
            if len(self._tools) > _CACHE_SIZE:
                self._tools.popitem(last=False)
        else:
            self._tools.move_to_end(reading.key)
        return tools

    # ------------------------------------------------------------------ the expert

    def expert_plan(self, reading: KitchenReading) -> dict[str, Action]:
        """The expert's action for every agent, from the state read."""
        tools = self._tools_for(reading)
        agents = reading.agents
        if reading.mode == "moves":
            moves = tools.expert.moves(reading.state)
            return {a: move_action(a, m) for a, m in zip(agents, moves)}
        skills = tools.expert.plan(reading.state)
        return {a: skill_action(a, tools.mdp, s) for a, s in zip(agents, skills)}

    def remaining_steps(self, reading: KitchenReading, cap: int) -> int:
        """Steps the expert still needs to finish the task from the state read (at most cap + 1)."""
        cache_key = (reading.key, reading.state, reading.needed - reading.delivered, reading.mode)
        if cache_key in self._remaining:
            return self._remaining[cache_key]
        tools = self._tools_for(reading)
        left = reading.needed - reading.delivered
        state = reading.state
        steps = 0
        while left > 0 and steps <= cap:
            if reading.mode == "moves":
                state, info = tools.mdp.transition(state, tools.expert.moves(state))
                served = sum(
                    1
                    for event, chef in info["events"]
                    if event == "soup_delivery" and info["sparse_reward_by_agent"][chef] > 0
                )
            else:
                result = tools.executor.run(
                    state, tools.expert.plan(state), reading.agents, horizon=state.timestep + 400
                )
                state, served = result.state, result.paying_deliveries
            left -= served
            steps += 1
        self._remaining[cache_key] = steps
        if len(self._remaining) > 4 * _CACHE_SIZE:
            self._remaining.popitem(last=False)
        return steps

    # ------------------------------------------------------------------ mistakes

    def mistakes(
        self, reading: KitchenReading, agent: str, expert: dict[str, Action]
    ) -> dict[str, list[Action]]:
        """The mistakes ``agent`` could make now, by kind (kinds with none are left out)."""
        tools = self._tools_for(reading)
        i = reading.agents.index(agent)
        mine = expert[agent]
        if reading.mode == "moves":
            options = self._move_mistakes(tools, reading, i, mine)
        else:
            options = self._skill_mistakes(tools, reading, i, mine, expert)
        return {kind: acts for kind, acts in options.items() if acts}

    def _skill_mistakes(
        self,
        tools: _Tools,
        reading: KitchenReading,
        i: int,
        mine: Action,
        expert: dict[str, Action],
    ) -> dict[str, list[Action]]:
        state, mdp, agent = reading.state, tools.mdp, reading.agents[i]
        legal = [skill_action(agent, mdp, s) for s in tools.book.candidates(state, i)]
        legal_set = set(legal)
        ignore: list[Action] = []
        selfish = skill_action(agent, mdp, tools.expert.solo_choice(state, i))
        if selfish != mine:
            ignore.append(selfish)
        for other, action in expert.items():
            if other == agent:
                continue
            copied = Action(agent, action.verb, action.args)
            if copied != mine and copied in legal_set and copied not in ignore:
                ignore.append(copied)
        vocabulary = [
            Action(agent, "PICK", (item,)) for item in ("onion", "tomato", "dish", "soup")
        ]
        for pot in pot_names(mdp):
            vocabulary += [Action(agent, verb, (pot,)) for verb in ("PUT", "START", "FILL")]
        vocabulary += [Action(agent, "SERVE"), Action(agent, "PLACE")]
        infeasible = [
            a for a in vocabulary if a not in legal_set and self._verifies_badly(tools, state, i, a)
        ]
        missing_pot = f"pot{len(mdp.pot_positions) + 1}"
        nonexistent = [
            Action(agent, "PICK", ("banana",)),
            Action(agent, "PICK", ("lettuce",)),
            Action(agent, "PUT", (missing_pot,)),
            Action(agent, "CHOP", ("onion",)),
        ]
        wrong = [a for a in legal if a != mine and a.verb != "WAIT" and a not in ignore]
        wait = [Action(agent, "WAIT")] if mine.verb != "WAIT" else []
        return {
            "ignore_partner": ignore,
            "infeasible": infeasible,
            "nonexistent": nonexistent,
            "wrong": wrong,
            "wait": wait,
        }

    @staticmethod
    def _verifies_badly(tools: _Tools, state: KitchenState, i: int, action: Action) -> bool:
        try:
            skill = parse_skill(tools.mdp, action)
        except PlanError:
            return True
        return tools.book.problem(state, i, skill, action.agent) is not None

    def _move_mistakes(
        self, tools: _Tools, reading: KitchenReading, i: int, mine: Action
    ) -> dict[str, list[Action]]:
        state, agent = reading.state, reading.agents[i]
        chef = state.chefs[i]
        ignore: list[Action] = []
        selfish = tools.expert.solo_choice(state, i)
        targets = tools.book.reachable_targets(state, i, selfish)
        step = tools.book.planner.step_towards((chef.position, chef.orientation), targets, ())
        if step is not None:
            alone = move_action(agent, step.action)
            if alone != mine:
                ignore.append(alone)
        for k, (dx, dy) in enumerate(DIRECTIONS):
            cell = (chef.position[0] + dx, chef.position[1] + dy)
            bumps = any(c.position == cell for j, c in enumerate(state.chefs) if j != i)
            if bumps and move_action(agent, k) != mine and move_action(agent, k) not in ignore:
                ignore.append(move_action(agent, k))  # walking into a partner
        legal = [move_action(agent, m) for m in range(6)]
        nonexistent = [
            Action(agent, "MOVE", ("up",)),
            Action(agent, "MOVE", ("northeast",)),
            Action(agent, "JUMP"),
        ]
        wrong = [a for a in legal if a != mine and a.verb != "WAIT" and a not in ignore]
        wait = [move_action(agent, STAY)] if mine.verb != "WAIT" else []
        return {
            "ignore_partner": ignore,
            "infeasible": [],
            "nonexistent": nonexistent,
            "wrong": wrong,
            "wait": wait,
        }
