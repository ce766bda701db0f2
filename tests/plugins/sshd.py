"""Fixtures for the real sshd component (filled in by its issue)."""
