"""The planner across the bus: a planner node, and the proxy a runner plays it through.

A planner needs its chat backend (with its record/replay cache), a read-only
view of the environment and, for ReAd, a critic. On the bus each of these may
live on another host, so the planner node holds a :class:`PlannerHost`:

- :meth:`PlannerHost.start` begins a run: the chat backend (built once per
  settings and kept, so its cache and connections outlive runs), a fresh
  ledger with the run's budget, and the addresses of the environment and
  critic nodes;
- :meth:`PlannerHost.reset` builds the episode's planner by name, a
  :class:`~brigade.task_env.PlannerView` of the environment node (through a
  :class:`~brigade.bus.proxies.RemoteEnv`), a chat session, and the critic
  (a :class:`~brigade.bus.proxies.RemoteCritic` of the critic node);
- :meth:`PlannerHost.plan` and :meth:`PlannerHost.observe` play it.

Every reply carries what the episode's chat recorded since the previous one
(transcript entries, counters, ledger entries), so the runner's records,
transcripts and ledger are those of a run in one process. When a call fails
(an unreadable reply, a spent budget), :class:`RemotePlanner` fetches what was
recorded before the failure, then raises the same error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from brigade.agents.backends import build_llm
from brigade.agents.ledger import Ledger, LedgerEntry, PriceTable
from brigade.agents.session import ChatTotals, TranscriptEntry
from brigade.bus.client import Client
from brigade.bus.proxies import RemoteComponent, RemoteCritic, RemoteEnv
from brigade.bus.security import SecurityConfig
from brigade.bus.services import Service, register_service
from brigade.chat import ChatModel, SamplingParams
from brigade.config import load_config
from brigade.errors import BrigadeError, ConfigError, InputError
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient, Planner
from brigade.planners.episode import NoChat, attach_expert, episode_chat
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView

__all__ = ["PLANNER_HOST", "BackendSettings", "PlannerHost", "RelayedChat", "RemotePlanner"]


@dataclass(frozen=True)
class BackendSettings:
    """The chat settings of a run that a planner node needs (see ``RunConfig``)."""

    llm: str = "sim"
    model: str = ""
    base_url: str = ""
    cache: str = ""
    cache_mode: str = "readwrite"
    llm_options: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.0
    max_tokens: int = 512
    budget_usd: float = 0.0
    budget_tokens: int = 0

    @classmethod
    def of(cls, config: Any) -> BackendSettings:
        """The settings of a run's config (a ``RunConfig``: fields of the same names)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})

    def build(self) -> ChatModel:
        """The chat backend these settings describe (``build_llm``)."""
        return build_llm(
            self.llm,
            model=self.model,
            base_url=self.base_url,
            options=self.llm_options,
            cache=self.cache,
            cache_mode=self.cache_mode,
        )

    def backend_key(self) -> str:
        """What the backend depends on (a backend is rebuilt only when this changes)."""
        keep = ("llm", "model", "base_url", "cache", "cache_mode", "llm_options")
        return json.dumps({k: getattr(self, k) for k in keep}, sort_keys=True, default=str)


@dataclass(frozen=True)
class NodeRef:
    """How the planner node reaches another node.

    Attributes:
        address: The node's endpoint.
        server_key: Its public key (a name in the planner node's key store, a key
            or a file) for CURVE; empty on loopback without keys.
    """

    address: str
    server_key: str = ""

    def client(
        self,
        name: str,
        *,
        security: SecurityConfig | None = None,
        liveness_s: float = 1.0,
        retries: int = 2,
    ) -> Client:
        """A client of the node, named ``name``, with the caller's keys."""
        return Client(
            self.address,
            name=name,
            security=security,
            server_key=self.server_key or None,
            liveness_s=liveness_s,
            retries=retries,
        )


class _NodeExpert:
    """The environment node's scripted expert, for the ceiling planner only."""

    def __init__(self, client: Client):
        self.client = client

    def expert_plan(self) -> JointPlan:
        plan: JointPlan = self.client.call("expert_plan")
        return plan


