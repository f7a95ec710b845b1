"""KitchenBatch: the batched engine equals the scalar MDP (and so overcooked-ai).

Three kinds of evidence:

1. the overcooked-ai reference traces replayed through the batch, every
   episode of a trace file in its own kitchen of one batch: every state, every
   sparse and shaped reward, and the recorded lossless observations;
2. a property test: random layouts, parameters, states and actions, one batch
   step against ``KitchenMDP.transition`` and ``LosslessEncoder``;
3. the batch's own behaviour: auto-reset at the horizon, random starts,
   observation dtype and bounds, and errors on bad input.
"""

from __future__ import annotations

import gzip
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brigade.envs.kitchen import Chef, KitchenMDP, KitchenState, Soup
from brigade.envs.kitchen.batch import BatchStep, KitchenBatch
from brigade.envs.kitchen.encoding import LosslessEncoder, encoding_dtype
from brigade.envs.kitchen.layout import parse_layout_dict
from brigade.envs.kitchen.motion import MotionPlanner
from brigade.envs.kitchen.random_states import random_start_positions
from brigade.envs.kitchen.state import DIRECTIONS
from brigade.errors import InputError, StateError

REPO = Path(__file__).resolve().parents[3]
TRACES = Path(__file__).resolve().parent / "traces"
TRACE_FILES = sorted(TRACES.glob("*.json.gz"))
STAY, INTERACT = 4, 5


def _normalised(state_dict: dict[str, Any]) -> dict[str, Any]:
    """JSON form (tuples as lists), objects sorted: their order carries no meaning."""
    data = json.loads(json.dumps(state_dict))
    data["objects"] = sorted(data["objects"], key=lambda o: json.dumps(o, sort_keys=True))
    return data


def _trace_params() -> list[Any]:
    if not TRACE_FILES:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no traces in {TRACES} yet"))]
    return [pytest.param(path, id=path.name[: -len(".json.gz")]) for path in TRACE_FILES]


# --------------------------------------------------------------------------- traces


@pytest.mark.filterwarnings("ignore:.*num_items_for_soup:UserWarning")
@pytest.mark.parametrize("path", _trace_params())
def test_batch_replays_reference_traces(path: Path) -> None:
    data = json.loads(gzip.decompress(path.read_bytes()))
    mdp = KitchenMDP.from_layout_file(REPO / data["layout_file"], **data["params_override"])
    assert mdp.num_chefs == data["num_players"]
    episodes = data["episodes"]
    n = len(episodes)
    # Random starts begin at timesteps up to ~390: no auto-reset during the replay.
    batch = KitchenBatch(mdp, n, horizon=400, auto_reset=False)
    for i, episode in enumerate(episodes):
        batch.set_state(i, mdp.from_overcooked_dict(episode["start_state"]))
        got = _normalised(mdp.to_overcooked_dict(batch.get_state(i)))
        assert got == _normalised(episode["start_state"])

    # Recorded observations (2-chef layouts), by (episode, step); step -1 is the start.
    recorded: dict[tuple[int, int], np.ndarray] = {}
    npz = path.with_name(path.name.replace(".json.gz", ".lossless.npz"))
    if npz.exists():
        with np.load(npz) as z:
            for e, t, obs in zip(z["episode"], z["step"], z["obs"]):
                recorded[int(e), int(t)] = obs
    for i in range(n):
        if (i, -1) in recorded:
            np.testing.assert_array_equal(batch.observations[i], recorded[i, -1])

    length = max(len(ep["joint_actions"]) for ep in episodes)
    actions = np.full((n, mdp.num_chefs), STAY, dtype=np.int64)
    checked_obs = 0
    for t in range(length):
        live = [i for i, ep in enumerate(episodes) if t < len(ep["joint_actions"])]
        for i in live:
            actions[i] = episodes[i]["joint_actions"][t]
        out = batch.step(actions)
        for i in live:
            episode = episodes[i]
            where = f"{path.name} episode {i} step {t} actions {actions[i].tolist()}"
            got = _normalised(mdp.to_overcooked_dict(batch.get_state(i)))
            assert got == _normalised(episode["states"][t]), where
            assert out.sparse_by_chef[i].tolist() == episode["sparse_reward_by_agent"][t], where
            assert out.shaped_by_chef[i].tolist() == episode["shaped_reward_by_agent"][t], where
            assert out.rewards[i] == np.float32(sum(episode["sparse_reward_by_agent"][t]))
            if (i, t) in recorded:
                np.testing.assert_array_equal(out.obs[i], recorded[i, t], err_msg=where)
                checked_obs += 1
    assert checked_obs == len(recorded) - sum(1 for _, t in recorded if t == -1)


