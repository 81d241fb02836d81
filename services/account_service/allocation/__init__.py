"""Allocation: API key → owner → one healthy account, reserved with a Redis lease."""
