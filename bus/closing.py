"""The context-manager protocol of everything on the bus that has a ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_C = TypeVar("_C", bound="Closing")


class Closing:
    """``with`` support for a class with ``close()``: the block's end closes it.

    Unlike :func:`contextlib.closing`, the object itself is the context manager,
    so ``with Client(...) as client:`` keeps the client's type.
    """

    def close(self) -> None:
        """Release what the object holds (sockets, threads)."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
