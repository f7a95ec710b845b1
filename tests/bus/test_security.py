"""Bus security over real sockets: loopback checks, the key store, CURVE with ZAP."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from brigade.bus.security import (
    AUTHORIZED_DIR,
    SecurityConfig,
    authorize,
    create_keypair,
    default_keys_dir,
    is_loopback,
    list_keys,
    load_authorized,
    load_keypair,
    public_key,
    reload_authorized,
    revoke,
    secure_bind,
    secure_client,
    secure_connect,
    secure_server,
    stop_authenticator,
)
from brigade.errors import BusError, ConfigError, SecurityError

# Long enough for a CURVE handshake on a loaded machine, short enough to keep refusals quick.
ANSWER_MS = 3000
REFUSED_MS = 300

Socket = zmq.Socket[Any]


@pytest.mark.parametrize(
    "address",
    [
        "tcp://127.0.0.1:5555",
        "tcp://127.0.0.2:5555",
        "tcp://localhost:*",
        "TCP://LocalHost:5555",
        "tcp://[::1]:5555",
        "tcp://::1:5555",
        "tcp://[::ffff:127.0.0.1]:5555",
        "tcp://127.0.0.1:0;127.0.0.1:5555",
        "ws://127.0.0.1:8080/bus",
        "ipc:///tmp/brigade.sock",
        "ipc://@abstract",
        "inproc://planner",
    ],
)
def test_local_endpoints(address: str) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address",
    [
        "tcp://*:5555",
        "tcp://*:*",
        "tcp://0.0.0.0:5555",
        "tcp://eth0:5555",
        "tcp://10.0.0.2:5555",
        "tcp://robot1.lab:5555",
        "tcp://[::]:5555",
        "tcp://[fe80::1%eth0]:5555",
        "tcp://10.0.0.1;127.0.0.1:5555",
        "tcp://127.0.0.1:0;10.0.0.2:5555",
        "udp://192.168.1.20:5555",
        "wss://10.0.0.2:443/bus",
        "epgm://eth0;239.192.1.1:5555",
    ],
)
def test_remote_endpoints(address: str) -> None:
    assert not is_loopback(address)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1:5555",
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:",
        "tcp://127.0.0.1:port",
        "tcp://127.0.0.1:70000",
        "tcp://:5555",
        "tcp://[::1:5555",
        "tcp://[::1]x:5555",
        "tcp://[localhost]:5555",
        "tcp://bad host:5555",
        "http://127.0.0.1:80",
    ],
)
def test_malformed_endpoints_are_named(address: str) -> None:
    with pytest.raises(SecurityError) as caught:
        is_loopback(address)
    assert repr(address) in str(caught.value)
    assert isinstance(caught.value, BusError) and isinstance(caught.value, ConfigError)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A key store with key pairs server, client and intruder; only client is authorized."""
    keys = tmp_path / "keys"
    for name in ("server", "client", "intruder"):
        create_keypair(name, keys)
    authorize(keys / "client.key", keys)
    return keys


def test_created_key_pairs_are_private_and_listed(store: Path) -> None:
    assert mode(store / "server.key_secret") == 0o600
    assert mode(store / "server.key") == 0o644
    assert mode(store) == 0o700
    assert not list(store.glob(".new-*"))  # the staging folder is gone
    entries = {e.name: e for e in list_keys(store)}
    assert set(entries) == {"client", "intruder", "server"}  # client listed once
    assert entries["client"].authorized and entries["client"].has_secret
    assert not entries["server"].authorized
    assert entries["server"].public == load_keypair("server", store).public.decode()
    assert len(entries["server"].public) == 40 and len(entries["server"].short) == 12


def test_a_key_pair_is_not_overwritten_unless_forced(store: Path) -> None:
    before = load_keypair("server", store)
    with pytest.raises(SecurityError, match=r"exists.*--force"):
        create_keypair("server", store)
    assert load_keypair("server", store) == before
    create_keypair("server", store, force=True)
    after = load_keypair("server", store)
    assert after.public != before.public
    assert mode(store / "server.key_secret") == 0o600


def test_a_secret_readable_by_others_is_refused_with_the_fix(store: Path) -> None:
    secret = store / "server.key_secret"
    os.chmod(secret, 0o644)
    with pytest.raises(SecurityError, match="readable by group or others") as caught:
        load_keypair("server", store)
    assert f"chmod 600 {secret}" in str(caught.value)
    with pytest.raises(SecurityError, match="chmod 600"):
        SecurityConfig.load("server", keys_dir=store)
    os.chmod(secret, 0o600)
    assert load_keypair("server", store).name == "server"


