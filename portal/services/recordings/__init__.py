"""Meeting recordings (spec section 5): admins attach files to bookings, encrypted while they
are received (chunked AES-256-GCM, a data key per recording wrapped by the master key); the
booking's parties and admins play them through signed links (a one-time code, exchanged for a
cookie-bound stream) bound to the user they were issued to; every link and every stream start
is audited; a daily job deletes expired recordings.

upload.py attaches, registers and changes recordings; links.py issues links and streams them;
cleanup.py deletes them (by an admin, or past their expiry); maintenance.py rotates keys and
encrypts files stored in plain; crypto.py is the chunked encryption, keys.py the master and data
keys, storage.py the local and S3 backends, formats.py recognises containers and durations."""
from __future__ import annotations

from typing import Any

from portal import policies
from portal.models import MeetingRecording


def recording_load(*, actor, recording_id: Any) -> MeetingRecording:
    """The recording `actor` may see, or NotFound."""
    return policies.load(MeetingRecording, recording_id, actor, missing="No such recording.")
