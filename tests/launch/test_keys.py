"""``brigade keys``: the handler, run through the parser it declares."""

from __future__ import annotations

import argparse
import io
import re
import stat
from pathlib import Path

import pytest
import zmq
from rich.console import Console

from brigade.bus.security import load_keypair
from brigade.errors import SecurityError
from brigade.launch.keys import add_keys_parser


def keys(*argv: str) -> str:
    """Run ``brigade keys ARGV...`` and return what it printed."""
    parser = argparse.ArgumentParser(prog="brigade")
    add_keys_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["keys", *argv])
    out = io.StringIO()
    assert args.func(args, [], Console(file=out, width=250)) == 0
    return out.getvalue()


def test_create_list_authorize_and_revoke(tmp_path: Path) -> None:
    store, laptop = tmp_path / "keys", tmp_path / "laptop"
    assert "no keys yet" in keys("list", "--dir", str(store))
    printed = keys("create", "gpu1", "--dir", str(store))
    public = load_keypair("gpu1", store).public.decode()
    assert "gpu1" in printed and public in printed and "brigade keys authorize" in printed
    assert stat.S_IMODE((store / "gpu1.key_secret").stat().st_mode) == 0o600

    keys("create", "laptop", "--dir", str(laptop))
    assert "authorized laptop" in keys("authorize", str(laptop / "laptop.key"), "--dir", str(store))
    listed = keys("list", "--dir", str(store))
    assert "gpu1" in listed and "laptop" in listed and public[:12] in listed
    assert public not in listed  # short form unless --full
    assert public in keys("list", "--full", "--dir", str(store))
    assert "revoked laptop" in keys("revoke", "laptop", "--dir", str(store))
    assert "laptop" not in keys("list", "--dir", str(store))


def test_errors_are_security_errors(tmp_path: Path) -> None:
    keys("create", "gpu1", "--dir", str(tmp_path))
    with pytest.raises(SecurityError, match="--force"):
        keys("create", "gpu1", "--dir", str(tmp_path))
    before = load_keypair("gpu1", tmp_path).public
    keys("create", "gpu1", "--force", "--dir", str(tmp_path))
    assert load_keypair("gpu1", tmp_path).public != before
    with pytest.raises(SecurityError, match="secret key file"):
        keys("authorize", str(tmp_path / "gpu1.key_secret"), "--dir", str(tmp_path))


def test_the_store_defaults_to_brigade_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIGADE_KEYS", str(tmp_path / "env"))
    keys("create", "arm")
    assert (tmp_path / "env" / "arm.key").exists()
    assert "arm" in keys("list")


def test_an_action_is_required() -> None:
    with pytest.raises(SystemExit):
        keys()


def test_keys_with_markup_characters_print_as_they_are(tmp_path: Path) -> None:
    # z85 uses '[' and ']': rich would take "[a...]" in a key for markup unless it is escaped.
    tag = re.compile(rb"\[[a-z#/@][^\[]*?\]")
    public = next(k for k, _ in iter(zmq.curve_keypair, None) if tag.search(k))
    peer = tmp_path / "peer.key"
    peer.write_text(f'metadata\ncurve\n    public-key = "{public.decode()}"\n')
    keys("authorize", str(peer), "--dir", str(tmp_path / "keys"))
    assert public.decode() in keys("list", "--full", "--dir", str(tmp_path / "keys"))
