from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

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
