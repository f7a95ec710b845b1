"""Many kitchens stepped at once by a compiled kernel.

:class:`KitchenBatch` holds n kitchens of one layout as a structure of arrays
and steps them all with one call into a numba kernel
(:mod:`brigade.envs.kitchen.batch_kernels`), which also writes every chef's
lossless grid encoding (:class:`~brigade.envs.kitchen.encoding.LosslessEncoder`)
of every kitchen. Its dynamics are exactly :meth:`KitchenMDP.transition`'s
(and so overcooked-ai 1.1.0's): the same states, sparse and shaped rewards.

Kitchens whose episode ends (the timestep reaches the horizon) are reset in
place, like JaxMARL's ``step``: the observation returned for them is the one
of the new episode, and their ``truncated`` flag is set for that step.

Example:
    >>> import numpy as np
    >>> from brigade.envs.kitchen import KitchenMDP
    >>> from brigade.envs.kitchen.batch import KitchenBatch
    >>> batch = KitchenBatch(KitchenMDP.from_layout_name("cramped_room"), 8)
    >>> obs = batch.reset(seed=0)
    >>> obs.shape
    (8, 2, 5, 4, 26)
    >>> out = batch.step(np.full((8, 2), 4))
    >>> out.rewards.shape, out.truncated.any()
    ((8,), np.False_)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple, cast

import numba
import numpy as np

from brigade.envs.kitchen import batch_kernels as K
from brigade.envs.kitchen.encoding import LosslessEncoder, encoding_dtype, num_channels
from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.random_states import START_MODES, random_start_positions
from brigade.envs.kitchen.recipes import Orders
from brigade.envs.kitchen.state import DIRECTIONS, Chef, Item, KitchenState, Position, Soup
from brigade.errors import InputError, StateError

_ITEM_CODES = {"onion": K.ONION, "tomato": K.TOMATO, "dish": K.DISH}
_ITEM_NAMES = {K.ONION: "onion", K.TOMATO: "tomato", K.DISH: "dish"}
_MAX_TICK = np.iinfo(np.int32).max


class BatchStep(NamedTuple):
    """What :meth:`KitchenBatch.step` returns; every field is an array over kitchens.

    The arrays are the batch's own buffers, overwritten by the next ``step``
    or ``reset``: copy them to keep them.

    Attributes:
        obs: Observations, shape (n, chefs, width, height, channels), in the
            encoding's dtype; for a kitchen that was just reset, the new episode's.
        rewards: The team's sparse reward (sum over chefs), shape (n,), float32.
        terminated: Always False (kitchens have no terminal state), shape (n,).
        truncated: The episode reached the horizon at this step, shape (n,).
        sparse_by_chef: Sparse (delivery) reward of each chef, shape (n, chefs), float64.
        shaped_by_chef: Shaped reward of each chef, shape (n, chefs), float64.
    """

    obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    sparse_by_chef: np.ndarray
    shaped_by_chef: np.ndarray


class KitchenBatch:
    """n kitchens of one layout, stepped at once.

    Args:
        mdp: The kitchen (layout and recipe parameters) every kitchen runs.
        n: Number of kitchens.
        horizon: Episode length: a kitchen whose timestep reaches it is
            truncated (and reset when ``auto_reset``). Also sets the urgency
            layer of the observations, as ``LosslessEncoder(mdp, horizon)`` does.
        start: ``"standard"``: every episode starts in ``mdp.initial_state()``;
            ``"random"``: the same, with each chef on a random free cell of its
            own floor region (the floor cells connected to its standard start),
            with a random orientation, drawn from the generator seeded by
            :meth:`reset`.
        auto_reset: Reset kitchens in place when their episode ends. Without
            it, kitchens keep stepping past the horizon (``truncated`` stays set).
        parallel: Spread the kitchens over numba's threads (``numba.set_num_threads``
            sets how many). ``None`` (the default) does from
            :attr:`parallel_min_envs` kitchens on. A serial batch never starts
            numba's thread pool, whose GNU OpenMP flavour a process forked
            after using it cannot use (prefer the ``spawn`` start method then).

    Attributes:
        mdp: The kitchen's MDP.
        num_envs: Number of kitchens (n).
        num_chefs: Chefs per kitchen.
        horizon: Episode length.
        start: ``"standard"`` or ``"random"``.
        auto_reset: Whether ended episodes are reset in place.
        observation_shape: One chef's observation shape ``(width, height, channels)``.
        observation_dtype: The observations' dtype (``encoding_dtype(mdp)``).
        parallel: Whether steps run on numba's threads.

    Raises:
        InputError: ``n`` or ``horizon`` below 1, an unknown ``start``, or, for
            random starts, a floor region with fewer cells than the chefs
            starting in it.
    """

    parallel_min_envs = 8
    """From this many kitchens on, ``parallel=None`` means threads."""

    def __init__(
        self,
        mdp: KitchenMDP,
        n: int,
        *,
        horizon: int = 400,
        start: str = "standard",
        auto_reset: bool = True,
        parallel: bool | None = None,
    ):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"a batch needs at least one kitchen (n >= 1), got {n!r}")
        if not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise InputError(f"horizon must be a positive integer, got {horizon!r}")
        if start not in START_MODES:
            raise InputError(f"start must be one of {START_MODES}, got {start!r}")
        self.mdp = mdp
        self.num_envs = int(n)
        self.num_chefs = mdp.num_chefs
        self.horizon = int(horizon)
        self.start = start
        self.auto_reset = bool(auto_reset)
        self.parallel = self.num_envs >= self.parallel_min_envs if parallel is None else parallel
        self.observation_dtype = encoding_dtype(mdp)
        channels = num_channels(self.num_chefs)
        self.observation_shape = (mdp.width, mdp.height, channels)
        self._height = mdp.height
        self._num_pots = len(mdp.pot_positions)
        self._slot_positions: tuple[Position, ...] = mdp.pot_positions + mdp.counter_positions
        self._counter_slot = {
            pos: self._num_pots + k for k, pos in enumerate(mdp.counter_positions)
        }

        self._orders: list[Orders] = []
        self._orders_ids: dict[Any, int] = {}
        self._delivery = np.zeros((0, (mdp.max_ingredients + 1) ** 2), dtype=np.float64)
        self._build_tables(channels)
        self._config = (self._num_pots, mdp.max_ingredients, self.horizon, int(self.auto_reset))
        start_state = mdp.initial_state()
        start_chefs, start_objects = self._state_rows(start_state)
        self._start_chefs = start_chefs
        self._start_objects = start_objects
        self._start_env = np.array(
            [start_state.timestep, self._orders_id(start_state.orders)], dtype=np.int32
        )

        n_ = self.num_envs
        self._chefs = np.zeros((n_, self.num_chefs, K.CHEF_FIELDS), np.int32)
        self._objects = np.zeros((n_, len(self._slot_positions), 4), np.int32)
        self._envs = np.zeros((n_, K.ENV_FIELDS), np.int32)
        # The chefs' cells and orientations of each kitchen's next start
        # (redrawn after each auto-reset when starts are random).
        self._start_cells = np.tile(start_chefs[:, K.C_CELL], (n_, 1))
        self._start_orientations = np.tile(start_chefs[:, K.C_ORI], (n_, 1))
        self._obs = np.zeros(
            (n_, self.num_chefs, *self.observation_shape), dtype=self.observation_dtype
        )
        self._obs_rows = self._obs.reshape(n_, self.num_chefs, -1)  # a view the kernels write
        self._actions = np.zeros((n_, self.num_chefs), dtype=np.int64)
        self._sparse = np.zeros((n_, self.num_chefs), dtype=np.float64)
        self._shaped = np.zeros((n_, self.num_chefs), dtype=np.float64)
        self._rewards = np.zeros(n_, dtype=np.float32)
        self._terminated = np.zeros(n_, dtype=bool)
        self._truncated = np.zeros(n_, dtype=bool)
        self._all_envs = np.arange(n_, dtype=np.int64)
        self._rng: np.random.Generator | None = None
        # The compiled step for these argument types, called directly: the
        # dispatcher would type its 21 arguments on every call (about 5 us,
        # as much as stepping dozens of kitchens). Every array passed to it is
        # the batch's own and keeps its type, and so this signature.
        self._args = self._step_args()
        self._step_delivery = self._delivery
        kernel: Any = K.step_all if self.parallel else K.step_all_serial
        signature = tuple(numba.typeof(a) for a in self._args)  # type: ignore[no-untyped-call]
        self._step_kernel = kernel.compile(signature)
        self.reset()

    # ------------------------------------------------------------------ building

    def _cell(self, pos: Position) -> int:
        return int(pos[0] * self._height + pos[1])

    def _step_args(self) -> tuple[Any, ...]:
        """The arguments of :func:`batch_kernels.step_all` (and of its serial twin)."""
        return (
            self._actions,
            self._chefs,
            self._objects,
            self._envs,
            self._cells,
            self._slot_cell,
            self._soups,
            self._soup_time,
            self._delivery,
            self._shaping,
            self._base,
            self._config,
            self._start_chefs,
            self._start_objects,
            self._start_env,
            self._start_cells,
            self._obs_rows,
            self._sparse,
            self._shaped,
            self._rewards,
            self._truncated,
        )

    def _encode_args(self) -> tuple[Any, ...]:
        """The state and tables arguments of :func:`batch_kernels.encode_envs`."""
        return (
            self._chefs,
            self._objects,
            self._envs,
            self._slot_cell,
            self._soups,
            self._soup_time,
            self._base,
            self._config,
        )

    def _build_tables(self, channels: int) -> None:
        mdp = self.mdp
        width, height = mdp.width, mdp.height
        cells = np.zeros((width * height, K.CELL_FIELDS), np.int32)
        cells[:, K.T_SLOT] = -1
        for x in range(width):
            for y in range(height):
                cells[x * height + y, K.T_TERRAIN] = K.TERRAIN_CODES[mdp.terrain_at((x, y))]
        self._slot_cell = np.array([self._cell(p) for p in self._slot_positions], np.int32)
        cells[self._slot_cell, K.T_SLOT] = np.arange(len(self._slot_cell), dtype=np.int32)
        for x in range(width):
            for y in range(height):
                cell = x * height + y
                for d, (dx, dy) in enumerate(DIRECTIONS):
                    tx, ty = x + dx, y + dy
                    inside = 0 <= tx < width and 0 <= ty < height
                    target = tx * height + ty if inside else cell
                    cells[cell, K.T_FACED + d] = target
                    floor = inside and cells[target, K.T_TERRAIN] == K.FLOOR
                    cells[cell, K.T_MOVE + d] = target if floor else cell
        self._cells = cells

        cap = mdp.max_ingredients
        soups = np.zeros((9 * K.SOUP_KEY, K.SOUP_FIELDS), np.int32)
        soup_time = np.zeros(9 * K.SOUP_KEY, np.float64)
        for length in range(cap + 1):
            for mask in range(1 << length):
                key = length * K.SOUP_KEY + mask
                tomatoes = bin(mask).count("1")
                onions = length - tomatoes
                soups[key, K.S_ONIONS] = onions
                soups[key, K.S_TOMATOES] = tomatoes
                soups[key, K.S_RECIPE] = onions * (cap + 1) + tomatoes
                if length:
                    time = mdp.recipes.time((onions, tomatoes))
                    soup_time[key] = time
                    # Ticks are integers: "tick >= time" is "tick >= ceil(time)".
                    soups[key, K.S_READY] = min(max(math.ceil(time), 0), _MAX_TICK)
        self._soups = soups
        self._soup_time = soup_time
        self._shaping = np.array(
            [
                mdp.shaping["PLACEMENT_IN_POT_REW"],
                mdp.shaping["DISH_PICKUP_REWARD"],
                mdp.shaping["SOUP_PICKUP_REWARD"],
            ],
            dtype=np.float64,
        )
        # The map layers are the encoder's (same channels, same dtype).
        base = np.ascontiguousarray(LosslessEncoder(mdp, self.horizon).static_layers)
        assert base.shape == (width, height, channels) and base.dtype == self.observation_dtype
        self._base = base.reshape(-1)

    def _orders_id(self, orders: Orders) -> int:
        """The row of the delivery table for ``orders`` (added on first sight)."""
        key = (orders.all, orders.bonus, tuple(sorted(orders.delivery_value.items())))
        found = self._orders_ids.get(key)
        if found is not None:
            return found
        cap = self.mdp.max_ingredients
        row = np.zeros((1, (cap + 1) ** 2), dtype=np.float64)
        for (onions, tomatoes), value in orders.delivery_value.items():
            if onions <= cap and tomatoes <= cap:
                row[0, onions * (cap + 1) + tomatoes] = value
        # A new array of the same type: the compiled step's signature holds.
        self._delivery = np.concatenate([self._delivery, row])
        self._orders.append(orders)
        self._orders_ids[key] = len(self._orders) - 1
        return len(self._orders) - 1

    def _encode_item(self, item: Item, where: str) -> tuple[int, int, int, int]:
        """An item's four fields ``(kind, len, mask, tick)``."""
        if isinstance(item, Soup):
            if len(item.ingredients) > self.mdp.max_ingredients:
                raise StateError(
                    f"{where}: a soup of {len(item.ingredients)} ingredients, but a pot holds "
                    f"{self.mdp.max_ingredients}"
                )
            mask = 0
            for k, ingredient in enumerate(item.ingredients):
                if ingredient == "tomato":
                    mask |= 1 << k
                elif ingredient != "onion":
                    raise StateError(f"{where}: unknown ingredient {ingredient!r}")
            return K.SOUP, len(item.ingredients), mask, item.cooking_tick
        code = _ITEM_CODES.get(item) if isinstance(item, str) else None
        if code is None:
            raise StateError(f"{where}: unknown item {item!r}")
        return code, 0, 0, 0

    @staticmethod
    def _decode_item(fields: np.ndarray) -> Item | None:
        kind, length, mask, tick = (int(v) for v in fields)
        if kind == K.NOTHING:
            return None
        if kind == K.SOUP:
            ingredients = tuple("tomato" if mask >> k & 1 else "onion" for k in range(length))
            return Soup(ingredients, tick)
        return _ITEM_NAMES[kind]

    def _state_rows(self, state: KitchenState) -> tuple[np.ndarray, np.ndarray]:
        """A state's chef rows (chefs, 6) and object slots (slots, 4), validated.

        Raises:
            StateError: The state does not fit this layout.
        """
        mdp = self.mdp
        if len(state.chefs) != self.num_chefs:
            raise StateError(
                f"the state has {len(state.chefs)} chefs, the layout {mdp.name} has "
                f"{self.num_chefs}"
            )
        if len(state.pots) != self._num_pots:
            raise StateError(
                f"the state has {len(state.pots)} pots, the layout has {self._num_pots}"
            )
        chefs = np.zeros((self.num_chefs, K.CHEF_FIELDS), np.int32)
        for i, chef in enumerate(state.chefs):
            if not mdp.is_floor(chef.position):
                raise StateError(f"chef {i} stands on {chef.position}, which is not a floor cell")
            if chef.orientation not in range(4):
                raise StateError(f"chef {i} has orientation {chef.orientation!r}, expected 0..3")
            chefs[i, K.C_CELL] = self._cell(chef.position)
            chefs[i, K.C_ORI] = chef.orientation
            if chef.held is not None:
                chefs[i, K.C_ITEM :] = self._encode_item(chef.held, f"chef {i}")
        if len(set(chefs[:, K.C_CELL].tolist())) != self.num_chefs:
            raise StateError("two chefs share a cell")
        objects = np.zeros((len(self._slot_positions), 4), np.int32)
        for p, soup in enumerate(state.pots):
            if soup is not None:
                if not isinstance(soup, Soup):
                    raise StateError(f"pot {p}: only a soup can be in a pot, not {soup!r}")
                objects[p] = self._encode_item(soup, f"pot {p}")
        for pos, item in state.counters.items():
            slot = self._counter_slot.get(pos)
            if slot is None:
                raise StateError(f"an item lies on {pos}, which is not a counter")
            objects[slot] = self._encode_item(item, f"counter {pos}")
        return chefs, objects

    # ------------------------------------------------------------------ API

    @property
    def observations(self) -> np.ndarray:
        """The current observations, shape (n, chefs, width, height, channels) (a live buffer)."""
        return self._obs

    @property
    def timesteps(self) -> np.ndarray:
        """Each kitchen's timestep, shape (n,) (a copy)."""
        return np.array(self._envs[:, K.E_TIME])

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Starts a new episode in every kitchen.

        Args:
            seed: Seeds the generator of random starts (``start="random"``),
                which later auto-resets keep drawing from. ``None`` keeps the
                current generator (a fresh, unseeded one the first time).

        Returns:
            The observations, shape (n, chefs, width, height, channels): the
            batch's buffer, overwritten by the next step.
        """
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        if self.start == "random":
            self._draw_starts(self._all_envs)
        reset_args = (
            self._all_envs,
            *self._encode_args(),
            self._start_chefs,
            self._start_objects,
            self._start_env,
            self._start_cells,
            self._obs_rows,
        )
        K.reset_envs(*reset_args)
        if self.start == "random":
            self._orient_starts(self._all_envs)
            # The chefs' cells and orientations of each kitchen's next auto-reset, drawn ahead.
            self._draw_starts(self._all_envs)
        self._sparse[:] = 0
        self._shaped[:] = 0
        self._rewards[:] = 0
        self._truncated[:] = False
        return self._obs

    def _draw_starts(self, envs: np.ndarray) -> None:
        """Draws the chefs' cells and orientations of the next start of kitchens ``envs``.

        Kitchen by kitchen, in the order of ``envs``, the cells of
        :func:`~brigade.envs.kitchen.random_states.random_start_positions`;
        then every orientation at once.
        """
        rng = self._rng
        assert rng is not None
        xy = np.array([random_start_positions(self.mdp, rng) for _ in envs], dtype=np.int32)
        self._start_cells[envs] = xy[..., 0] * self._height + xy[..., 1]  # as _cell does
        self._start_orientations[envs] = rng.integers(0, 4, (len(envs), self.num_chefs))

    def _orient_starts(self, envs: np.ndarray) -> None:
        """Turns the chefs of the just-reset kitchens ``envs`` to their drawn orientations.

        The kernels reset kitchens with the standard start's orientations (they
        take only the cells per kitchen), so these kitchens are encoded again.
        """
        self._chefs[envs, :, K.C_ORI] = self._start_orientations[envs]
        encode_args = (envs, *self._encode_args(), self._obs_rows)
        K.encode_envs(*encode_args)

    def step(self, actions: np.ndarray) -> BatchStep:
        """One step of every kitchen.

        Args:
            actions: Integer array of shape (n, chefs), each in 0..5: north,
                south, east, west, stay, interact (overcooked-ai's order).

        Returns:
            The observations, rewards and flags (the batch's buffers, overwritten
            by the next step; see :class:`BatchStep`).

        Raises:
            InputError: ``actions`` has the wrong shape, is not integer, or holds
                a value outside 0..5.
        """
        shape = (self.num_envs, self.num_chefs)
        if not isinstance(actions, np.ndarray):
            actions = np.asarray(actions)
        if actions.shape != shape:
            raise InputError(
                f"actions must have shape (num_envs, num_chefs) = {shape}, got {actions.shape}"
            )
        if actions.dtype.kind not in "iu":
            raise InputError(
                f"actions must be integers (action indices 0..5), got dtype {actions.dtype}"
            )
        np.copyto(self._actions, actions, casting="unsafe")
        bad = K.first_bad_action(self._actions)
        if bad >= 0:
            env, chef = divmod(bad, self.num_chefs)
            raise InputError(
                "actions are indices 0..5 (north, south, east, west, stay, interact); "
                f"kitchen {env}, chef {chef} got {actions[env, chef]}"
            )
        if self._delivery is not self._step_delivery:
            self._args = self._step_args()
            self._step_delivery = self._delivery
        resets = self._step_kernel(*self._args)
        if resets and self.start == "random":
            envs = np.flatnonzero(self._truncated)
            self._orient_starts(envs)
            self._draw_starts(envs)
        return BatchStep(
            self._obs, self._rewards, self._terminated, self._truncated, self._sparse, self._shaped
        )

    def _check_index(self, i: int) -> int:
        if not isinstance(i, (int, np.integer)) or not -self.num_envs <= i < self.num_envs:
            raise InputError(f"kitchen index {i!r} is out of range for a batch of {self.num_envs}")
        return int(i) % self.num_envs

    def set_state(self, i: int, state: KitchenState) -> None:
        """Puts kitchen ``i`` in ``state`` (its observation is updated too).

        Raises:
            InputError: ``i`` is out of range.
            StateError: ``state`` does not fit this layout (chef count, cells,
                items, pot capacity).
        """
        i = self._check_index(i)
        chefs, objects = self._state_rows(state)
        self._chefs[i] = chefs
        self._objects[i] = objects
        self._envs[i, K.E_TIME] = state.timestep
        self._envs[i, K.E_ORDERS] = self._orders_id(state.orders)
        encode_args = (np.array([i], dtype=np.int64), *self._encode_args(), self._obs_rows)
        K.encode_envs(*encode_args)

    def get_state(self, i: int) -> KitchenState:
        """Kitchen ``i``'s current state.

        Raises:
            InputError: ``i`` is out of range.
        """
        i = self._check_index(i)
        height = self._height
        chefs = []
        for row in self._chefs[i]:
            cell = int(row[K.C_CELL])
            held = self._decode_item(row[K.C_ITEM :])
            chefs.append(Chef((cell // height, cell % height), int(row[K.C_ORI]), held))
        items = [self._decode_item(fields) for fields in self._objects[i]]
        # Pot slots only ever hold soups (the kernel puts nothing else there).
        pots = cast("tuple[Soup | None, ...]", tuple(items[: self._num_pots]))
        counters = {
            pos: item
            for pos, item in zip(self.mdp.counter_positions, items[self._num_pots :])
            if item is not None
        }
        return KitchenState(
            tuple(chefs),
            pots,
            counters,
            int(self._envs[i, K.E_TIME]),
            self._orders[int(self._envs[i, K.E_ORDERS])],
        )

    def info(self) -> Mapping[str, Any]:
        """A summary of the batch's configuration (for logs and benchmarks)."""
        return {
            "layout": self.mdp.name,
            "num_envs": self.num_envs,
            "num_chefs": self.num_chefs,
            "horizon": self.horizon,
            "start": self.start,
            "auto_reset": self.auto_reset,
            "observation_shape": self.observation_shape,
            "observation_dtype": str(self.observation_dtype),
            "parallel": self.parallel,
            "threads": numba.get_num_threads() if self.parallel else 1,
        }
