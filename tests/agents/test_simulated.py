"""The simulated LLM is honest: it reads only the prompt, errs at its configured rates,
is deterministic per request, and gains nothing from random criticism."""

from __future__ import annotations

import numpy as np
import pytest

from brigade import envs
from brigade.agents.parsing import AnswerError, parse_answer
from brigade.agents.simulated import SimConfig, SimulatedLLM, config_hash
from brigade.agents.templates import FINAL_FORMAT, JOINT_FORMAT, TURN_FORMAT, rules_for
from brigade.chat import Message
from brigade.envs.kitchen.skills import skill_action
from brigade.envs.kitchen.state import Chef
from brigade.errors import ConfigError

PERFECT = SimConfig(
    base_error=0, per_extra_agent=0, per_remaining_step=0, format_error=0, all_wait=0
)


def joint_messages(env_id: str, description: str, agents: tuple[str, ...]) -> list[Message]:
    system = rules_for(env_id).render() + "\n\n" + JOINT_FORMAT.render(agents=", ".join(agents))
    return [Message("system", system), Message("user", "The current state:\n" + description)]


def test_it_follows_the_expert_without_errors() -> None:
    env = envs.make_task("kitchen/cramped_room")
    reply = SimulatedLLM(PERFECT).complete(
        joint_messages(env.env_id, env.describe(), env.agents), seed=1
    )
    assert parse_answer(reply.text, env.agents).plan() == env.expert_plan()
    assert reply.usage.source == "estimate" and reply.usage.tokens_in > 100


def test_a_doctored_prompt_changes_the_answer() -> None:
    env = envs.make_task("kitchen/cramped_room")
    sim = SimulatedLLM(PERFECT)
    honest = env.describe()
    doctored = honest.replace(
        "- Alice (chef 1) at (1,2), facing north, holding nothing.",
        "- Alice (chef 1) at (1,2), facing north, holding an onion.",
    )
    assert doctored != honest
    before = parse_answer(
        sim.complete(joint_messages(env.env_id, honest, env.agents)).text, env.agents
    )
    after = parse_answer(
        sim.complete(joint_messages(env.env_id, doctored, env.agents)).text, env.agents
    )
    assert before.for_agent("Alice").command == "PICK onion"
    assert after.for_agent("Alice").command == "PUT pot1"  # it believes the prompt, not the world
    # ...and it matches what the expert would do in the doctored state.
    state = env.state.replace(chefs=(Chef((1, 2), 0, "onion"), env.state.chefs[1]))
    expected = skill_action("Alice", env.mdp, env.expert().plan(state)[0])
    assert after.for_agent("Alice") == expected


def test_replies_depend_only_on_the_request() -> None:
    env = envs.make_task("kitchen-read/cramped_room")
    messages = joint_messages(env.env_id, env.describe(), env.agents)
    a, b = SimulatedLLM(), SimulatedLLM()
    assert a.complete(messages, seed=7).text == b.complete(messages, seed=7).text
    replies = {a.complete(messages, seed=s).text for s in range(60)}
    assert len(replies) > 1  # different seeds draw different mistakes


@pytest.mark.parametrize("env_id", ["kitchen/cramped_room", "kitchen-read/forced_coordination"])
def test_measured_error_rates_match_the_configured_ones(env_id: str) -> None:
    config = SimConfig(base_error=0.3, per_remaining_step=0.0, format_error=0.1, all_wait=0.0)
    sim = SimulatedLLM(config)
    env = envs.make_task(env_id)
    expert = env.expert_plan()
    messages = joint_messages(env.env_id, env.describe(), env.agents)
    n = 600
    wrong = format_errors = answered = 0
    for seed in range(n):
        try:
            answer = parse_answer(sim.complete(messages, seed=seed).text, env.agents)
        except AnswerError:
            format_errors += 1
            continue
        for mine, best in zip(answer.actions, expert.actions):
            answered += 1
            wrong += mine != best
    p_agent = config.error_rate(len(env.agents), 0)
    assert abs(wrong / answered - p_agent) < 3 * np.sqrt(p_agent * (1 - p_agent) / answered) + 0.01
    # Every broken format is refused by the parser.
    assert abs(format_errors / n - config.format_error) < 3 * np.sqrt(0.09 / n) + 0.01


