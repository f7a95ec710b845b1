"""One chef of the kitchen as a Gymnasium env; the other chefs follow a given policy.

The single-agent view of :class:`~brigade.envs.kitchen.parallel_env.KitchenParallelEnv`
for single-agent RL libraries: the learner controls chef ``chef`` and sees its
lossless grid encoding; every other chef acts by ``partner_policy``.

Example::

    env = KitchenSingleChefEnv("cramped_room", chef=0, partner_policy="stay")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import gymnasium
import numpy as np
from gymnasium import spaces

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.parallel_env import KitchenParallelEnv, parse_action
from brigade.envs.kitchen.state import ACTION_NAMES, STAY, KitchenState
from brigade.errors import InputError, did_you_mean

PartnerPolicy = Callable[[KitchenState, int, np.random.Generator], int]
"""A partner: ``policy(state, chef_index, rng) -> action index`` (0..5)."""


def stay_policy(state: KitchenState, chef: int, rng: np.random.Generator) -> int:
    """A partner that never moves."""
    return int(STAY)


def random_policy(state: KitchenState, chef: int, rng: np.random.Generator) -> int:
    """A partner that picks each of the six actions uniformly at random."""
    return int(rng.integers(len(ACTION_NAMES)))


PARTNER_POLICIES: dict[str, PartnerPolicy] = {"stay": stay_policy, "random": random_policy}
"""The partners that can be named by a string."""


def resolve_partner(policy: str | PartnerPolicy) -> PartnerPolicy:
    """The partner policy a name stands for, or the callable itself.

    Raises:
        InputError: An unknown name, or neither a name nor a callable.
    """
    if isinstance(policy, str):
        try:
            return PARTNER_POLICIES[policy]
        except KeyError:
            raise InputError(
                f"unknown partner policy {policy!r}{did_you_mean(policy, PARTNER_POLICIES)}; "
                f"named partners are {', '.join(PARTNER_POLICIES)}, or pass a callable "
                "policy(state, chef_index, rng) -> action"
            ) from None
    if not callable(policy):
        raise InputError(
            "partner_policy must be 'stay', 'random' or a callable "
            f"policy(state, chef_index, rng) -> action, not {type(policy).__name__}"
        )
    return policy


class KitchenSingleChefEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One chef of a kitchen as a Gymnasium env; the other chefs follow ``partner_policy``.

    The observation is the controlled chef's lossless grid encoding (the
    observation of that chef in :class:`KitchenParallelEnv`); the action is one
    of the six moves. The reward is the team's sparse reward plus
    ``shaped_reward_coef`` times the controlled chef's own shaped reward.
    ``terminated`` is always ``False`` (the kitchen has no terminal state);
    ``truncated`` becomes ``True`` at the horizon.

    One generator, seeded by :meth:`reset`, drives everything random: the
    start state and the partners' choices.

    Args:
        layout: A shipped layout name.
        layout_file: A ``.layout`` file to load instead of a shipped layout.
        chef: Index of the controlled chef (0 is the layout's chef ``1``).
        partner_policy: ``"random"`` (uniform over the six actions), ``"stay"``,
            or a callable ``policy(state, chef_index, rng) -> action`` called
            for every other chef each step.
        horizon: Steps per episode.
        start: ``"standard"`` or ``"random"`` (see :class:`KitchenParallelEnv`).
        shaped_reward_coef: Weight of the controlled chef's shaped reward.
        render_mode: ``None`` or ``"rgb_array"``.

    Raises:
        InputError: A bad chef index or partner policy, or any constructor
            error of :class:`KitchenParallelEnv`.
    """

    # Not a ClassVar: gymnasium.Env declares metadata as an instance attribute.
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012

    def __init__(
        self,
        layout: str = "cramped_room",
        *,
        layout_file: str | None = None,
        chef: int = 0,
        partner_policy: str | PartnerPolicy = "random",
        horizon: int = 400,
        start: str = "standard",
        shaped_reward_coef: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self.parallel_env = KitchenParallelEnv(
            layout,
            layout_file=layout_file,
            horizon=horizon,
            start=start,
            shaped_reward_coef=shaped_reward_coef,
            render_mode=render_mode,
        )
        n = self.parallel_env.mdp.num_chefs
        if isinstance(chef, bool) or not isinstance(chef, (int, np.integer)) or not 0 <= chef < n:
            raise InputError(
                f"chef must be an index in 0..{n - 1} ({self.parallel_env.mdp.name} has "
                f"{n} chefs), got {chef!r}"
            )
        self.chef = int(chef)
        self.agent = self.parallel_env.possible_agents[self.chef]
        self.partner_policy = resolve_partner(partner_policy)
        self.render_mode = render_mode
        self.observation_space = cast(spaces.Box, self.parallel_env.observation_space(self.agent))
        self.action_space = spaces.Discrete(len(ACTION_NAMES))

    @property
    def mdp(self) -> KitchenMDP:
        """The kitchen's :class:`~brigade.envs.kitchen.mdp.KitchenMDP`."""
        return self.parallel_env.mdp

    @property
    def kitchen_state(self) -> KitchenState:
        """The current kitchen state (after :meth:`reset`)."""
        return self.parallel_env.kitchen_state

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode.

        Args:
            seed: Seeds the generator behind the start state and the partners.
            options: As for :meth:`KitchenParallelEnv.reset` (``start`` or ``state``).

        Returns:
            The controlled chef's observation and an empty info dict.
        """
        super().reset(seed=seed)
        # The inner env's seed comes from our generator, so one seed fixes the whole episode.
        inner_seed = int(self.np_random.integers(2**63 - 1))
        observations, infos = self.parallel_env.reset(seed=inner_seed, options=options)
        return observations[self.agent], infos[self.agent]

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance one step: the controlled chef does ``action``, the others follow their policy.

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``info`` holds
            the chef's ``sparse_reward``, ``shaped_reward``, ``events`` and the
            ``partner_actions`` taken (by chef name).

        Raises:
            InputError: ``action`` (or a partner's choice) is not an integer in 0..5,
                or the episode is over.
        """
        env = self.parallel_env
        state = env.kitchen_state
        if not env.agents:
            raise InputError("the episode is over (truncated at the horizon); call reset()")
        actions: dict[str, int] = {self.agent: parse_action(action, self.agent)}
        partners: dict[str, int] = {}
        for i, name in enumerate(env.possible_agents):
            if i != self.chef:
                choice = self.partner_policy(state, i, self.np_random)
                partners[name] = parse_action(choice, f"{name} (partner policy)")
        actions.update(partners)
        observations, rewards, terminations, truncations, infos = env.step(actions)
        info = dict(infos[self.agent], partner_actions=partners)
        return (
            observations[self.agent],
            rewards[self.agent],
            terminations[self.agent],
            truncations[self.agent],
            info,
        )

    def render(self) -> np.ndarray | None:
        """An RGB picture of the kitchen (``render_mode="rgb_array"``)."""
        frame: np.ndarray | None = self.parallel_env.render()
        return frame

    def close(self) -> None:
        """Release the renderer."""
        self.parallel_env.close()
