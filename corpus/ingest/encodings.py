"""The character encodings a page may declare: the WHATWG Encoding Standard's labels, as
browsers read them (https://encoding.spec.whatwg.org/#names-and-labels), and no other.

Python's codec registry is no list of page encodings: it also holds transforms (punycode, which
decodes in quadratic time, idna, rot13, base64, zlib, uu, hex) and encodings no browser reads
(utf-7). So a label is looked up here, never passed to `bytes.decode`. Each encoding is decoded
by the Python codec that matches it; where the standard maps bytes Python leaves undefined
(windows-1252's 0x81, say) they become the C1 controls browsers give them.
"""

from __future__ import annotations

import codecs
import functools
from dataclasses import dataclass

__all__ = ["REPLACEMENT", "UTF_8", "WINDOWS_1252", "Encoding", "decode", "lookup"]


@dataclass(frozen=True)
class Encoding:
    name: str  # the standard's name
    codec: str  # the Python codec that decodes it
    single_byte: bool = False


# The standard's encodings: name, Python codec, and the labels beside the name's own.
_TABLE: tuple[tuple[str, str, str], ...] = (
    ("UTF-8", "utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf8 x-unicode20utf8"),
    ("IBM866", "cp866", "866 cp866 csibm866"),
    ("ISO-8859-2", "iso8859_2", "csisolatin2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
     "iso_8859-2:1987 l2 latin2"),
    ("ISO-8859-3", "iso8859_3", "csisolatin3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
     "iso_8859-3:1988 l3 latin3"),
    ("ISO-8859-4", "iso8859_4", "csisolatin4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
     "iso_8859-4:1988 l4 latin4"),
    ("ISO-8859-5", "iso8859_5", "csisolatincyrillic cyrillic iso-ir-144 iso8859-5 iso88595 "
     "iso_8859-5 iso_8859-5:1988"),
    ("ISO-8859-6", "iso8859_6", "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic "
     "ecma-114 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
     "iso_8859-6:1987"),
    ("ISO-8859-7", "iso8859_7", "csisolatingreek ecma-118 elot_928 greek greek8 iso-ir-126 "
     "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek"),
    ("ISO-8859-8", "iso8859_8", "csiso88598e csisolatinhebrew hebrew iso-8859-8-e iso-ir-138 "
     "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual"),
    ("ISO-8859-8-I", "iso8859_8", "csiso88598i logical"),
    ("ISO-8859-10", "iso8859_10", "csisolatin6 iso-ir-157 iso8859-10 iso885910 l6 latin6"),
    ("ISO-8859-13", "iso8859_13", "iso8859-13 iso885913"),
    ("ISO-8859-14", "iso8859_14", "iso8859-14 iso885914"),
    ("ISO-8859-15", "iso8859_15", "csisolatin9 iso8859-15 iso885915 iso_8859-15 l9"),
    ("ISO-8859-16", "iso8859_16", ""),
    ("KOI8-R", "koi8_r", "cskoi8r koi koi8 koi8_r"),
    ("KOI8-U", "koi8_u", "koi8-ru"),
    ("macintosh", "mac_roman", "csmacintosh mac x-mac-roman"),
    ("windows-874", "cp874", "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620"),
    ("windows-1250", "cp1250", "cp1250 x-cp1250"),
    ("windows-1251", "cp1251", "cp1251 x-cp1251"),
    ("windows-1252", "cp1252", "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 "
     "iso-8859-1 iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 "
     "us-ascii x-cp1252"),
    ("windows-1253", "cp1253", "cp1253 x-cp1253"),
    ("windows-1254", "cp1254", "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 "
     "iso_8859-9 iso_8859-9:1989 l5 latin5 x-cp1254"),
    ("windows-1255", "cp1255", "cp1255 x-cp1255"),
    ("windows-1256", "cp1256", "cp1256 x-cp1256"),
    ("windows-1257", "cp1257", "cp1257 x-cp1257"),
    ("windows-1258", "cp1258", "cp1258 x-cp1258"),
    ("x-mac-cyrillic", "mac_cyrillic", "x-mac-ukrainian"),
    # The standard's GBK decoder is its gb18030 decoder; its Big5 is Big5-HKSCS; its
    # Shift_JIS and EUC-KR are Microsoft's supersets of them.
    ("GBK", "gb18030", "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 iso-ir-58 "
     "x-gbk"),
    ("gb18030", "gb18030", ""),
    ("Big5", "big5hkscs", "big5-hkscs cn-big5 csbig5 x-x-big5"),
    ("EUC-JP", "euc_jp", "cseucpkdfmtjapanese x-euc-jp"),
    ("ISO-2022-JP", "iso2022_jp", "csiso2022jp"),
    ("Shift_JIS", "cp932", "csshiftjis ms932 ms_kanji shift-jis sjis windows-31j x-sjis"),
    ("EUC-KR", "cp949", "cseuckr csksc56011987 iso-ir-149 korean ks_c_5601-1987 "
     "ks_c_5601-1989 ksc5601 ksc_5601 windows-949"),
    # Labels of encodings that let a page smuggle markup past filters: the standard decodes
    # them to nothing; we read such a page as UTF-8, with replacement characters.
    ("replacement", "utf-8", "csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr"),
    ("UTF-16BE", "utf-16-be", "unicodefffe"),
    ("UTF-16LE", "utf-16-le", "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16"),
    ("x-user-defined", "latin-1", ""),
)  # fmt: skip

