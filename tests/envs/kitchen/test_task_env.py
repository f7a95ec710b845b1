"""The kitchen's skill-level TaskEnv: conformance, skills, verification, WAIT, snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from brigade import Action, JointPlan, envs
from brigade.envs.kitchen.features import feature_names, feature_size
from brigade.envs.kitchen.motion import MotionPlanner
from brigade.envs.kitchen.state import Chef, Soup
from brigade.envs.kitchen.task_env import KitchenTaskEnv
from brigade.errors import BrigadeError, ConfigError, PlanError, StateError
from brigade.testing import check_task_env
from brigade.testing.task_conformance import check_legal_actions


def plan(*lines: str) -> JointPlan:
    return JointPlan.of(Action.parse(line) for line in lines)


@pytest.mark.parametrize("env_id", envs.registered())
def test_conformance(env_id: str) -> None:
    check_task_env(lambda: envs.make_task(env_id))


@pytest.mark.parametrize(
    "env_id",
    [
        "kitchen/cramped_room",
        "kitchen/forced_coordination",
        "kitchen/counter_circuit",
        "kitchen-read/cramped_room",
    ],
)
def test_legal_actions_verify_along_an_expert_episode(env_id: str) -> None:
    env = envs.make_task(env_id)
    while True:
        check_legal_actions(env)
        if env.execute(env.expert_plan()).done:
            break


def test_skills_compile_into_moves_and_one_execute_is_one_step() -> None:
    env = envs.make_task("kitchen/cramped_room")
    out = env.execute(plan("NAME Alice ACTION PICK onion", "NAME Bob ACTION PICK onion"))
    assert env.step_count == 1
    assert out.steps >= 2  # a turn and an interact at least
    # The step ends when the first chef finishes: Bob (next to the dispenser) got his onion.
    assert env.state.chefs[1].held == "onion"
    assert not out.done and out.reward == 0


def test_verify_explains_and_costs_nothing() -> None:
    env = envs.make_task("kitchen/cramped_room")
    before = env.snapshot()
    problems = env.verify(plan("NAME Alice ACTION PUT pot1", "NAME Bob ACTION SERVE"))
    assert problems == [
        "Alice cannot PUT into pot1: they hold nothing, not an ingredient",
        "Bob cannot SERVE: they hold nothing, not a soup",
    ]
    assert env.verify(plan("NAME Alice ACTION FLY", "NAME Bob ACTION WAIT"))[0].startswith(
        "Alice: FLY: unknown verb"
    )
    assert (
        "did you mean 'PICK'"
        in env.verify(plan("NAME Alice ACTION PIKC onion", "NAME Bob ACTION WAIT"))[0]
    )
    assert env.verify(plan("NAME Bob ACTION WAIT", "NAME Alice ACTION WAIT"))[0].startswith(
        "a plan must"
    )
    assert env.snapshot() == before and env.step_count == 0


def test_unreachable_targets_are_explained() -> None:
    env = envs.make_task("kitchen/forced_coordination")
    problems = env.verify(plan("NAME Alice ACTION PICK onion", "NAME Bob ACTION WAIT"))
    assert problems == ["Alice cannot PICK: they cannot reach any onion from (3,1)"]


def test_conflicting_picks_are_flagged() -> None:
    env = envs.make_task("kitchen/cramped_room")
    state = env.state.replace(counters={(2, 3): "onion"}, chefs=(Chef((1, 2), 1), Chef((2, 2), 1)))
    env.restore(_snapshot_with(env, state))
    problems = env.verify(
        plan("NAME Alice ACTION PICK onion counter(2,3)", "NAME Bob ACTION PICK onion counter(2,3)")
    )
    assert problems == ["Alice and Bob both PICK from the same counter"]


def _snapshot_with(env: KitchenTaskEnv, state: object) -> bytes:
    import json

    data = json.loads(env.snapshot())
    data["state"] = env.mdp.to_overcooked_dict(state)  # type: ignore[arg-type]
    return json.dumps(data).encode()


def test_infeasible_actions_at_execution_come_back_as_feedback() -> None:
    env = envs.make_task("kitchen/cramped_room")
    out = env.execute(plan("NAME Alice ACTION SERVE", "NAME Bob ACTION PICK onion"))
    assert out.feedback[0] == "Alice cannot SERVE: they hold nothing, not a soup"
    assert env.state.chefs[1].held == "onion"
    out = env.execute(plan("NAME Alice ACTION DANCE", "NAME Bob ACTION WAIT"))
    assert "waited instead" in out.feedback[0]


def test_wait_lasts_until_a_pot_changes() -> None:
    env = envs.make_task("kitchen/cramped_room")
    cooking = env.state.replace(pots=(Soup(("onion",) * 3, 1),))
    env.restore(_snapshot_with(env, cooking))
    out = env.execute(plan("NAME Alice ACTION WAIT", "NAME Bob ACTION WAIT"))
    assert out.steps == 19  # from tick 1 to ready at 20
    assert env.mdp.soup_is_ready(env.state.pots[0])  # type: ignore[arg-type]
    assert "pot1 is ready." in out.feedback
    # With nothing cooking, everyone waiting passes a single move.
    env.reset()
    assert env.execute(plan("NAME Alice ACTION WAIT", "NAME Bob ACTION WAIT")).steps == 1


CORRIDOR = """{
    "grid": \"\"\"XXXPXXX
                O 1 2 D
                XXXSXXX\"\"\",
    "start_all_orders": [{"ingredients": ["onion", "onion", "onion"]}]
}"""


def test_blocked_chef_fails_with_feedback(tmp_path: object) -> None:
    from pathlib import Path

    layout = Path(str(tmp_path)) / "corridor.layout"
    layout.write_text(CORRIDOR)
    env = KitchenTaskEnv(layout_file=str(layout), patience=3)
    # Bob waits at the pot for his soup, in the only corridor; Alice needs to get past him.
    state = env.state.replace(
        chefs=(Chef((2, 1), 2), Chef((3, 1), 0, "dish")), pots=(Soup(("onion",) * 3, 2),)
    )
    env.restore(_snapshot_with(env, state))
    out = env.execute(plan("NAME Alice ACTION PICK dish", "NAME Bob ACTION FILL pot1"))
    assert out.feedback == ("Alice is blocked and cannot PICK dish (Bob in the way).",)
    assert out.steps == 5  # the first move sets the distance; patience 3 tolerates three more


def test_episode_ends_and_refuses_more_plans() -> None:
    env = envs.make_task("kitchen/cramped_room", step_limit=2)
    env.execute(plan("NAME Alice ACTION WAIT", "NAME Bob ACTION WAIT"))
    out = env.execute(plan("NAME Alice ACTION WAIT", "NAME Bob ACTION WAIT"))
    assert out.truncated and not out.terminated and not out.success
    with pytest.raises(BrigadeError, match="reset"):
        env.execute(plan("NAME Alice ACTION WAIT", "NAME Bob ACTION WAIT"))
    with pytest.raises(PlanError):
        envs.make_task("kitchen/cramped_room").execute(plan("NAME Bob ACTION WAIT"))


def test_expert_success_terminates_with_reward() -> None:
    env = envs.make_task("kitchen/cramped_room")
    total = 0.0
    progress = [env.progress()]
    while True:
        out = env.execute(env.expert_plan())
        total += out.reward
        progress.append(env.progress())
        if out.done:
            break
    assert out.success and out.terminated and not out.truncated
    assert total == 40 and env.delivered == 2
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert max(progress[:-1]) < 1.0


def test_snapshot_restore_resumes_identically() -> None:
    env = envs.make_task("kitchen/coordination_ring")
    for _ in range(5):
        env.execute(env.expert_plan())
    snap = env.snapshot()
    first = [env.execute(env.expert_plan()).reward for _ in range(6)]
    after = env.describe()
    env.restore(snap)
    again = [env.execute(env.expert_plan()).reward for _ in range(6)]
    assert first == again and env.describe() == after


def test_features_are_fixed_size_and_named() -> None:
    env = envs.make_task("kitchen/cramped_room")
    f = env.features()
    assert f.shape == (feature_size(env.mdp),) == (len(feature_names(env.mdp)),)
    assert f.dtype == np.float32 and np.all((f >= -1) & (f <= 1))
    names = feature_names(env.mdp)
    # The geometry block: distances are shares in [0, 1], one move changes them by -1, 0 or +1.
    distance = [i for i, n in enumerate(names) if "_to_" in n and "_after_" not in n]
    change = [i for i, n in enumerate(names) if "_after_" in n]
    assert np.all((f[distance] >= 0) & (f[distance] <= 1))
    assert set(np.unique(f[change]).tolist()) <= {-1.0, 0.0, 1.0}
    assert f[names.index("chef0_to_tomato")] == 1.0  # no tomato dispenser: unreachable


def test_geometry_features_say_which_move_gets_closer() -> None:
    env = envs.make_task("kitchen-read/cramped_room")
    names = feature_names(env.mdp)
    f = env.features()
    chef = env.state.chefs[0]
    for target in ("onion", "dish", "serving", "pot1"):
        d = f[names.index(f"chef0_to_{target}")]
        best = MotionPlanner(env.mdp).step_towards(
            (chef.position, chef.orientation),
            {
                "onion": env.mdp.onion_dispensers,
                "dish": env.mdp.dish_dispensers,
                "serving": env.mdp.serving_positions,
                "pot1": env.mdp.pot_positions,
            }[target],
        )
        assert best is not None and d == min(best.distance / 15, 1.0)
        if best.action < 4:
            direction = ("north", "south", "east", "west")[best.action]
            assert f[names.index(f"chef0_to_{target}_after_{direction}")] == -1.0


def test_frames_are_recorded_per_move() -> None:
    env = envs.make_task("kitchen/cramped_room", record_frames=True, cell_px=32)
    out = env.execute(env.expert_plan())
    assert out.frames is not None
    assert out.frames.shape[0] == out.steps + 1  # the start frame, then one per move
    assert out.frames.dtype == np.uint8 and out.frames.shape[-1] == 3


def test_random_starts_keep_chefs_in_their_regions() -> None:
    env = envs.make_task("kitchen/forced_coordination", start="random")
    for seed in range(20):
        env.reset(seed)
        left, right = env.state.chefs[1].position, env.state.chefs[0].position
        assert left[0] == 1 and right[0] == 3


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="did you mean 'step_limit'"):
        envs.make_task("kitchen/cramped_room", step_limt=3)
    with pytest.raises(ConfigError, match="mode"):
        KitchenTaskEnv(mode="jog")


def test_read_mode_is_one_move_per_step() -> None:
    env = envs.make_task("kitchen-read/cramped_room")
    assert env.step_limit == 20
    assert [a.command for a in env.legal_actions("Alice")] == [
        "MOVE north",
        "MOVE south",
        "MOVE east",
        "MOVE west",
        "WAIT",
        "INTERACT",
    ]
    out = env.execute(plan("NAME Alice ACTION MOVE east", "NAME Bob ACTION INTERACT"))
    assert out.steps == 1 and env.state.timestep == 1
    assert env.state.chefs[0].position == (2, 2)
    assert (
        "MOVE takes one direction"
        in env.verify(plan("NAME Alice ACTION MOVE up", "NAME Bob ACTION WAIT"))[0]
    )


POCKET = """{
    "grid": \"\"\"XXXXXXXX
                O 1 2  P
                XXXXX XX
                XDXSXXXX\"\"\",
    "start_all_orders": [{"ingredients": ["onion"]}]
}"""


def test_waiting_chef_backs_out_of_the_way(tmp_path: object) -> None:
    from pathlib import Path

    layout = Path(str(tmp_path)) / "pocket.layout"
    layout.write_text(POCKET)
    env = KitchenTaskEnv(layout_file=str(layout))
    # Bob waits in the corridor between Alice and the pot; he must step into the pocket.
    state = env.state.replace(chefs=(Chef((3, 1), 2, "onion"), Chef((5, 1), 2)))
    env.restore(_snapshot_with(env, state))
    out = env.execute(plan("NAME Alice ACTION PUT pot1", "NAME Bob ACTION WAIT"))
    assert out.feedback == ()
    assert env.state.pots[0] is not None and env.state.pots[0].ingredients == ("onion",)
    assert env.state.chefs[1].position == (5, 2)


def test_restore_refuses_bad_snapshots_and_changes_nothing() -> None:
    env = envs.make_task("kitchen/cramped_room")
    env.execute(env.expert_plan())
    before = env.snapshot()
    other = envs.make_task("kitchen/forced_coordination").snapshot()
    for bad, message in [
        (b"xx", "cannot restore"),
        (b'{"schema": 1, "layout": "cramped_room"}', "missing 'state'"),
        (b"[1]", "not a JSON object"),
        (other, "of layout 'forced_coordination'"),
    ]:
        with pytest.raises(StateError, match=message):
            env.restore(bad)
        assert env.snapshot() == before


def test_verify_flags_two_chefs_placing_on_or_filling_from_one_place() -> None:
    env = envs.make_task("kitchen/cramped_room")
    state = env.state.replace(
        chefs=(Chef((1, 1), 0, "dish"), Chef((2, 1), 0, "dish")), pots=(Soup(("onion",) * 3, 20),)
    )
    env.restore(_snapshot_with(env, state))
    assert env.verify(plan("NAME Alice ACTION FILL pot1", "NAME Bob ACTION FILL pot1")) == [
        "Alice and Bob both FILL from the same pot, which holds one soup"
    ]
    assert env.verify(
        plan("NAME Alice ACTION PLACE counter(1,0)", "NAME Bob ACTION PLACE counter(1,0)")
    ) == ["Alice and Bob both PLACE on the same counter"]


def test_registered_ids_cannot_change_what_defines_them() -> None:
    with pytest.raises(ConfigError, match="defined by its layout"):
        envs.make_task("kitchen/forced_coordination", layout="cramped_room")
    with pytest.raises(ConfigError, match="defined by its mode"):
        envs.make_task("kitchen-read/cramped_room", mode="skills")
    env = KitchenTaskEnv(layout="forced_coordination")
    assert env.metadata()["layout"] == "forced_coordination"


def test_typed_settings_reject_bad_values() -> None:
    with pytest.raises(ConfigError, match=r"step_limit.*bad value"):
        envs.make_task("kitchen/cramped_room", step_limit="many")
    with pytest.raises(ConfigError, match="cell_px"):
        envs.make_task("kitchen/cramped_room", cell_px=8)


def test_fractional_cooking_times_round_trip() -> None:
    from brigade.envs.kitchen import KitchenMDP

    mdp = KitchenMDP.from_layout_name("cramped_room", cook_time=2.5)
    state = mdp.initial_state().replace(pots=(Soup(("onion",) * 3, 0),))
    for _ in range(4):
        state, _ = mdp.transition(state, [4, 4])
    assert state.pots[0] == Soup(("onion",) * 3, 3) and mdp.soup_is_ready(state.pots[0])
    assert mdp.from_overcooked_dict(mdp.to_overcooked_dict(state)) == state
