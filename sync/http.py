"""The one HTTP client factory for talking to the gateway: TLS trust, timeouts, no redirects."""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import httpx

from desk import __version__

USER_AGENT = f"madoguchi-desk/{__version__}"

# Connecting should be quick on a municipal network; a slow connect means the link is down
# and the outbox should move on rather than hold the worker.
CONNECT_TIMEOUT_S = 5.0


@functools.lru_cache(maxsize=8)
def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Build the TLS settings of every gateway connection (once per bundle per process).

    Loading a CA store takes about 0.1 s and a context is safe to share between threads and
    clients, so a client made for every worker pass reuses it; a changed bundle file is read
    at the next start.

    Args:
        ca_bundle: PEM file of the CA certificates to trust. When given, ONLY these are
            trusted (the system store is not loaded), so a certificate issued by any other
            CA, public or intercepting, fails the handshake before a request byte is sent.
            None trusts the system's default CAs.

    Returns:
        A client context: TLS 1.2 or later, certificate and host name verified.

    Raises:
        OSError: The bundle cannot be read.
        ssl.SSLError: The bundle holds no usable certificate.
    """
    # PROTOCOL_TLS_CLIENT turns on CERT_REQUIRED and check_hostname.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the standard's floor
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


def build_http_client(
    base_url: str,
    *,
    ca_bundle: Path | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Create the one HTTP client configuration used to talk to the gateway.

    Args:
        base_url: Gateway base URL, e.g. ``https://gateway.example.lg.jp``.
        ca_bundle: The CA bundle to trust exclusively (see `tls_context`); None: system CAs.
        timeout: Read, write and pool timeout in seconds (connect is capped at 5 s).
        transport: Replacement transport (tests); the TLS settings then are the transport's.

    Returns:
        An ``httpx.Client`` that never follows redirects, ignores proxy and CA environment
        variables, and asks for JSON.
    """
    return httpx.Client(
        base_url=base_url,
        verify=tls_context(ca_bundle),
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
        # A redirect would re-send personal data to an address nobody configured.
        follow_redirects=False,
        # Nor may an environment variable (HTTPS_PROXY, SSL_CERT_FILE) route or trust
        # differently from the device configuration: the gateway URL and CA bundle are
        # the whole truth about where personal data goes.
        trust_env=False,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        transport=transport,
    )