# --------------------------------------------------------------------------- property


def _random_layout(rng: np.random.Generator) -> KitchenMDP:
    """A random valid layout with random recipe and reward parameters."""
    chefs = int(rng.choice([1, 2, 2, 2, 3, 4, 9]))
    while True:
        width, height = int(rng.integers(4, 9)), int(rng.integers(4, 8))
        grid = [["X"] * width for _ in range(height)]
        for y in range(height):
            for x in range(width):
                border = x in (0, width - 1) or y in (0, height - 1)
                if border:
                    grid[y][x] = str(rng.choice(list("XXXXOTPDS")))
                else:
                    grid[y][x] = " " if rng.random() < 0.75 else str(rng.choice(list("XXOTPDS")))
        flat = "".join("".join(row) for row in grid)
        floor = [(x, y) for y in range(height) for x in range(width) if grid[y][x] == " "]
        if len(floor) < chefs or not all(c in flat for c in "PDS") or not set("OT") & set(flat):
            continue
        for k, idx in enumerate(rng.choice(len(floor), size=chefs, replace=False)):
            x, y = floor[int(idx)]
            grid[y][x] = str(k + 1)
        break

    cap = int(rng.choice([1, 2, 3, 3, 4, 8]))
    recipes = [(o, t) for o in range(cap + 1) for t in range(cap + 1) if 1 <= o + t <= cap]
    data: dict[str, Any] = {"grid": "\n".join("".join(row) for row in grid)}
    data["max_num_ingredients"] = cap
    orders: list[tuple[int, int]] = []
    if rng.random() < 0.8:
        count = int(rng.integers(1, min(len(recipes), 4) + 1))
        orders = [recipes[int(k)] for k in rng.choice(len(recipes), size=count, replace=False)]
    as_dicts = [{"ingredients": ["onion"] * o + ["tomato"] * t} for o, t in orders]
    data["start_all_orders"] = as_dicts
    bonus = [d for d in as_dicts if rng.random() < 0.4]
    data["start_bonus_orders"] = bonus
    data["order_bonus"] = float(rng.choice([2, 3, 0.5, 1.5]))
    kind = int(rng.integers(0, 6))
    if kind == 1:
        data["cook_time"] = int(rng.integers(0, 12))  # 0 counts as "not given"
        data["delivery_reward"] = float(rng.choice([0, 7, 12.5, 20]))
    elif kind == 2 and orders:
        data["recipe_values"] = [int(rng.integers(0, 30)) for _ in orders]
        data["recipe_times"] = [int(rng.integers(0, 9)) for _ in orders]
    elif kind == 3:
        data["onion_value"], data["tomato_value"] = int(rng.integers(0, 6)), int(rng.integers(0, 6))
        data["onion_time"], data["tomato_time"] = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    elif kind == 4:
        data["onion_time"], data["tomato_time"] = 1.5, 2.25  # fractional cooking times
    if rng.random() < 0.5:
        data["rew_shaping_params"] = {
            "PLACEMENT_IN_POT_REW": float(rng.choice([0, 1, 3, 0.25])),
            "DISH_PICKUP_REWARD": float(rng.choice([0, 3, 4.5])),
            "SOUP_PICKUP_REWARD": float(rng.choice([0, 5, 7])),
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layout = parse_layout_dict(data, name="random")
    return KitchenMDP(layout)


def _random_item(rng: np.random.Generator, mdp: KitchenMDP) -> str | Soup:
    names = ["onion", "tomato", "dish", "soup"]
    name = names[int(rng.integers(len(names)))]
    if name != "soup":
        return name
    length = int(rng.integers(1, mdp.max_ingredients + 1))
    ingredients = tuple(str(rng.choice(["onion", "tomato"])) for _ in range(length))
    soup = Soup(ingredients, 0)
    return Soup(ingredients, max(math.ceil(mdp.soup_time(soup)), 0))  # ready off the pot


def _facing_orientation(rng: np.random.Generator, mdp: KitchenMDP, pos: tuple[int, int]) -> int:
    """Mostly an orientation facing a non-floor cell, so that interacts do something."""
    useful = [
        d for d, (dx, dy) in enumerate(DIRECTIONS) if not mdp.is_floor((pos[0] + dx, pos[1] + dy))
    ]
    if useful and rng.random() < 0.8:
        return int(rng.choice(useful))
    return int(rng.integers(4))


def _random_state(rng: np.random.Generator, mdp: KitchenMDP, horizon: int) -> KitchenState:
    floor = list(mdp.floor_positions)
    picks = [floor[int(k)] for k in rng.choice(len(floor), size=mdp.num_chefs, replace=False)]
    chefs = tuple(
        Chef(
            pos,
            _facing_orientation(rng, mdp, pos),
            _random_item(rng, mdp) if rng.random() < 0.5 else None,
        )
        for pos in picks
    )
    pots: list[Soup | None] = []
    for _ in mdp.pot_positions:
        u = rng.random()
        if u < 0.25:
            pots.append(None)
            continue
        length = int(rng.integers(0 if u < 0.35 else 1, mdp.max_ingredients + 1))
        ingredients = tuple(str(rng.choice(["onion", "tomato"])) for _ in range(length))
        if length == 0 or u < 0.6:
            pots.append(Soup(ingredients, -1))
        else:
            ready = max(math.ceil(mdp.soup_time(Soup(ingredients, 0))), 0)
            pots.append(Soup(ingredients, int(rng.integers(0, ready + 1))))
    counters = {pos: _random_item(rng, mdp) for pos in mdp.counter_positions if rng.random() < 0.3}
    recipes = list(mdp.recipes.recipes)
    orders = mdp.start_orders
    if rng.random() < 0.3:  # per-kitchen orders
        chosen = [recipes[int(k)] for k in rng.choice(len(recipes), size=2)]
        orders = mdp.recipes.orders(chosen, chosen[:1] if rng.random() < 0.5 else [])
    timestep = int(rng.integers(0, horizon + 2))
    return KitchenState(chefs, tuple(pots), counters, timestep, orders)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), steps=st.integers(1, 30))
