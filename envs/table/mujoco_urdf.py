"""Loading ``pybullet_data``'s arm URDFs into MuJoCo.

MuJoCo reads URDF, but three things stand in the way, and this module mends
them before handing the file over:

- mesh paths are ``package://`` URLs or relative to the URDF;
- MuJoCo's OBJ reader keeps only the first object of a multi-object file (the
  Panda's hand keeps 42 of its 7,078 faces; the xArm's convex-decomposed
  collision files keep one hull of several), so visual meshes are merged into
  one object and collision meshes split into one file per hull (one convex
  geom each), with ``trimesh``;
- MuJoCo drops URDF visuals unless told otherwise, and the xArm's ``link2``
  inertia fails its check unless inertias may be balanced.

The rewritten meshes are cached on disk (``$BRIGADE_CACHE`` or
``~/.cache/brigade``), named by the source file's content hash.
"""

from __future__ import annotations

import copy
import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

from brigade.envs.table.robots import RobotModel


def cache_dir() -> Path:
    """Where rewritten meshes live."""
    root = os.environ.get("BRIGADE_CACHE") or Path.home() / ".cache" / "brigade"
    path = Path(root) / "meshes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prepared(source: Path, split: bool) -> list[Path]:
    """The OBJ files MuJoCo can read for ``source``: one merged, or one per object."""
    import trimesh

    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    folder = cache_dir() / f"{source.stem}-{digest}-{'split' if split else 'merged'}"
    done = folder / "done"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        scene = trimesh.load_scene(source, process=False)
        meshes = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        merged = trimesh.util.concatenate(meshes)
        parts = meshes if split else [cast(trimesh.Trimesh, merged)]
        for k, part in enumerate(parts):
            # Geometry only: MuJoCo colours geoms itself, and texture coordinates
            # from these files confuse its decoder.
            bare = trimesh.Trimesh(part.vertices, part.faces, process=False)
            bare.export(folder / f"part{k}.obj")
        done.write_text(str(len(parts)))
    count = int(done.read_text())
    return [folder / f"part{k}.obj" for k in range(count)]


def urdf_for_mujoco(model: RobotModel) -> str:
    """The model's URDF, rewritten for MuJoCo's compiler (see the module's docstring)."""
    path = model.urdf_path()
    root = ET.parse(path).getroot()
    for tag in ("gazebo", "transmission"):
        for element in root.findall(tag):
            root.remove(element)
    for link in root.findall("link"):
        for kind in ("visual", "collision"):
            for element in link.findall(kind):
                mesh = element.find("geometry/mesh")
                if mesh is None:
                    continue
                name = mesh.get("filename", "").removeprefix("package://")
                source = (path.parent / name).resolve()
                if source.suffix.lower() != ".obj":
                    mesh.set("filename", str(source))
                    continue
                files = _prepared(source, split=kind == "collision")
                mesh.set("filename", str(files[0]))
                for extra in files[1:]:
                    twin = copy.deepcopy(element)
                    twin_mesh = twin.find("geometry/mesh")
                    assert twin_mesh is not None
                    twin_mesh.set("filename", str(extra))
                    link.append(twin)
    extension = ET.SubElement(root, "mujoco")
    ET.SubElement(
        extension,
        "compiler",
        discardvisual="false",
        fusestatic="false",
        strippath="false",
        balanceinertia="true",
    )
    return ET.tostring(root, encoding="unicode")
