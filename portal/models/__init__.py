"""All models, imported here so that Alembic and the app see one metadata."""
from portal.models.audit import AUDIT_STATUSES, AuditLog
from portal.models.bookings import (
    ACTIVE_STATUSES,
    ATTENDANCE_STATUSES,
    BOOKING_STATUSES,
    CANCELLED_FOR,
    LONGEST_SESSION,
    Booking,
    BookingCancellation,
    BookingStatusHistory,
    RecurringBooking,
    RecurringOccurrenceSkip,
)
from portal.models.hours import EXCEPTION_REASONS, AvailabilityException, SpecialistRate, WorkingHours
from portal.models.jobs import JobRun
from portal.models.meetings import (
    CONSENT_KINDS,
    LOCATION_KINDS,
    QUESTION_KINDS,
    Consent,
    ConsentTerms,
    IntakeForm,
    IntakeResponse,
)
from portal.models.notes import SessionNote, SessionNoteAmendment
from portal.models.outbox import OUTBOX_STATUSES, Outbox
from portal.models.packages import ENROLMENT_STATUSES, BookingPackage, PackageEnrolment
from portal.models.recordings import RECORDING_FORMATS, MeetingRecording, RecordingAccessCode
from portal.models.rights import ACCESS_RECORD_TYPES, ERASURE_STATUSES, ErasureRequest, RecordAccess
from portal.models.services import DEFAULT_SERVICE_NAME, PackageService, Service
from portal.models.types import utcnow
from portal.models.users import (
    ROLES,
    ApiToken,
    Role,
    SpecialistProfile,
    User,
)

__all__ = [
    "ACCESS_RECORD_TYPES", "ACTIVE_STATUSES", "ATTENDANCE_STATUSES", "AUDIT_STATUSES", "BOOKING_STATUSES",
    "CANCELLED_FOR", "ENROLMENT_STATUSES", "ERASURE_STATUSES", "EXCEPTION_REASONS", "ErasureRequest", "RecordAccess",
    "LONGEST_SESSION", "OUTBOX_STATUSES", "RECORDING_FORMATS",
    "ROLES", "ApiToken", "AuditLog", "AvailabilityException", "Booking", "BookingCancellation",
    "BookingPackage", "BookingStatusHistory", "JobRun", "MeetingRecording", "Outbox", "PackageEnrolment",
    "RecordingAccessCode", "RecurringBooking",
    "RecurringOccurrenceSkip", "Role", "SessionNote", "SessionNoteAmendment", "SpecialistProfile",
    "SpecialistRate", "User", "WorkingHours", "utcnow", "DEFAULT_SERVICE_NAME", "PackageService", "Service",
    "CONSENT_KINDS", "LOCATION_KINDS", "QUESTION_KINDS", "Consent", "ConsentTerms", "IntakeForm", "IntakeResponse",
]
