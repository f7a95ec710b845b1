"""Bus security: the CURVE key store, loopback checks and ZAP authentication.

Every socket that leaves the host is encrypted and authenticated with CURVE; a
ZAP handler (pyzmq's ``ThreadAuthenticator``) admits only the public keys in the
key store's ``authorized/`` folder, like SSH's ``authorized_keys``. Plain
sockets may use loopback only, and only while ``allow_insecure_loopback`` holds.

The key store is a folder (``$BRIGADE_KEYS``, else ``$XDG_CONFIG_HOME/brigade/keys``,
else ``~/.config/brigade/keys``)::

    NAME.key           public certificate of this host's key pair NAME
    NAME.key_secret    its secret certificate (mode 0600, refused otherwise)
    authorized/*.key   public certificates of the peers allowed to connect

Node code calls :func:`secure_server` before ``bind`` and :func:`secure_client`
before ``connect`` (or :func:`secure_bind` / :func:`secure_connect`), and
:func:`stop_authenticator` before ``context.term()``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from brigade.errors import SecurityError

log = logging.getLogger(__name__)

AUTHORIZED_DIR = "authorized"
"""Subfolder of the key store that holds the public keys of admitted peers."""

PathLike: TypeAlias = "str | os.PathLike[str]"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_LOCAL = {"ipc", "inproc"}  # the peer is a file or this process: never another host
_IP = {"tcp", "udp", "ws", "wss"}
_REMOTE = {"pgm", "epgm", "norm", "vmci", "tipc"}  # multicast, VMs, clusters


def default_keys_dir() -> Path:
    """The key store folder: ``$BRIGADE_KEYS``, else ``<config home>/brigade/keys``."""
    if os.environ.get("BRIGADE_KEYS"):
        return Path(os.environ["BRIGADE_KEYS"]).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "brigade" / "keys"


def _store(keys_dir: PathLike | None) -> Path:
    return Path(keys_dir).expanduser() if keys_dir is not None else default_keys_dir()


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith((".key", ".key_secret")):
        raise SecurityError(
            f"bad key name {name!r}: use letters, digits, '_', '-' and '.' (at most 64), "
            "without a .key suffix"
        )
    return name


# --- endpoints ----------------------------------------------------------------------------------


def _host_is_loopback(address: str, part: str, *, need_port: bool) -> bool:
    """Whether ``HOST:PORT`` (a ``part`` of ``address``) names this host only."""
    bad = f"malformed endpoint {address!r}"
    if part.startswith("["):
        close = part.find("]")
        host, rest = part[1:close], part[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            raise SecurityError(f"{bad}: unbalanced '[' in {part!r}")
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = part.rpartition(":")
        host, port = (host, port_text) if colon else (part, None)
    if port is None and need_port:
        raise SecurityError(f"{bad}: no port (tcp://HOST:PORT)")
    if port is not None and port != "*" and not (port.isdigit() and int(port) <= 65535):
        raise SecurityError(f"{bad}: bad port {port!r}")
    if host == "*":
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if part.startswith("[") or not _HOST.fullmatch(host):
            raise SecurityError(f"{bad}: bad host {host!r}") from None
        # Names are not resolved: any other name may be anywhere, or be an interface (eth0).
        return host.lower() == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, which Python < 3.13 misses
    return ip.is_loopback


def is_loopback(address: str) -> bool:
    """Whether a ZeroMQ endpoint reaches this host only.

    ``tcp://127.0.0.1:5555``, ``tcp://localhost:*``, ``tcp://[::1]:5555``, ``ipc://``
    and ``inproc://`` are local; ``tcp://*:5555``, ``tcp://0.0.0.0:5555``,
    ``tcp://eth0:5555`` and every other host are not. With a source address
    (``tcp://SRC;DEST``) both ends must be local.

    Args:
        address: An endpoint as given to ``bind`` or ``connect``.

    Returns:
        True when no other machine can be at either end.

    Raises:
        SecurityError: The endpoint is malformed or its transport unknown.
    """
    scheme, sep, rest = address.partition("://")
    scheme = scheme.lower()
    if not sep or not rest:
        raise SecurityError(f"malformed endpoint {address!r}: expected TRANSPORT://ADDRESS")
    if scheme in _LOCAL or scheme in _REMOTE:
        return scheme in _LOCAL
    if scheme not in _IP:
        known = ", ".join(sorted(_LOCAL | _IP | _REMOTE))
        raise SecurityError(f"malformed endpoint {address!r}: transport {scheme!r} not in {known}")
    if scheme in ("ws", "wss"):
        rest = rest.split("/", 1)[0]  # ws://HOST:PORT/PATH
    source, _, dest = rest.rpartition(";")
    local = _host_is_loopback(address, dest, need_port=True)
    return local and (not source or _host_is_loopback(address, source, need_port=False))


# --- key store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    """A CURVE key pair, z85-encoded (40 characters each).

    Attributes:
        name: Its name in the key store.
        public: The public key.
        secret: The secret key, kept out of ``repr`` so that no log shows it.
    """

    name: str
    public: bytes
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class KeyInfo:
    """One entry of :func:`list_keys`.

    Attributes:
        name: The certificate's stem (``NAME`` of ``NAME.key``).
        public: The z85 public key.
        has_secret: Whether the store holds its secret key (a key pair of this host).
        authorized: Whether the public key is in ``authorized/``, under any name.
        path: The public certificate (the secret one when the public one is missing).
    """

    name: str
    public: str
    has_secret: bool
    authorized: bool
    path: Path

    @property
    def short(self) -> str:
        """The first 12 characters of the public key, enough to tell keys apart."""
        return self.public[:12]


def _valid_key(key: bytes | str) -> bool:
    try:
        return len(z85.decode(key)) == 32
    except (ValueError, KeyError, struct.error):  # bad length, bad character, overflow
        return False


def _read(path: Path) -> tuple[bytes, bytes | None]:
    """A certificate's (public, secret) keys, each checked to be a 40-character z85 key."""
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise SecurityError(f"not a CURVE certificate: {exc}", source=str(path)) from exc
    if not all(_valid_key(k) for k in (public, secret) if k is not None):
        raise SecurityError("holds a key that is not 40 z85 characters", source=str(path))
    return public, secret


def _peers(folder: Path) -> dict[str, bytes]:
    """The public keys in a folder by stem, refusing what pyzmq would only log and skip."""
    peers: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.key")) if folder.is_dir() else []:
        public, secret = _read(path)
        if secret is not None:
            raise SecurityError("an authorized key file holds a secret key", source=str(path))
        peers[path.stem] = public
    return peers


def create_keypair(name: str, keys_dir: PathLike | None = None, *, force: bool = False) -> KeyInfo:
    """Create the key pair ``NAME.key`` / ``NAME.key_secret`` in a key store.

    The secret is written inside a private (0700) temporary folder and set to 0600
    before it is moved into place, so it is never readable by others.

    Args:
        name: The key pair's name (letters, digits, ``_ - .``).
        keys_dir: The key store (created 0700 if missing); the default store if ``None``.
        force: Replace an existing key pair of that name.

    Raises:
        SecurityError: The name is invalid, or the key pair exists and ``force`` is false.
    """
    store = _store(keys_dir)
    public_file = store / f"{_check_name(name)}.key"
    secret_file = store / f"{name}.key_secret"
    if not force and (public_file.exists() or secret_file.exists()):
        raise SecurityError(
            f"key pair {name!r} exists in {store}: keep it, or replace it with --force "
            "(peers that authorized the old public key will then refuse this node)"
        )
    store.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store, prefix=".new-") as tmp:
        new_public, new_secret = zmq.auth.create_certificates(tmp, name)
        os.chmod(new_secret, 0o600)
        os.chmod(new_public, 0o644)
        os.replace(new_secret, secret_file)
        os.replace(new_public, public_file)
    public, _ = _read(public_file)
    trusted = public in _peers(store / AUTHORIZED_DIR).values()
    return KeyInfo(name, public.decode(), True, trusted, public_file)


