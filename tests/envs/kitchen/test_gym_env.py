"""The single-chef Gymnasium view of the kitchen."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env, data_equivalence

from brigade.envs.kitchen import KitchenState
from brigade.envs.kitchen.encoding import LosslessEncoder
from brigade.envs.kitchen.gym_env import KitchenSingleChefEnv
from brigade.errors import InputError
from brigade.testing.parallel_conformance import check_in_space

DATA = Path(__file__).parent / "data"
N, S, E, W, STAY, INTERACT = range(6)
# Alice cooks and serves a three-onion soup on cramped_room (see test_parallel_env.py).
DELIVERY_SCRIPT = (
    [N, W, INTERACT, E, N, INTERACT]
    + [W, INTERACT, E, N, INTERACT] * 2
    + [INTERACT, W, S, INTERACT]
    + [STAY] * 16
    + [N, E, N, INTERACT, S, E, S, INTERACT]
)
NO_SPEC = "not having a spec"


def _scripted_alice(state: KitchenState, chef: int, rng: np.random.Generator) -> int:
    step = state.timestep
    return DELIVERY_SCRIPT[step] if step < len(DELIVERY_SCRIPT) else STAY


def _check_env_silently(env: gymnasium.Env[Any, Any]) -> None:
    """check_env passes without warnings (bar the one about a missing spec, when none is)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    messages = [str(w.message) for w in caught]
    if env.spec is None:
        messages = [m for m in messages if NO_SPEC not in m]
    assert messages == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"chef": 1, "partner_policy": "stay", "start": "random"},
        {"layout": "forced_coordination", "shaped_reward_coef": 1.0},
        {"layout_file": str(DATA / "three_chefs.layout"), "chef": 2, "horizon": 30},
        {"layout_file": str(DATA / "slow_pots.layout"), "partner_policy": _scripted_alice},
    ],
    ids=["default", "bob-stay-random", "forced", "three-chefs", "slow-pots"],
)
def test_check_env_passes(kwargs: dict[str, Any]) -> None:
    _check_env_silently(KitchenSingleChefEnv(**kwargs))


@pytest.mark.skipif(
    importlib.util.find_spec("brigade.envs.kitchen.render") is None,
    reason="envs/kitchen/render.py has not landed",
)
def test_check_env_with_a_spec_checks_render_modes() -> None:
    spec = EnvSpec(
        "brigade/KitchenSingleChef-v0",
        entry_point="brigade.envs.kitchen.gym_env:KitchenSingleChefEnv",
        kwargs={"layout": "coordination_ring", "horizon": 50},
    )
    env = gymnasium.make(spec, disable_env_checker=True)
    _check_env_silently(env.unwrapped)
    frame = gymnasium.make(spec, render_mode="rgb_array", disable_env_checker=True)
    frame.reset(seed=0)
    picture = frame.render()
    assert isinstance(picture, np.ndarray) and picture.shape[2] == 3


def test_observation_is_the_chefs_encoding() -> None:
    env = KitchenSingleChefEnv("asymmetric_advantages", chef=1, start="random")
    obs, info = env.reset(seed=4)
    assert info == {}
    encoder = LosslessEncoder(env.mdp, 400)
    for _ in range(30):
        np.testing.assert_array_equal(obs, encoder.encode(env.kitchen_state)[1])
        check_in_space(obs, env.observation_space, "observation")
        obs, *_ = env.step(env.action_space.sample())


def test_reward_is_team_sparse_plus_own_shaped() -> None:
    # Bob is controlled and stays; the partner (Alice) cooks and serves a soup.
    coef = 0.5
    env = KitchenSingleChefEnv(chef=1, partner_policy=_scripted_alice, shaped_reward_coef=coef)
    env.reset(seed=0)
    rewards = []
    for _ in DELIVERY_SCRIPT:
        _, reward, terminated, truncated, info = env.step(STAY)
        assert not terminated and not truncated
        assert info["shaped_reward"] == 0.0  # Bob's own shaped reward
        rewards.append(reward)
    # Alice's shaped rewards (potting, dish, soup) do not reach Bob; the delivery does.
    assert rewards[:-1] == [0.0] * (len(DELIVERY_SCRIPT) - 1)
    assert rewards[-1] == 20.0
    assert info["sparse_reward"] == 0.0  # Bob did not deliver it himself
    assert info["partner_actions"] == {"Alice": INTERACT}


def test_controlled_chef_gets_its_own_shaped_reward() -> None:
    env = KitchenSingleChefEnv(partner_policy="stay", shaped_reward_coef=2.0)
    env.reset(seed=0)
    total = 0.0
    for action in DELIVERY_SCRIPT:
        _, reward, _, _, info = env.step(action)
        total += reward
    assert total == 20.0 + 2.0 * (3 * 3 + 3 + 5)
    assert info["events"] == ("soup_delivery",)


def test_truncated_at_the_horizon_never_terminated() -> None:
    env = KitchenSingleChefEnv(horizon=7)
    env.reset(seed=0)
    flags = [env.step(STAY)[2:4] for _ in range(7)]
    assert flags == [(False, False)] * 6 + [(False, True)]
    with pytest.raises(InputError, match="reset"):
        env.step(STAY)
    env.reset()
    assert env.step(STAY)[3] is False


def test_same_seed_same_episode() -> None:
    def rollout(seed: int) -> list[Any]:
        env = KitchenSingleChefEnv("counter_circuit", start="random", horizon=40)
        env.action_space.seed(seed)
        out: list[Any] = [env.reset(seed=seed)]
        for _ in range(40):
            out.append(env.step(env.action_space.sample()))
        return out

    assert data_equivalence(rollout(3), rollout(3), exact=True)
    assert not data_equivalence(rollout(3), rollout(4), exact=True)


def test_partner_policy_gets_state_index_and_generator() -> None:
    calls = []

    def partner(state: KitchenState, chef: int, rng: np.random.Generator) -> int:
        calls.append((type(state), chef, type(rng)))
        return STAY

    env = KitchenSingleChefEnv(layout_file=str(DATA / "three_chefs.layout"), partner_policy=partner)
    env.reset(seed=0)
    env.step(STAY)
    assert calls == [(KitchenState, 1, np.random.Generator), (KitchenState, 2, np.random.Generator)]


def test_bad_partner_actions_are_named() -> None:
    env = KitchenSingleChefEnv(partner_policy=lambda state, chef, rng: 9)
    env.reset(seed=0)
    with pytest.raises(InputError, match=r"invalid action for Bob \(partner policy\): 9"):
        env.step(STAY)


@pytest.mark.parametrize("bad", [6, -1, 0.5, "east"])
def test_bad_actions_are_rejected(bad: Any) -> None:
    env = KitchenSingleChefEnv()
    env.reset(seed=0)
    with pytest.raises(InputError, match="invalid action for Alice"):
        env.step(bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chef": 2}, r"chef must be an index in 0..1"),
        ({"partner_policy": "randm"}, "did you mean 'random'"),
        ({"partner_policy": 3}, "must be 'stay', 'random' or a callable"),
        ({"start": "nowhere"}, "starts are standard, random"),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        KitchenSingleChefEnv(**kwargs)
