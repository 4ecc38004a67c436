"""pytest plugin (`-p kinto_server_url`): points kinto-http's functional tests at $KINTO_SERVER_URL.

kinto-http's tests read `kinto_http.constants.SERVER_URL` (http://localhost:8888/v1, fixed in the package);
a plugin is loaded before the test modules import it, so setting the constant here is enough: the suite
itself is run unchanged.
"""

import os

import kinto_http.constants

kinto_http.constants.SERVER_URL = os.environ["KINTO_SERVER_URL"]
