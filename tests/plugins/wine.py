"""Fixtures for the real wine component (filled in by its issue)."""
