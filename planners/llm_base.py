"""What every LLM planner shares: asking, reading the answer, and verification feedback.

:class:`LLMPlanner` gives each planner two tools:

- :meth:`LLMPlanner.ask_answer`: one query, then at most ``max_reasks`` re-asks
  that quote why the reply could not be read; a reply that stays unreadable is
  the planner's own failure (:class:`~brigade.errors.ParseFailure`).
- :meth:`LLMPlanner.verified`: a proposed plan goes through the environment's
  verification (physical feasibility, in words); while it fails and re-plans
  are left, the problems go back to the LLM. At the cap the last proposal runs,
  and what fails comes back as execution feedback.

Every query counts in NQ (the chat client counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from brigade.agents.parsing import KEYWORDS, Answer, AnswerError, parse_answer
from brigade.agents.prompts import History, Template
from brigade.agents.templates import JOINT_FORMAT, REASK, REPLAN, rules_for
from brigade.chat import Message
from brigade.errors import ConfigError, ParseFailure
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient, Planner
from brigade.task_env import PlannerView


@dataclass
class LLMPlannerConfig:
    """Settings every LLM planner shares.

    Attributes:
        max_reasks: Re-asks after an unreadable reply before the planner fails.
        max_replans: Re-plans per step after verification feedback.
        history_tokens: Token budget of the kept history (oldest rounds dropped first).
    """

    max_reasks: int = 2
    max_replans: int = 3
    history_tokens: int = 2000

    def validate(self) -> None:
        """Raise :class:`ConfigError` for negative limits."""
        for key in ("max_reasks", "max_replans", "history_tokens"):
            if getattr(self, key) < 0:
                raise ConfigError("must not be negative", key=key)


def feedback_lines(problems: Sequence[str]) -> str:
    """Problems as a bulleted list."""
    return "\n".join(f"- {p}" for p in problems)


def outcome_text(outcome: Outcome) -> str:
    """What an executed step did, in words (for histories and observations)."""
    parts = [f"reward {outcome.reward:g}"]
    parts += list(outcome.feedback)
    if outcome.success:
        parts.append("the task is done")
    return "; ".join(parts)


class LLMPlanner(Planner):
    """Base of the LLM planners (see the module docstring)."""

    config: LLMPlannerConfig

    def __init__(self, config: LLMPlannerConfig):
        config.validate()
        self.config = config
        self.chat: ChatClient | None = None
        self.agents: tuple[str, ...] = ()
        self.rules: Template = rules_for("")
        self.last_answer: Answer | None = None
        self.queries_made = 0

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode: remember the agents and the environment's rules."""
        if chat is None:
            raise ConfigError(f"the {self.name} planner needs a chat model")
        self.chat = chat
        self.queries_made = 0
        self.agents = view.agents
        self.rules = rules_for(view.env_id)
        self.seed = seed

    def templates(self) -> list[Template]:
        """The templates this planner uses (for :meth:`prompt_versions`)."""
        return [self.rules, JOINT_FORMAT, REASK, REPLAN]

    def prompt_versions(self) -> dict[str, str]:
        """``{template name: tag}``."""
        return {t.name: t.tag for t in self.templates()}

    def stats(self) -> dict[str, int | float]:
        """History rounds dropped to stay within the token budget (all kept histories)."""
        dropped = sum(h.dropped for h in vars(self).values() if isinstance(h, History))
        return {"history_dropped": dropped}

    # ------------------------------------------------------------------ asking

    def ask_answer(
        self,
        messages: list[Message],
        *,
        expect: Sequence[str] = KEYWORDS,
        require: Sequence[str] | None = None,
        agent: str | None = None,
        purpose: str = "plan",
    ) -> tuple[Answer, list[Message]]:
        """Ask, and re-ask with the reason while the reply cannot be read.

        Returns:
            The answer, and the conversation including the accepted reply.

        Raises:
            ParseFailure: Still unreadable after ``max_reasks`` re-asks.
        """
        assert self.chat is not None
        conversation = list(messages)
        for attempt in range(self.config.max_reasks + 1):
            self.queries_made += 1
            reply = self.chat.ask(
                conversation, agent=agent, purpose=purpose if attempt == 0 else "reask"
            )
            conversation.append(Message("assistant", reply))
            try:
                answer = parse_answer(reply, self.agents, expect=expect, require=require)
            except AnswerError as exc:
                self.chat.note("parse_error", exc.reason, agent=agent)
                if attempt == self.config.max_reasks:
                    raise ParseFailure(exc.reason, reply) from None
                conversation.append(Message("user", REASK.render(reason=exc.reason)))
                continue
            self.last_answer = answer
            return answer, conversation
        raise AssertionError("unreachable")

    def verified(
        self,
        view: PlannerView,
        messages: list[Message],
        *,
        agent: str | None = None,
    ) -> JointPlan:
        """Ask for a joint plan and re-plan on verification feedback (see the module docstring)."""
        assert self.chat is not None
        answer, conversation = self.ask_answer(messages, expect=("EXECUTE",), agent=agent)
        plan = answer.plan()
        for _ in range(self.config.max_replans):
            problems = view.verify(plan)
            if not problems:
                return plan
            self.chat.note("verification", feedback_lines(problems), problems=list(problems))
            conversation.append(Message("user", REPLAN.render(problems=feedback_lines(problems))))
            answer, conversation = self.ask_answer(
                conversation, expect=("EXECUTE",), agent=agent, purpose="replan"
            )
            plan = answer.plan()
        problems = view.verify(plan)
        if problems:
            self.chat.note(
                "verification", feedback_lines(problems), problems=list(problems), capped=True
            )
        return plan
