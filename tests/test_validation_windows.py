"""Validation of crowded elements a window at a time (exchange/policy.py validate_linear): every
finding the whole document has, each once, at its own line, in windows whose size does not grow
with the document."""

from __future__ import annotations

import pytest
from lxml import etree

from exchange import policy

XSD = etree.XMLSchema(etree.fromstring(b"""
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="List"><xs:complexType><xs:sequence>
    <xs:element name="Head" type="xs:integer"/>
    <xs:element name="A" type="xs:integer" maxOccurs="unbounded"/>
    <xs:element name="B" type="xs:integer" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element name="Tail" type="xs:integer"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""))


class Recording:
    """The schema, noting how many children List has each time it is asked."""

    def __init__(self, schema: etree.XMLSchema):
        self.schema, self.sizes = schema, []

    def validate(self, tree) -> bool:
        self.sizes.append(len(tree.getroot()))
        return self.schema.validate(tree)

    @property
    def error_log(self):
        return self.schema.error_log


def document(head: str = "1", a: list[str] = (), b: list[str] = (), between: str = "") -> etree._ElementTree:
    lines = [f"<Head>{head}</Head>"] + [f"{between}<A>{v}</A>" for v in a] + [f"{between}<B>{v}</B>" for v in b]
    return etree.ElementTree(etree.fromstring(("<List>\n" + "\n".join(lines + ["<Tail>0</Tail>"]) + "\n</List>")
                                              .encode()))


@pytest.fixture(autouse=True)
def small_windows(monkeypatch):
    monkeypatch.setattr(policy, "WINDOW", 10)


def findings(tree, limit: int = 1000) -> list[tuple[int, str]]:
    return [(line, f"{element.tag}={element.text}" if element is not None else "")
            for element, line, _, _ in policy.validate_linear(XSD, tree, limit)]


def test_every_bad_line_of_two_crowded_names_is_found_once_at_its_line():
    a = ["1"] * 35
    b = ["1"] * 42
    a[3] = a[27] = "x"
    b[0] = b[41] = "y"
    tree = document(a=a, b=b)
    assert findings(tree) == [(6, "A=x"), (30, "A=x"), (38, "B=y"), (79, "B=y")]
    assert len(tree.getroot()) == 1 + 35 + 42 + 1  # put back whole


def test_a_bad_field_kept_in_every_window_is_reported_once():
    assert findings(document(head="h", a=["1"] * 95)) == [(2, "Head=h")]


def test_windows_hold_at_most_a_window_of_each_name_whatever_stands_between_the_lines():
    recording = Recording(XSD)
    tree = document(a=["x"] * 95, b=["y"] * 60, between="<!-- line -->")
    found = policy.validate_linear(recording, tree, 1000)
    assert len(found) == 155
    # Head, the first 8 and a window of 10 of each of A and B, Tail; 95 As: 10 windows
    assert max(recording.sizes) == 1 + 18 + 18 + 1 and len(recording.sizes) == 10


def test_text_after_a_comment_between_lines_is_still_refused():
    tree = document(a=["1"] * 40, between="<!-- c -->")
    tree.getroot()[30].tail = "junk"  # after the comment before the 16th A: the 30th child counts both
    assert [message.split(":")[-1].strip() for _, _, message, _ in policy.validate_linear(XSD, tree, 10)] == [
        "Character content other than whitespace is not allowed because the content type is 'element-only'."]


def test_an_order_broken_across_windows_is_found():
    tree = document(a=["1"] * 30, b=["1"] * 30)
    root = tree.getroot()
    root.append(etree.fromstring("<A>1</A>"))  # an A after the Bs and the Tail
    assert [message for _, _, message, _ in policy.validate_linear(XSD, tree, 10)] == [
        "Element 'A': This element is not expected."]


def test_first_only_stops_at_the_first_window_with_a_finding():
    recording = Recording(XSD)
    a = ["1"] * 95
    a[12] = "x"
    assert len(policy.validate_linear(recording, document(a=a), 1, first_only=True)) == 1
    assert len(recording.sizes) == 2
