"""RoCo: the agents plan in a dialog, each from its own view.

After RoCo (Mandi, Jain, Song 2023). Each step is one or more rounds of
dialog: the agents speak in turn, each seeing only its own view of the state,
the dialog so far and the full history of earlier steps; every agent but the
last proposes its own action and ends with ``PROCEED``; the last one settles
the joint plan with ``EXECUTE``. The plan is verified; if it fails, the
problems open a new round. Rounds per step and calls per round are capped; at
the cap the last plan runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigade.agents.prompts import History, Template
from brigade.agents.templates import FINAL_FORMAT, ROCO_ROLE, TURN_FORMAT
from brigade.chat import Message
from brigade.errors import ConfigError
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import LLMPlanner, LLMPlannerConfig, feedback_lines, outcome_text
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class RocoConfig(LLMPlannerConfig):
    """RoCo's settings.

    Attributes:
        max_rounds: Dialog rounds per step (a failed verification opens the next one).
        max_calls_per_round: Queries per round, re-asks included.
    """

    max_rounds: int = 3
    max_calls_per_round: int = 6

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad limits."""
        super().validate()
        if self.max_rounds < 1:
            raise ConfigError("must be at least 1", key="max_rounds")
        if self.max_calls_per_round < 1:
            raise ConfigError("must be at least 1", key="max_calls_per_round")


@PLANNERS.register("roco", config=RocoConfig, description="RoCo dialog baseline")
class RocoPlanner(LLMPlanner):
    """RoCo (see the module docstring)."""

    name = "roco"
    config: RocoConfig

    def __init__(self, config: RocoConfig | None = None):
        super().__init__(config or RocoConfig())

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode with an empty history."""
        super().reset(view, chat, seed=seed)
        self.history = History(self.config.history_tokens)

    def templates(self) -> list[Template]:
        """The templates used."""
        return [*super().templates(), ROCO_ROLE, TURN_FORMAT, FINAL_FORMAT]

    def _messages(
        self, view: PlannerView, agent: str, dialog: list[str], last: bool
    ) -> list[Message]:
        fmt = (
            FINAL_FORMAT.render(agent=agent, agents=", ".join(self.agents))
            if last
            else TURN_FORMAT.render(agent=agent)
        )
        system = "\n\n".join([ROCO_ROLE.render(agent=agent), self.rules.render(), fmt])
        parts = [
            self.history.render("Earlier steps"),
            "Your view of the state:\n" + view.describe(agent),
            ("The discussion so far:\n" + "\n".join(dialog)) if dialog else "You speak first.",
            "Your turn." if not last else "Settle the plan.",
        ]
        return [Message("system", system), Message("user", "\n\n".join(p for p in parts if p))]

    def plan(self, view: PlannerView) -> JointPlan:
        """Hold the dialog and return its settled plan."""
        assert self.chat is not None
        dialog: list[str] = []
        plan: JointPlan | None = None
        for _ in range(self.config.max_rounds):
            plan = self._round(view, dialog)
            problems = view.verify(plan)
            if not problems:
                return plan
            self.chat.note("verification", feedback_lines(problems), problems=list(problems))
            dialog.append(f"[environment] The plan cannot be executed:\n{feedback_lines(problems)}")
        assert plan is not None
        return plan  # at the cap the last plan runs; execution feedback follows

    def _round(self, view: PlannerView, dialog: list[str]) -> JointPlan:
        """One round of dialog: turns in order until someone settles the plan with EXECUTE.

        The last agent always gets its turn (it settles the plan), even when the
        earlier turns used up the round's calls; an earlier agent may settle it
        too, which ends the round.
        """
        calls_at_start = self.queries_made
        for k, agent in enumerate(self.agents):
            last = k == len(self.agents) - 1
            spent = self.queries_made - calls_at_start
            if not last and spent >= self.config.max_calls_per_round - 1:
                continue  # keep the round's last call for the agent who settles it
            messages = self._messages(view, agent, dialog, last)
            expect = ("EXECUTE",) if last else ("PROCEED", "EXECUTE")
            require = None if last else (agent,)
            answer, _ = self.ask_answer(
                messages, expect=expect, require=require, agent=agent, purpose="dialog"
            )
            said = " ".join(answer.reasoning.split()) or "(no comment)"
            lines = "; ".join(a.to_text() for a in answer.actions)
            dialog.append(f"[{agent}] {said} -> {answer.keyword} {lines}")
            if answer.keyword == "EXECUTE" and len(answer.actions) == len(self.agents):
                return answer.plan()  # a round ends on EXECUTE
        raise AssertionError("the last speaker always settles the round")

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Remember the plan and what it did."""
        step = self.history.added + 1
        actions = "; ".join(a.to_text() for a in plan.actions)
        self.history.add(f"Step {step}: {actions} -> {outcome_text(outcome)}")