class _EpisodeChat:
    """What the planner node keeps of one episode's chat, and what it sent already."""

    def __init__(self, chat: Any):
        self.chat = chat
        self.sent_entries = 0

    def drain(self, ledger: Ledger, sent_ledger: int) -> tuple[dict[str, Any], int]:
        chat = self.chat
        entries = chat.entries[self.sent_entries :]
        self.sent_entries += len(entries)
        ledger_entries = ledger.entries[sent_ledger:]
        report = {
            "entries": [{"kind": e.kind, "data": e.data, "t": e.t} for e in entries],
            "counters": {
                "queries": chat.queries,
                "retries": chat.retries,
                "tokens_in": chat.tokens_in,
                "tokens_out": chat.tokens_out,
                "cost_usd": chat.cost_usd,
            },
            "ledger": [e.to_dict() for e in ledger_entries],
        }
        return report, sent_ledger + len(ledger_entries)


class PlannerHost:
    """What a planner node serves (see the module docstring).

    Args:
        security: This node's keys, used by its clients of the environment and
            critic nodes (``None``: plain sockets, loopback only).
        liveness_s: Silence after which the environment or critic node is presumed gone.
        retries: Reconnects before a call to them gives up.
    """

    def __init__(
        self,
        *,
        security: SecurityConfig | None = None,
        liveness_s: float = 1.0,
        retries: int = 2,
    ):
        self.security = security
        self.liveness_s = liveness_s
        self.retries = retries
        self._lock = threading.Lock()
        self._llm: ChatModel | None = None
        self._llm_key = ""
        self._settings = BackendSettings()
        self._ledger = Ledger(PriceTable())
        self._sent_ledger = 0
        self._run = ""
        self._env: Client | None = None
        self._critic: Client | None = None
        self._planner: Planner | None = None
        self._view: PlannerView | None = None
        self._chat: _EpisodeChat | None = None

    # ------------------------------------------------------------------ the run

    def start(
        self,
        settings: dict[str, Any],
        env: dict[str, str],
        critic: dict[str, str] | None = None,
        run: str = "",
        needs_llm: bool = True,
    ) -> dict[str, Any]:
        """Begin a run; returns what the runner records of the backend.

        Args:
            settings: The run's :class:`BackendSettings`, as a dict.
            env: The environment node (:class:`NodeRef` fields).
            critic: The critic node, if the run's planners use one.
            run: The run's id (for the ledger).
            needs_llm: Whether a planner of the run talks to an LLM (the backend is
                then built now, so that the runner can record it before any episode).

        Raises:
            ConfigError: A setting is unknown or bad, or the backend cannot be built.
        """
        parsed = load_config(BackendSettings, values=dict(settings))
        with self._lock:
            self._settings = parsed
            self._ledger = Ledger(
                PriceTable(),
                budget_usd=parsed.budget_usd or None,
                budget_tokens=parsed.budget_tokens or None,
            )
            self._sent_ledger = 0
            self._run = run
            self._env = self._reconnect(self._env, NodeRef(**env), "env")
            self._critic = (
                self._reconnect(self._critic, NodeRef(**critic), "critic")
                if critic is not None
                else None
            )
            self._end_episode()
            if needs_llm:
                self._backend()
        return self.backend()

    def backend(self) -> dict[str, Any]:
        """The backend's model name and description (``None`` for both before one is needed)."""
        llm = self._llm
        if llm is None:
            return {"model": None, "describe": None}
        return {"model": llm.model, "describe": llm.describe()}

    def _reconnect(self, client: Client | None, ref: NodeRef, role: str) -> Client:
        if client is not None and client.address == ref.address and not client.closed:
            return client
        if client is not None:
            client.close()
        return ref.client(
            f"planner-{role}",
            security=self.security,
            liveness_s=self.liveness_s,
            retries=self.retries,
        )

    def _backend(self) -> ChatModel:
        key = self._settings.backend_key()
        if self._llm is None or key != self._llm_key:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._llm = self._settings.build()
            self._llm_key = key
        return self._llm

    # ------------------------------------------------------------------ an episode

    def reset(
        self,
        planner: str,
        options: dict[str, Any],
        seed: int,
        episode: str = "",
        critic: str = "",
    ) -> dict[str, Any]:
        """Start an episode of ``planner`` on the environment node's current episode.

        The runner has built and reset the environment (``make``, ``reset``)
        already; the critic node is pointed at the task here.

        Args:
            planner: A registered planner name.
            options: The planner's settings (its config's fields).
            seed: The episode's seed.
            episode: The episode's id (transcripts, ledger).
            critic: The critic spec (``""``: the one shipped for the task).

        Returns:
            ``needs_llm``, ``prompt_versions``, ``critic`` (its description or
            ``None``) and what the chat recorded (see :meth:`drain`).
        """
        if self._env is None:
            raise InputError("this planner node has no run: call start() first")
        entry = PLANNERS.get(planner)
        config = load_config(entry.config, values=dict(options)) if options else entry.config()
        built = PLANNERS.build(planner, config)
        self._end_episode()
        # The environment node's session belongs to the runner, which reset it:
        # this view only reads, so it accepts the node's current instance.
        self._env.new_session()
        env = RemoteEnv(self._env)
        view = env.planner_view()
        chat: Any = NoChat()
        if built.needs_llm:
            s = self._settings
            params = SamplingParams(temperature=s.temperature, max_tokens=s.max_tokens)
            chat = episode_chat(
                built,
                self._backend(),
                self._ledger,
                params,
                seed=seed,
                run=self._run,
                episode=episode,
            )
        attach_expert(built, _NodeExpert(self._env))  # only the ceiling asks for it
        described = None
        if getattr(built, "needs_critic", False):
            if self._critic is None:
                raise ConfigError(
                    f"{planner} needs a critic node; the run named none", key="critic"
                )
            self._critic.call("use", critic, view.env_id, seed)
            remote = RemoteCritic(self._critic)
            described = remote.describe()
            built.attach_critic(remote)  # type: ignore[attr-defined]
        self._planner, self._view, self._chat = built, view, _EpisodeChat(chat)
        built.reset(view, chat, seed=seed)
        return {
            "needs_llm": built.needs_llm,
            "prompt_versions": built.prompt_versions(),
            "critic": described,
            **self.drain(),
        }

    def _episode(self) -> tuple[Planner, PlannerView]:
        if self._planner is None or self._view is None:
            raise InputError("this planner node has no episode: call reset() first")
        return self._planner, self._view

    def plan(self) -> dict[str, Any]:
        """The joint plan to execute now, and what the chat recorded meanwhile."""
        planner, view = self._episode()
        plan = planner.plan(view)
        return {"plan": plan, **self.drain()}

    def observe(self, plan: JointPlan, outcome: Outcome) -> dict[str, Any]:
        """Tell the planner what the plan did; returns what the chat recorded meanwhile."""
        planner, _ = self._episode()
        planner.observe(plan, outcome)
        return self.drain()

    def stats(self) -> dict[str, Any]:
        """The episode's planner counters."""
        planner, _ = self._episode()
        return dict(planner.stats())

    def drain(self) -> dict[str, Any]:
        """What the episode's chat recorded since the last report.

        ``entries`` (transcript entries), ``counters`` (the episode's queries,
        retries, tokens and cost so far), ``ledger`` (new ledger entries) and
        ``stats`` (the planner's counters now, so the runner can record them
        even when the node is lost afterwards).
        """
        with self._lock:
            if self._chat is None:
                return {"entries": [], "counters": {}, "ledger": [], "stats": {}}
            report, self._sent_ledger = self._chat.drain(self._ledger, self._sent_ledger)
            planner = self._planner
            report["stats"] = dict(planner.stats()) if planner is not None else {}
            return report

    def _end_episode(self) -> None:
        self._planner = self._view = self._chat = None

    def close(self) -> None:
        """Close the backend and the clients (the node calls it when it stops)."""
        for client in (self._env, self._critic):
            if client is not None:
                client.close()
        if self._llm is not None:
            self._llm.close()
            self._llm = None


