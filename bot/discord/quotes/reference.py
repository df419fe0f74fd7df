"""Reading the paragraph a member picked for /source: `set/article-id#number`.

The value normally comes from the autocomplete list, but a member can type anything: it is
read with an ASCII-digit pattern under a length limit, never with `int()` of whatever follows
the `#` (`int("²")` and `int()` of 5,000 digits both raise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_REFERENCE_CHARS", "ParagraphReference", "parse_reference"]

# Autocomplete values are at most 100 characters; room to spare for a typed one.
MAX_REFERENCE_CHARS = 300
_REFERENCE = re.compile(
    r"(?P<set>[a-z]{1,20})/(?P<doc_id>[^\s#][^#]{0,199})#(?P<number>[0-9]{1,6})"
)


@dataclass(frozen=True)
class ParagraphReference:
    set_name: str
    doc_id: str
    number: int


def parse_reference(text: str) -> ParagraphReference | None:
    """The reference in `text`, or None when it is not of the form `set/article-id#number`."""
    if len(text) > MAX_REFERENCE_CHARS:
        return None
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        return None
    return ParagraphReference(match["set"], match["doc_id"], int(match["number"]))
