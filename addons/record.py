"""Record every HTTP exchange into SQLite: `mitmdump -s addons/record.py --set recorder_db=traffic.db`."""

from recorder.capture.addon import Recorder

addons = [Recorder()]
