"""An HTTP stub provider for consumer tests, answering from a contract (OpenAPI, Pact, or a recorded database).

`server` holds the stub (matching, request validation, answers) and its serving; `responses` the recorded
answers it replays; `bodies` the bodies it generates from schemas.
"""

from recorder.verify.stub.bodies import BodyGenerator, pattern_example
from recorder.verify.stub.responses import Recorded, StubResponse, recorded_from_db, recorded_from_pact
from recorder.verify.stub.server import (
    RunningStub,
    Stub,
    bind,
    parse_prefer,
    start_stub,
    stub_from_db,
    stub_from_file,
)

__all__ = [
    "BodyGenerator",
    "Recorded",
    "RunningStub",
    "Stub",
    "StubResponse",
    "bind",
    "parse_prefer",
    "pattern_example",
    "recorded_from_db",
    "recorded_from_pact",
    "start_stub",
    "stub_from_db",
    "stub_from_file",
]
