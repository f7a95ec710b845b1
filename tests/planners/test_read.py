"""ReAd-J and ReAd-S: the refinement loop, its threshold, its cap and its prompts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from brigade import envs
from brigade.action import Action
from brigade.agents.ledger import Ledger
from brigade.agents.session import ChatSession
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.errors import ConfigError
from brigade.plan import JointPlan
from brigade.planners.read import ReadConfig, ReadJPlanner, ReadSPlanner
from brigade.planners.registry import PLANNERS, READ_PLANNERS
from brigade.planners.runner import RunConfig, run

from ..fakes.scripted_chat import ScriptedChat


class ListCritic(AdvantageCritic):
    """Scores from a list, in call order; remembers what it was asked."""

    kind = "list"

    def __init__(self, scores: Sequence[float]):
        self.scores = list(scores)
        self.asked: list[tuple[str, object]] = []

    def _next(self) -> Scores:
        return Scores(np.array([self.scores.pop(0)]))

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        self.asked.append(("s", (tuple(before), tuple(candidates))))
        return self._next()

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        self.asked.append(("j", tuple(plans)))
        return self._next()


def joint(a: str, b: str) -> str:
    return f"Thought: ok.\nEXECUTE\nNAME Alice ACTION {a}\nNAME Bob ACTION {b}"


def setup(planner: ReadJPlanner | ReadSPlanner, critic: AdvantageCritic, replies: list[str]):
    env = envs.make_task("kitchen-read/cramped_room")
    env.reset(0)
    chat_model = ScriptedChat(replies)
    session = ChatSession(chat_model, Ledger(), episode_seed=0)
    planner.attach_critic(critic)
    planner.reset(env.planner_view(), session, seed=0)
    return env, chat_model, session


def test_read_j_refines_until_the_threshold_and_quotes_score_and_threshold() -> None:
    planner = ReadJPlanner(ReadConfig(threshold=1.0))
    critic = ListCritic([-0.5, 0.2, 0.6])
    replies = [joint("WAIT", "WAIT"), joint("MOVE north", "WAIT"), joint("MOVE north", "MOVE east")]
    env, chat_model, session = setup(planner, critic, replies)
    plan = planner.plan(env.planner_view())
    assert plan.to_text().endswith("NAME Bob ACTION MOVE east")
    # threshold 1.0 -> rejected (0.5) -> rejected (0.25) -> accepted 0.6 >= 0.25
    assert session.queries == 3 and planner.rejections == 2 and planner.threshold == 0.25
    second = chat_model.requests[1].messages
    assert "-0.50" in second[-1].content and "0.50" in second[-1].content
    third = chat_model.requests[2].messages
    # Only the last round is kept: system, state, the latest proposal and its score.
    assert len(third) == 4 and third[2].role == "assistant" and "MOVE north" in third[2].content
    assert "+0.20" in third[3].content and "0.25" in third[3].content


def test_the_threshold_doubles_at_each_new_step() -> None:
    planner = ReadJPlanner(ReadConfig(threshold=1.0))
    critic = ListCritic([5.0, 5.0, -1.0, 5.0])
    replies = [joint("WAIT", "WAIT")] * 4
    env, _, _ = setup(planner, critic, replies)
    view = env.planner_view()
    for _ in range(2):
        plan = planner.plan(view)
        planner.observe(plan, env.execute(plan))
    assert planner.threshold == 2.0  # 1 at the first step, doubled at the second
    planner.plan(view)
    assert planner.threshold == 2.0  # doubled to 4 at the third, halved by the rejection


def test_at_the_cap_the_best_scored_proposal_runs() -> None:
    planner = ReadJPlanner(ReadConfig(threshold=0.0, max_rounds=3))
    critic = ListCritic([-3.0, -1.0, -2.0])
    replies = [joint("WAIT", "WAIT"), joint("MOVE north", "WAIT"), joint("INTERACT", "WAIT")]
    env, _, session = setup(planner, critic, replies)
    plan = planner.plan(env.planner_view())
    assert plan.actions[0].command == "MOVE north"
    assert session.queries == 3 and planner.capped == 1


def test_the_single_ablation_takes_one_proposal() -> None:
    planner = PLANNERS.build("read-j-single")
    critic = ListCritic([-9.0])
    env, _, session = setup(planner, critic, [joint("WAIT", "WAIT")])  # type: ignore[arg-type]
    planner.plan(env.planner_view())
    assert session.queries == 1 and planner.rejections == 0


def test_read_s_asks_each_agent_in_turn_after_the_ones_before() -> None:
    planner = ReadSPlanner(ReadConfig(threshold=0.0))
    critic = ListCritic([-1.0, 0.5, 0.1])
    replies = [
        "I go.\nPROCEED\nNAME Alice ACTION WAIT",
        "I go.\nPROCEED\nNAME Alice ACTION MOVE north",
        "I go.\nPROCEED\nNAME Bob ACTION MOVE east",
    ]
    env, chat_model, session = setup(planner, critic, replies)
    plan = planner.plan(env.planner_view())
    assert [a.command for a in plan.actions] == ["MOVE north", "MOVE east"]
    assert session.queries == 3
    (_, first), _, (_, third) = critic.asked
    assert first == ((), (Action("Alice", "WAIT"),))
    assert third[0] == (Action("Alice", "MOVE", ("north",)),)  # Bob is scored after Alice
    bob_prompt = chat_model.requests[2].messages
    assert "You are Bob" in bob_prompt[0].content
    assert "NAME Alice ACTION MOVE north" in bob_prompt[1].content


def test_a_read_planner_without_a_critic_says_so() -> None:
    env = envs.make_task("kitchen-read/cramped_room")
    planner = ReadJPlanner()
    with pytest.raises(ConfigError, match="critic"):
        planner.reset(env.planner_view(), ChatSession(ScriptedChat([]), Ledger()), seed=0)


def test_every_read_planner_is_registered() -> None:
    for name in READ_PLANNERS:
        assert PLANNERS.get(name).factory.needs_critic  # type: ignore[attr-defined]


def _sr(out: Path, critic: str, planners: str, episodes: int = 12) -> dict[str, float]:
    result = run(
        RunConfig(
            env="kitchen-read/cramped_room",
            planner=planners,
            critic=critic,
            episodes=episodes,
            video="none",
            out=str(out),
        )
    )
    return {s.planner: s.success.mean for s in result.summaries}


def test_an_oracle_critic_lifts_success_and_controls_do_not(tmp_path: Path) -> None:
    oracle = _sr(tmp_path / "o", "oracle", "read-j,read-j-single")
    assert oracle["read-j"] >= 0.8 > oracle["read-j-single"] + 0.3
    constant = _sr(tmp_path / "c", "constant", "read-j")
    assert constant["read-j"] <= oracle["read-j-single"] + 0.2


def test_records_name_the_critic(tmp_path: Path) -> None:
    result = run(
        RunConfig(
            env="kitchen-read/cramped_room",
            planner="read-s",
            critic="random",
            episodes=1,
            video="none",
            out=str(tmp_path),
        )
    )
    record = result.records[0]
    assert record.critic == {"kind": "random", "scale": 1.0, "baseline": "none"}
    assert record.planner_stats["proposals"] >= record.env_steps * 2


def test_evaluation_refuses_seeds_the_critic_was_trained_on(tmp_path: Path) -> None:
    config = RunConfig(
        env="kitchen-read/cramped_room",
        planner="read-j",
        seed=1_000_000,
        episodes=1,
        video="none",
        out=str(tmp_path),
    )
    with pytest.raises(ConfigError, match="trained on") as info:
        run(config)
    assert info.value.key == "seed"


def test_a_critic_of_another_task_is_refused_up_front(tmp_path: Path) -> None:
    from brigade.critics.registry import shipped_checkpoint

    shipped = shipped_checkpoint("kitchen-read/cramped_room-v0")
    config = RunConfig(
        env="kitchen-read/forced_coordination",
        planner="read-j",
        critic=str(shipped),
        episodes=1,
        video="none",
        out=str(tmp_path),
    )
    with pytest.raises(ConfigError, match="features"):
        run(config)


def test_an_unreadable_refinement_runs_the_best_proposal_so_far() -> None:
    planner = ReadJPlanner(ReadConfig(threshold=0.0, max_reasks=1))
    critic = ListCritic([-3.0])
    replies = [joint("MOVE north", "WAIT"), "no idea", "still no idea"]
    env, _, session = setup(planner, critic, replies)
    plan = planner.plan(env.planner_view())
    assert plan.actions[0].command == "MOVE north"
    assert session.queries == 3 and planner.stats()["unreadable_refinements"] == 1


def test_an_unreadable_first_proposal_is_the_planners_failure() -> None:
    from brigade.errors import ParseFailure

    planner = ReadJPlanner(ReadConfig(max_reasks=1))
    env, _, _ = setup(planner, ListCritic([]), ["no idea", "still no idea"])
    with pytest.raises(ParseFailure):
        planner.plan(env.planner_view())


class SpreadCritic(ListCritic):
    """Scores from a list, each with an ensemble spread of 1."""

    def _next(self) -> Scores:
        return Scores(np.array([self.scores.pop(0)]), np.array([1.0]))


def test_optimism_accepts_scores_within_the_critics_uncertainty() -> None:
    replies = [joint("WAIT", "WAIT"), joint("MOVE north", "WAIT")]
    strict = ReadJPlanner(ReadConfig(threshold=0.0))
    env, _, session = setup(strict, SpreadCritic([-0.5, 0.1]), replies)
    strict.plan(env.planner_view())
    assert session.queries == 2  # -0.5 < 0: rejected
    lenient = ReadJPlanner(ReadConfig(threshold=0.0, optimism=1.0))
    env, _, session = setup(lenient, SpreadCritic([-0.5, 0.1]), replies)
    lenient.plan(env.planner_view())
    assert session.queries == 1  # -0.5 + 1 x 1.0 >= 0: accepted
    with pytest.raises(ConfigError):
        ReadConfig(optimism=-1).validate()
