"""Which addresses a fetch may connect to: public ones, and the private ranges the host allows.

`ipaddress`'s `is_global` is not enough on its own: an IPv6 address can carry an IPv4 one that
the network will reach in its place (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
`::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, 6to4 `2002:AABB:CCDD::`, NAT64
`64:ff9b::a.b.c.d`), and the standard library
calls several such forms global. So the IPv4 address inside one is checked too, and the
translation prefixes meant for one network only (local-use NAT64 `64:ff9b:1::/48`, Teredo
`2001::/32`) are never public; nor are `192.0.0.0/24` (IETF protocol assignments) and the
deprecated site-local `fec0::/10`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["IPAddress", "Network", "embedded_ipv4", "is_allowed", "is_public", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: IPv4 in the last 32 bits
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765: ::ffff:0:a.b.c.d
_NEVER_PUBLIC = (
    ipaddress.IPv4Network("192.0.0.0/24"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
    ipaddress.IPv6Network("2001::/32"),  # Teredo
    ipaddress.IPv6Network("fec0::/10"),  # site-local, deprecated but still routed inside
)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and is routed to, if it carries one."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether `address`, and any IPv4 address inside it, is on the public internet."""
    inner = embedded_ipv4(address)
    for candidate in (address, inner):
        if candidate is None:
            continue
        if not candidate.is_global or candidate.is_multicast:
            return False
        if any(candidate in network for network in _NEVER_PUBLIC):
            return False
    return True


def is_allowed(address: IPAddress, private_networks: Iterable[Network] = ()) -> bool:
    """Public, or (itself or the IPv4 address inside it) in one of the ranges allowed."""
    if is_public(address):
        return True
    candidates = [c for c in (address, embedded_ipv4(address)) if c is not None]
    return any(c in network for network in private_networks for c in candidates)


def parse_networks(text: str) -> tuple[Network, ...]:
    """Address ranges written as `127.0.0.0/8,10.1.2.0/24,::1/128` (a bare address is a range
    of one). Raises ValueError when a part is not a range."""
    networks = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            # The value is not echoed: settings errors never show one.
            raise ValueError(
                "each part must be an address range like 10.1.2.0/24, or an address"
            ) from None
    return tuple(networks)
