"""Before the first session: a patient's intake page (terms, recording consent, the
specialist's questionnaire) and the specialist's questionnaire editor, and the admins' page for the clinic's terms."""
from portal.intake import editor, terms, views  # noqa: F401
from portal.intake.blueprint import bp, editor_bp, terms_bp

__all__ = ["bp", "editor_bp", "terms_bp"]
