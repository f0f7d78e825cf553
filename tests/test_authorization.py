"""Who may send what: the sender id a document names must be one of its endpoint's, and its type one
the endpoint may send; the refusal names both the endpoint's ids and types, as its sender reads them."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import SAMPLES
from exchange.errors import Unauthorized
from exchange.pipeline import authorize, read_document
from parties import endpoint

LOCAL = {"kind": "local", "folder": "x"}
INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()


@pytest.fixture
def inventory(context):
    return read_document(INV101, context)


def test_an_endpoint_sending_as_itself_what_it_may_send_is_authorised(inventory):
    kind, document = inventory
    authorize(endpoint("etps-shenyang", LOCAL, may_send=("INV101",)), kind, document)


@pytest.mark.parametrize("ids, may_send, messages", [
    (("DXPENT0000020001",), ("INV101",), [
        "endpoint etps-x may not send as DXPENT0000016069; its sender ids are DXPENT0000020001"]),
    ((), ("INV101",), ["endpoint etps-x may not send as DXPENT0000016069; its sender ids are none"]),
    (("DXPENT0000016069",), ("SAS121", "SAS2##"), [
        "endpoint etps-x may not send INV101 documents; it may send SAS121, SAS2##"]),
    (("DXPENT0000016069",), (), ["endpoint etps-x may not send INV101 documents; it may send nothing"]),
    ((), (), ["endpoint etps-x may not send as DXPENT0000016069; its sender ids are none",
              "endpoint etps-x may not send INV101 documents; it may send nothing"]),
])
def test_a_refusal_names_what_the_endpoint_may_do(inventory, ids, may_send, messages):
    kind, document = inventory
    with pytest.raises(Unauthorized) as caught:
        authorize(endpoint("etps-x", LOCAL, ids=ids, may_send=may_send), kind, document)
    assert [issue.message for issue in caught.value.issues] == messages
    assert caught.value.reason == "; ".join(messages)


def test_a_document_that_names_no_sender_is_refused_saying_so(inventory):
    kind, document = inventory
    nameless = dataclasses.replace(document, envelope=dataclasses.replace(document.envelope, sender=""))
    with pytest.raises(Unauthorized) as caught:
        authorize(endpoint("etps-x", LOCAL, may_send=("INV101",)), kind, nameless)
    assert caught.value.reason == "endpoint etps-x may not send as (no sender id); its sender ids are DXPENT0000016069"


def test_a_format_without_a_sender_field_is_vouched_for_by_its_endpoint(context):
    kind, document = read_document((SAMPLES / "h2010/DEC_RESULT-cleared.xml").read_bytes(), context)
    authorize(endpoint("h2010", LOCAL, ids=("H2010",), may_send=("DEC_RESULT",)), kind, document)
    with pytest.raises(Unauthorized) as caught:
        authorize(endpoint("h2010", LOCAL, ids=("H2010",), may_send=("DecImportResponse",)), kind, document)
    assert caught.value.reason == ("endpoint h2010 may not send DEC_RESULT documents; it may send "
                                   "DecImportResponse")
