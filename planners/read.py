"""ReAd: the LLM refines its plan until a learned critic's advantage clears a threshold.

After Zhang et al. (2024), "Towards Efficient LLM Grounding for Embodied
Multi-Agent Collaboration". Two variants:

- ``read-j``: the LLM proposes the joint plan; the critic scores it with the
  joint advantage (ReAd-J); below the threshold, the score and the threshold
  go back to the LLM, which proposes again.
- ``read-s``: the agents are asked one at a time, in planning order, each
  knowing the actions chosen before it; each action is scored with the
  sequential advantage (ReAd-S) and refined the same way.

The threshold starts at ``threshold`` (zero or more), doubles at each new
environment step and halves after each rejected proposal; proposals are
capped at ``max_rounds`` per step (ReAd-J) or per agent per step (ReAd-S), and
at the cap the best-scored proposal runs (as it does when a refinement's reply stays
unreadable after the re-asks). Only the last round is kept: the
prompt holds the current state, the previous step and what it did, and the
latest proposal with its score. ReAd's feedback is the advantage alone;
what fails at execution comes back as environment feedback in the next
prompt. The ablations ``read-j-single`` and ``read-s-single`` take one
proposal per step, with no refinement. Every chat call counts in NQ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from brigade.action import Action
from brigade.agents.prompts import Template
from brigade.agents.templates import (
    JOINT_FORMAT,
    READ_J_FEEDBACK,
    READ_J_ROLE,
    READ_S_FEEDBACK,
    READ_S_ROLE,
    TURN_FORMAT,
)
from brigade.chat import Message
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.errors import ConfigError, ParseFailure
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import LLMPlanner, LLMPlannerConfig, outcome_text
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView

T = TypeVar("T")


@dataclass
class ReadConfig(LLMPlannerConfig):
    """ReAd's settings.

    Attributes:
        threshold: The advantage a proposal must reach at the first step (zero or more).
        max_rounds: Proposals per step (ReAd-J) or per agent per step (ReAd-S).
        refine: Refine on the critic's score; ``False`` is the single-proposal ablation.
        optimism: Accept when the score plus this many standard deviations of the
            critic's ensemble reaches the threshold (0, the paper's rule: the score
            itself). Not in the paper; it spares ReAd-S the loops in which every
            proposal scores a little below zero within the critic's own uncertainty
            (docs/results.md).
    """

    threshold: float = 0.0
    max_rounds: int = 15
    refine: bool = True
    optimism: float = 0.0

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad values."""
        super().validate()
        if self.threshold < 0:
            raise ConfigError("must be zero or more", key="threshold")
        if self.max_rounds < 1:
            raise ConfigError("must be at least 1", key="max_rounds")
        if self.optimism < 0:
            raise ConfigError("must be zero or more", key="optimism")


@dataclass
class ReadSingleConfig(ReadConfig):
    """The ablation: one proposal per step, no refinement."""

    max_rounds: int = 1
    refine: bool = False


def _score_text(value: float) -> str:
    return f"{value:+.2f}"


