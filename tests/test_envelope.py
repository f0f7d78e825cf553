"""Envelope facts from every shape the hub meets, in any child order."""

from __future__ import annotations

import base64

import pytest

from exchange import envelope as envelopes
from exchange.errors import EnvelopeError
from exchange.parsing import parse


def read(data: bytes):
    return envelopes.read(parse(data))


def test_golden_customs_signature_envelope(sample):
    envelope = read(sample("etps-shenyang/INV101-import.xml").read_bytes()).envelope
    assert envelope.shape == "signature"
    assert envelope.message_type == "INV101"
    assert envelope.sender == "DXPENT0000016069"
    assert envelope.receivers == ("DXPDSWNEMS000001",)
    assert envelope.body == "InvtMessage"
    assert envelope.message_id and envelope.send_time


def test_child_order_does_not_matter(sample):
    envelope = read(sample("etps-shenyang/INV101-export.xml").read_bytes()).envelope
    assert (envelope.message_type, envelope.body, envelope.sender) == ("INV101", "InvtMessage", "DXPENT0000016069")


def test_receipt_in_the_xmldsig_namespace(sample):
    envelope = read(sample("customs/INV201-receipt.xml").read_bytes()).envelope
    assert envelope.shape == "package"
    assert envelope.namespace == "http://www.w3.org/2000/09/xmldsig#"
    assert (envelope.message_type, envelope.sender, envelope.receivers) == ("INV201", "CUS0000", ("DXPENT0000016069",))


def test_receipt_without_namespace(sample):
    envelope = read(sample("zone/SAS221-receipt.xml").read_bytes()).envelope
    assert (envelope.shape, envelope.namespace, envelope.message_type) == ("package", "", "SAS221")


def test_dxp_message_is_unwrapped_and_the_inner_document_read(sample):
    inner = sample("etps-shenyang/SAS121-pass.xml").read_bytes()
    dxp = f"""<?xml version="1.0" encoding="UTF-8"?>
<DxpMsg xmlns="http://www.chinaport.gov.cn/dxp" ver="1.0">
  <Data>{base64.b64encode(inner).decode()}</Data>
  <TransInfo>
    <CopMsgId>2f6c8e1a-5b9d-4c1e-9a77-0c1d2e3f4a5b</CopMsgId>
    <SenderId>DXPENT0000016069</SenderId>
    <ReceiverIds><ReceiverId>DXPZONE080100001</ReceiverId><ReceiverId>DXPEDCDEC0000001</ReceiverId></ReceiverIds>
    <CreatTime>2026-11-28T10:00:00</CreatTime>
    <MsgType>SAS121</MsgType>
  </TransInfo>
  <AddInfo><BizKey><Key name="RltNo">QD0801260000000001</Key></BizKey></AddInfo>
</DxpMsg>""".encode()
    document = read(dxp)
    assert document.envelope.shape == "dxp"
    assert document.envelope.message_id == "2f6c8e1a-5b9d-4c1e-9a77-0c1d2e3f4a5b"
    assert document.envelope.receivers == ("DXPZONE080100001", "DXPEDCDEC0000001")
    assert document.envelope.keys == {"RltNo": "QD0801260000000001"}
    assert document.envelope.inner.message_type == "SAS121"
    assert document.envelope.inner.shape == "signature"
    assert document.business.body == "PassPortMessage"
    assert envelopes.local_name(document.tree.getroot()) == "Signature"


def test_dxp_data_that_is_not_base64_is_an_envelope_error():
    with pytest.raises(EnvelopeError, match="base64"):
        read(b'<DxpMsg xmlns="http://www.chinaport.gov.cn/dxp" ver="1.0"><TransInfo/><Data>%%%</Data></DxpMsg>')


def test_single_window_import_message():
    document = read("""<ImportMessage>
  <SWImpData><DecMessage xmlns="http://www.chinaport.gov.cn/dec" version="3.1">
    <DecHead><SeqNo>080120261000012345</SeqNo><IEPort>5317</IEPort></DecHead>
    <DecSign><CopCode>2101930123</CopCode><ClientSeqNo>HC-DEC-20261128-01</ClientSeqNo></DecSign>
  </DecMessage></SWImpData>
  <SWImpHead><CopMsgId>SW20261128000001</CopMsgId><MsgType>SWDEC001</MsgType></SWImpHead>
</ImportMessage>""".encode())
    envelope = document.envelope
    assert (envelope.shape, envelope.message_type, envelope.message_id) == (
        "import-message", "SWDEC001", "SW20261128000001")
    assert (envelope.body, envelope.business_id, envelope.sender) == ("DecMessage", "080120261000012345", "2101930123")


@pytest.mark.parametrize("xml, facts", [
    ('<DecImportResponse xmlns="http://www.chinaport.gov.cn/dec"><ResponseCode>0</ResponseCode>'
     '<ErrorMessage/><ClientSeqNo>HC-DEC-20261128-01</ClientSeqNo><SeqNo>080120261000012345</SeqNo>'
     '</DecImportResponse>',
     {"message_type": "DecImportResponse", "message_id": "",
      "business_id": "080120261000012345"}),
    ('<DEC_RESULT><CUS_CIQ_NO>C080126000001</CUS_CIQ_NO><ENTRY_ID>080120261000012345</ENTRY_ID>'
     '<NOTICE_DATE>2026-11-28T10:05:00</NOTICE_DATE><CHANNEL>7</CHANNEL></DEC_RESULT>',
     {"message_type": "DEC_RESULT", "business_id": "080120261000012345",
      "message_id": ""}),
    ('<CommonResponeMessage><SeqNo>080120261000012345</SeqNo><EtpsPreentNo>HC2026112800001</EtpsPreentNo>'
     '<CheckInfo/><DealFlag>0</DealFlag></CommonResponeMessage>',
     {"message_type": "CommonResponeMessage", "business_id": "080120261000012345",
      "message_id": ""}),
    ('<DecMessage xmlns="http://www.chinaport.gov.cn/dec"><DecSign><ClientSeqNo>HC-1</ClientSeqNo>'
     '<CopCode>2101930123</CopCode></DecSign><DecHead><SeqNo/></DecHead></DecMessage>',
     {"message_type": "DecMessage", "message_id": "HC-1", "sender": "2101930123"}),
])
def test_bare_documents(xml, facts):
    envelope = read(xml.encode()).envelope
    assert envelope.shape == "bare"
    for name, value in facts.items():
        assert getattr(envelope, name) == value


def test_missing_envelope_fields_are_all_named(sample):
    with pytest.raises(EnvelopeError) as caught:
        read(sample("invalid/INV101-missing-message-id.xml").read_bytes())
    assert "message_id" in caught.value.reason
    assert any(issue.path and issue.path.endswith("EnvelopInfo/message_id") for issue in caught.value.issues)


def test_a_signature_without_package_is_an_envelope_error():
    with pytest.raises(EnvelopeError, match="Object/Package"):
        read(b"<Signature><SignedInfo/></Signature>")