def load_keypair(name: str, keys_dir: PathLike | None = None) -> KeyPair:
    """Load a key pair from a key store.

    Raises:
        SecurityError: The secret file is missing, readable by others, or malformed.
    """
    store = _store(keys_dir)
    secret_file = store / f"{_check_name(name)}.key_secret"
    if not secret_file.exists():
        where = f" --dir {store}" if keys_dir is not None else ""
        raise SecurityError(
            f"no key pair {name!r} in {store}: run `brigade keys create {name}{where}`",
            source=str(secret_file),
        )
    # CURVE is only as safe as this file: refuse it as ssh refuses a readable id_rsa.
    if os.name != "nt" and secret_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecurityError(
            f"the secret key file is readable by group or others: run `chmod 600 {secret_file}`",
            source=str(secret_file),
        )
    public, secret = _read(secret_file)
    if secret is None:
        raise SecurityError("holds no secret-key", source=str(secret_file))
    return KeyPair(name, public, secret)


def load_authorized(keys_dir: PathLike | None = None) -> dict[str, bytes]:
    """The authorized peers of a key store (name -> z85 public key); none if no folder.

    Raises:
        SecurityError: A file in ``authorized/`` is malformed or holds a secret key.
    """
    return _peers(_store(keys_dir) / AUTHORIZED_DIR)


