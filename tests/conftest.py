"""The suite's fixtures are the ones vaxchain ships for every plugin's tests (core/testing.py); the helpers
that tests import from here are re-exported."""
import pytest

pytest.register_assert_rewrite("core.testing")  # before the import below, so its asserts report like a test's

from core.testing import (  # noqa: E402
    ALL_ROLES,
    CSRF_FIELD,
    PASSWORD,
    PRODUCTION_HASHER,
    SERVER_URL,
    VaxchainCliRunner,
    csrf_token,
    log_in,
    migrate,
    pg_url,
)

pytest_plugins = ["core.testing"]

__all__ = ["ALL_ROLES", "CSRF_FIELD", "PASSWORD", "PRODUCTION_HASHER", "SERVER_URL", "VaxchainCliRunner",
           "csrf_token", "log_in", "migrate", "pg_url"]
