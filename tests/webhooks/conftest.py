"""Webhook fixtures: a local HTTP receiver that checks the portal's signature, and a port where
nothing listens."""

from __future__ import annotations

import pytest

from tests.servers import WebhookReceiver, free_port

SECRET = "receiver-shared-secret-0123456789"


@pytest.fixture
def receiver():
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def dead_url():
    return f"http://127.0.0.1:{free_port()}/hook"


@pytest.fixture
def fast_webhooks(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.2
    settings.WEBHOOK_RETRY_MAX_SECONDS = 1.0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    return settings
