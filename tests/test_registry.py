from __future__ import annotations

from dataclasses import dataclass

import pytest

from brigade import envs
from brigade.errors import RegistryError
from brigade.registry import EnvRegistry, EnvSpec, Registry, split_env_id


@dataclass
class GreetConfig:
    name: str = "world"


def test_component_registry_builds_from_config() -> None:
    reg: Registry[str] = Registry("greeter")

    @reg.register("hello", config=GreetConfig)
    def hello(config: GreetConfig) -> str:
        """Say hello."""
        return f"hello {config.name}"

    assert reg.names() == ["hello"]
    assert reg.build("hello") == "hello world"
    assert reg.build("hello", GreetConfig("bob")) == "hello bob"
    with pytest.raises(RegistryError, match="did you mean 'hello'"):
        reg.get("helo")
    with pytest.raises(TypeError, match="GreetConfig"):
        reg.build("hello", object())
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("hello", config=GreetConfig)(lambda c: "other")


def test_env_ids_have_versions() -> None:
    assert split_env_id("kitchen/cramped_room-v0") == ("kitchen/cramped_room", 0)
    for bad in ("cramped_room-v0", "Kitchen/x-v0", "kitchen/x-vA", "kitchen/x"):
        with pytest.raises(RegistryError, match="bad environment id"):
            split_env_id(bad)


def test_latest_version_is_meant_without_suffix() -> None:
    reg = EnvRegistry(entry_point_group=None)
    make = lambda **kw: kw  # noqa: E731
    reg.register(EnvSpec("toy/a-v0", None, make, task_kwargs={"v": 0}))
    reg.register(EnvSpec("toy/a-v2", None, make, task_kwargs={"v": 2}))
    assert reg.spec("toy/a").id == "toy/a-v2"
    assert reg.spec("toy/a-v0").id == "toy/a-v0"
    with pytest.raises(RegistryError, match="did you mean 'toy/a'"):
        reg.spec("toy/b")
    with pytest.raises(RegistryError, match="already registered"):
        reg.register(EnvSpec("toy/a-v0", None, lambda: None))


def test_every_kitchen_layout_is_registered() -> None:
    from brigade.envs.kitchen import shipped_layout_names

    ids = envs.registered()
    for layout in shipped_layout_names():
        assert f"kitchen/{layout}-v0" in ids
    assert "kitchen-read/cramped_room-v0" in ids
    assert "kitchen-read/forced_coordination-v0" in ids


def test_make_and_make_task_share_ids() -> None:
    task = envs.make_task("kitchen/cramped_room")
    assert task.env_id == "kitchen/cramped_room-v0"
    parallel = envs.make("kitchen/cramped_room")
    assert parallel.possible_agents == list(task.agents)
    with pytest.raises(RegistryError, match="did you mean"):
        envs.make("kitchen/cramped_rooom")
