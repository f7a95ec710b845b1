"""The five baselines: prompts, parsing, re-asks, verification feedback, NQ counting."""

from __future__ import annotations

import pytest

from brigade import envs
from brigade.agents.ledger import Ledger
from brigade.agents.session import ChatSession
from brigade.agents.simulated import SimConfig, SimulatedLLM
from brigade.errors import ParseFailure
from brigade.planners.registry import BASELINES, PLANNERS

from ..fakes.scripted_chat import ScriptedChat

GOOD = "Thought: go.\nEXECUTE\nNAME Alice ACTION PICK onion\nNAME Bob ACTION PICK onion"
BAD = "EXECUTE\nNAME Alice ACTION SERVE\nNAME Bob ACTION PICK onion"
WAIT = "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT"


def play(env_id: str, planner_name: str, chat_model: object, seed: int = 0, steps: int = 100):
    env = envs.make_task(env_id)
    env.reset(seed)
    view = env.planner_view()
    planner = PLANNERS.build(planner_name)
    session = ChatSession(chat_model, Ledger(), episode_seed=seed)  # type: ignore[arg-type]
    planner.reset(view, session, seed=seed)
    outcome = None
    for _ in range(steps):
        plan = planner.plan(view)
        outcome = env.execute(plan)
        planner.observe(plan, outcome)
        if outcome.done:
            break
    return env, session, outcome


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("env_id", ["kitchen/cramped_room", "kitchen-read/forced_coordination"])
def test_every_baseline_plays_a_whole_episode_with_the_simulated_llm(
    name: str, env_id: str
) -> None:
    # Without broken formats, so that no episode ends early on a parse failure.
    env, session, outcome = play(env_id, name, SimulatedLLM(SimConfig(format_error=0.0)))
    assert outcome is not None and outcome.done
    assert session.queries >= env.step_count  # at least one query per step
    prompts = [e.data for e in session.entries if e.kind == "query"]
    assert 'Kitchen "' in prompts[0]["messages"][-1]["content"]  # the state is in the prompt
    versions = PLANNERS.build(name).prompt_versions()
    assert versions and all("@" in tag for tag in versions.values())


def test_verification_feedback_makes_it_replan_and_counts_queries() -> None:
    chat = ScriptedChat([BAD, GOOD])
    env, session, _ = play("kitchen/cramped_room", "central", chat, steps=1)
    assert session.queries == 2
    feedback = chat.requests[1].messages[-1].content
    assert "Alice cannot SERVE: they hold nothing, not a soup" in feedback
    assert env.state.chefs[1].held == "onion"


def test_unreadable_replies_are_reasked_with_the_reason_then_fail() -> None:
    chat = ScriptedChat(["I would pick onions.", GOOD])
    play("kitchen/cramped_room", "react", chat, steps=1)
    assert "could not be read: no answer found" in chat.requests[1].messages[-1].content
    with pytest.raises(ParseFailure, match="no answer found"):
        play("kitchen/cramped_room", "central", ScriptedChat(["nope"] * 3), steps=1)


def test_replans_are_capped_and_the_last_plan_runs() -> None:
    chat = ScriptedChat([BAD] * 4)
    _, session, outcome = play("kitchen/cramped_room", "central", chat, steps=1)
    assert session.queries == 4  # the proposal and max_replans (3) re-plans
    assert outcome is not None and outcome.feedback[0].startswith("Alice cannot SERVE")
    notes = [e for e in session.entries if e.kind == "verification"]
    assert notes[-1].data.get("capped") is True


def test_roco_holds_a_dialog_with_each_agents_view() -> None:
    chat = ScriptedChat(
        ["I take an onion.\nPROCEED\nNAME Alice ACTION PICK onion", "Me too.\n" + GOOD]
    )
    _, session, _ = play("kitchen/cramped_room", "roco", chat, steps=1)
    first, second = chat.requests
    assert "You are Alice" in first.messages[0].content and "PROCEED" in first.messages[0].content
    assert "the last to speak" in second.messages[0].content
    assert "NAME Alice ACTION PICK onion" in second.messages[-1].content  # Bob hears Alice
    assert session.queries == 2


def test_reflexion_reflects_after_a_failed_step() -> None:
    second = "EXECUTE\nNAME Alice ACTION PICK onion\nNAME Bob ACTION PUT pot1"
    chat = ScriptedChat([BAD, BAD, BAD, BAD, "Alice had no soup to serve.", second])
    _, session, _ = play("kitchen/cramped_room", "reflexion", chat, steps=2)
    purposes = [e.data["purpose"] for e in session.entries if e.kind == "query"]
    assert purposes[:5] == ["plan", "replan", "replan", "replan", "reflect"]
    assert "Lessons from your earlier mistakes" in chat.requests[5].messages[-1].content
    assert "Alice had no soup to serve." in chat.requests[5].messages[-1].content


def test_full_history_is_kept_within_its_budget() -> None:
    from brigade.planners.central import CentralConfig, CentralPlanner

    env = envs.make_task("kitchen/cramped_room")
    planner = CentralPlanner(CentralConfig(history_tokens=60))
    chat = ScriptedChat(lambda messages: WAIT)
    session = ChatSession(chat, Ledger())
    planner.reset(env.planner_view(), session, seed=0)
    for _ in range(6):
        plan = planner.plan(env.planner_view())
        planner.observe(plan, env.execute(plan))
    assert planner.history.dropped > 0
    assert planner.stats()["history_dropped"] == planner.history.dropped
    assert "oldest rounds are left out" in chat.requests[-1].messages[-1].content


def test_roco_settles_even_when_many_agents_use_up_the_round() -> None:
    from pathlib import Path

    from brigade.envs.kitchen.task_env import KitchenTaskEnv

    layout = Path(__file__).parents[1] / "envs" / "kitchen" / "layouts" / "k_nine_chefs.layout"
    env = KitchenTaskEnv(layout_file=str(layout))

    def reply(messages: list) -> str:
        system = messages[0].content
        if "the last to speak" in system:
            return "All wait.\nEXECUTE\n" + "\n".join(f"NAME {a} ACTION WAIT" for a in env.agents)
        speaker = system.split("You are ", 1)[1].split(",", 1)[0].split(".", 1)[0]
        return f"I wait.\nPROCEED\nNAME {speaker} ACTION WAIT"

    chat = ScriptedChat(reply)
    planner = PLANNERS.build("roco")
    session = ChatSession(chat, Ledger())
    planner.reset(env.planner_view(), session, seed=0)
    plan = planner.plan(env.planner_view())
    assert [a.verb for a in plan.actions] == ["WAIT"] * 9
    # Five turns (the round's cap of 6 keeps one call for the settling agent), then the last.
    assert session.queries == 6
