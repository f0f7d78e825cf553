"""The hardened parser refuses hostile and broken input with a reason, and never expands it."""

from __future__ import annotations

import pytest

from exchange.errors import RefusedInput
from exchange.parsing import Limits, parse

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def refusal(data: bytes, limits: Limits = Limits()) -> str:
    with pytest.raises(RefusedInput) as caught:
        parse(data, limits)
    return caught.value.reason


def test_an_external_entity_is_refused_and_never_read():
    assert "DOCTYPE" in refusal(XXE)


def test_an_entity_bomb_is_refused_before_expansion():
    assert "DOCTYPE" in refusal(LAUGHS)


def test_a_doctype_in_utf16_is_refused_too():
    assert "DOCTYPE" in refusal(XXE.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"))


def test_a_doctype_without_entities_is_refused():
    assert "DOCTYPE" in refusal(b'<!DOCTYPE r SYSTEM "http://example.com/r.dtd"><r/>')


def test_malformed_xml_names_the_problem_and_its_line():
    with pytest.raises(RefusedInput) as caught:
        parse(b"<a>\n<b>\n</a>")
    assert "not well-formed" in caught.value.reason
    assert caught.value.issues[0].line == 3


@pytest.mark.parametrize("data", [b"", b"   \n  "])
def test_an_empty_document_is_refused(data):
    assert refusal(data) == "the document is empty"


def test_binary_garbage_is_refused():
    assert "XML" in refusal(bytes(range(256)) * 4)


def test_a_document_over_the_size_limit_is_refused_before_parsing():
    reason = refusal(b"<a>" + b"x" * 2000 + b"</a>", Limits(max_bytes=1000))
    assert "2,007 bytes" in reason and "limit of 1,000" in reason


def test_nesting_deeper_than_the_configured_limit_is_refused():
    deep = b"<a>" * 11 + b"</a>" * 11
    assert "deeper than the limit of 10" in refusal(deep, Limits(max_depth=10))
    assert parse(b"<a>" * 10 + b"</a>" * 10, Limits(max_depth=10)).getroot().tag == "a"


def test_a_plain_document_parses_with_line_numbers():
    tree = parse(b"<a>\n  <b>text</b>\n</a>")
    assert tree.getroot()[0].sourceline == 2
