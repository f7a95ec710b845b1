"""The manipulation table: DV-RoCoBench's tasks on MuJoCo and PyBullet."""
