"""Shared test helpers: plain functions/constants imported as ``from tests.helpers.X import ...``; the modules
that define fixtures (eval_split, fake_hub, browser) are loaded as pytest plugins by tests/conftest.py."""
