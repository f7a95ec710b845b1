"""Planners: ReAd-S, ReAd-J and the baseline planning loops, the episode runner."""
