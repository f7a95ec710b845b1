"""Registries: extension points keyed by name, open to third parties.

Two kinds live here:

- :class:`Registry`: components (planners, critics, experts, chat backends...)
  registered by one decorator that pairs a config dataclass with its
  implementation, so there are no if/elif factories anywhere.
- :class:`EnvRegistry`: versioned environment ids (``kitchen/cramped_room-v0``)
  that build both the PettingZoo ``ParallelEnv`` and the skill-level
  :class:`~brigade.task_env.TaskEnv` of one task.

Third-party packages add entries through ``importlib.metadata`` entry points:
the group of a registry names callables (or modules) that register their
entries when loaded; they are loaded on the first lookup.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, is_dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from brigade.errors import RegistryError, did_you_mean

T = TypeVar("T")


def _load_entry_point_group(group: str) -> list[str]:
    """Load every entry point of ``group``; return the names of those that failed."""
    failed = []
    for ep in entry_points(group=group):
        try:
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded()  # a registration function; a module registers on import
        except Exception as exc:  # a broken plug-in must not break brigade itself
            failed.append(f"{ep.name} ({ep.value}): {type(exc).__name__}: {exc}")
    return failed


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component: its name, config dataclass and factory."""

    name: str
    config: type
    factory: Callable[..., T]
    description: str = ""


