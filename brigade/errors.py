"""The typed error hierarchy of brigade.

Every error that bad input can cause derives from :class:`BrigadeError` and says
what was wrong and where: the file, the row and column, the key, the line of a
reply. Callers can catch a whole family (``except InputError``) or one kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BrigadeError(Exception):
    """Base class of every error brigade raises on purpose."""


class InputError(BrigadeError, ValueError):
    """Something given to brigade (a file, a config, a reply, a message) is malformed."""


class ConfigError(InputError):
    """A configuration key is unknown or a value is invalid.

    Attributes:
        message: What is wrong, without the key and source.
        key: The dotted key at fault (``planner.max_rounds``), or ``None``.
        source: Where the value came from (a file path, ``command line``), or ``None``.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        where = []
        if source:
            where.append(source)
        if key:
            where.append(f"key '{key}'")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)
        self.message = message
        self.key = key
        self.source = source


class LayoutError(InputError):
    """A kitchen layout file or grid is invalid.

    Attributes:
        path: The layout file, or ``None`` for a grid given in memory.
        row: 1-based row of the grid at fault, or ``None``.
        column: 1-based column (of the grid row, or of the file line) at fault, or ``None``.
        line: 1-based line of the file at fault, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: int | None = None,
        line: int | None = None,
    ):
        where = path or "<layout>"
        if line is not None:
            where += f", line {line}"
        if row is not None:
            where += f", grid row {row}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.row = row
        self.column = column
        self.line = line


class StateError(InputError):
    """A simulator state (for example an overcooked-ai state dict) is invalid for its MDP."""


class ActionParseError(InputError):
    """A line of text is not a well-formed action.

    Attributes:
        line: The offending line.
        reason: Why it is not an action.
    """

    def __init__(self, line: str, reason: str):
        super().__init__(f"not an action: {line!r}: {reason}")
        self.line = line
        self.reason = reason


class DescriptionParseError(InputError):
    """A text description of an environment state cannot be parsed back into a state."""


class PlanError(InputError):
    """A joint plan is malformed (wrong agents, unknown verbs) for the environment it targets."""


class InfrastructureError(BrigadeError):
    """A failure of the machinery around a planner (the chat server, the budget).

    These are reported apart and excluded from success rates: they are never a
    planner's mistake.

    Attributes:
        kind: The failure kind recorded in episode records.
    """

    kind = "infrastructure"


class RateLimitError(InfrastructureError):
    """The chat server kept refusing requests for rate limits after the retries."""

    kind = "rate_limit"


class ChatTimeoutError(InfrastructureError):
    """A chat request timed out, retries included."""

    kind = "timeout"


class ServerError(InfrastructureError):
    """The chat server failed (5xx, a dropped connection, a malformed body) after the retries."""

    kind = "server_error"


class BudgetExceededError(InfrastructureError):
    """The run's budget (cost or tokens) is spent; the run ends with what it recorded."""

    kind = "budget"


class CacheMissError(BrigadeError):
    """In replay-only mode, a request that the cache has never seen.

    A replay that misses cannot be faithful, so the run stops with this error.
    """


class ParseFailure(BrigadeError):
    """A reply stayed unreadable after the bounded re-asks: the planner's own failure.

    Attributes:
        reason: Why the last reply could not be read.
        reply: The last reply.
    """

    kind = "parse"

    def __init__(self, reason: str, reply: str = ""):
        super().__init__(f"the reply could not be read after the re-asks: {reason}")
        self.reason = reason
        self.reply = reply


class BusError(BrigadeError):
    """A failure on the ZeroMQ bus (bus/): a bad message, a lost node, a refused peer."""


class WireError(BusError, InputError):
    """A bus message is malformed: bad frames, a bad header, a refused type or dtype.

    The message says what was wrong and where (``header.body.actions[2]``...).
    """


class MessageTooLargeError(WireError):
    """A bus message, or one of its frames, is larger than the configured bound."""


class SchemaVersionError(WireError):
    """A peer speaks another version of the wire schema.

    Attributes:
        theirs: The peer's schema version.
        ours: This node's schema version.
    """

    def __init__(self, theirs: object, ours: int):
        super().__init__(
            f"the peer speaks bus schema version {theirs!r}, this node speaks {ours}: "
            "run the same brigade release on both ends"
        )
        self.theirs = theirs
        self.ours = ours


class NodeUnavailableError(BusError, InfrastructureError):
    """A node did not answer within its timeout and retries, or its heartbeats stopped.

    Infrastructure, not a planner's mistake: a run that meets it ends cleanly with
    everything recorded so far.
    """

    kind = "node_unavailable"


class RemoteError(BusError):
    """The component behind a node raised while serving a request.

    Attributes:
        node: The node that answered.
        remote_type: The exception's class name on the node.
        remote_message: The exception's message on the node.
    """

    def __init__(self, node: str, remote_type: str, remote_message: str):
        super().__init__(f"node {node!r} raised {remote_type}: {remote_message}")
        self.node = node
        self.remote_type = remote_type
        self.remote_message = remote_message


class SecurityError(BusError, ConfigError):
    """A bus address or key set is unsafe or unusable.

    For example a non-loopback bind without CURVE keys, or a missing or malformed
    certificate file.
    """


class RegistryError(BrigadeError, KeyError):
    """A name or id is not registered, or is registered twice."""

    def __str__(self) -> str:  # KeyError would quote the message; keep it readable.
        return str(self.args[0]) if self.args else ""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``word``, or ``None`` when nothing is close.

    Used by every "unknown name" error to suggest what the user probably meant.
    """
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""
