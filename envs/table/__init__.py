"""The manipulation table: DV-RoCoBench's tasks on MuJoCo and PyBullet.

MuJoCo picks its OpenGL platform when it is first imported; offscreen video
here needs EGL (Debian's libegl1) unless ``MUJOCO_GL`` says otherwise
(``osmesa`` with libosmesa6), so the default is set before anything imports it.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