class RelayedChat(ChatTotals):
    """The runner's side of a remote planner's chat: the transcript and the counters.

    It holds what :class:`~brigade.agents.session.ChatSession` holds for a runner
    (``entries``, ``queries``, ``retries``, ``tokens_in``, ``tokens_out``,
    ``cost_usd``), filled from the planner node's reports, and adds the node's
    ledger entries to the run's ledger. ``note`` adds the runner's own entries.
    """

    def __init__(self, ledger: Ledger | None = None):
        super().__init__()
        self.ledger = ledger

    def ask(self, *args: Any, **kwargs: Any) -> str:
        """Refuse: the planner node asks its backend itself."""
        raise ConfigError("a remote planner's queries are asked by its node")

    def absorb(self, report: dict[str, Any]) -> None:
        """Add a planner node's report (see :meth:`PlannerHost.drain`)."""
        for item in report.get("entries", ()):
            self.entries.append(TranscriptEntry(item["kind"], item["data"], item["t"]))
        counters = report.get("counters") or {}
        self.queries = int(counters.get("queries", self.queries))
        self.retries = int(counters.get("retries", self.retries))
        self.tokens_in = int(counters.get("tokens_in", self.tokens_in))
        self.tokens_out = int(counters.get("tokens_out", self.tokens_out))
        self.cost_usd = float(counters.get("cost_usd", self.cost_usd))
        if self.ledger is not None:
            for item in report.get("ledger", ()):
                self.ledger.add(LedgerEntry(**item))


