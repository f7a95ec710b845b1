"""The names of the chefs, as agents of the multi-agent APIs.

Chef ``i`` (0-based, the layout's start digit ``i + 1``) is always called
``CHEF_NAMES[i]``, in every API (PettingZoo agents, text descriptions, plans),
so that a name means the same chef everywhere.
"""

from __future__ import annotations

from brigade.errors import InputError

CHEF_NAMES = ("Alice", "Bob", "Chad", "Dave", "Emma", "Fred", "Gina", "Hugo", "Iris")
"""One name per chef a layout may hold (at most nine)."""


def chef_names(n: int) -> list[str]:
    """The names of the first ``n`` chefs.

    Args:
        n: Number of chefs, 1 to 9.

    Returns:
        A new list of ``n`` names, chef 0 first.

    Raises:
        InputError: ``n`` is not an integer in 1..9.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(CHEF_NAMES):
        raise InputError(f"a kitchen has 1 to {len(CHEF_NAMES)} chefs, got {n!r}")
    return list(CHEF_NAMES[:n])
