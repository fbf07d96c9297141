"""The outbound policy's address classification (common/outbound.py, issue 12 hole 6): every
special-purpose range of the IANA registries (RFC 6890) is refused, in every IPv6 spelling of an
IPv4 address; only the explicit development setting allows private ones, never metadata."""

from __future__ import annotations

import ipaddress

import pytest

from common.outbound import OutboundPolicy, address_kind, check_url, refusal

STRICT = OutboundPolicy()
DEVELOPMENT = OutboundPolicy(allow_private=True)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),  # RFC 4193 unique local
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("100.64.0.1", "cgnat"),  # RFC 6598
        ("100.127.255.254", "cgnat"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),  # RFC 1122 "this network"
        ("::", "unspecified"),
        ("169.254.169.254", "metadata"),  # AWS, GCP, Azure, OpenStack
        ("fd00:ec2::254", "metadata"),  # AWS over IPv6
        ("100.100.100.200", "metadata"),  # Alibaba Cloud
        ("168.63.129.16", "metadata"),  # Azure WireServer (a global address)
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"),  # Teredo hides the real peer
        ("192.0.2.1", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("240.0.0.1", "private"),  # reserved
        ("255.255.255.255", "private"),
        ("2001:db8::1", "private"),  # documentation
    ],
)
def test_special_purpose_addresses_are_classified(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind
    assert refusal(ipaddress.ip_address(address), STRICT) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "133.242.0.1", "2606:4700::1111", "2001:4860:4860::8888"])
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) is None
    assert refusal(ipaddress.ip_address(address), STRICT) is None


def test_the_development_setting_allows_private_addresses_but_never_metadata() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), DEVELOPMENT) is None
    assert refusal(ipaddress.ip_address("10.1.1.1"), DEVELOPMENT) is None
    assert refusal(ipaddress.ip_address("169.254.169.254"), DEVELOPMENT) == "metadata"
    assert refusal(ipaddress.ip_address("::ffff:169.254.169.254"), DEVELOPMENT) == "metadata"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/internal?x=1",
        "http://localhost/cb",
        "http://app.localhost/cb",  # RFC 6761 §6.3
        "https://[::1]/cb",
        "https://[::ffff:10.0.0.1]/cb",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://rp.example/cb",
        "https:///cb",
    ],
)
def test_check_url_refuses_internal_destinations_and_other_schemes(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url, STRICT)


def test_check_url_accepts_a_name_that_does_not_resolve_yet() -> None:
    """Checked again after resolution on every request; registration does not depend on DNS."""
    check_url("https://rp.invalid/backchannel", STRICT)  # RFC 6761 §6.4: never resolves
