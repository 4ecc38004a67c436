"""An HTTP stub provider for consumer tests, answering from a contract (OpenAPI, Pact, or a recorded database).

`server` holds the stub (matching, request validation, answers), `serving` serves it with uvicorn;
`responses` the recorded answers it replays; `bodies` the bodies it generates from schemas.
"""

from recorder.verify.stub.bodies import BodyGenerator, pattern_example
from recorder.verify.stub.responses import Recorded, StubResponse, recorded_from_db, recorded_from_pact
from recorder.verify.stub.server import Stub, parse_prefer, stub_from_db, stub_from_file
from recorder.verify.stub.serving import RunningStub, bind, start_stub

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
