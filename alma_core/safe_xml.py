"""Untrusted XML files (XLIFF, TMX, TBX) checked before any parser that builds a tree sees them: too large,
entity declarations or malformed XML are refused (docs/reliability.md, "Hostile and malformed inputs")."""

from __future__ import annotations

from pathlib import Path

from alma_core.limited_read import LimitedReadError, read_limited

# An XLIFF of a 1,000-page manual is a few tens of MB; 256 MB is far past any real exchange file,
# and bounds the memory of reading the file and its tree.
MAX_XML_BYTES = 256 * 1024 * 1024


class UnsafeXMLError(ValueError):
    """An XML file refused before parsing: too large, declaring entities or not well-formed."""


def read_checked(source: Path, what: str, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """The file's bytes once they passed the checks; `what` names the format in messages ("XLIFF file")."""
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    try:
        data = read_limited(source, max_bytes, f"an {what}")
    except LimitedReadError as exc:
        raise UnsafeXMLError(str(exc)) from None
    if not data.strip():
        raise UnsafeXMLError(f"{source}: an empty file, not an {what}")
    try:
        safe_et.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        # EntitiesForbidden / ExternalReferenceForbidden: refused, never expanded or fetched.
        raise UnsafeXMLError(f"{source}: declares XML entities ({type(exc).__name__}: {exc}); an {what} "
                            "never needs them, refusing it (entity expansion and external entities are "
                            "how XML files attack their readers)") from None
    except safe_et.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise UnsafeXMLError(f"{source}: line {line}, column {column}: not well-formed XML "
                            f"({exc.msg if hasattr(exc, 'msg') else exc}); not a readable {what}") from None
    except (ValueError, RecursionError) as exc:
        raise UnsafeXMLError(f"{source}: not a readable {what} ({exc})") from None
    return data


def parser():
    """An lxml parser for checked files: no entity resolution, no network, no DTD loading."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=False, strip_cdata=False)