class ReadPlanner(LLMPlanner):
    """What ReAd-J and ReAd-S share: the critic, the threshold and the bookkeeping."""

    config: ReadConfig
    #: The runner attaches the critic (``--critic``) before each episode.
    needs_critic = True

    def __init__(self, config: ReadConfig):
        super().__init__(config)
        self.critic: AdvantageCritic | None = None

    def attach_critic(self, critic: AdvantageCritic) -> None:
        """Give the planner its critic (done by the runner)."""
        self.critic = critic

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode: the initial threshold, no history."""
        super().reset(view, chat, seed=seed)
        if self.critic is None:
            raise ConfigError(f"the {self.name} planner needs a critic", key="critic")
        self.threshold = self.config.threshold
        self.last_step = ""
        self.steps_planned = 0
        self.proposals = 0
        self.rejections = 0
        self.capped = 0
        self.unreadable = 0

    def stats(self) -> dict[str, int | float]:
        """Proposals, rejections, and refinement loops that reached the round cap."""
        return {
            **super().stats(),
            "proposals": self.proposals,
            "rejections": self.rejections,
            "capped_loops": self.capped,
            "unreadable_refinements": self.unreadable,
        }

    def _new_step(self) -> None:
        if self.steps_planned > 0:
            self.threshold *= 2.0
        self.steps_planned += 1

    def _judge(self, scores: Scores, what: str, agent: str | None) -> tuple[float, bool]:
        """Note the score in the transcript; return it and whether it clears the threshold."""
        assert self.chat is not None
        value = float(scores.advantage[0])
        spread = float(scores.uncertainty[0]) if scores.uncertainty is not None else 0.0
        ok = (not self.config.refine) or value + self.config.optimism * spread >= self.threshold
        data: dict[str, Any] = {
            "score": value,
            "threshold": self.threshold,
            "accepted": ok,
            **{k: v for k, v in scores.info.items() if isinstance(v, (int, float, str))},
        }
        if scores.uncertainty is not None:
            data["uncertainty"] = float(scores.uncertainty[0])
        if agent is not None:
            data["agent"] = agent
        verdict = "accepted" if ok else "rejected"
        self.chat.note(
            "score",
            f"{what}: advantage {_score_text(value)} vs threshold {self.threshold:.2f}: {verdict}",
            **data,
        )
        self.proposals += 1
        return value, ok

    def _reject(self) -> None:
        self.rejections += 1
        self.threshold /= 2.0

    def _refine(
        self,
        base: list[Message],
        propose: Callable[[list[Message]], tuple[T, Message]],
        score: Callable[[T], Scores],
        feedback: Callable[[float], str],
        what: str,
        agent: str | None = None,
    ) -> T:
        """Propose, score, and send the score back until it clears the threshold.

        ``propose`` returns the proposal and the reply it came in; at the round cap
        the best-scored proposal is returned. A refinement reply that stays
        unreadable after the re-asks ends the refinement with the best proposal
        so far: a readable, scored plan is not thrown away because a later answer
        broke the format (only the first proposal's failure is the episode's).
        """
        assert self.chat is not None
        messages = list(base)
        best: tuple[float, T] | None = None
        for round_ in range(self.config.max_rounds):
            try:
                proposal, reply = propose(messages)
            except ParseFailure as exc:
                if best is None:
                    raise
                self.chat.note("refinement_ended", f"{exc}; the best proposal so far runs")
                self.unreadable += 1
                return best[1]
            value, ok = self._judge(score(proposal), what, agent)
            if best is None or value > best[0]:
                best = (value, proposal)
            if ok:
                return proposal
            self._reject()
            if round_ + 1 < self.config.max_rounds:
                # Only the last round is kept: the state, the latest proposal, its score.
                messages = [*base, reply, Message("user", feedback(value))]
        self.capped += 1
        assert best is not None
        return best[1]

    def _context(self, view: PlannerView) -> list[str]:
        parts = []
        if self.last_step:
            parts.append("The previous step: " + self.last_step)
        parts.append("The current state:\n" + view.describe())
        return parts

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Keep only the last step and what it did."""
        actions = "; ".join(a.to_text() for a in plan.actions)
        self.last_step = f"{actions} -> {outcome_text(outcome)}"