# The encodings that are not one byte a character (x-user-defined is, but decodes on its own).
_MULTI_BYTE = frozenset(
    "UTF-8 GBK gb18030 Big5 EUC-JP ISO-2022-JP Shift_JIS EUC-KR replacement UTF-16BE UTF-16LE "
    "x-user-defined".split()
)

_BY_LABEL: dict[str, Encoding] = {
    label: Encoding(name, codec, name not in _MULTI_BYTE)
    for name, codec, labels in _TABLE
    for label in (name.casefold(), *labels.split())
}
UTF_8 = _BY_LABEL["utf-8"]
WINDOWS_1252 = _BY_LABEL["windows-1252"]
REPLACEMENT = _BY_LABEL["replacement"]
# The whitespace the standard strips from a label.
_WHITESPACE = "\t\n\f\r "


def lookup(label: str) -> Encoding | None:
    """The encoding a label names (case and surrounding whitespace or quotes aside), or None
    when it names none the standard knows."""
    return _BY_LABEL.get(label.strip(_WHITESPACE).strip("\"'").strip(_WHITESPACE).casefold())


def decode(raw: bytes, encoding: Encoding, *, strict: bool = False) -> str:
    """`raw` in `encoding`. A single-byte encoding always decodes (a byte it leaves undefined
    becomes U+FFFD, or the C1 control browsers read it as); a multi-byte one raises
    UnicodeDecodeError on a malformed sequence when `strict`, else replaces it."""
    if encoding.name == "x-user-defined":
        return raw.decode("latin-1").translate(_USER_DEFINED)
    if encoding.single_byte:
        return raw.decode("latin-1").translate(_byte_table(encoding.codec))
    return raw.decode(encoding.codec, errors="strict" if strict else "replace")


@functools.cache
def _byte_table(codec: str) -> dict[int, str]:
    """What each byte 0x80-0xFF of a single-byte codec reads as (ASCII is ASCII in all of
    them), for a decode that is one `translate`, linear and never failing."""
    decoded = codecs.decode(bytes(range(0x80, 0x100)), codec, errors="replace")
    table = {}
    for byte, char in zip(range(0x80, 0x100), decoded, strict=True):
        windows_gap = char == "\ufffd" and codec.startswith("cp") and byte < 0xA0
        table[byte] = chr(byte) if windows_gap else char
    return table


# x-user-defined: bytes 0x80-0xFF are U+F780-U+F7FF.
_USER_DEFINED = {byte: chr(0xF780 + byte - 0x80) for byte in range(0x80, 0x100)}
