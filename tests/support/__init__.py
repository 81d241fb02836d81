"""Test helpers: isolated infrastructure per run, and the services started as real processes."""
