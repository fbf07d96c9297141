"""Outbound requests policy (issue 12, hole 6 and mechanism "Outbound requests policy").

Every URL the server itself fetches or posts to — back-channel logout URIs (OIDC Back-Channel
Logout 1.0 §2.5), connector sources (``GENBA_MYNAPORTAL_URL``), trust-list sources — goes through
:func:`client`. Its transport resolves the host name once, refuses the request when any resolved
address is loopback, private (RFC 1918, RFC 4193), link-local (RFC 3927, RFC 4291), shared/CGNAT
(RFC 6598), multicast, unspecified, reserved or a cloud metadata address, and then connects to
the address it checked, so a second DNS answer (DNS rebinding) cannot swap in an internal one.
TLS still verifies the certificate against the host name (the URL's host is the TLS server name).

:func:`check_url` applies the same rules when a URL is registered (RFC 7591 §2,
``invalid_client_metadata``), so a relying party learns at once that the URI will never be called.

Time and size are bounded: every operation has ``timeout`` seconds and the whole exchange at most
``deadline`` seconds; a response larger than ``max_bytes`` is cut off with an error; redirects
are never followed; proxies from the environment are ignored (the checked address is the peer).

Only an explicit development setting (``GENBA_OUTBOUND_ALLOW_PRIVATE=true``) lets requests reach
private and loopback addresses (test receivers, the reference source on 127.0.0.1); cloud metadata
addresses stay refused even then. No library does the connect-to-the-checked-address part for
httpx, so this module wraps httpcore's public ``NetworkBackend`` hook by hand.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from common.errors import GenbaError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Instance metadata services: AWS/GCP/Azure/OpenStack (169.254.169.254), AWS IPv6 (fd00:ec2::254),
#: Alibaba Cloud (100.100.100.200), Azure WireServer (168.63.129.16, a global address).
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use NAT64
#: kinds a development setting may allow; ``metadata`` is never allowed
PRIVATE_KINDS = frozenset({"loopback", "private", "link_local", "cgnat", "unspecified", "reserved", "multicast"})


class OutboundRefused(GenbaError, httpx.TransportError):
    """The policy forbids this destination; never retried (the same address stays forbidden)."""

    code = "outbound_refused"
    status = 502

    def __init__(self, host: str, kind: str) -> None:
        super().__init__(f"outbound request to {host} refused: {kind.replace('_', '-')} address")
        self.host, self.kind = host, kind


@dataclass(frozen=True)
class OutboundPolicy:
    """Where the server may send requests, and how long and how much it waits for."""

    allow_private: bool = False  #: development only: loopback, private, link-local... allowed
    timeout: float = 5.0  #: seconds for each connect, read and write
    deadline: float = 15.0  #: seconds for the whole exchange, body included
    max_bytes: int = 1_000_000  #: largest response body accepted


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped (RFC 4291 §2.5.5.2), NAT64 (RFC 6052),
    6to4 (RFC 3056); a destination written this way is judged as that IPv4 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or ip in NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast destination (``loopback``, ``private``, ``metadata``...),
    or ``None`` for a global unicast address (IANA special-purpose registries, RFC 6890)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return "reserved"  # RFC 4380: the real peer is hidden in the address
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_kind(inner)
        if ip.scope_id:
            return "link_local"
    if ip in METADATA:
        return "metadata"
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("0.0.0.0/8")):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "cgnat"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def refusal(ip: IPAddress, policy: OutboundPolicy) -> str | None:
    """The kind of address that ``policy`` refuses, or ``None`` when the address may be used."""
    kind = address_kind(ip)
    if kind is None or (policy.allow_private and kind in PRIVATE_KINDS):
        return None
    return kind


def resolve(host: str, port: int, policy: OutboundPolicy) -> list[IPAddress]:
    """Every address ``host`` resolves to, after checking each: one forbidden address refuses the
    host (a name that also points inside must not be used at all). Raises :class:`OutboundRefused`,
    or ``OSError`` when the name does not resolve."""
    name = host.strip("[]")
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        kind = refusal(ip, policy)
        if kind is not None:
            raise OutboundRefused(name, kind)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OSError(f"{name} has no address")
    return addresses


def check_url(url: str, policy: OutboundPolicy) -> None:
    """At registration: refuse a URL the policy would refuse when it is called (``ValueError``
    with the reason). A name that does not resolve now is accepted: it is checked again, after
    resolution, on every request."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761 §6.3: always loopback
        kind = refusal(ipaddress.ip_address("127.0.0.1"), policy)
        if kind is not None:
            raise ValueError(f"{host} is a {kind.replace('_', '-')} address")
        return
    try:
        resolve(host, port, policy)
    except OutboundRefused as refused:
        raise ValueError(f"{host} is a {refused.kind.replace('_', '-')} address") from None
    except (OSError, UnicodeError):
        return


class _CheckedBackend(httpcore.NetworkBackend):
    """httpcore asks this backend for a TCP connection to the URL's host; it resolves, checks and
    connects to the checked address itself (no second lookup, no Unix sockets)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, self._policy)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        failure: Exception | None = None
        for ip in addresses:
            try:
                return self._system.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
            except httpcore.ConnectTimeout as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise OutboundRefused(path, "unix_socket")

    def sleep(self, seconds: float) -> None:
        self._system.sleep(seconds)


_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


class CheckedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool using :class:`_CheckedBackend`; reads the whole
    body within ``policy.deadline`` and ``policy.max_bytes``."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_CheckedBackend(policy),
            max_connections=10,
            retries=0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"scheme {request.url.scheme!r} is not allowed", request=request)
        started = time.monotonic()
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core)
            try:
                body = self._read(response, request, started)
            finally:
                response.close()
        except OutboundRefused as exc:
            exc.request = request
            raise
        except httpcore.TimeoutException as exc:
            raise _mapped(exc, request) from None
        except httpcore.NetworkError as exc:
            raise _mapped(exc, request) from None
        except httpcore.ProtocolError as exc:
            raise _mapped(exc, request) from None
        except httpcore.UnsupportedProtocol as exc:
            raise _mapped(exc, request) from None
        return httpx.Response(status_code=response.status, headers=response.headers, content=body)

    def _read(self, response: httpcore.Response, request: httpx.Request, started: float) -> bytes:
        declared = next((v for k, v in response.headers if k.lower() == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self._policy.max_bytes:
            raise httpx.ReadError("the response is larger than allowed", request=request)
        body = bytearray()
        assert isinstance(response.stream, Iterable)
        for chunk in response.stream:
            body += chunk
            if len(body) > self._policy.max_bytes:
                raise httpx.ReadError("the response is larger than allowed", request=request)
            if time.monotonic() - started > self._policy.deadline:
                raise httpx.ReadTimeout("the response took longer than allowed", request=request)
        return bytes(body)

    def close(self) -> None:
        self._pool.close()


def _mapped(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    for core, mapped in _ERRORS:
        if isinstance(exc, core):
            return mapped(str(exc), request=request)
    return httpx.TransportError(str(exc))


def client(policy: OutboundPolicy, **options: Any) -> httpx.Client:
    """The only way the server makes HTTP requests: checked destinations, no redirects, no
    environment proxies, bounded time and size."""
    timeout = httpx.Timeout(policy.timeout)
    return httpx.Client(
        transport=CheckedTransport(policy),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
        **options,
    )