def test_batch_step_equals_scalar_transition(seed: int, n: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    mdp = _random_layout(rng)
    horizon = int(rng.integers(3, 60))
    batch = KitchenBatch(mdp, n, horizon=horizon)
    encoder = LosslessEncoder(mdp, horizon)
    initial = mdp.initial_state()
    states = [_random_state(rng, mdp, horizon) for _ in range(n)]
    for i, state in enumerate(states):
        batch.set_state(i, state)
        assert batch.get_state(i) == state
        np.testing.assert_array_equal(batch.observations[i], encoder.encode(state))
    for _ in range(steps):
        interact = rng.random((n, mdp.num_chefs)) < 0.5
        actions = np.where(interact, INTERACT, rng.integers(0, 5, (n, mdp.num_chefs)))
        out = batch.step(actions)
        for i in range(n):
            expected, info = mdp.transition(states[i], actions[i].tolist())
            where = f"kitchen {i} from {states[i]} under {actions[i].tolist()}"
            assert out.sparse_by_chef[i].tolist() == info["sparse_reward_by_agent"], where
            assert out.shaped_by_chef[i].tolist() == info["shaped_reward_by_agent"], where
            assert bool(out.truncated[i]) == (expected.timestep >= horizon), where
            assert not out.terminated[i]
            if expected.timestep >= horizon:
                expected = initial  # auto-reset
            assert batch.get_state(i) == expected, where
            np.testing.assert_array_equal(out.obs[i], encoder.encode(expected), err_msg=where)
            states[i] = expected


def test_four_chef_rotation_moves_and_swap_blocks() -> None:
    data = {
        "grid": "XXPXX\nO12 D\nX43 S\nXXXXX",
        "start_all_orders": [{"ingredients": ["onion"]}],
    }
    mdp = KitchenMDP(parse_layout_dict(data, name="rotation"))
    batch = KitchenBatch(mdp, 2)
    # Kitchen 0: a 4-cycle round the 2x2 block (allowed); kitchen 1: chefs 1 and 2 swap.
    actions = np.array([[2, 1, 3, 0], [2, 3, 4, 4]])
    out = batch.step(actions)
    rotated = [c.position for c in batch.get_state(0).chefs]
    assert rotated == [(2, 1), (2, 2), (1, 2), (1, 1)]
    blocked = batch.get_state(1).chefs
    assert [c.position for c in blocked] == [(1, 1), (2, 1), (2, 2), (1, 2)]
    assert [c.orientation for c in blocked[:2]] == [2, 3]  # turned in place
    for i in range(2):
        expected, _ = mdp.transition(mdp.initial_state(), actions[i].tolist())
        assert batch.get_state(i) == expected
    assert not out.truncated.any()


# --------------------------------------------------------------------------- behaviour


@pytest.fixture(scope="module")
def cramped() -> KitchenMDP:
    return KitchenMDP.from_layout_name("cramped_room")


def test_reset_returns_encoded_start_states(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 3)
    obs = batch.reset(seed=1)
    encoder = LosslessEncoder(cramped, 400)
    assert obs.shape == (3, 2, *encoder.shape) == (3, 2, 5, 4, 26)
    assert batch.observation_shape == encoder.shape
    assert batch.num_envs == 3 and batch.num_chefs == 2
    for i in range(3):
        assert batch.get_state(i) == cramped.initial_state()
        np.testing.assert_array_equal(obs[i], encoder.encode(cramped.initial_state()))


def test_auto_reset_at_the_horizon(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 2, horizon=5)
    batch.reset(seed=0)
    # Kitchen 1 starts later in its episode, so it reaches the horizon first.
    batch.set_state(1, cramped.initial_state().replace(timestep=2))
    stay = np.full((2, 2), STAY)
    truncations = []
    for _ in range(5):
        out = batch.step(stay)
        truncations.append(out.truncated.tolist())
        assert not out.terminated.any()
    assert truncations == [[False, False], [False, False], [False, True], [False, False],
                           [True, False]]  # fmt: skip
    assert batch.get_state(0) == cramped.initial_state()  # reset in place
    assert batch.get_state(1).timestep == 2  # reset at step 3, then stepped twice
    start_obs = LosslessEncoder(cramped, 5).encode(cramped.initial_state())
    np.testing.assert_array_equal(out.obs[0], start_obs)


def test_without_auto_reset_kitchens_run_past_the_horizon(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 1, horizon=3, auto_reset=False)
    flags = [bool(batch.step(np.full((1, 2), STAY)).truncated[0]) for _ in range(5)]
    assert flags == [False, False, True, True, True]
    assert batch.get_state(0).timestep == 5
    assert batch.timesteps.tolist() == [5]


def test_urgency_layer_in_the_last_steps(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 1, horizon=400)
    batch.set_state(0, cramped.initial_state().replace(timestep=360))
    out = batch.step(np.full((1, 2), STAY))
    assert (out.obs[0, :, :, :, -1] == 1).all()
    batch.set_state(0, cramped.initial_state().replace(timestep=300))
    out = batch.step(np.full((1, 2), STAY))
    assert (out.obs[0, :, :, :, -1] == 0).all()


def test_random_starts_are_distinct_floor_cells_and_deterministic(cramped: KitchenMDP) -> None:
    def rollout(seed: int) -> list[np.ndarray]:
        batch = KitchenBatch(cramped, 16, horizon=7, start="random")
        frames = [batch.reset(seed=seed).copy()]
        rng = np.random.default_rng(99)
        for _ in range(30):  # four auto-resets per kitchen
            frames.append(batch.step(rng.integers(0, 6, (16, 2))).obs.copy())
        cells = [c.position for i in range(16) for c in batch.get_state(i).chefs]
        assert all(cramped.is_floor(p) for p in cells)
        for i in range(16):
            chefs = batch.get_state(i).chefs
            assert chefs[0].position != chefs[1].position
        return frames

    first, again, other = rollout(5), rollout(5), rollout(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    batch = KitchenBatch(cramped, 64, start="random")
    batch.reset(seed=3)
    starts = {tuple(c.position for c in batch.get_state(i).chefs) for i in range(64)}
    assert len(starts) > 10  # not all the standard start


def test_random_starts_follow_the_shared_rule_and_are_drawn_ahead() -> None:
    mdp = KitchenMDP.from_layout_name("forced_coordination")
    n, horizon = 32, 4
    batch = KitchenBatch(mdp, n, horizon=horizon, start="random")
    obs = batch.reset(seed=11).copy()
    encoder = LosslessEncoder(mdp, horizon)
    # The same generator, drawn as the batch does: every kitchen's cells, then
    # every orientation; then the same again for the next (auto-)reset.
    rng = np.random.default_rng(11)
    draws = []
    for _ in range(2):
        cells = [random_start_positions(mdp, rng) for _ in range(n)]
        draws.append((cells, rng.integers(0, 4, (n, mdp.num_chefs))))
    planner = MotionPlanner(mdp)
    regions = [planner.region(start) for start in mdp.layout.start_positions]
    start = mdp.initial_state()
    for episode, (cells, orientations) in enumerate(draws):
        if episode:
            for _ in range(horizon):  # staying turns no chef
                out = batch.step(np.full((n, mdp.num_chefs), STAY))
            assert out.truncated.all()
            obs = out.obs
        for i in range(n):
            state = batch.get_state(i)
            chefs = tuple(
                Chef(pos, int(o)) for pos, o in zip(cells[i], orientations[i], strict=True)
            )
            assert state == start.replace(chefs=chefs)
            assert all(c.position in r for c, r in zip(chefs, regions, strict=True))
            np.testing.assert_array_equal(obs[i], encoder.encode(state))
    assert len({o for _, oris in draws for o in oris.ravel().tolist()}) == 4


def test_result_does_not_depend_on_threads(cramped: KitchenMDP) -> None:
    actions = np.random.default_rng(0).integers(0, 6, (50, 64, 2))
    results = []
    saved = numba.get_num_threads()
    try:
        for threads, parallel in [(saved, True), (1, True), (saved, False)]:
            numba.set_num_threads(threads)
            batch = KitchenBatch(cramped, 64, horizon=20, start="random", parallel=parallel)
            assert batch.parallel is parallel
            batch.reset(seed=4)
            for a in actions:
                out = batch.step(a)
            results.append((out.obs.copy(), out.shaped_by_chef.copy(), batch.get_state(7)))
    finally:
        numba.set_num_threads(saved)
    for obs, shaped, state in results[1:]:
        np.testing.assert_array_equal(obs, results[0][0])
        np.testing.assert_array_equal(shaped, results[0][1])
        assert state == results[0][2]
    assert not KitchenBatch(cramped, 2).parallel
    assert KitchenBatch(cramped, KitchenBatch.parallel_min_envs).parallel


def test_observation_dtype_and_bounds() -> None:
    mdp = KitchenMDP.from_layout_name("cramped_room", cook_time=300)
    assert encoding_dtype(mdp) == np.uint16
    batch = KitchenBatch(mdp, 4)
    assert batch.observations.dtype == batch.observation_dtype == np.uint16
    soup = Soup(("onion", "onion", "onion"), 0)
    state = mdp.initial_state()
    batch.set_state(0, state.replace(pots=(soup,)))
    out = batch.step(np.full((4, 2), STAY))
    assert out.obs.dtype == np.uint16
    assert out.obs[0].max() == 299  # cook time remaining after one tick
    expected, _ = mdp.transition(state.replace(pots=(soup,)), [STAY, STAY])
    np.testing.assert_array_equal(out.obs[0], LosslessEncoder(mdp, 400).encode(expected))

    circuit = KitchenMDP.from_layout_name("counter_circuit")
    biggest = max(max(circuit.recipes.time(r) for r in circuit.recipes.recipes), 3)
    small = KitchenBatch(circuit, 8)
    rng = np.random.default_rng(0)
    for _ in range(200):
        out = small.step(rng.integers(0, 6, (8, 2)))
        assert out.obs.dtype == np.uint8
        assert out.obs.max() <= biggest
        assert out.rewards.dtype == np.float32
        assert out.sparse_by_chef.shape == out.shaped_by_chef.shape == (8, 2)


def test_step_returns_named_buffers(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 2)
    out = batch.step(np.full((2, 2), STAY, dtype=np.int8))
    assert isinstance(out, BatchStep)
    assert out.obs is batch.observations
    assert out.truncated.dtype == out.terminated.dtype == np.bool_


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros((2, 3), dtype=int), r"shape \(num_envs, num_chefs\) = \(2, 2\)"),
        (np.zeros(4, dtype=int), r"shape"),
        (np.zeros((2, 2)), r"integers"),
        (np.array([[0, 0], [6, 0]]), r"0\.\.5.*kitchen 1, chef 0 got 6"),
        (np.array([[0, -1], [0, 0]]), r"kitchen 0, chef 1 got -1"),
        (np.array([[0, 2**40], [0, 0]], dtype=np.int64), r"kitchen 0, chef 1"),
        (np.array([[True, False], [False, False]]), r"integers"),
    ],
)
def test_bad_actions_are_rejected(cramped: KitchenMDP, actions: np.ndarray, message: str) -> None:
    batch = KitchenBatch(cramped, 2)
    before = [batch.get_state(i) for i in range(2)]
    with pytest.raises(InputError, match=message):
        batch.step(actions)
    assert [batch.get_state(i) for i in range(2)] == before  # nothing stepped


