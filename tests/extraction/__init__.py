"""Tests: extraction."""
