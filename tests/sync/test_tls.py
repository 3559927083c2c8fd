"""Acceptance test 13: TLS trusts only the configured CA, and an untrusted server gets no bytes.

The real gateway serves over TLS on loopback (uvicorn with a certificate made here); a raw TLS
socket server records every decrypted byte it receives, to show that a client refusing the
certificate sends nothing at all: no token request, no application body.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.errors import TlsError, TransientError
from sync.gateway.admin import add_device
from sync.gateway.app import create_app
from sync.http import tls_context
from sync.outbox import StopReason, deliver_due
from sync.protocol import ApplicationPayload
from tests.sync.scripted_server import FAKE_CREDENTIALS
from tests.sync.test_outbox import finalized

# --- certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    """A CA: its certificate, its key and the PEM file of the certificate."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    pem: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, common: str) -> Issuer:
    """A self-signed test CA, written to ``folder/<common>.pem``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common)).issuer_name(_name(common))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = folder / f"{common}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issuer(cert, key, pem)


def make_server_cert(folder: Path, issuer: Issuer, *, hosts: tuple[str, ...] = ("127.0.0.1",),
                     stem: str = "server") -> tuple[Path, Path]:
    """A server certificate for `hosts` signed by `issuer`; returns (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0])).issuer_name(issuer.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def trusted(tmp_path: Path) -> Issuer:
    return make_ca(tmp_path, "madoguchi-test-ca")


@pytest.fixture
def stranger(tmp_path: Path) -> Issuer:
    return make_ca(tmp_path, "someone-elses-ca")


# --- servers ----------------------------------------------------------------------------------


@dataclass
class TlsGateway:
    url: str
    db_url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def start_tls_gateway(db_url: str, cert: Path, key: Path) -> TlsGateway:
    """The real gateway app served by uvicorn over TLS on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(db_url), host="127.0.0.1", port=port, log_level="critical",
                            access_log=False, ws="none", lifespan="on",
                            ssl_certfile=str(cert), ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("TLS gateway did not start")
        time.sleep(0.01)
    return TlsGateway(f"https://127.0.0.1:{port}", db_url, server, thread, sock)


@dataclass
class Recorder:
    """A raw TLS server that records what arrives: handshakes begun, and decrypted bytes."""

    url: str
    client_hellos: int = 0
    handshakes_completed: int = 0
    decrypted: bytearray = field(default_factory=bytearray)


RecorderFactory = Callable[[Path, Path], Recorder]


@pytest.fixture
def recorder_factory() -> Iterator[RecorderFactory]:
    stops: list[threading.Event] = []
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def start(cert: Path, key: Path) -> Recorder:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.1)
        recorder = Recorder(f"https://127.0.0.1:{listener.getsockname()[1]}")
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(3)
                    if conn.recv(1, socket.MSG_PEEK) == b"\x16":  # a TLS handshake record
                        recorder.client_hellos += 1
                    try:
                        tls = context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError):
                        continue  # the client refused us: nothing was decrypted
                    recorder.handshakes_completed += 1
                    with tls:
                        _record_request(tls, recorder)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        stops.append(stop)
        threads.append(thread)
        sockets.append(listener)
        return recorder

    yield start
    for stop in stops:
        stop.set()
    for thread in threads:
        thread.join(5)
    for listener in sockets:
        listener.close()


def _record_request(tls: ssl.SSLSocket, recorder: Recorder) -> None:
    """Read one request (headers and body) and answer 503, recording every byte."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = tls.recv(65536)
            if not chunk:
                break
            body += chunk
            data += chunk
        tls.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")
    except (ssl.SSLError, OSError):
        pass
    recorder.decrypted += data


# --- tests ------------------------------------------------------------------------------------


def test_context_trusts_only_the_bundle_and_tls_1_2_or_later(trusted: Issuer) -> None:
    context = tls_context(trusted.pem)
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "madoguchi-test-ca"),),)]  # the system store is not loaded
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_trusted_ca_works_end_to_end(tmp_path: Path, trusted: Issuer) -> None:
    cert, key = make_server_cert(tmp_path, trusted)
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    gateway = start_tls_gateway(db_url, cert, key)
    try:
        credentials = add_device(db_url, tenant_code="131016", mode="kiosk",
                                 device_id="KIOSK-TEST")
        store = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
        try:
            application_id = finalized(store, gateway.url)
            with LinkageClient(gateway.url, credentials=credentials,
                               ca_bundle=trusted.pem) as client:
                assert client.health() is True
                report = deliver_due(store, client)
                assert client.meta().device_id == "KIOSK-TEST"
            assert application_id in report.received
        finally:
            store.close()
    finally:
        gateway.stop()


@pytest.mark.parametrize("problem", ["untrusted-ca", "wrong-host"])
def test_untrusted_certificate_sends_nothing(
    tmp_path: Path, trusted: Issuer, stranger: Issuer, recorder_factory: RecorderFactory,
    problem: str,
) -> None:
    issuer, hosts = (stranger, ("127.0.0.1",)) if problem == "untrusted-ca" else (
        trusted, ("gateway.example.lg.jp",))
    recorder = recorder_factory(*make_server_cert(tmp_path, issuer, hosts=hosts))
    store = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    try:
        application_id = finalized(store, recorder.url)
        with LinkageClient(recorder.url, credentials=FAKE_CREDENTIALS,
                           ca_bundle=trusted.pem, timeout=3) as client:
            with pytest.raises(TlsError) as caught:
                client.token()
            report = deliver_due(store, client)
        with LinkageClient(recorder.url, ca_bundle=trusted.pem, timeout=3) as anonymous:
            # Without credentials the very first bytes would be the application body itself.
            entry = store.claim_due()[0]
            with pytest.raises(TlsError):
                anonymous.submit(ApplicationPayload.model_validate(entry.payload))
            store.release([entry.application_id])
    finally:
        store.close()

    assert "not trusted" in str(caught.value) and caught.value.__cause__ is None
    assert report.stopped is StopReason.TLS_UNTRUSTED
    assert store.outbox_state(application_id)[:2] == ("pending", 0)
    assert recorder.client_hellos >= 3  # the client did connect each time ...
    assert recorder.handshakes_completed == 0
    assert bytes(recorder.decrypted) == b""  # ... and not one byte of a request arrived


def test_the_recorder_does_see_requests_from_a_trusting_client(
    tmp_path: Path, trusted: Issuer, recorder_factory: RecorderFactory
) -> None:
    """The control for the test above: the same recorder, trusted, receives the body."""
    recorder = recorder_factory(*make_server_cert(tmp_path, trusted))
    store = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    try:
        finalized(store, recorder.url)
        entry = store.claim_due()[0]
        with LinkageClient(recorder.url, ca_bundle=trusted.pem, timeout=3) as anonymous, \
                pytest.raises(TransientError):  # the recorder answers 503
            anonymous.submit(ApplicationPayload.model_validate(entry.payload))
    finally:
        store.close()
    assert recorder.handshakes_completed == 1
    assert b"POST /madoguchi/v1/applications" in recorder.decrypted
    assert entry.application_id.encode() in recorder.decrypted
