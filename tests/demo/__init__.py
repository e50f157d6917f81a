"""Tests: demo."""
