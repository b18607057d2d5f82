from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime


class JobRun(db.Model):
    """The last run of each scheduled job (portal.jobs.schedule id), whoever ran it: the operations
    page shows from this what actually runs and when it last ran."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    runner: Mapped[str] = mapped_column(sa.String(16))  # "embedded" (in-process) or "rq"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # running, success, failure
    summary: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
