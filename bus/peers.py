"""A node's record of its clients: at-most-once calls and liveness.

Per client identity (its DEALER's routing id, kept across reconnects) the node
keeps the requests pending and the last answered seq with its encoded reply:

- a new seq runs;
- a re-sent seq that is pending is ignored (its reply will come);
- a re-sent seq that was the last answered gets the same encoded reply again;
- an older seq is ignored.

So a call never runs twice for one request (``env.execute`` on a retry).
Clients are tracked from their first request (a monitor that only pings is
not), and one silent for longer than the node's ``client_timeout_s`` is
reported lost and forgotten.

Not thread-safe: whoever holds the node's socket uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Lost", "Peers"]

Decision = Literal["run", "resend", "ignore"]


class _Peer:
    __slots__ = ("done", "name", "pending", "reply", "seen")

    def __init__(self, name: str, seen: float):
        self.name = name
        self.seen = seen
        self.pending: set[int] = set()
        self.done = 0
        self.reply: list[Any] | None = None


@dataclass(frozen=True)
class Lost:
    """A client reported lost.

    Attributes:
        identity: Its routing id.
        name: The name it sent in its messages.
        silent_s: How long it had been silent.
    """

    identity: bytes
    name: str
    silent_s: float

    @property
    def text(self) -> str:
        """The routing id as text."""
        return self.identity.decode("utf-8", "backslashreplace")


class Peers:
    """The clients of one node (see the module docstring)."""

    def __init__(self) -> None:
        self._peers: dict[bytes, _Peer] = {}

    def __len__(self) -> int:
        return len(self._peers)

    def request(
        self, identity: bytes, name: str, seq: int, now: float
    ) -> tuple[Decision, list[Any] | None]:
        """What to do with request ``seq``: run it (now pending), resend a reply, or ignore it."""
        peer = self._peers.get(identity)
        if peer is None:
            peer = self._peers[identity] = _Peer(name, now)
        else:
            peer.seen = now
        if seq > peer.done and seq not in peer.pending:
            peer.pending.add(seq)
            return "run", None
        if seq == peer.done and peer.reply is not None:
            return "resend", peer.reply
        return "ignore", None

    def answered(self, identity: bytes, seq: int, frames: list[Any]) -> None:
        """Record the encoded answer to request ``seq`` (kept for a re-sent request)."""
        peer = self._peers.get(identity)
        if peer is not None:
            peer.pending.discard(seq)
            if seq > peer.done:
                peer.done, peer.reply = seq, frames

    def seen(self, identity: bytes, now: float, waiting: object = None) -> str | None:
        """Note a sign of life; returns what became of the client's request ``waiting``.

        ``running`` (pending), ``answered`` (its reply was sent), ``missing``
        (never received), or ``None`` when ``waiting`` is not a seq.
        """
        peer = self._peers.get(identity)
        if peer is not None:
            peer.seen = now
        if type(waiting) is not int:
            return None
        if peer is None:
            return "missing"
        if waiting in peer.pending:
            return "running"
        return "answered" if waiting <= peer.done else "missing"

    def leave(self, identity: bytes) -> bool:
        """Forget a client that said goodbye; whether it was known."""
        return self._peers.pop(identity, None) is not None

    def name(self, identity: bytes) -> str:
        """The name a client sent, or ``?``."""
        peer = self._peers.get(identity)
        return peer.name if peer is not None else "?"

    def sweep(self, now: float, timeout_s: float) -> list[Lost]:
        """Forget and return the clients silent for longer than ``timeout_s``."""
        limit = now - timeout_s
        lost = [
            Lost(identity, peer.name, now - peer.seen)
            for identity, peer in self._peers.items()
            if peer.seen < limit
        ]
        for gone in lost:
            del self._peers[gone.identity]
        return lost