def test_random_criticism_gains_nothing_and_good_criticism_does() -> None:
    env = envs.make_task("kitchen/cramped_room")
    sim = SimulatedLLM(SimConfig(base_error=0.35, per_remaining_step=0.0, format_error=0.0))
    expert = env.expert_plan()
    base = joint_messages(env.env_id, env.describe(), env.agents)
    rng = np.random.default_rng(0)
    n = 400

    def final_answer(seed: int, critic: str) -> bool:
        reply = sim.complete(base, seed=seed).text
        for round_ in range(3):
            plan = parse_answer(reply, env.agents).plan()
            if critic == "none":
                break
            reject = rng.random() < 0.5 if critic == "random" else plan != expert
            if not reject:
                break
            conversation = [
                *base,
                Message("assistant", reply),
                Message("user", "Rejected; try again."),
            ]
            reply = sim.complete(conversation, seed=seed * 10 + round_).text
        return parse_answer(reply, env.agents).plan() == expert

    none = np.mean([final_answer(s, "none") for s in range(n)])
    random = np.mean([final_answer(s, "random") for s in range(n)])
    perfect = np.mean([final_answer(s, "perfect") for s in range(n)])
    assert random <= none + 0.05  # no drift towards the expert under random rejection
    assert perfect > none + 0.15  # a critic that knows better does help


def test_turns_answer_for_the_speaker_only_and_the_last_settles() -> None:
    env = envs.make_task("kitchen/cramped_room")
    sim = SimulatedLLM(PERFECT)
    system = rules_for(env.env_id).render() + "\n" + TURN_FORMAT.render(agent="Alice")
    turn = sim.complete([Message("system", system), Message("user", env.describe("Alice"))]).text
    answer = parse_answer(turn, env.agents, expect=("PROCEED",), require=("Alice",))
    assert [a.agent for a in answer.actions] == ["Alice"]
    final_system = (
        rules_for(env.env_id).render()
        + "\n"
        + FINAL_FORMAT.render(agent="Bob", agents="Alice, Bob")
    )
    user = (
        env.describe("Bob")
        + "\n\nThe discussion so far:\n[Alice] I go -> PROCEED NAME Alice ACTION PICK dish"
    )
    final = sim.complete([Message("system", final_system), Message("user", user)]).text
    settled = parse_answer(final, env.agents)
    assert settled.keyword == "EXECUTE"
    assert settled.for_agent("Alice").command == "PICK dish"  # the partner's proposal is kept


def test_unknown_worlds_get_a_non_answer_and_config_is_validated() -> None:
    reply = SimulatedLLM().complete([Message("user", "What is the capital of France?")]).text
    with pytest.raises(AnswerError):
        parse_answer(reply, ("Alice",))
    with pytest.raises(ConfigError, match="base_error"):
        SimulatedLLM(SimConfig(base_error=2.0))
    with pytest.raises(ConfigError, match="did you mean 'wait'"):
        SimulatedLLM(SimConfig(kinds={"wiat": 1.0}))
    assert config_hash(SimConfig()) != config_hash(SimConfig(base_error=0.5))
    assert SimulatedLLM().describe()["config_hash"] == config_hash(SimConfig())


def test_the_calibrated_configuration_is_frozen() -> None:
    # docs/simulated_llm.md and docs/results.md quote this hash; a change of the
    # defaults must come with a new calibration and new results.
    assert config_hash(SimConfig()) == "7be7ae4c7972"


def test_a_rejected_dialog_round_is_feedback_on_the_speakers_own_line() -> None:
    from brigade.agents.simulated.request import read_request

    env = envs.make_task("kitchen/cramped_room")
    system = rules_for(env.env_id).render() + "\n" + TURN_FORMAT.render(agent="Alice")
    dialog = (
        "The discussion so far:\n"
        "[Alice] I serve -> PROCEED NAME Alice ACTION SERVE\n"
        "[Bob] ok -> EXECUTE NAME Alice ACTION SERVE; NAME Bob ACTION WAIT\n"
        "[environment] The plan cannot be executed:\n- Alice cannot SERVE\n"
        "[Bob] new idea -> PROCEED NAME Bob ACTION PICK dish"
    )
    read = read_request(
        [Message("system", system), Message("user", env.describe("Alice") + "\n\n" + dialog)]
    )
    assert (
        read.rejected and read.previous is not None and "NAME Alice ACTION SERVE" in read.previous
    )
    assert [a.command for a in read.proposals] == ["PICK dish"]  # only the new round counts