def test_bad_construction_and_states_are_rejected(cramped: KitchenMDP) -> None:
    with pytest.raises(InputError, match="at least one kitchen"):
        KitchenBatch(cramped, 0)
    with pytest.raises(InputError, match="horizon"):
        KitchenBatch(cramped, 1, horizon=0)
    with pytest.raises(InputError, match="start must be one of"):
        KitchenBatch(cramped, 1, start="anywhere")
    batch = KitchenBatch(cramped, 2)
    with pytest.raises(InputError, match="out of range"):
        batch.get_state(2)
    state = cramped.initial_state()
    with pytest.raises(StateError, match="chefs"):
        batch.set_state(0, state.replace(chefs=state.chefs[:1]))
    with pytest.raises(StateError, match="not a floor cell"):
        batch.set_state(0, state.replace(chefs=(Chef((0, 0), 0), state.chefs[1])))
    with pytest.raises(StateError, match="not a counter"):
        batch.set_state(0, state.replace(counters={(1, 1): "onion"}))
    with pytest.raises(StateError, match="pot holds"):
        batch.set_state(0, state.replace(pots=(Soup(("onion",) * 4, -1),)))


def test_set_state_round_trips_with_per_kitchen_orders(cramped: KitchenMDP) -> None:
    batch = KitchenBatch(cramped, 2)
    bonus_onion = cramped.recipes.orders([(1, 0), (3, 0)], [(1, 0)])
    soup = Soup(("onion",), 20)  # ready
    start = cramped.initial_state()
    # Chef 0 holds the soup and faces the serving window, in both kitchens.
    server = start.replace(chefs=(Chef((3, 2), 1, soup), start.chefs[1]))
    batch.set_state(0, server)
    batch.set_state(1, server.replace(orders=bonus_onion))
    assert batch.get_state(0) == server
    assert batch.get_state(1).orders == bonus_onion
    out = batch.step(np.array([[INTERACT, STAY], [INTERACT, STAY]]))
    # A one-onion soup is worth nothing under cramped_room's orders, and twice
    # its value as a bonus order in kitchen 1.
    assert out.sparse_by_chef[:, 0].tolist() == [0.0, 40.0]
    assert out.rewards.tolist() == [0.0, 40.0]
    assert batch.get_state(1).chefs[0].held is None
