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
        for round_index in range(self.config.max_rounds):
            calls_before = self._calls
            for k, agent in enumerate(self.agents):
                last = k == len(self.agents) - 1
                messages = self._messages(view, agent, dialog, last)
                if last:
                    answer, _ = self.ask_answer(
                        messages, expect=("EXECUTE",), agent=agent, purpose="dialog"
                    )
                    plan = answer.plan()
                else:
                    answer, _ = self.ask_answer(
                        messages,
                        expect=("PROCEED", "EXECUTE"),
                        require=(agent,),
                        agent=agent,
                        purpose="dialog",
                    )
                said = " ".join(answer.reasoning.split()) or "(no comment)"
                lines = "; ".join(a.to_text() for a in answer.actions)
                dialog.append(f"[{agent}] {said} -> {answer.keyword} {lines}")
                if self._calls - calls_before >= self.config.max_calls_per_round and not last:
                    break
            if plan is None:
                continue
            problems = view.verify(plan)
            if not problems:
                return plan
            self.chat.note("verification", feedback_lines(problems), problems=list(problems))
            dialog.append(f"[environment] The plan cannot be executed:\n{feedback_lines(problems)}")
            if round_index == self.config.max_rounds - 1:
                break
        if plan is None:
            from brigade.errors import ParseFailure

            raise ParseFailure("the dialog never settled a plan with EXECUTE")
        return plan

    @property
    def _calls(self) -> int:
        return int(getattr(self.chat, "queries", 0))

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Remember the plan and what it did."""
        step = len(self.history.rounds) + self.history.dropped + 1
        actions = "; ".join(a.to_text() for a in plan.actions)
        self.history.add(f"Step {step}: {actions} -> {outcome_text(outcome)}")