class Registry(Generic[T]):
    """Components of one kind, registered by name with a config dataclass.

    Example::

        experts = Registry[Expert]("expert", "brigade.experts")

        @experts.register("greedy", config=GreedyConfig)
        class GreedyExpert(Expert):
            def __init__(self, config: GreedyConfig, **context): ...

        expert = experts.build("greedy", GreedyConfig(noise=0.1))
    """

    def __init__(
        self, kind: str, entry_point_group: str | None = None, builtins: tuple[str, ...] = ()
    ):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._builtins = builtins
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = entry_point_group is None and not builtins
        self._lock = threading.RLock()
        #: Plug-ins that failed to load, with the reason (they are skipped).
        self.plugin_failures: list[str] = []

    def register(
        self, name: str, *, config: type, description: str = ""
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers an implementation under ``name`` with its config class."""
        if not is_dataclass(config):
            raise TypeError(f"the config of {self.kind} {name!r} must be a dataclass")

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries and self._entries[name].factory is not factory:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            doc_lines = (factory.__doc__ or "").strip().splitlines()
            text = description or (doc_lines[0] if doc_lines else "")
            self._entries[name] = Entry(name, config, factory, text)
            return factory

        return decorator

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for module in self._builtins:  # brigade's own entries register on import
                importlib.import_module(module)
            if self.entry_point_group:
                self.plugin_failures = _load_entry_point_group(self.entry_point_group)
            self._loaded = True  # only once loaded: other threads wait on the lock

    def names(self) -> list[str]:
        """The registered names, sorted."""
        self._ensure_loaded()
        return sorted(self._entries)

    def get(self, name: str) -> Entry[T]:
        """Return the entry for ``name``.

        Raises:
            RegistryError: No such entry; the message suggests the closest name.
        """
        self._ensure_loaded()
        try:
            return self._entries[name]
        except KeyError:
            hint = did_you_mean(name, self._entries)
            raise RegistryError(
                f"unknown {self.kind} {name!r}{hint}; registered: {', '.join(self.names())}"
            ) from None

    def build(self, name: str, config: Any = None, **context: Any) -> T:
        """Build the component ``name`` from its config (the default config if ``None``)."""
        entry = self.get(name)
        if config is None:
            config = entry.config()
        if not isinstance(config, entry.config):
            raise TypeError(
                f"{self.kind} {name!r} takes a {entry.config.__name__}, "
                f"not a {type(config).__name__}"
            )
        return entry.factory(config, **context)

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


_ID_RE = re.compile(
    r"^(?P<family>[a-z0-9][a-z0-9_\-]*(?:/[a-z0-9][a-z0-9_\-.]*)+)-v(?P<version>\d+)$"
)
_FAMILY_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*(?:/[a-z0-9][a-z0-9_\-.]*)+$")


@dataclass(frozen=True)
class EnvSpec:
    """A registered environment id and how to build its two APIs.

    Attributes:
        id: The full id, ``family-vN``.
        make_parallel: Builds the PettingZoo ``ParallelEnv`` (keyword overrides allowed).
        make_task: Builds the :class:`~brigade.task_env.TaskEnv`.
        description: One line for listings.
        parallel_kwargs: Keyword arguments ``make_parallel`` gets (overridable).
        task_kwargs: Keyword arguments ``make_task`` gets (overridable; recorded in manifests).
        identity: Keyword arguments that define the task (a layout, a mode): they
            cannot be overridden, since the id would then name something else.
        runner_options: Runner-wide settings the task accepts as keyword
            arguments (the kitchen's ``cell_px`` for its videos).
    """

    id: str
    make_parallel: Callable[..., Any] | None
    make_task: Callable[..., Any] | None
    description: str = ""
    parallel_kwargs: dict[str, Any] = field(default_factory=dict)
    task_kwargs: dict[str, Any] = field(default_factory=dict)
    identity: tuple[str, ...] = ()
    runner_options: tuple[str, ...] = ()

    def check_overrides(self, kwargs: dict[str, Any]) -> None:
        """Refuse overrides of the keys that define the task.

        Raises:
            ConfigError: ``kwargs`` overrides one of :attr:`identity`.
        """
        from brigade.errors import ConfigError

        for key in self.identity:
            if key in kwargs:
                raise ConfigError(
                    f"{self.id} is defined by its {key}; register a new id (or use the "
                    "simulator's class directly) for another one",
                    key=key,
                )

    @property
    def family(self) -> str:
        """The id without its version suffix."""
        return split_env_id(self.id)[0]

    @property
    def version(self) -> int:
        """The version number."""
        return split_env_id(self.id)[1]


def split_env_id(env_id: str) -> tuple[str, int]:
    """Split ``family-vN`` into ``(family, N)``.

    Raises:
        RegistryError: The id is not of that form.
    """
    match = _ID_RE.match(env_id)
    if not match:
        raise RegistryError(
            f"bad environment id {env_id!r}: ids look like 'kitchen/cramped_room-v0' "
            "(lower case, a family and a name joined by '/', and a version suffix)"
        )
    return match["family"], int(match["version"])


class EnvRegistry:
    """Versioned environment ids; the version suffix may be left out (latest is meant)."""

    def __init__(
        self, entry_point_group: str | None = "brigade.envs", builtins: tuple[str, ...] = ()
    ):
        self._specs: dict[str, EnvSpec] = {}
        self._entry_point_group = entry_point_group
        self._builtins = builtins
        self._loaded = False
        self.plugin_failures: list[str] = []
        self._lock = threading.RLock()

    def register(self, spec: EnvSpec) -> None:
        """Register an environment id.

        Raises:
            RegistryError: The id is malformed or already registered.
        """
        split_env_id(spec.id)
        if spec.make_parallel is None and spec.make_task is None:
            raise RegistryError(f"{spec.id}: give at least one of make_parallel and make_task")
        existing = self._specs.get(spec.id)
        if existing is not None and existing != spec:
            raise RegistryError(f"environment {spec.id!r} is already registered")
        self._specs[spec.id] = spec

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for module in self._builtins:
                loaded = importlib.import_module(module)
                register_all = getattr(loaded, "register_all", None)
                if callable(register_all):
                    register_all()
            if self._entry_point_group:
                self.plugin_failures = _load_entry_point_group(self._entry_point_group)
            self._loaded = True

    def ids(self) -> list[str]:
        """Every registered id (with versions), sorted."""
        self._ensure_loaded()
        return sorted(self._specs)

    def spec(self, env_id: str) -> EnvSpec:
        """Resolve an id (with or without version) to its spec.

        Raises:
            RegistryError: Unknown id; the message suggests the closest one.
        """
        self._ensure_loaded()
        if env_id in self._specs:
            return self._specs[env_id]
        if _FAMILY_RE.match(env_id):
            versions = [s for s in self._specs.values() if s.family == env_id]
            if versions:
                return max(versions, key=lambda s: s.version)
        else:
            split_env_id(env_id)  # raises the "bad id" error for malformed ids
        families = {s.family for s in self._specs.values()}
        hint = did_you_mean(env_id, [*self._specs, *families])
        raise RegistryError(
            f"unknown environment {env_id!r}{hint}; `brigade envs` lists the registered ids"
        )
