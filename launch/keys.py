"""``brigade keys``: create, list, authorize and revoke the bus's CURVE keys.

- ``brigade keys create NAME [--force]``: a key pair for this host's nodes.
- ``brigade keys list [--full]``: the key pairs, public keys and authorized peers.
- ``brigade keys authorize FILE [--name NAME] [--force]``: admit a peer's public key.
- ``brigade keys revoke NAME``: stop admitting a peer.

Every action takes ``--dir`` (default ``$BRIGADE_KEYS``, else ``~/.config/brigade/keys``).
``brigade.bus.security`` is imported only when the command runs, so building the
parser costs nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def add_keys_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``keys`` subcommand (handler :func:`cmd_keys`) to the ``brigade`` parser.

    Args:
        subparsers: The object ``ArgumentParser.add_subparsers`` returned.

    Returns:
        The ``keys`` parser.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        help="key store folder (default: $BRIGADE_KEYS, else ~/.config/brigade/keys)",
    )
    keys = subparsers.add_parser(
        "keys",
        help="create and list the bus's CURVE keys; authorize peers",
        description="Manage the CURVE keys that secure the bus between hosts. A node that "
        "binds a non-loopback address needs a key pair, and admits only the public keys in "
        "the store's authorized/ folder (like SSH's authorized_keys).",
    )
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=[common], help="create a key pair NAME")
    create.add_argument("name", help="key pair name, e.g. the host or node (gpu1, arm-left)")
    create.add_argument("--force", action="store_true", help="replace an existing key pair")
    listing = actions.add_parser("list", parents=[common], help="list keys and authorized peers")
    listing.add_argument("--full", action="store_true", help="show whole public keys")
    authorize = actions.add_parser(
        "authorize", parents=[common], help="admit a peer: copy its NAME.key into authorized/"
    )
    authorize.add_argument("file", type=Path, help="the peer's public certificate (NAME.key)")
    authorize.add_argument("--name", help="name to file it under (default: the file's stem)")
    authorize.add_argument("--force", action="store_true", help="replace a peer of that name")
    revoke = actions.add_parser("revoke", parents=[common], help="remove an authorized peer")
    revoke.add_argument("name", help="the authorized peer's name")
    keys.set_defaults(func=cmd_keys)
    return keys


def cmd_keys(args: argparse.Namespace, extra: list[str], console: Console) -> int:
    """Run a ``brigade keys`` action; errors propagate as ``SecurityError``.

    Args:
        args: The parsed arguments (from :func:`add_keys_parser`).
        extra: Unparsed arguments (none are accepted; the CLI rejects them).
        console: Where to print.

    Returns:
        The exit status.
    """
    from brigade.bus import security

    store = args.dir if args.dir is not None else security.default_keys_dir()
    if args.action == "create":
        info = security.create_keypair(args.name, store, force=args.force)
        # z85 keys and paths may hold '[': print them as text, not as rich markup.
        console.print(f"created key pair {info.name} in {store}", markup=False, highlight=False)
        console.print(f"public key {info.public}", markup=False, highlight=False, soft_wrap=True)
        console.print(
            f"Copy {info.path} to the peers' hosts and run `brigade keys authorize "
            f"{info.path.name}` there; the secret {info.name}.key_secret never leaves this host.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    elif args.action == "list":
        entries = security.list_keys(store)
        table = Table(title=escape(f"CURVE keys in {store}"))
        for column in ("name", "public key", "secret here", "authorized", "file"):
            table.add_column(column, no_wrap=column != "file")
        for entry in entries:
            table.add_row(
                escape(entry.name),
                escape(entry.public if args.full else entry.short + "…"),
                "yes" if entry.has_secret else "no",
                "yes" if entry.authorized else "no",
                escape(str(entry.path)),
            )
        console.print(table)
        if not entries:
            console.print("no keys yet: run `brigade keys create NAME`")
    elif args.action == "authorize":
        target = security.authorize(args.file, store, name=args.name, force=args.force)
        console.print(
            f"authorized {target.stem} ({target}); running nodes admit it once they reload "
            "their authorized keys or restart",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    else:
        target = security.revoke(args.name, store)
        console.print(f"revoked {args.name} (removed {target})", markup=False, soft_wrap=True)
    return 0