class RemotePlanner(RemoteComponent, Planner):
    """A :class:`~brigade.planner.Planner` played by a planner node.

    The runner resets the environment node's episode first; ``reset`` then
    starts the planner on the node, which reads the environment through its own
    view. The ``view`` given to :meth:`plan` is not sent: the node has its own.

    Args:
        target: The planner node's address, or a :class:`Client` of it.
        planner: The planner's registered name.
        options: Its settings.
        episode: The episode's id (transcripts, ledger).
        critic: The critic spec for the critic node.
        **client_options: Options of the :class:`Client` built for an address.
    """

    name = "remote"
    _default_name = "planner-client"

    def __init__(
        self,
        target: str | Client,
        planner: str,
        *,
        options: dict[str, Any] | None = None,
        episode: str = "",
        critic: str = "",
        **client_options: Any,
    ):
        entry = PLANNERS.get(planner)
        super().__init__(target, **client_options)
        self.planner = planner
        self.options = dict(options or {})
        self.episode = episode
        self.critic_spec = critic
        self.needs_llm = bool(getattr(entry.factory, "needs_llm", True))  # type: ignore[misc]
        self.critic: dict[str, Any] | None = None
        self._versions: dict[str, str] = {}
        self._stats: dict[str, int | float] = {}
        self._chat: RelayedChat | None = None

    def _call(self, method: str, *args: Any) -> Any:
        """Call the node; on a failure, keep what its chat recorded before raising."""
        try:
            reply = self.client.call(method, *args)
        except BrigadeError:
            # If the node is gone, what it recorded since its last reply is lost.
            with contextlib.suppress(BrigadeError):
                self._absorb(self.client.call("drain"))
            raise
        self._absorb(reply)
        return reply

    def _absorb(self, report: dict[str, Any]) -> None:
        self._stats = dict(report.get("stats") or self._stats)
        if self._chat is not None:
            self._chat.absorb(report)

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start the episode on the node (``chat`` must be a :class:`RelayedChat`)."""
        if chat is not None and not isinstance(chat, RelayedChat):
            raise TypeError(
                f"a remote planner reports its node's chat into a RelayedChat, not a "
                f"{type(chat).__name__}"
            )
        self._chat = chat if chat is not None else RelayedChat()
        reply = self._call(
            "reset", self.planner, self.options, seed, self.episode, self.critic_spec
        )
        self.needs_llm = bool(reply["needs_llm"])  # type: ignore[misc]
        self._versions = dict(reply["prompt_versions"])
        self.critic = reply["critic"]

    def plan(self, view: PlannerView) -> JointPlan:
        """The node planner's joint plan."""
        plan: JointPlan = self._call("plan")["plan"]
        return plan

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Tell the node's planner what happened (without the frames: planners read none)."""
        self._call("observe", plan, dataclasses.replace(outcome, frames=None))

    def prompt_versions(self) -> dict[str, str]:
        """The node planner's prompt versions."""
        return dict(self._versions)

    def stats(self) -> dict[str, int | float]:
        """The node planner's counters, as of its last reply."""
        return dict(self._stats)


PLANNER_HOST = register_service(
    Service(
        "planner",
        PlannerHost,
        methods=frozenset({"start", "backend", "reset", "plan", "observe", "stats", "drain"}),
        read_only=frozenset({"backend", "stats"}),
        stateful=True,
        session_start=frozenset({"start", "reset"}),
    )
)
