"""The breadth-first search finds the true fewest moves to a delivery."""

from __future__ import annotations

import itertools

import pytest

from brigade import envs
from brigade.envs.kitchen.optimal import fewest_moves
from brigade.envs.kitchen.state import NORTH, SOUTH, Chef, KitchenState, Soup
from brigade.envs.kitchen.task_env import KitchenTaskEnv
from brigade.errors import InputError

READY = Soup(("onion", "onion"), 2)


def cramped(chefs: tuple[Chef, ...]) -> tuple[KitchenTaskEnv, KitchenState]:
    env = envs.make_task("kitchen-read/cramped_room")
    assert isinstance(env, KitchenTaskEnv)
    return env, env.state.replace(chefs=chefs)


def test_a_chef_facing_the_window_with_a_soup_needs_one_move() -> None:
    env, state = cramped((Chef((3, 2), SOUTH, READY), Chef((1, 1), NORTH, None)))
    assert fewest_moves(env.mdp, state).moves == 1


def test_one_step_away_from_the_window_needs_two_moves() -> None:
    env, state = cramped((Chef((3, 1), NORTH, READY), Chef((1, 1), NORTH, None)))
    assert fewest_moves(env.mdp, state).moves == 2


def test_the_count_satisfies_bellmans_equation() -> None:
    # Near the end of an expert episode: the fewest moves from a state is one
    # more than the fewest from the best successor.
    env = envs.make_task("kitchen-read/cramped_room")
    assert isinstance(env, KitchenTaskEnv)
    env.reset(0)
    states = [env.state]
    while not env.execute(env.expert_plan()).done:
        states.append(env.state)
    state = states[-4]
    here = fewest_moves(env.mdp, state).moves
    assert here is not None and here <= 4  # never worse than the expert
    successors = []
    for joint in itertools.product(range(6), repeat=2):
        after, info = env.mdp.transition(state, joint)
        if sum(info["sparse_reward_by_agent"]) > 0:
            successors.append(0)
        else:
            found = fewest_moves(env.mdp, after, max_moves=here).moves
            successors.append(found if found is not None else here + 1)
    assert here == 1 + min(successors)


def test_none_within_the_depth_and_bad_arguments() -> None:
    env, state = cramped((Chef((1, 1), NORTH, None), Chef((3, 1), NORTH, None)))
    result = fewest_moves(env.mdp, state, max_moves=3)
    assert result.moves is None and result.states > 1
    with pytest.raises(InputError, match="soups"):
        fewest_moves(env.mdp, state, soups=0)
    with pytest.raises(InputError, match="max_moves"):
        fewest_moves(env.mdp, state, max_moves=0)
