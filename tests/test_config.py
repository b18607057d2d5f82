"""Settings are read and checked once, when the app starts, and reading them writes nothing."""
import pytest

from portal import create_app
from portal.config import Config, ConfigError

SQLITE = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}


@pytest.mark.parametrize("name, value, message", [
    ("PROXY_HOPS", "x", "PROXY_HOPS must be a whole number, not 'x'"),
    ("PROXY_HOPS", "-1", "PROXY_HOPS must be at least 0"),
    ("DISPATCHER_WORKERS", "-1", "DISPATCHER_WORKERS must be at least 1"),
    ("RECORDING_LINK_TTL", "abc", "RECORDING_LINK_TTL must be a whole number"),
    ("MAX_UPLOAD_BYTES", "4GB", "MAX_UPLOAD_BYTES must be a whole number"),
    ("PORTAL_TIMEZONE", "Mars/Olympus", "PORTAL_TIMEZONE must name a time zone"),
])
def test_a_bad_setting_stops_start_up_naming_it(monkeypatch, tmp_path, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app({**SQLITE, "SECRET_KEY": "k"}, instance_path=str(tmp_path))


def test_a_bad_value_given_to_create_app_is_refused_too(tmp_path):
    with pytest.raises(ConfigError, match="PROXY_HOPS"):
        create_app({**SQLITE, "SECRET_KEY": "k", "PROXY_HOPS": "2"}, instance_path=str(tmp_path))


def test_reading_the_configuration_writes_no_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "given")
    assert Config(tmp_path / "instance").SECRET_KEY == "given"
    monkeypatch.delenv("SECRET_KEY")
    assert Config(tmp_path / "instance").SECRET_KEY is None
    assert list(tmp_path.iterdir()) == []


def test_a_given_secret_key_leaves_the_instance_folder_alone(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({**SQLITE, "SECRET_KEY": "from-the-mapping"}, instance_path=str(tmp_path / "instance"))
    assert app.config["SECRET_KEY"] == "from-the-mapping"
    assert not (tmp_path / "instance").exists()


def test_production_without_a_secret_key_refuses_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY must be set in production"):
        create_app(SQLITE, instance_path=str(tmp_path / "instance"))
    assert not (tmp_path / "instance").exists()


def test_the_instance_folder_is_flasks_instance_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RECORDINGS_DIR", raising=False)
    app = create_app({"SECRET_KEY": "k"})
    assert app.instance_path == str(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert app.config["RECORDINGS_DIR"] == str(tmp_path / "recordings")
