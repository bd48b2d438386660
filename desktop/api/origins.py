"""Which web origins may use the API from a browser: browser extensions always, others named with
`serve --cors-origin`; the CORS middleware and /suggest's check both ask here (docs/api.md, "CORS")."""

from __future__ import annotations

import ipaddress
import re

# The origins of browser extensions (Chrome/Edge/Opera, Firefox, Safari): code the user installed, which
# LibreTranslate's extensions are. A web page's origin is http(s)://host and never matches.
EXTENSION_ORIGIN_REGEX = r"(chrome-extension|moz-extension|safari-web-extension)://[A-Za-z0-9-]+"
_EXTENSION_ORIGIN = re.compile(EXTENSION_ORIGIN_REGEX)


def origin_allowed(origin: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether a request's Origin header is a browser extension's or one of `extra` ("*": any)."""
    return bool(_EXTENSION_ORIGIN.fullmatch(origin)) or origin in extra or "*" in extra


def is_loopback_client(host: str | None) -> bool:
    """Whether a client address (request.client.host) is this computer's: 127.0.0.0/8, ::1, ::ffff:127.x."""
    try:
        address = ipaddress.ip_address((host or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
