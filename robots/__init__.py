"""Robots: the arm interface, the safety layer, sim-backed and real drivers."""
