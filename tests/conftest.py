from __future__ import annotations

import os

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # the pact verifier must not phone home from tests

import pytest
from support import serve

from recorder.demo.provider import ShopServer


@pytest.fixture(scope="session")
def upstream():
    """The awkward-responses upstream on 127.0.0.1."""
    with serve() as url:
        yield url


@pytest.fixture
def shop():
    """The demo shop provider (version 1) on 127.0.0.1."""
    with ShopServer(version=1) as server:
        yield server
