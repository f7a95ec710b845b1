"""Agents: chat backends, prompt building and parsing, VLA policies, human agents."""
