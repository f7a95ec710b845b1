"""The kitchen as a PettingZoo ``ParallelEnv``: the low-level API for RL.

Every chef is an agent (named by :func:`~brigade.envs.kitchen.names.chef_names`)
that picks one of overcooked-ai's six moves each step; the observation is
that chef's lossless grid encoding
(:class:`~brigade.envs.kitchen.encoding.LosslessEncoder`). The env is a thin
shell around the pure :meth:`KitchenMDP.transition
<brigade.envs.kitchen.mdp.KitchenMDP.transition>`, the same function the
skill-level API steps, so both APIs see the same kitchen.

Example::

    env = KitchenParallelEnv("cramped_room", shaped_reward_coef=1.0)
    obs, infos = env.reset(seed=0)
    while env.agents:
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from brigade.envs.kitchen.encoding import (
    MAP_LAYERS,
    VARIABLE_LAYERS,
    LosslessEncoder,
    encoding_dtype,
    num_channels,
)
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.names import chef_names
from brigade.envs.kitchen.random_states import START_MODES, random_start_positions
from brigade.envs.kitchen.state import ACTION_NAMES, Chef, KitchenState
from brigade.errors import BrigadeError, InputError, did_you_mean

if TYPE_CHECKING:
    from brigade.envs.kitchen.render import KitchenRenderer

RESET_OPTIONS = ("start", "state")
"""The ``options`` keys :meth:`KitchenParallelEnv.reset` reads."""

_ACTIONS_TEXT = ", ".join(f"{i} {name}" for i, name in enumerate(ACTION_NAMES))


def observation_high(mdp: KitchenMDP) -> np.ndarray:
    """The largest value each cell of a chef's encoding can take, shape (width, height, channels).

    The bounds are per channel (the same for every cell) and tight for states
    the dynamics can reach from any valid state: chefs stand on distinct floor
    cells and every cell holds at most one object, so every indicator layer is
    at most 1; a soup holds at most ``max_ingredients`` onions (or tomatoes);
    a cooking soup has at most its recipe's cooking time left, so
    ``soup_cook_time_remaining`` is at most the longest recipe time (rounded
    down, as the integer encoding stores it).

    Args:
        mdp: The kitchen.

    Returns:
        An array in :func:`~brigade.envs.kitchen.encoding.encoding_dtype` of the MDP.
    """
    dtype = encoding_dtype(mdp)
    high = np.ones(num_channels(mdp.num_chefs), dtype=dtype)
    var0 = 5 * mdp.num_chefs + len(MAP_LAYERS)
    for k, name in enumerate(VARIABLE_LAYERS):
        if name.startswith(("onions_in_", "tomatoes_in_")):
            high[var0 + k] = mdp.max_ingredients
        elif name == "soup_cook_time_remaining":
            longest = max(mdp.recipes.time(r) for r in mdp.recipes.recipes)
            high[var0 + k] = max(0, math.floor(longest))
    out: np.ndarray = np.broadcast_to(high, (mdp.width, mdp.height, high.size)).copy()
    return out


def parse_action(value: Any, agent: str) -> int:
    """Check one chef's action and return it as a plain ``int``.

    Args:
        value: The action: an integer (Python or NumPy, or a 0-d integer array) in 0..5.
        agent: The chef's name, for the error message.

    Raises:
        InputError: The value is not an integer action index in 0..5.
    """
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(
            f"invalid action for {agent}: {value!r} is not an action index; "
            f"actions are the integers {_ACTIONS_TEXT}"
        )
    if not 0 <= value < len(ACTION_NAMES):
        raise InputError(
            f"invalid action for {agent}: {int(value)} is out of range; "
            f"actions are the integers {_ACTIONS_TEXT}"
        )
    return int(value)


def check_start(start: Any) -> str:
    """Return ``start`` if it names a start mode, else raise :class:`InputError`."""
    if start not in START_MODES:
        raise InputError(
            f"unknown start {start!r}{did_you_mean(str(start), START_MODES)}; "
            f"starts are {', '.join(START_MODES)}"
        )
    return str(start)


def _random_start(mdp: KitchenMDP, rng: np.random.Generator) -> KitchenState:
    """The standard start state with each chef moved within its floor region, facing a random way.

    The cells come from :func:`~brigade.envs.kitchen.random_states.random_start_positions`;
    everything else (pots, counters, orders, held items) is the standard start's.
    """
    base = mdp.initial_state()
    positions = random_start_positions(mdp, rng)
    orientations = rng.integers(0, 4, size=mdp.num_chefs)
    chefs = tuple(
        Chef(pos, int(o), chef.held)
        for pos, o, chef in zip(positions, orientations, base.chefs, strict=True)
    )
    return base.replace(chefs=chefs)


class KitchenParallelEnv(ParallelEnv[str, np.ndarray, int]):  # type: ignore[misc]
    """The kitchen as a PettingZoo ``ParallelEnv``; one agent per chef.

    Observations are each chef's lossless grid encoding, an array of shape
    (width, height, channels) in :func:`~brigade.envs.kitchen.encoding.encoding_dtype`,
    inside ``Box(0, observation_high(mdp))``. Actions are ``Discrete(6)``
    (north, south, east, west, stay, interact). A chef's reward is the team's
    sparse reward (every delivery, whoever made it) plus
    ``shaped_reward_coef`` times that chef's own shaped reward. The kitchen has
    no terminal state, so terminations are always ``False``; every chef is
    truncated together once the state's timestep reaches ``horizon``, after
    which :attr:`agents` is empty and :meth:`step` accepts only ``{}`` (and
    returns empty dicts) until the next :meth:`reset`.

    Randomness (random starts) comes from one ``numpy.random.Generator``
    created from the ``seed`` of :meth:`reset`; nothing is seeded globally.

    Args:
        layout: A shipped layout name (see
            :func:`~brigade.envs.kitchen.layout.shipped_layout_names`).
        layout_file: A ``.layout`` file to load instead of a shipped layout.
        horizon: Steps per episode (the urgency layer counts down to it).
        start: ``"standard"``: the layout's start state; ``"random"``: each
            chef on a random free cell of its own floor region (the floor cells
            connected to its standard start), with a random orientation.
        shaped_reward_coef: Weight of a chef's own shaped reward in its reward.
        render_mode: ``None`` or ``"rgb_array"``.

    Raises:
        InputError: An unknown layout, start or render mode, or a bad horizon
            or shaped-reward coefficient.

    Attributes:
        mdp: The :class:`~brigade.envs.kitchen.mdp.KitchenMDP` (for power users).
        horizon: Steps per episode.
        start: The default start mode.
        shaped_reward_coef: Weight of shaped rewards.
        render_mode: The render mode.
        possible_agents: The chefs' names, chef 0 first.
        agents: The chefs still acting (all of them until the horizon, then none).
        state_space: The space of :meth:`state`: every chef's encoding stacked,
            shape (chefs, width, height, channels).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "kitchen_v0",
        "render_modes": ["rgb_array"],
        "is_parallelizable": True,
        "render_fps": 10,
    }

    def __init__(
        self,
        layout: str = "cramped_room",
        *,
        layout_file: str | None = None,
        horizon: int = 400,
        start: str = "standard",
        shaped_reward_coef: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise InputError(f"horizon must be a positive integer, got {horizon!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = self.metadata["render_modes"]
            raise InputError(
                f"unknown render_mode {render_mode!r}{did_you_mean(str(render_mode), modes)}; "
                f"render modes are {', '.join(modes)} (or None)"
            )
        if isinstance(shaped_reward_coef, bool) or not isinstance(
            shaped_reward_coef, (int, float, np.integer, np.floating)
        ):
            raise InputError(f"shaped_reward_coef must be a number, got {shaped_reward_coef!r}")
        self.mdp = (
            KitchenMDP.from_layout_file(layout_file)
            if layout_file is not None
            else KitchenMDP.from_layout_name(layout)
        )
        self.horizon = int(horizon)
        self.start = check_start(start)
        self.shaped_reward_coef = float(shaped_reward_coef)
        self.render_mode = render_mode
        self.possible_agents: list[str] = chef_names(self.mdp.num_chefs)
        self.agents: list[str] = []
        self._index = {agent: i for i, agent in enumerate(self.possible_agents)}
        self._encoder = LosslessEncoder(self.mdp, self.horizon)
        high = observation_high(self.mdp)
        self.observation_spaces: dict[str, spaces.Space[np.ndarray]] = {
            agent: spaces.Box(0, high, dtype=high.dtype) for agent in self.possible_agents
        }
        self.action_spaces: dict[str, spaces.Space[Any]] = {
            agent: spaces.Discrete(len(ACTION_NAMES)) for agent in self.possible_agents
        }
        state_high = np.broadcast_to(high, (self.mdp.num_chefs, *high.shape)).copy()
        self.state_space = spaces.Box(0, state_high, dtype=high.dtype)
        self._rng: np.random.Generator | None = None
        self._state: KitchenState | None = None
        self._score = 0.0
        self._renderer: KitchenRenderer | None = None

    # ------------------------------------------------------------------ spaces

    def observation_space(self, agent: str) -> spaces.Space[np.ndarray]:
        """The observation space of one chef (the same object on every call)."""
        try:
            return self.observation_spaces[agent]
        except KeyError:
            raise InputError(self._unknown_agent(agent)) from None

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The action space of one chef, ``Discrete(6)`` (the same object on every call)."""
        try:
            return self.action_spaces[agent]
        except KeyError:
            raise InputError(self._unknown_agent(agent)) from None

    def _unknown_agent(self, agent: object) -> str:
        return (
            f"unknown agent {agent!r}{did_you_mean(str(agent), self.possible_agents)}; "
            f"the chefs are {', '.join(self.possible_agents)}"
        )

    # ------------------------------------------------------------------ state

    @property
    def kitchen_state(self) -> KitchenState:
        """The current :class:`~brigade.envs.kitchen.state.KitchenState` (immutable).

        Raises:
            BrigadeError: :meth:`reset` has not been called yet.
        """
        if self._state is None:
            raise BrigadeError("the kitchen has no state yet; call reset() first")
        return self._state

    def state(self) -> np.ndarray:
        """The global observation: every chef's encoding, shape (chefs, width, height, channels).

        Raises:
            BrigadeError: :meth:`reset` has not been called yet.
        """
        encoding: np.ndarray = self._encoder.encode(self.kitchen_state)
        return encoding

    # ------------------------------------------------------------------ episode

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode.

        Args:
            seed: Seeds the env's generator; ``None`` keeps drawing from the
                current one (a fresh one from OS entropy on the first reset).
            options: ``{"start": "standard" | "random"}`` overrides the start
                mode for this episode; ``{"state": s}`` starts from ``s``, an
                overcooked-ai state dict (``OvercookedState.to_dict()`` form)
                or a :class:`~brigade.envs.kitchen.state.KitchenState`. Other
                keys are ignored (PettingZoo's API test passes its own).

        Returns:
            Each chef's observation, and an empty info dict per chef.

        Raises:
            InputError: An unknown start, both ``start`` and ``state``, a
                state that is invalid for this layout or already at the horizon,
                or a random start on a layout with a floor region smaller than
                the number of chefs starting in it.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        elif self._rng is None:
            self._rng = np.random.default_rng()
        opts: Mapping[str, Any] = options or {}
        given = opts.get("state")
        if given is not None:
            if "start" in opts:
                raise InputError("reset options: give 'start' or 'state', not both")
            state = self._checked_state(given)
        elif check_start(opts.get("start", self.start)) == "random":
            state = _random_start(self.mdp, self._rng)
        else:
            state = self.mdp.initial_state()
        if state.timestep >= self.horizon:
            raise InputError(
                f"the start state's timestep ({state.timestep}) is not below the horizon "
                f"({self.horizon}); the episode would be over before it began"
            )
        self._state = state
        self._score = 0.0
        self.agents = list(self.possible_agents)
        encoding = self._encoder.encode(state)
        observations = {agent: encoding[i] for i, agent in enumerate(self.possible_agents)}
        return observations, {agent: {} for agent in self.possible_agents}

    def _checked_state(self, given: Any) -> KitchenState:
        if isinstance(given, KitchenState):
            # A round trip through overcooked-ai's form validates it against this layout.
            return self.mdp.from_overcooked_dict(self.mdp.to_overcooked_dict(given))
        if isinstance(given, Mapping):
            return self.mdp.from_overcooked_dict(dict(given))
        raise InputError(
            "reset option 'state' must be an overcooked-ai state dict or a KitchenState, "
            f"not {type(given).__name__}"
        )

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Advance the kitchen one step.

        Args:
            actions: One action (an integer in 0..5) for every live chef.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``,
            each keyed by chef. A chef's info holds its own ``sparse_reward``
            (its deliveries), its ``shaped_reward`` and its ``events`` (a
            tuple of overcooked-ai event types, in the order they happened).
            Once every chef is done, ``step({})`` returns five empty dicts.

        Raises:
            InputError: An action is missing, out of range or for an unknown
                chef, or actions were given after the episode ended.
            BrigadeError: :meth:`reset` has not been called yet.
        """
        state = self.kitchen_state
        if not self.agents:
            if actions:
                raise InputError(
                    f"the episode is over (every chef was truncated at step {state.timestep}); "
                    f"call reset() before stepping again (got actions for {sorted(actions)})"
                )
            return {}, {}, {}, {}, {}
        unknown = [agent for agent in actions if agent not in self._index]
        if unknown:
            raise InputError("; ".join(self._unknown_agent(agent) for agent in unknown))
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise InputError(
                f"no action for {', '.join(missing)}: every chef acts each step "
                f"(4, stay, does nothing)"
            )
        joint = [parse_action(actions[agent], agent) for agent in self.possible_agents]
        state, info = self.mdp.transition(state, joint)
        self._state = state
        sparse = info["sparse_reward_by_agent"]
        shaped = info["shaped_reward_by_agent"]
        team = float(sum(sparse))
        self._score += team
        encoding = self._encoder.encode(state)
        truncated = state.timestep >= self.horizon
        observations: dict[str, np.ndarray] = {}
        rewards: dict[str, float] = {}
        infos: dict[str, dict[str, Any]] = {}
        for i, agent in enumerate(self.possible_agents):
            observations[agent] = encoding[i]
            rewards[agent] = team + self.shaped_reward_coef * shaped[i]
            infos[agent] = {
                "sparse_reward": float(sparse[i]),
                "shaped_reward": float(shaped[i]),
                "events": tuple(event for event, chef in info["events"] if chef == i),
            }
        terminations = dict.fromkeys(self.possible_agents, False)
        truncations = dict.fromkeys(self.possible_agents, truncated)
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    @property
    def score(self) -> float:
        """The team's sparse reward so far this episode."""
        return self._score

    # ------------------------------------------------------------------ rendering

    def render(self) -> np.ndarray | None:
        """An RGB picture of the kitchen (``render_mode="rgb_array"``), shape (H, W, 3).

        Returns ``None`` (with a warning) when the env was made without a render mode.

        Raises:
            BrigadeError: :meth:`reset` has not been called yet.
        """
        if self.render_mode is None:
            warnings.warn(
                "render() was called on a KitchenParallelEnv made without a render_mode; "
                "make it with render_mode='rgb_array' to get pictures",
                stacklevel=2,
            )
            return None
        state = self.kitchen_state
        if self._renderer is None:
            # Imported here so that the RL API does not pull in OpenCV until a picture is asked for.
            from brigade.envs.kitchen.render import KitchenRenderer

            self._renderer = KitchenRenderer(self.mdp, cell_px=64)
        frame: np.ndarray = self._renderer.render(
            state, score=self._score, chef_names=self.possible_agents
        )
        return frame

    def close(self) -> None:
        """Release the renderer."""
        self._renderer = None

    def __repr__(self) -> str:
        return (
            f"KitchenParallelEnv({self.mdp.name!r}, chefs={self.mdp.num_chefs}, "
            f"horizon={self.horizon}, start={self.start!r})"
        )