def test_key_pairs_that_are_missing_or_badly_named_are_refused(store: Path) -> None:
    with pytest.raises(SecurityError, match="brigade keys create nobody"):
        load_keypair("nobody", store)
    for bad in ("../server", "a/b", "", "server.key"):
        with pytest.raises(SecurityError, match="bad key name"):
            create_keypair(bad, store)
    (store / "broken.key_secret").write_text('curve\n    public-key = "short"\n')
    os.chmod(store / "broken.key_secret", 0o600)
    with pytest.raises(SecurityError, match=r"broken\.key_secret"):
        load_keypair("broken", store)


def test_the_secret_stays_out_of_reprs(store: Path) -> None:
    config = SecurityConfig.load("server", keys_dir=store)
    assert config.keypair is not None
    assert config.keypair.secret.decode() not in repr(config)
    assert config.keypair.public.decode() in repr(config)


def test_authorize_and_revoke_peers(store: Path, tmp_path: Path) -> None:
    assert set(load_authorized(store)) == {"client"}
    with pytest.raises(SecurityError, match="secret key file"):
        authorize(store / "intruder.key_secret", store)
    with pytest.raises(SecurityError, match="already authorized"):
        authorize(store / "intruder.key", store, name="client")
    other = tmp_path / "laptop"
    create_keypair("laptop", other)
    target = authorize(other / "laptop.key", store)
    assert target == store / AUTHORIZED_DIR / "laptop.key"
    entries = {e.name: e for e in list_keys(store)}
    assert entries["laptop"].authorized and not entries["laptop"].has_secret
    assert revoke("laptop", store) == target
    assert set(load_authorized(store)) == {"client"}
    with pytest.raises(SecurityError, match="no authorized peer"):
        revoke("laptop", store)
    (tmp_path / "garbage.key").write_text("not a certificate\n")
    with pytest.raises(SecurityError, match=r"garbage\.key"):
        authorize(tmp_path / "garbage.key", store)


def test_public_keys_resolve_from_keys_files_and_names(store: Path) -> None:
    key = load_keypair("server", store).public
    assert public_key(key, store) == key
    assert public_key(key.decode(), store) == key
    assert public_key(str(store / "server.key"), store) == key
    assert public_key("server", store) == key
    with pytest.raises(SecurityError, match="unknown public key 'nobody'"):
        public_key("nobody", store)


def test_the_default_store_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BRIGADE_KEYS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert default_keys_dir() == tmp_path / "config" / "brigade" / "keys"
    monkeypatch.setenv("BRIGADE_KEYS", str(tmp_path / "lab"))
    assert default_keys_dir() == tmp_path / "lab"
    create_keypair("gpu1")
    assert (tmp_path / "lab" / "gpu1.key_secret").exists()
    assert SecurityConfig.load("gpu1").keys_dir == tmp_path / "lab"


# --- sockets ----------------------------------------------------------------------------------


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    stop_authenticator(context)
    context.destroy(linger=0)


def socket(context: zmq.Context[Any], kind: int) -> Socket:
    sock: Socket = context.socket(kind)
    sock.linger = 0
    return sock


def ask(client: Socket, server: Socket, payload: bytes, wait_ms: int) -> bytes | None:
    """One REQ/REP round trip; ``None`` when the server never hears the request."""
    client.send(payload)
    if not server.poll(wait_ms):
        return None
    server.send(b"re: " + server.recv())
    assert client.poll(ANSWER_MS), "the server answered but the client heard nothing"
    return client.recv()


def client_of(
    context: zmq.Context[Any], endpoint: str, security: SecurityConfig, key: bytes | None = None
) -> Socket:
    sock = socket(context, zmq.REQ)
    secure_connect(sock, endpoint, security, key)
    return sock


def test_curve_admits_authorized_clients_only(store: Path, ctx: zmq.Context[Any]) -> None:
    server = socket(ctx, zmq.REP)
    endpoint = secure_bind(
        server, "tcp://127.0.0.1:*", SecurityConfig.load("server", keys_dir=store)
    )
    assert server.curve_server and server.getsockopt(zmq.ZAP_DOMAIN) == b"brigade"
    good = SecurityConfig.load("client", keys_dir=store, server_key="server")
    assert ask(client_of(ctx, endpoint, good), server, b"one", ANSWER_MS) == b"re: one"

    intruder = SecurityConfig.load("intruder", keys_dir=store, server_key="server")
    assert ask(client_of(ctx, endpoint, intruder), server, b"let me in", REFUSED_MS) is None
    # No CURVE at all: the handshake fails on the mechanism.
    assert ask(client_of(ctx, endpoint, SecurityConfig()), server, b"hi", REFUSED_MS) is None
    # The authorized key with the wrong server key: the client cannot even say hello.
    wrong = load_keypair("intruder", store).public
    assert ask(client_of(ctx, endpoint, good, wrong), server, b"hey", REFUSED_MS) is None

    # The node keeps serving its authorized clients, old and new connections alike.
    assert ask(client_of(ctx, endpoint, good), server, b"two", ANSWER_MS) == b"re: two"


