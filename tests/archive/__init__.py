"""Tests: archive."""
