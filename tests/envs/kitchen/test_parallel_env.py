"""The kitchen's PettingZoo ParallelEnv, and the conformance checks it is held to."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import api_test
from pettingzoo.utils.conversions import parallel_to_aec

import brigade.envs as brigade_envs
from brigade.envs.kitchen import KitchenState, Soup, shipped_layout_names
from brigade.envs.kitchen.encoding import encoding_dtype, layer_names, num_channels
from brigade.envs.kitchen.motion import MotionPlanner
from brigade.envs.kitchen.names import CHEF_NAMES, chef_names
from brigade.envs.kitchen.parallel_env import KitchenParallelEnv, observation_high
from brigade.envs.kitchen.random_states import random_start_positions
from brigade.envs.kitchen.recipes import ingredients_of
from brigade.errors import BrigadeError, InputError, StateError
from brigade.testing.parallel_conformance import (
    check_in_space,
    check_invalid_actions_rejected,
    check_observations_in_spaces,
    check_parallel_env,
    check_same_seed_same_rollout,
)

DATA = Path(__file__).parent / "data"
LAYOUT_FILES = sorted(str(p) for p in DATA.glob("*.layout"))
N, S, E, W, STAY, INTERACT = range(6)

# Alice (chef 1 of cramped_room) cooks a three-onion soup alone while Bob stays:
# three onions into the pot, start it, fetch a dish, wait, pick the soup up, serve.
POTTING = [N, W, INTERACT, E, N, INTERACT] + [W, INTERACT, E, N, INTERACT] * 2 + [INTERACT]
FETCH_DISH = [W, S, INTERACT]
WAIT = [STAY] * 16
SERVE = [N, E, N, INTERACT, S, E, S, INTERACT]
DELIVERY_SCRIPT = POTTING + FETCH_DISH + WAIT + SERVE
DELIVERY_STEP = len(DELIVERY_SCRIPT)  # the soup is served on the script's last step


def renderer_available() -> bool:
    return importlib.util.find_spec("brigade.envs.kitchen.render") is not None


# ---------------------------------------------------------------- conformance


@pytest.mark.parametrize("layout", shipped_layout_names())
@pytest.mark.parametrize("start", ["standard", "random"])
def test_conformance_on_shipped_layouts(layout: str, start: str) -> None:
    check_parallel_env(
        lambda: KitchenParallelEnv(layout, horizon=50, start=start, shaped_reward_coef=0.5),
        num_cycles=80,
    )


@pytest.mark.parametrize("layout_file", LAYOUT_FILES, ids=lambda p: Path(p).stem)
def test_conformance_on_layout_files(layout_file: str) -> None:
    check_parallel_env(
        lambda: KitchenParallelEnv(layout_file=layout_file, horizon=50, start="random"),
        num_cycles=80,
    )


def test_conformance_over_a_full_default_episode() -> None:
    check_parallel_env(lambda: KitchenParallelEnv("cramped_room"), num_cycles=450)


def test_aec_conversion_passes_pettingzoo_api_test() -> None:
    # Our agents are named like people, not "player_0": PettingZoo only recommends that form.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="We recommend agents to be named")
        api_test(parallel_to_aec(KitchenParallelEnv(horizon=30, start="random")), num_cycles=60)


def test_three_chef_layout_has_three_agents() -> None:
    env = KitchenParallelEnv(layout_file=str(DATA / "three_chefs.layout"))
    obs, infos = env.reset(seed=0)
    assert env.possible_agents == ["Alice", "Bob", "Chad"]
    assert set(obs) == set(infos) == {"Alice", "Bob", "Chad"}
    assert obs["Chad"].shape == (7, 4, num_channels(3))


# ---------------------------------------------------------------- spaces and bounds


def test_spaces_of_cramped_room() -> None:
    env = KitchenParallelEnv("cramped_room")
    mdp = env.mdp
    space = env.observation_space("Alice")
    assert isinstance(space, spaces.Box)
    assert space.shape == (mdp.width, mdp.height, num_channels(2)) == (5, 4, 26)
    assert space.dtype == encoding_dtype(mdp) == np.uint8
    assert env.observation_space("Alice") is space
    assert env.action_space("Bob") == spaces.Discrete(6)
    assert env.action_space("Bob") is env.action_space("Bob")
    assert env.state_space.shape == (2, 5, 4, 26)
    high = dict(zip(layer_names(2), space.high[0, 0], strict=True))
    assert high["soup_cook_time_remaining"] == 20  # the longest recipe time
    for name in ("onions_in_pot", "tomatoes_in_pot", "onions_in_soup", "tomatoes_in_soup"):
        assert high[name] == 3  # a pot holds three
    others = {k: v for k, v in high.items() if "_in_" not in k and "cook_time" not in k}
    assert set(others.values()) == {1}
    assert np.all(space.low == 0)
    assert np.all(space.high == space.high[:1, :1])  # bounds are per channel


def test_layout_file_with_long_recipes_gets_uint16_bounds() -> None:
    env = KitchenParallelEnv(layout_file=str(DATA / "slow_pots.layout"))
    space = env.observation_space("Alice")
    high = dict(zip(layer_names(2), space.high[0, 0], strict=True))
    assert space.dtype == np.uint16
    assert high["soup_cook_time_remaining"] == 300
    assert high["onions_in_pot"] == 4


ALL_LAYOUTS = [{"layout": name} for name in shipped_layout_names()] + [
    {"layout_file": path} for path in LAYOUT_FILES
]


@pytest.mark.parametrize(
    "kwargs", ALL_LAYOUTS, ids=lambda kw: Path(kw.get("layout_file", kw.get("layout"))).stem
)
def test_bounds_are_attained(kwargs: dict[str, str]) -> None:
    """The declared highs are true maxima: a state reaches each of them, and stays inside."""
    env = KitchenParallelEnv(**kwargs)  # type: ignore[arg-type]
    mdp = env.mdp
    names = layer_names(mdp.num_chefs)
    high = dict(zip(names, observation_high(mdp)[0, 0], strict=True))
    slowest = max(mdp.recipes.recipes, key=mdp.recipes.time)
    cooking = Soup(ingredients_of(slowest), 0)  # just started: all its time is left
    full = Soup(("onion",) * mdp.max_ingredients)
    base = mdp.initial_state()
    for soup, layer in ((cooking, "soup_cook_time_remaining"), (full, "onions_in_pot")):
        obs, _ = env.reset(options={"state": base.replace(pots=(soup, *base.pots[1:]))})
        for agent in env.agents:
            check_in_space(obs[agent], env.observation_space(agent), f"observation of {agent}")
            assert obs[agent][..., names.index(layer)].max() == high[layer]
        check_in_space(env.state(), env.state_space, "state()")


# ---------------------------------------------------------------- behaviour


def test_scripted_soup_delivery_rewards_the_team() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    rewards_seen = []
    for step, action in enumerate(DELIVERY_SCRIPT, start=1):
        obs, rewards, terms, truncs, infos = env.step({"Alice": action, "Bob": STAY})
        for agent in env.possible_agents:
            check_in_space(obs[agent], env.observation_space(agent), f"observation of {agent}")
        assert not any(terms.values()) and not any(truncs.values())
        if any(rewards.values()):
            rewards_seen.append((step, rewards))
    assert rewards_seen == [(DELIVERY_STEP, {"Alice": 20.0, "Bob": 20.0})]
    assert infos["Alice"] == {
        "sparse_reward": 20.0,
        "shaped_reward": 0.0,
        "events": ("soup_delivery",),
    }
    assert infos["Bob"] == {"sparse_reward": 0.0, "shaped_reward": 0.0, "events": ()}
    assert env.score == 20.0
    assert env.kitchen_state.timestep == DELIVERY_STEP


@pytest.mark.parametrize("coef", [0.0, 0.5, 2.0])
def test_shaped_reward_coefficient(coef: float) -> None:
    env = KitchenParallelEnv("cramped_room", shaped_reward_coef=coef)
    env.reset(seed=0)
    shaped_alice = shaped_bob = 0.0
    total_alice = total_bob = 0.0
    for action in DELIVERY_SCRIPT:
        _, rewards, _, _, infos = env.step({"Alice": action, "Bob": STAY})
        shaped_alice += infos["Alice"]["shaped_reward"]
        shaped_bob += infos["Bob"]["shaped_reward"]
        total_alice += rewards["Alice"]
        total_bob += rewards["Bob"]
    # Three onions potted (3 each), a useful dish (3) and a soup picked up (5).
    assert shaped_alice == 3 * 3 + 3 + 5
    assert shaped_bob == 0
    assert total_alice == pytest.approx(20 + coef * shaped_alice)
    assert total_bob == pytest.approx(20.0)


def test_truncation_exactly_at_the_horizon() -> None:
    env = KitchenParallelEnv("cramped_room", horizon=5)
    env.reset(seed=0)
    for step in range(1, 6):
        assert env.agents == ["Alice", "Bob"]
        obs, _, terms, truncs, _ = env.step({"Alice": STAY, "Bob": STAY})
        assert set(obs) == {"Alice", "Bob"}
        assert terms == {"Alice": False, "Bob": False}
        assert truncs == dict.fromkeys(["Alice", "Bob"], step == 5)
    assert env.agents == []
    # PettingZoo's convention: once every agent is done, step({}) returns empty dicts.
    assert env.step({}) == ({}, {}, {}, {}, {})
    with pytest.raises(InputError, match="reset"):
        env.step({"Alice": STAY, "Bob": STAY})
    env.reset()
    assert env.agents == ["Alice", "Bob"]


def test_urgency_layer_counts_down_to_the_horizon() -> None:
    env = KitchenParallelEnv("cramped_room", horizon=45)
    urgency = layer_names(2).index("urgency")
    obs, _ = env.reset(seed=0)
    assert obs["Alice"][..., urgency].max() == 0
    for _ in range(6):
        obs, *_ = env.step({"Alice": STAY, "Bob": STAY})
    assert obs["Alice"][..., urgency].min() == 1  # fewer than 40 steps left


def test_state_stacks_every_chefs_observation() -> None:
    env = KitchenParallelEnv("coordination_ring", start="random")
    obs, _ = env.reset(seed=3)
    state = env.state()
    assert state.shape == env.state_space.shape
    for i, agent in enumerate(env.possible_agents):
        np.testing.assert_array_equal(state[i], obs[agent])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [6, -1, 1.0, "north", True, None, np.int64(9)])
def test_invalid_actions_are_rejected_and_change_nothing(bad: Any) -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    before = env.kitchen_state
    with pytest.raises(
        InputError, match=r"invalid action for Bob: .*actions are the integers"
    ) as err:
        env.step({"Alice": N, "Bob": bad})
    assert repr(bad) in str(err.value) or str(int(bad)) in str(err.value)
    assert env.kitchen_state is before


def test_numpy_actions_are_accepted() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    env.step({"Alice": np.int64(N), "Bob": np.array(STAY)})
    assert env.kitchen_state.chefs[0].position == (1, 1)


def test_missing_and_unknown_agents_are_named() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    with pytest.raises(InputError, match="no action for Bob"):
        env.step({"Alice": STAY})
    with pytest.raises(InputError, match="unknown agent 'Alise' \\(did you mean 'Alice'\\?\\)"):
        env.step({"Alise": STAY, "Alice": STAY, "Bob": STAY})
    with pytest.raises(InputError, match="unknown agent"):
        env.observation_space("Zed")


def test_step_before_reset() -> None:
    env = KitchenParallelEnv("cramped_room")
    with pytest.raises(BrigadeError, match="reset"):
        env.step({"Alice": STAY, "Bob": STAY})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "randm"}, "did you mean 'random'"),
        ({"horizon": 0}, "horizon must be a positive integer"),
        ({"render_mode": "human"}, "render modes are rgb_array"),
        ({"layout": "cramped_rom"}, "did you mean 'cramped_room'"),
        ({"shaped_reward_coef": "1"}, "shaped_reward_coef must be a number"),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        KitchenParallelEnv(**kwargs)


# ---------------------------------------------------------------- starts and seeding


def test_random_start_places_chefs_on_distinct_floor_cells() -> None:
    env = KitchenParallelEnv("cramped_room", start="random")
    starts = set()
    for seed in range(20):
        env.reset(seed=seed)
        chefs = env.kitchen_state.chefs
        positions = [c.position for c in chefs]
        assert len(set(positions)) == len(positions)
        assert all(env.mdp.is_floor(p) for p in positions)
        starts.add(tuple(chefs))
    assert len(starts) > 10  # positions and orientations really vary
    env.reset(seed=7)
    first = env.kitchen_state
    env.reset(seed=7)
    assert env.kitchen_state == first


def test_random_start_keeps_each_chef_in_its_floor_region() -> None:
    env = KitchenParallelEnv("forced_coordination", start="random")
    planner = MotionPlanner(env.mdp)
    regions = [planner.region(start) for start in env.mdp.layout.start_positions]
    orientations = set()
    for seed in range(50):
        env.reset(seed=seed)
        chefs = env.kitchen_state.chefs
        # The cells are the shared rule's, drawn first from the seeded generator.
        expected = random_start_positions(env.mdp, np.random.default_rng(seed))
        assert [c.position for c in chefs] == expected
        for chef, region in zip(chefs, regions, strict=True):
            assert chef.position in region
            assert chef.held is None
        orientations.update(c.orientation for c in chefs)
    assert orientations == {0, 1, 2, 3}
    others = env.kitchen_state.replace(chefs=env.mdp.initial_state().chefs)
    assert others == env.mdp.initial_state()  # only the chefs move


def test_start_option_overrides_the_default() -> None:
    env = KitchenParallelEnv("cramped_room")
    standard = env.mdp.initial_state()
    randoms = set()
    for seed in range(5):
        env.reset(seed=seed, options={"start": "random"})
        randoms.add(env.kitchen_state)
    assert randoms != {standard}
    env.reset(seed=0)
    assert env.kitchen_state == standard
    with pytest.raises(InputError, match="did you mean 'standard'"):
        env.reset(options={"start": "standart"})


def test_reset_without_seed_keeps_drawing_from_the_generator() -> None:
    env = KitchenParallelEnv("counter_circuit", start="random")
    env.reset(seed=1)
    states = {env.kitchen_state}
    for _ in range(5):
        env.reset()
        states.add(env.kitchen_state)
    assert len(states) > 1


def test_reset_from_a_state() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    for action in DELIVERY_SCRIPT[:20]:
        env.step({"Alice": action, "Bob": STAY})
    middle = env.kitchen_state
    as_dict = env.mdp.to_overcooked_dict(middle)

    other = KitchenParallelEnv("cramped_room")
    obs, _ = other.reset(options={"state": as_dict})
    assert other.kitchen_state == middle
    np.testing.assert_array_equal(obs["Alice"], env.state()[0])
    other.reset(options={"state": middle})
    assert other.kitchen_state == middle

    with pytest.raises(InputError, match="not both"):
        other.reset(options={"state": as_dict, "start": "random"})
    with pytest.raises(StateError, match="players"):
        other.reset(options={"state": {"players": []}})
    with pytest.raises(InputError, match="horizon"):
        KitchenParallelEnv("cramped_room", horizon=10).reset(options={"state": middle})
    with pytest.raises(InputError, match="KitchenState"):
        other.reset(options={"state": 42})


# ---------------------------------------------------------------- names and rendering


def test_chef_names() -> None:
    assert chef_names(2) == ["Alice", "Bob"]
    assert chef_names(9) == list(CHEF_NAMES)
    assert CHEF_NAMES == ("Alice", "Bob", "Chad", "Dave", "Emma", "Fred", "Gina", "Hugo", "Iris")
    for bad in (0, 10, True, 2.0):
        with pytest.raises(InputError, match="1 to 9 chefs"):
            chef_names(bad)  # type: ignore[arg-type]


def test_render_without_mode_warns() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode='rgb_array'"):
        assert env.render() is None


@pytest.mark.skipif(not renderer_available(), reason="envs/kitchen/render.py has not landed")
def test_render_rgb_array() -> None:
    env = KitchenParallelEnv("cramped_room", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    env.step({"Alice": N, "Bob": W})
    assert not np.array_equal(env.render(), frame)
    env.close()


# ---------------------------------------------------------------- the checks catch bugs


class _TooTightBounds(KitchenParallelEnv):
    def __init__(self) -> None:
        super().__init__("cramped_room", horizon=20)
        counter = layer_names(2).index("counter_loc")
        for space in self.observation_spaces.values():
            space.high[..., counter] = 0


class _FloatObservations(KitchenParallelEnv):
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, infos = super().reset(seed=seed, options=options)
        return {a: o.astype(np.float32) for a, o in obs.items()}, infos


class _GlobalRandomStart(KitchenParallelEnv):
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed, options=options)
        self._rng = np.random.default_rng()  # not from the seed
        return super().reset(options={"start": "random"})


class _WrapsActions(KitchenParallelEnv):
    def step(self, actions: Any) -> Any:
        return super().step({a: int(v) % 6 for a, v in actions.items()})


class _StepsBeforeChecking(KitchenParallelEnv):
    def step(self, actions: Any) -> Any:
        self._state = self.mdp.transition(self.kitchen_state, [STAY] * 2)[0]
        return super().step(actions)


def test_checks_catch_bounds_that_are_not_true_bounds() -> None:
    with pytest.raises(AssertionError, match=r"above its declared upper bound .*true upper bound"):
        check_observations_in_spaces(_TooTightBounds(), num_cycles=5)


def test_checks_catch_a_wrong_dtype() -> None:
    with pytest.raises(AssertionError, match="dtype float32 but its space declares uint8"):
        check_observations_in_spaces(_FloatObservations("cramped_room"), num_cycles=5)


def test_checks_catch_unseeded_randomness() -> None:
    with pytest.raises(AssertionError, match="outside its seeded generator"):
        check_same_seed_same_rollout(lambda: _GlobalRandomStart("counter_circuit"), num_cycles=5)


def test_checks_catch_accepted_invalid_actions() -> None:
    with pytest.raises(AssertionError, match="accepted the action -1 for agent 'Alice'"):
        check_invalid_actions_rejected(lambda: _WrapsActions("cramped_room"))


def test_checks_catch_a_rejected_step_that_changed_the_env() -> None:
    with pytest.raises(AssertionError, match="still changed the env"):
        check_invalid_actions_rejected(lambda: _StepsBeforeChecking("cramped_room", horizon=10))


def test_kitchen_state_is_a_kitchen_state() -> None:
    env = KitchenParallelEnv("cramped_room")
    env.reset(seed=0)
    assert isinstance(env.kitchen_state, KitchenState)


@pytest.mark.parametrize("env_id", brigade_envs.registered())
def test_conformance_of_every_registered_id(env_id: str) -> None:
    check_parallel_env(lambda: brigade_envs.make(env_id, horizon=50), num_cycles=60)
