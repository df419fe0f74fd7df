"""A small reader of Discord's markdown for tests: what in a piece of text Discord would make
live (a masked link, a bare or bracketed URL, a mention, a heading, list or block quote).

It follows the rules Discord's parser (simple-markdown) applies, in its order, and is stricter
where in doubt: a backslash before any character that is not a letter, digit or space makes
that character literal; a code span's content is never markup; a masked link is any
`[text](target)` its link rule matches, whatever the target's scheme; any `scheme://` address
counts as a live URL, in any letter case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Live", "live_markup"]

# simple-markdown's link rule, as Discord uses it (it does not honour escapes inside).
_MASKED_LINK = re.compile(
    r"\[((?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]"
    r"\(\s*<?((?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"]([\s\S]*?)['\"])?\s*\)"
)
_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
# Everything Discord reads inside angle brackets: user, role and channel mentions, slash
# command mentions, timestamps, custom emoji, server navigation, and autolinks.
_ANGLE = re.compile(r"<(?:@[!&]?\d+|#\d+|/[^>\n]+:\d+|a?:\w+:\d+|[a-zA-Z][\w+.-]*:[^\s>]+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)", re.IGNORECASE)
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<]+")
_URL_TAIL = ".,:;\"')]"
# Invite links are live with no scheme at all.
_INVITE = re.compile(r"discord(?:app)?\.(?:gg|com/invite|me)/\S+", re.IGNORECASE)
# Line-start markup: headings, subtext, block quotes, unordered and ordered lists.
_BLOCK = re.compile(r"[^\S\n]*(?:#{1,3}\s|-#\s|>|[-*+]\s|[0-9]+\.\s)")


@dataclass(frozen=True)
class Live:
    kind: str  # "link" (masked), "url", "mention" or "block"
    target: str  # the link's or URL's address, the mention, or the start of the line


def live_markup(text: str) -> list[Live]:
    """Everything in `text` that Discord would show as a link, mention or block."""
    found = [Live("block", line[:20]) for line in text.splitlines() if _BLOCK.match(line)]
    return found + _inline(text)


def _inline(text: str) -> list[Live]:
    found: list[Live] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and not _is_plain(text[i + 1]):
            i += 2  # an escaped character is literal
            continue
        if char == "`":
            code = _CODE.match(text, i)
            # An unclosed run of backticks is literal; a closed one hides what it holds.
            i = code.end() if code else i + len(re.match(r"`+", text[i:]).group())
            continue
        match = _match_at(text, i)
        if match is None:
            i += 1
            continue
        live, end, inner = match
        found.append(live)
        found.extend(_inline(inner))
        i = end
    return found


def _match_at(text: str, i: int) -> tuple[Live, int, str] | None:
    """The live thing starting at `text[i]`, where it ends, and its text to read further."""
    if text[i] == "[" and (link := _MASKED_LINK.match(text, i)):
        return Live("link", link.group(2)), link.end(), link.group(1)
    if text[i] == "<" and (angle := _ANGLE.match(text, i)):
        inside = angle.group()[1:-1]
        kind = "url" if "://" in inside else "mention"
        return Live(kind, inside if kind == "url" else angle.group()), angle.end(), ""
    if text[i] == "@" and (ping := _EVERYONE.match(text, i)):
        return Live("mention", ping.group()), ping.end(), ""
    if url := _URL.match(text, i):
        return Live("url", url.group().rstrip(_URL_TAIL)), url.end(), ""
    if text[i] in "dD" and (invite := _INVITE.match(text, i)):
        return Live("invite", invite.group()), invite.end(), ""
    return None


def _is_plain(char: str) -> bool:
    """Letters, digits and spaces: a backslash before them is shown, not an escape."""
    return char.isalnum() or char.isspace()
