"""SMTP_URL's three forms against real TLS servers on 127.0.0.1: STARTTLS with a login, and TLS from
the start; the server's certificate is verified (SMTP_CA_FILE)."""
from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from portal.services.mail_delivery import SmtpUnavailable, smtp_connect
from tests.mail.conftest import Inbox, free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, str(cert)


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"clinic" and auth_data.password == b"s3cret pass"
    return AuthResult(success=ok)


def send_one(app, url: str, inbox: Inbox, ca_file: str | None):
    app.config["SMTP_CA_FILE"] = ca_file
    try:
        smtp = smtp_connect(url)
        smtp.sendmail("clinic@example.test", ["pat@example.test"], b"Subject: hi\r\n\r\nhello\r\n")
        smtp.quit()
    finally:
        app.config["SMTP_CA_FILE"] = None
    return [message["Subject"] for message in inbox.messages()]


def test_starttls_with_login(app, certificate):
    context, cert = certificate
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=authenticate, auth_required=True)
    controller.start()
    try:
        base = f"127.0.0.1:{controller.port}"
        assert send_one(app, f"smtp+starttls://clinic:s3cret%20pass@{base}", inbox, cert) == ["hi"]
        with pytest.raises(SmtpUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            send_one(app, f"smtp+starttls://clinic:s3cret%20pass@{base}", inbox, None)  # not trusted
    finally:
        controller.stop()


def test_smtps(app, certificate):
    context, cert = certificate
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        assert send_one(app, f"smtps://127.0.0.1:{controller.port}", inbox, cert) == ["hi"]
    finally:
        controller.stop()
