"""Fixtures for the real named component (filled in by its issue)."""
