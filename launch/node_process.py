"""The process of one node of a launch file.

``python -m brigade.launch.node_process FILE NODE --ready PATH`` builds the
node's component from the file, serves it, writes ``PATH`` (JSON: the bound
address, the pid, the instance) once it answers, and serves until SIGINT or
SIGTERM, then closes cleanly. ``brigade up`` and ``brigade run --bus`` start
nodes this way, each with its log file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from brigade.bus.node import serve
from brigade.bus.security import SecurityConfig
from brigade.errors import BrigadeError
from brigade.launch.graph import NODE_COMPONENTS, load_launch

log = logging.getLogger("brigade.launch")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a reader sees the whole file or none of it."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve one node of a launch file until it is told to stop."""
    parser = argparse.ArgumentParser(prog="python -m brigade.launch.node_process")
    parser.add_argument("file", help="the launch file")
    parser.add_argument("node", help="the node to serve")
    parser.add_argument("--ready", required=True, help="where to write the node's address")
    parser.add_argument("--set", action="append", default=[], help="launch file override")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        spec = load_launch(args.file, args.set)
        if args.node not in spec.nodes:
            raise BrigadeError(f"{args.file} has no node {args.node!r}")
        node_spec = spec.nodes[args.node]
        security = spec.security(node_spec.keys)
        entry = NODE_COMPONENTS.get(node_spec.component)
        component = entry.factory(spec.component_config(args.node), security=security)
        node = serve(
            component,
            name=args.node,
            address=node_spec.address.replace(":*", ":0"),
            security=security if security is not None else SecurityConfig(),
            heartbeat_s=node_spec.heartbeat_s,
            client_timeout_s=node_spec.client_timeout_s,
        )
    except Exception as exc:  # a bad file, keys, or an address in use (zmq's own error)
        log.error("node %s cannot start: %s", args.node, exc)
        return 2
    log.info("node %s (%s) serves %s", args.node, node.service.name, node.address)

    def ready() -> None:
        info = {
            "name": args.node,
            "component": node_spec.component,
            "service": node.service.name,
            "address": node.address,
            "pid": os.getpid(),
            "instance": node.instance,
            "started": time.time(),
        }
        write_atomically(Path(args.ready), json.dumps(info))

    try:
        node.run_forever(on_ready=ready)
    finally:
        close = getattr(component, "close", None)
        if callable(close):
            close()
        log.info("node %s stopped", args.node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
