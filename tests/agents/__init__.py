"""Tests of brigade.agents."""
