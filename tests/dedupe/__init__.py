"""Tests: dedupe."""
