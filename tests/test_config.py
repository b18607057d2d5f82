"""Settings are read and checked once, when the app starts, and reading them writes nothing."""
import base64

import pytest

from portal import create_app
from portal.config import Config, ConfigError

SQLITE = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}
RECORDINGS_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


@pytest.mark.parametrize("name, value, message", [
    ("PROXY_HOPS", "x", "PROXY_HOPS must be a whole number, not 'x'"),
    ("PROXY_HOPS", "-1", "PROXY_HOPS must be at least 0"),
    ("DISPATCHER_WORKERS", "-1", "DISPATCHER_WORKERS must be at least 1"),
    ("RECORDING_LINK_TTL", "abc", "RECORDING_LINK_TTL must be a whole number"),
    ("MAX_UPLOAD_BYTES", "4GB", "MAX_UPLOAD_BYTES must be a whole number"),
    ("MAX_REQUEST_BYTES", "1MB", "MAX_REQUEST_BYTES must be a whole number"),
    ("MAX_REQUEST_BYTES", "0", "MAX_REQUEST_BYTES must be at least 1"),
    ("PORTAL_TIMEZONE", "Mars/Olympus", "PORTAL_TIMEZONE must name a time zone"),
    ("RECORDINGS_KEY", "not base64!", "RECORDINGS_KEY must be base64"),
    ("RECORDINGS_KEY", "c2hvcnQ=", "RECORDINGS_KEY must decode to 32 bytes, not 5"),
    ("RECORDINGS_OLD_KEYS", "c2hvcnQ=", "RECORDINGS_OLD_KEYS must decode to 32 bytes"),
    ("RECORDING_RETENTION_DAYS", "0", "RECORDING_RETENTION_DAYS must be at least 1"),
    ("RECORDINGS_STORAGE", "ftp://x", "RECORDINGS_STORAGE must be 'local' or 's3://bucket/prefix'"),
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
    app = create_app({**SQLITE, "SECRET_KEY": "from-the-mapping", "RECORDINGS_KEY": RECORDINGS_KEY},
                     instance_path=str(tmp_path / "instance"))
    assert app.config["SECRET_KEY"] == "from-the-mapping"
    assert not (tmp_path / "instance").exists()


def test_development_generates_the_recordings_key_once_into_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("RECORDINGS_KEY", raising=False)
    instance = tmp_path / "instance"
    first = create_app({**SQLITE, "SECRET_KEY": "k"}, instance_path=str(instance))
    key_file = instance / "recordings_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.config["RECORDINGS_KEY"] == key_file.read_text().strip()
    assert len(base64.b64decode(first.config["RECORDINGS_KEY"])) == 32
    second = create_app({**SQLITE, "SECRET_KEY": "k"}, instance_path=str(instance))
    assert second.config["RECORDINGS_KEY"] == first.config["RECORDINGS_KEY"]


def test_production_without_a_recordings_key_refuses_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("RECORDINGS_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigError, match="RECORDINGS_KEY must be set in production"):
        create_app({**SQLITE, "SECRET_KEY": "k"}, instance_path=str(tmp_path / "instance"))
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
