"""The simulated LLM: brigade's embedded default chat model, and an honest one.

Real LLMs cannot run on every machine, so this backend stands in for one (and
says so in every manifest: it is not a real model). Its replies depend only on
the request, like any backend's: the request's hash seeds its randomness. It
learns the state only by reading the environment's description in the prompt,
asks the environment's scripted expert what to do in that state, and makes the
mistakes LLM planners make, at the rates of its :class:`SimConfig`. Feedback
of any kind (verification problems, a parse error, an advantage score) makes
it answer again from the same error model, excluding the rejected answer, or
(with ``ignore_feedback``) repeat it: it never moves towards the expert
because it was criticised, so a critic that rejects at random gains nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

from brigade.action import Action
from brigade.agents.parsing import AnswerError, parse_answer
from brigade.agents.simulated.config import MISTAKE_KINDS, SimConfig, config_hash
from brigade.agents.simulated.kitchen import KitchenWorld
from brigade.agents.simulated.request import ReadRequest, read_request
from brigade.agents.simulated.table import TableTasks
from brigade.chat import ChatModel, ChatRequest, Completion, Usage, estimate_tokens, messages_tokens


class World(Protocol):
    """What the simulator needs to know about one family of environments."""

    name: str

    def read(self, text: str) -> Any:
        """The environment read from a prompt's text, or ``None``."""

    def expert_plan(self, reading: Any) -> dict[str, Action]:
        """The expert's action for every agent."""

    def remaining_steps(self, reading: Any, cap: int) -> int:
        """Steps of the expert's remaining plan (at most ``cap + 1``)."""

    def mistakes(
        self, reading: Any, agent: str, expert: dict[str, Action]
    ) -> dict[str, list[Action]]:
        """Possible mistakes of ``agent`` now, by kind."""


_REFLECTIONS = (
    "An action was not possible in that state: before choosing, check what each agent holds "
    "and what the target needs.",
    "Two agents went after the same thing; give each agent a different job.",
    "We lost a step waiting; keep every agent busy with something the task still needs.",
)


class SimulatedLLM(ChatModel):
    """The simulated LLM (see the module docstring)."""

    def __init__(self, config: SimConfig | None = None, worlds: list[World] | None = None):
        self.config = config or SimConfig()
        self.config.validate()
        # The error model's hash is part of the name, so that replies recorded under
        # one configuration are never replayed (or cached) under another.
        self.model = f"{self.config.model_name}@{config_hash(self.config)}"
        self.worlds: list[World] = worlds if worlds is not None else [KitchenWorld(), TableTasks()]
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        """What identifies this backend, with the error model's hash."""
        return {
            "backend": "simulated",
            "model": self.model,
            "config_hash": config_hash(self.config),
            "note": "a simulated LLM (a scripted expert and a calibrated error model), "
            "not a real model",
        }

    def complete_request(self, request: ChatRequest) -> Completion:
        """Answer ``request``; the same request always gets the same reply."""
        start = time.perf_counter()
        seed = int(request.key()[:16], 16)
        rng = np.random.default_rng(seed)
        with self._lock:  # the worlds keep caches
            text = self._answer(read_request(request.messages), rng)
        usage = Usage(messages_tokens(request.messages), estimate_tokens(text), "estimate")
        return Completion(text, usage, time.perf_counter() - start, model=self.model)

    # ------------------------------------------------------------------ answering

    def _answer(self, read: ReadRequest, rng: np.random.Generator) -> str:
        if read.kind == "reflect":
            return _REFLECTIONS[int(rng.integers(len(_REFLECTIONS)))]
        if (
            read.rejected
            and read.previous is not None
            and rng.random() < self.config.ignore_feedback
        ):
            return read.previous  # the feedback is ignored: the same answer again
        for world in self.worlds:
            reading = world.read(read.description)
            if reading is not None:
                break
        else:
            return "I cannot tell what the task is from this message."
        text = ""
        for _ in range(20):
            text = self._draw(read, world, reading, rng)
            if not (
                read.rejected and read.previous is not None and _same(text, read.previous, reading)
            ):
                return text
        return text

    def _draw(self, read: ReadRequest, world: World, reading: Any, rng: np.random.Generator) -> str:
        agents: tuple[str, ...] = reading.agents
        expert = world.expert_plan(reading)
        remaining = world.remaining_steps(reading, self.config.remaining_cap)
        p = self.config.error_rate(len(agents), remaining)
        if read.kind == "turn" and read.speaker in agents:
            answering: tuple[str, ...] = (read.speaker,)
            keyword = "PROCEED"
        else:
            answering = agents
            keyword = "EXECUTE"
        proposals = {a.agent: a for a in read.proposals}
        actions: dict[str, Action] = {}
        all_wait = read.kind == "joint" and rng.random() < self.config.all_wait
        for agent in answering:
            if read.kind == "final" and agent != read.speaker and agent in proposals:
                actions[agent] = proposals[agent]
            elif all_wait:
                actions[agent] = Action(agent, "WAIT")
            elif rng.random() < p:
                actions[agent] = self._mistake(world, reading, agent, expert, rng)
            else:
                actions[agent] = expert[agent]
        ordered = [actions[a] for a in answering]
        if rng.random() < self.config.format_error:
            return _broken(ordered, keyword, rng)
        thought = "; ".join(f"{a.agent} will {a.command}" for a in ordered)
        lines = "\n".join(a.to_text() for a in ordered)
        return f"Thought: {thought}.\n{keyword}\n{lines}"

    def _mistake(
        self,
        world: World,
        reading: Any,
        agent: str,
        expert: dict[str, Action],
        rng: np.random.Generator,
    ) -> Action:
        options = world.mistakes(reading, agent, expert)
        kinds = [k for k in MISTAKE_KINDS if options.get(k) and self.config.kinds.get(k, 0) > 0]
        if not kinds:
            return expert[agent]
        weights = np.array([self.config.kinds[k] for k in kinds], dtype=float)
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        choices = options[kind]
        return choices[int(rng.integers(len(choices)))]


def _broken(actions: list[Action], keyword: str, rng: np.random.Generator) -> str:
    """A reply whose format is broken in one of the ways LLMs break it."""
    variant = int(rng.integers(4))
    if variant == 0:  # the keyword is forgotten
        return "Here is the plan.\n" + "\n".join(a.to_text() for a in actions)
    if variant == 1:  # free-form lines
        return f"{keyword}\n" + "\n".join(f"{a.agent}: {a.command.lower()}" for a in actions)
    if variant == 2 and len(actions) > 1:  # an agent is left out
        return f"{keyword}\n" + "\n".join(a.to_text() for a in actions[:-1])
    first = actions[0]
    return f"I think {first.agent} should {first.command.lower()} next, and the others should help."


def _same(text: str, previous: str, reading: Any) -> bool:
    """Whether two replies give the same answer (the same actions, or the same unreadable text)."""
    agents = reading.agents
    try:
        a = parse_answer(text, agents).actions
        b = parse_answer(previous, agents).actions
    except AnswerError:
        return text.strip() == previous.strip()
    return a == b