def test_peers_authorized_later_are_admitted_after_a_reload(
    store: Path, ctx: zmq.Context[Any]
) -> None:
    server = socket(ctx, zmq.REP)
    endpoint = secure_bind(
        server, "tcp://127.0.0.1:*", SecurityConfig.load("server", keys_dir=store)
    )
    intruder = SecurityConfig.load("intruder", keys_dir=store, server_key="server")
    authorize(store / "intruder.key", store)
    reload_authorized(ctx)
    assert ask(client_of(ctx, endpoint, intruder), server, b"now", ANSWER_MS) == b"re: now"


def test_a_non_loopback_bind_without_keys_is_refused_before_binding(ctx: zmq.Context[Any]) -> None:
    sock = socket(ctx, zmq.REP)
    for address in ("tcp://0.0.0.0:5555", "tcp://*:*", "tcp://[::]:5555", "tcp://eth0:5555"):
        with pytest.raises(
            SecurityError, match=r"refusing to bind .* without CURVE keys"
        ) as caught:
            secure_bind(sock, address, SecurityConfig())
        assert address in str(caught.value) and "brigade keys create" in str(caught.value)
    assert sock.getsockopt(zmq.LAST_ENDPOINT) == b""  # nothing was bound
    strict = SecurityConfig(allow_insecure_loopback=False)
    with pytest.raises(SecurityError, match="allow_insecure_loopback is off"):
        secure_server(sock, "tcp://127.0.0.1:5555", strict)
    with pytest.raises(SecurityError, match="malformed endpoint"):
        secure_server(sock, "tcp://127.0.0.1", SecurityConfig())
    # Plain loopback and inproc are fine without keys.
    secure_server(sock, "tcp://127.0.0.1:5555", SecurityConfig())
    secure_server(sock, "inproc://x", strict)
    assert not sock.curve_server


def test_clients_without_keys_stay_on_loopback(store: Path, ctx: zmq.Context[Any]) -> None:
    sock = socket(ctx, zmq.REQ)
    with pytest.raises(SecurityError, match=r"refusing to connect to tcp://10\.0\.0\.2:5555"):
        secure_client(sock, "tcp://10.0.0.2:5555", SecurityConfig())
    # A key pair without the server's key cannot do CURVE either.
    keys_only = SecurityConfig.load("client", keys_dir=store)
    with pytest.raises(SecurityError, match="server's public key"):
        secure_client(sock, "tcp://10.0.0.2:5555", keys_only)
    server_only = SecurityConfig(server_key=load_keypair("server", store).public)
    with pytest.raises(SecurityError, match="needs its own key pair"):
        secure_client(sock, "tcp://10.0.0.2:5555", server_only)
    secure_client(sock, "tcp://10.0.0.2:5555", keys_only, server_key="server")
    assert sock.getsockopt(zmq.MECHANISM) == zmq.CURVE and not sock.curve_server


def test_a_server_refuses_a_malformed_authorized_folder_before_binding(
    store: Path, ctx: zmq.Context[Any]
) -> None:
    (store / AUTHORIZED_DIR / "bad.key").write_text("nothing here\n")
    sock = socket(ctx, zmq.REP)
    with pytest.raises(SecurityError, match=r"bad\.key"):
        secure_bind(sock, "tcp://127.0.0.1:*", SecurityConfig.load("server", keys_dir=store))
    assert sock.getsockopt(zmq.LAST_ENDPOINT) == b""


def test_one_zap_domain_admits_one_folder_per_context(
    store: Path, tmp_path: Path, ctx: zmq.Context[Any]
) -> None:
    config = SecurityConfig.load("server", keys_dir=store)
    secure_server(socket(ctx, zmq.REP), "tcp://127.0.0.1:*", config)
    other = SecurityConfig(keypair=config.keypair, authorized=tmp_path / "elsewhere")
    with pytest.raises(SecurityError, match="another zap_domain"):
        secure_server(socket(ctx, zmq.REP), "tcp://127.0.0.1:*", other)
    apart = SecurityConfig(
        keypair=config.keypair, authorized=tmp_path / "elsewhere", zap_domain="arms"
    )
    sock = socket(ctx, zmq.REP)
    secure_server(sock, "tcp://127.0.0.1:*", apart)
    assert sock.getsockopt(zmq.ZAP_DOMAIN) == b"arms"
