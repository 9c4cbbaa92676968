"""Fixtures for the rules and webhook tests: the API client and keys of tests/central/api,
a webhook worker with fast retries, and helpers to build scored profiles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from central_api.domain.webhooks.webhooks import RetryPolicy
from central_api.webhook_worker import WebhookWorker, WorkerSettings
from tests.central.api.conftest import client, keys  # noqa: F401 (fixtures)

#: small backoff so that retries happen within a test; attempts capped at 3
FAST = WorkerSettings(
    poll_interval_s=0.02,
    timeout_s=2.0,
    batch_size=5,
    retry=RetryPolicy(max_attempts=3, base_s=0.05, max_s=0.2),
)


@pytest.fixture
def worker(engine: Engine) -> Iterator[WebhookWorker]:
    w = WebhookWorker(engine, FAST)
    w.start()
    try:
        yield w
    finally:
        w.stop()
