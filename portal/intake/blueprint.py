"""The intake page is the patient's; the questionnaire editor the specialist's; the terms the admins'."""
from portal.models import Role
from portal.web.blueprints import role_blueprint

bp = role_blueprint("intake", __name__.rsplit(".", 1)[0], Role.PATIENT, url_prefix="/intake")
editor_bp = role_blueprint("questionnaire", __name__.rsplit(".", 1)[0], Role.SPECIALIST,
                           url_prefix="/specialist/questionnaire")
terms_bp = role_blueprint("terms", __name__.rsplit(".", 1)[0], Role.ADMIN, url_prefix="/admin/terms")
