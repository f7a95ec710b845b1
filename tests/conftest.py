"""Test-wide settings: tests marked ``hardware`` run only where hardware is attached."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.hardware`` tests unless BRIGADE_HARDWARE=1 says a robot is attached."""
    if os.environ.get("BRIGADE_HARDWARE") == "1":
        return
    skip = pytest.mark.skip(reason="needs real hardware (set BRIGADE_HARDWARE=1 to run)")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