@PLANNERS.register(
    "read-j", config=ReadConfig, description="ReAd-J: joint plans refined by the critic"
)
class ReadJPlanner(ReadPlanner):
    """ReAd-J (see the module docstring)."""

    name = "read-j"

    def __init__(self, config: ReadConfig | None = None):
        super().__init__(config or ReadConfig())

    def templates(self) -> list[Template]:
        """The templates used."""
        return [self.rules, JOINT_FORMAT, READ_J_ROLE, READ_J_FEEDBACK]

    def plan(self, view: PlannerView) -> JointPlan:
        """Propose, score and refine the joint plan."""
        assert self.critic is not None
        self._new_step()
        state = CriticState.from_view(view)
        system = "\n\n".join(
            [
                READ_J_ROLE.render(),
                self.rules.render(),
                JOINT_FORMAT.render(agents=", ".join(self.agents)),
            ]
        )
        base = [
            Message("system", system),
            Message(
                "user", "\n\n".join([*self._context(view), "Plan the next step for every agent."])
            ),
        ]
        critic = self.critic

        def propose(messages: list[Message]) -> tuple[JointPlan, Message]:
            answer, conversation = self.ask_answer(messages, expect=("EXECUTE",))
            return answer.plan(), conversation[-1]

        return self._refine(
            base,
            propose,
            lambda plan: critic.score_joint(state, [plan]),
            lambda value: READ_J_FEEDBACK.render(
                score=_score_text(value), threshold=f"{self.threshold:.2f}"
            ),
            "plan",
        )


@PLANNERS.register(
    "read-s",
    config=ReadConfig,
    description="ReAd-S: agents in turn, each action refined by the critic",
)
class ReadSPlanner(ReadPlanner):
    """ReAd-S (see the module docstring)."""

    name = "read-s"

    def __init__(self, config: ReadConfig | None = None):
        super().__init__(config or ReadConfig())

    def templates(self) -> list[Template]:
        """The templates used."""
        return [self.rules, TURN_FORMAT, READ_S_ROLE, READ_S_FEEDBACK]

    def plan(self, view: PlannerView) -> JointPlan:
        """Ask each agent in turn; score and refine each action."""
        self._new_step()
        state = CriticState.from_view(view)
        chosen: list[Action] = []
        for agent in self.agents:
            chosen.append(self._choose(view, state, agent, chosen))
        return JointPlan(tuple(chosen))

    def _choose(
        self, view: PlannerView, state: CriticState, agent: str, before: list[Action]
    ) -> Action:
        assert self.critic is not None
        system = "\n\n".join(
            [READ_S_ROLE.render(agent=agent), self.rules.render(), TURN_FORMAT.render(agent=agent)]
        )
        decided = (
            "Actions already chosen this step:\n" + "\n".join(a.to_text() for a in before)
            if before
            else "You choose first this step."
        )
        base = [
            Message("system", system),
            Message("user", "\n\n".join([*self._context(view), decided, f"Your action, {agent}?"])),
        ]
        critic = self.critic

        def propose(messages: list[Message]) -> tuple[Action, Message]:
            answer, conversation = self.ask_answer(
                messages, expect=("PROCEED", "EXECUTE"), require=(agent,), agent=agent
            )
            return answer.for_agent(agent), conversation[-1]

        return self._refine(
            base,
            propose,
            lambda action: critic.score_sequential(state, before, [action]),
            lambda value: READ_S_FEEDBACK.render(
                agent=agent, score=_score_text(value), threshold=f"{self.threshold:.2f}"
            ),
            f"{agent}'s action",
            agent,
        )


@PLANNERS.register(
    "read-j-single", config=ReadSingleConfig, description="ReAd-J ablation: one proposal per step"
)
class ReadJSinglePlanner(ReadJPlanner):
    """ReAd-J without refinement (the paper's ablation)."""

    name = "read-j-single"

    def __init__(self, config: ReadConfig | None = None):
        super().__init__(config or ReadSingleConfig())


@PLANNERS.register(
    "read-s-single", config=ReadSingleConfig, description="ReAd-S ablation: one proposal per step"
)
class ReadSSinglePlanner(ReadSPlanner):
    """ReAd-S without refinement (the paper's ablation)."""

    name = "read-s-single"

    def __init__(self, config: ReadConfig | None = None):
        super().__init__(config or ReadSingleConfig())