def list_keys(keys_dir: PathLike | None = None) -> list[KeyInfo]:
    """The key pairs and public keys of a key store, then the other authorized peers."""
    store = _store(keys_dir)
    trusted = _peers(store / AUTHORIZED_DIR)
    entries: list[KeyInfo] = []
    files = sorted(store.glob("*.key*")) if store.is_dir() else []
    for stem in sorted({p.name.rsplit(".", 1)[0] for p in files}):
        public_file, secret_file = store / f"{stem}.key", store / f"{stem}.key_secret"
        path = public_file if public_file.exists() else secret_file
        if path.exists():
            public = _read(path)[0]
            trust = public in trusted.values()
            entries.append(KeyInfo(stem, public.decode(), secret_file.exists(), trust, path))
    seen = {e.public for e in entries}
    for stem, public in trusted.items():
        if public.decode() not in seen:
            path = store / AUTHORIZED_DIR / f"{stem}.key"
            entries.append(KeyInfo(stem, public.decode(), False, True, path))
    return entries


def authorize(
    public_file: PathLike,
    keys_dir: PathLike | None = None,
    *,
    name: str | None = None,
    force: bool = False,
) -> Path:
    """Admit a peer: copy its public certificate into ``authorized/``.

    Running servers take it up at :func:`reload_authorized`, or when restarted.

    Args:
        public_file: The peer's ``NAME.key`` (never its secret certificate).
        keys_dir: The key store; the default store if ``None``.
        name: The name to file it under; the file's stem by default.
        force: Replace an authorized key of the same name.

    Returns:
        The authorized copy.

    Raises:
        SecurityError: The file is not a public certificate, or the name is taken.
    """
    source = Path(public_file)
    if _read(source)[1] is not None:
        raise SecurityError(
            "this is a secret key file: authorize the public certificate (NAME.key), "
            "and never copy the secret one to another host",
            source=str(source),
        )
    folder = _store(keys_dir) / AUTHORIZED_DIR
    target = folder / f"{_check_name(name or source.name.removesuffix('.key'))}.key"
    if target.exists() and not force:
        raise SecurityError(
            f"a peer named {target.stem!r} is already authorized: choose another --name, "
            "or replace it with --force",
            source=str(target),
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    os.chmod(target, 0o644)
    return target


def revoke(name: str, keys_dir: PathLike | None = None) -> Path:
    """Remove a peer from ``authorized/`` (running servers: :func:`reload_authorized`).

    Raises:
        SecurityError: No authorized peer has that name.
    """
    target = _store(keys_dir) / AUTHORIZED_DIR / f"{_check_name(name)}.key"
    if not target.exists():
        raise SecurityError(f"no authorized peer named {name!r}", source=str(target.parent))
    target.unlink()
    return target


def public_key(ref: str | bytes, keys_dir: PathLike | None = None) -> bytes:
    """A peer's z85 public key from a z85 key, a certificate file, or a name.

    Names are looked up as ``authorized/NAME.key``, then ``NAME.key``, in the store.

    Raises:
        SecurityError: Nothing matches, or the certificate is malformed.
    """
    text = ref.decode() if isinstance(ref, bytes) else ref
    if len(text) == 40 and _valid_key(text) and not os.path.exists(text):
        return text.encode()
    store = _store(keys_dir)
    candidates = [Path(text).expanduser()]
    if _NAME.fullmatch(text):
        candidates[:0] = [store / AUTHORIZED_DIR / f"{text}.key", store / f"{text}.key"]
    for path in candidates:
        if path.is_file():
            return _read(path)[0]
    raise SecurityError(
        f"unknown public key {text!r}: give a 40-character z85 key, a .key file, or the "
        f"name of a certificate in {store / AUTHORIZED_DIR}"
    )


# --- sockets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityConfig:
    """How a node secures its sockets.

    Without a key pair, sockets stay plain and may use loopback only. With one, a
    server requires CURVE and admits only the keys in ``authorized``, and a
    client uses CURVE whenever it knows the server's public key.

    Attributes:
        keys_dir: The key store, where names resolve; the default store if ``None``.
        keypair: This node's key pair, or ``None`` (plain sockets, loopback only).
        authorized: The folder of admitted keys; ``keys_dir/authorized`` if ``None``.
        server_key: For clients: the server's z85 public key, or ``None``.
        zap_domain: The ZAP domain of servers; servers of one context that admit
            different folders need different domains.
        allow_insecure_loopback: Whether plain sockets may use loopback. Turn it off
            on shared hosts, where every user can reach 127.0.0.1.
    """

    keys_dir: Path | None = None
    keypair: KeyPair | None = None
    authorized: Path | None = None
    server_key: bytes | None = None
    zap_domain: str = "brigade"
    allow_insecure_loopback: bool = True

    @classmethod
    def load(
        cls,
        name: str | None = None,
        *,
        keys_dir: PathLike | None = None,
        server_key: str | bytes | None = None,
        allow_insecure_loopback: bool = True,
    ) -> SecurityConfig:
        """The config of node ``name`` (``None``: no keys) from a key store.

        ``server_key`` is anything :func:`public_key` takes (a key, a file, a name).

        Raises:
            SecurityError: The key pair or the server key cannot be loaded.
        """
        store = _store(keys_dir)
        return cls(
            keys_dir=store,
            keypair=load_keypair(name, store) if name is not None else None,
            server_key=public_key(server_key, store) if server_key is not None else None,
            allow_insecure_loopback=allow_insecure_loopback,
        )


_lock = threading.Lock()
# One ZAP handler per context (it binds the context's inproc://zeromq.zap.01), with
# the folder that each of its domains admits. The context is kept to rule out id reuse.
_handlers: dict[int, tuple[zmq.Context[Any], ThreadAuthenticator, dict[str, Path]]] = {}


def _admit(context: zmq.Context[Any], domain: str, folder: Path) -> None:
    """Start the context's ZAP handler if needed, and let ``domain`` admit ``folder``."""
    folder = folder.expanduser().resolve()  # one folder, however it was spelled
    peers = _peers(folder)  # refuse a malformed file before anything runs
    with _lock:
        entry = _handlers.get(id(context))
        if entry is None or entry[0] is not context:
            auth = ThreadAuthenticator(context, log=log)
            try:
                auth.start()
            except zmq.ZMQError as exc:
                raise SecurityError(f"another ZAP handler runs on this context: {exc}") from exc
            entry = _handlers[id(context)] = (context, auth, {})
        if entry[2].setdefault(domain, folder) != folder:
            raise SecurityError(
                f"ZAP domain {domain!r} of this context admits {entry[2][domain]} already: "
                "give this server another zap_domain",
                source=str(folder),
            )
        entry[1].configure_curve(domain=domain, location=folder)
    if not peers:
        log.warning("no authorized keys in %s: every client will be refused", folder)


def reload_authorized(context: zmq.Context[Any]) -> None:
    """Re-read the authorized folders of a context's servers (after authorize or revoke).

    Raises:
        SecurityError: A file in a folder is malformed; the old sets stay in force.
    """
    with _lock:
        entry = _handlers.get(id(context))
        if entry is not None and entry[0] is context:
            for folder in entry[2].values():
                _peers(folder)
            for domain, folder in entry[2].items():
                entry[1].configure_curve(domain=domain, location=folder)


def stop_authenticator(context: zmq.Context[Any]) -> None:
    """Stop a context's ZAP handler, if any: call it before ``context.term()``.

    The handler's sockets belong to the context, so ``term`` would wait for them forever.
    """
    with _lock:
        entry = _handlers.pop(id(context), None)
    if entry is not None and entry[0] is context:
        entry[1].stop()


def _curve_keys(address: str, security: SecurityConfig, verb: str) -> KeyPair | None:
    """The key pair a socket uses for ``address``, ``None`` for plain; raise if it may not."""
    local = is_loopback(address)  # a malformed endpoint fails first, whatever the keys
    if address.lower().startswith("inproc://"):
        return None  # never leaves the process; libzmq applies no mechanism to it anyway
    client = verb == "connect to"
    if security.keypair is None and client and security.server_key is not None:
        raise SecurityError(
            f"a CURVE client of {address} needs its own key pair: run `brigade keys create "
            "NAME` and authorize its NAME.key on the server's host"
        )
    if security.keypair is not None and (not client or security.server_key is not None):
        if not zmq.has("curve"):
            raise SecurityError("this libzmq was built without CURVE: install pyzmq's wheels")
        return security.keypair
    hint = "run `brigade keys create NAME` and give the node its key pair"
    if client:
        hint += " and the server's public key (server_key)"
    if not local or not security.allow_insecure_loopback:
        off = " (allow_insecure_loopback is off)" if local else ""
        raise SecurityError(f"refusing to {verb} {address} without CURVE keys{off}: {hint}")
    return None


def secure_server(
    socket: zmq.Socket[Any],
    address: str,
    security: SecurityConfig,
    context: zmq.Context[Any] | None = None,
) -> None:
    """Prepare a socket that will bind ``address``; call it before ``bind``.

    Without a key pair only loopback is allowed, plain. With one, the socket is a
    CURVE server and the context's ZAP handler admits only the authorized keys:
    clients without CURVE, or with another key, get nothing.

    Args:
        socket: The socket, not yet bound.
        address: The endpoint it will bind.
        security: The node's settings.
        context: The context whose ZAP handler to use; the socket's by default.

    Raises:
        SecurityError: The address is malformed, or needs keys that are not configured.
    """
    keypair = _curve_keys(address, security, "bind")
    if keypair is None:
        return
    folder = security.authorized or _store(security.keys_dir) / AUTHORIZED_DIR
    _admit(context or socket.context, security.zap_domain, folder)
    socket.setsockopt(zmq.ZAP_DOMAIN, security.zap_domain.encode())
    socket.curve_secretkey = keypair.secret
    socket.curve_publickey = keypair.public
    socket.curve_server = True


def secure_client(
    socket: zmq.Socket[Any],
    address: str,
    security: SecurityConfig,
    server_key: str | bytes | None = None,
) -> None:
    """Prepare a socket that will connect to ``address``; call it before ``connect``.

    It uses CURVE when the server's key is known (``server_key``, else
    ``security.server_key``), which needs this node's key pair too; otherwise it
    stays plain, which only loopback allows: a plain client of a remote CURVE
    server would wait forever.

    Raises:
        SecurityError: The address is malformed, or needs keys that are not configured.
    """
    if server_key is not None:
        security = replace(security, server_key=public_key(server_key, security.keys_dir))
    keypair = _curve_keys(address, security, "connect to")
    if keypair is None or security.server_key is None:
        return
    socket.curve_secretkey = keypair.secret
    socket.curve_publickey = keypair.public
    socket.curve_serverkey = security.server_key


def secure_bind(socket: zmq.Socket[Any], address: str, security: SecurityConfig) -> str:
    """:func:`secure_server`, then ``bind``; returns the bound endpoint (its real port)."""
    secure_server(socket, address, security)
    socket.bind(address)
    endpoint = socket.getsockopt(zmq.LAST_ENDPOINT)
    return endpoint.decode() if isinstance(endpoint, bytes) else str(endpoint)


def secure_connect(
    socket: zmq.Socket[Any],
    address: str,
    security: SecurityConfig,
    server_key: str | bytes | None = None,
) -> None:
    """:func:`secure_client`, then ``connect``."""
    secure_client(socket, address, security, server_key)
    socket.connect(address)
