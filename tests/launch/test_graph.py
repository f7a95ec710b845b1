"""Launch files: what they accept, and how they say what is wrong."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from brigade.errors import ConfigError
from brigade.launch.doctor import diagnose
from brigade.launch.graph import NODE_COMPONENTS, load_launch

GOOD = {
    "name": "g",
    "nodes": {
        "env": {"component": "env", "address": "tcp://127.0.0.1:0"},
        "critic": {"component": "critic"},
        "planner": {"component": "planner", "options": {"liveness_s": 2.0}},
    },
    "run": {"env": "kitchen/cramped_room", "planner": "read-j"},
}


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _with(**node: object) -> dict[str, object]:
    nodes = dict(GOOD["nodes"])  # type: ignore[call-overload]
    nodes["env"] = {**nodes["env"], **node}
    return {**GOOD, "nodes": nodes}


def test_the_shipped_graph_loads_with_three_loopback_nodes() -> None:
    spec = load_launch("launch/local-kitchen")
    assert spec.name == "local-kitchen"
    assert {n.component for n in spec.nodes.values()} == {"env", "critic", "planner"}
    assert all(spec.is_local(n) for n in spec.nodes)
    assert spec.run["planner"] == "read-j"
    assert spec.role("critic") == "critic"
    assert sorted(NODE_COMPONENTS.names()) == ["critic", "env", "planner"]


def test_overrides_change_the_file(tmp_path: Path) -> None:
    spec = load_launch(_write(tmp_path, GOOD), ["nodes.env.address=tcp://127.0.0.1:7001"])
    assert spec.nodes["env"].address == "tcp://127.0.0.1:7001"
    assert spec.nodes["planner"].options == {"liveness_s": 2.0}
    assert spec.source.endswith("graph.yaml")


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        (_with(component="envv"), "nodes.env.component", "did you mean 'env'"),
        (_with(address="127.0.0.1:5000"), "nodes.env.address", "tcp://HOST:PORT"),
        (_with(address="tcp://10.0.0.5:5000"), "nodes.env.keys", "brigade keys create env"),
        (_with(host="gpu7", address="tcp://10.0.0.5:0", keys="k"), "nodes.env.address", "fixed"),
        (_with(options={"tsak": {}}), "nodes.env.options.tsak", "did you mean 'task'"),
        (_with(heartbeat_s=20.0), "nodes.env.heartbeat_s", "below client_timeout_s"),
        ({**GOOD, "nodez": {}}, "nodez", "did you mean 'nodes'"),
        ({**GOOD, "name": "bad name"}, "name", "letters"),
        ({**GOOD, "nodes": {}}, "nodes", "at least one"),
    ],
)
def test_bad_entries_are_named(
    tmp_path: Path, data: dict[str, object], key: str, words: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_launch(path)
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(path) in str(caught.value)


def test_two_nodes_on_one_port_are_refused(tmp_path: Path) -> None:
    data = _with(address="tcp://127.0.0.1:7100")
    data["nodes"]["critic"] = {"component": "critic", "address": "tcp://127.0.0.1:7100"}  # type: ignore[index]
    with pytest.raises(ConfigError, match="7100 is also the address of node"):
        load_launch(_write(tmp_path, data))


def test_a_run_needs_one_node_per_role(tmp_path: Path) -> None:
    data = dict(GOOD)
    data["nodes"] = {**GOOD["nodes"], "env2": {"component": "env"}}  # type: ignore[dict-item]
    spec = load_launch(_write(tmp_path, data))
    with pytest.raises(ConfigError, match="several nodes serve env"):
        spec.role("env")
    del spec.nodes["critic"]
    assert spec.role("critic", required=False) is None


def test_doctor_says_a_taken_port_must_change(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        findings = diagnose(str(_write(tmp_path, _with(address=f"tcp://127.0.0.1:{port}"))))
    bad = [f for f in findings if f.status == "fail"]
    assert [f.subject for f in bad] == ["nodes.env.address"]
    assert f"port {port}" in bad[0].detail and "port 0" in bad[0].fix


def test_doctor_reports_a_broken_file_and_missing_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.yaml").write_text("nodes: [")
    [finding] = diagnose(str(tmp_path / "broken.yaml"))
    assert finding.status == "fail" and "not valid YAML" in finding.detail
    keys = tmp_path / "keys"
    data = _with(address="tcp://127.0.0.2:7200", keys="envkey")
    data["keys_dir"] = str(keys)
    findings = diagnose(str(_write(tmp_path, data)))
    failed = {f.subject: f for f in findings if f.status == "fail"}
    assert "key pair envkey" in failed
    assert failed["key pair envkey"].fix == "brigade keys create envkey"
    assert any(f.subject == "client_keys" for f in findings if f.status == "warn")
