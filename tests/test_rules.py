"""Business rules beyond the XSD: code lists, shapes, totals, item numbers, the declaring enterprise."""

from __future__ import annotations

import shutil

import pytest

import hub
from exchange.errors import InvalidDocument
from exchange.pipeline import process, read_document
from exchange.rules import social_credit_code_valid

from conftest import HOME, SAMPLES

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_text(encoding="utf-8")


def issues_of(context, text: str) -> list:
    kind, document = read_document(text.encode("utf-8"), context)
    with pytest.raises(InvalidDocument) as caught:
        context.catalog.validate(kind, document, file="t.xml", declarants=("2101940123", "2101980456"))
    return caught.value.issues


def only(issues, rule: str):
    found = [issue for issue in issues if f"[rule {rule}" in issue.message]
    assert found, [str(i) for i in issues]
    return found


def test_the_samples_keep_every_rule(context):
    for name in ("INV101-import.xml", "INV101-export.xml", "SAS121-pass.xml"):
        kind, document = read_document((SAMPLES / "etps-shenyang" / name).read_bytes(), context)
        context.catalog.validate(kind, document, declarants=("2101940123", "2101980456"))


def test_a_code_missing_from_its_code_list_is_reported_with_line_and_path(context):
    text = INV101.replace("<DclCurrcd>502</DclCurrcd>", "<DclCurrcd>999</DclCurrcd>", 1)
    (issue,) = only(issues_of(context, text), "code:currency")
    assert "'999' is not a currency code" in issue.message
    assert (issue.line, issue.path) == (
        text[:text.index("<DclCurrcd>999</DclCurrcd>")].count("\n") + 1,
        "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/InvtListType[1]/DclCurrcd")


def test_a_social_credit_code_with_a_wrong_check_character_is_reported(context):
    text = INV101
    start = text.index("<BizopEtpsSccd>") + len("<BizopEtpsSccd>")
    code = text[start:start + 18]
    assert social_credit_code_valid(code)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    (issue,) = only(issues_of(context, text.replace(code, wrong, 1)), "shape:social-credit-code")
    assert wrong in issue.message and issue.path.endswith("BizopEtpsSccd")


def test_a_line_whose_total_is_not_quantity_times_price_is_reported(context):
    text = INV101.replace("<DclTotalAmt>37905.00</DclTotalAmt>", "<DclTotalAmt>37906.00</DclTotalAmt>", 1)
    (issue,) = only(issues_of(context, text), "total")
    assert "37906.00" in issue.message and "tolerance 0.01" in issue.message


def test_item_numbers_must_be_unique_and_contiguous(context):
    text = INV101.replace("<GdsSeqno>2</GdsSeqno>", "<GdsSeqno>1</GdsSeqno>", 1)
    assert "used twice" in only(issues_of(context, text), "sequence")[0].message
    text = INV101.replace("<GdsSeqno>30</GdsSeqno>", "<GdsSeqno>31</GdsSeqno>", 1)
    assert "without gaps" in only(issues_of(context, text), "sequence")[0].message


def test_the_sender_must_declare_for_the_declaring_enterprise(context):
    start = INV101.index("<DclEtpsno>") + len("<DclEtpsno>")
    declarant = INV101[start:start + 10]
    text = INV101.replace(f"<DclEtpsno>{declarant}</DclEtpsno>", "<DclEtpsno>2101999999</DclEtpsno>", 1)
    (issue,) = only(issues_of(context, text), "declarant")
    assert "may not declare for enterprise 2101999999" in issue.message


def test_a_comment_inside_the_declaring_enterprise_does_not_hide_it(context):
    """Rules read a value as its text without comments: <!----> before the number is still the number."""
    text = INV101.replace("<DclEtpsno>2101980456</DclEtpsno>", "<DclEtpsno><!---->2101999999</DclEtpsno>", 1)
    (issue,) = only(issues_of(context, text), "declarant")
    assert "may not declare for enterprise 2101999999" in issue.message


def test_rule_violations_reach_the_sender_like_schema_errors(context):
    text = INV101.replace("<DclCurrcd>502</DclCurrcd>", "<DclCurrcd>999</DclCurrcd>", 1)
    outcome = process(text.encode("utf-8"), "etps-shenyang", "x.xml", context)
    assert outcome.error.code == "invalid"
    assert any("[rule code:currency]" in str(issue) for issue in outcome.error.issues)


def test_a_code_list_is_data_an_agency_can_extend(tmp_path):
    shutil.copytree(HOME / "schemas", tmp_path / "schemas")
    shutil.copytree(HOME / "config", tmp_path / "config")
    shutil.copytree(HOME / "routes", tmp_path / "routes")
    shutil.copytree(HOME / "samples", tmp_path / "samples")
    text = INV101.replace("<DclCurrcd>502</DclCurrcd>", "<DclCurrcd>999</DclCurrcd>", 1).encode("utf-8")
    codes = tmp_path / "schemas" / "codes" / "currency.toml"
    codes.write_text(codes.read_text(encoding="utf-8") + '"999" = "测试币 test currency"\n', encoding="utf-8")
    context = hub.assemble(tmp_path / "config" / "hub.toml", tmp_path / "data").context
    kind, document = read_document(text, context)
    context.catalog.validate(kind, document, declarants=("2101940123", "2101980456"))


def test_a_rule_naming_an_unknown_code_list_fails_lint(tmp_path, capsys):
    for folder in ("schemas", "config", "routes", "samples"):
        shutil.copytree(HOME / folder, tmp_path / folder)
    rules = tmp_path / "schemas" / "rules" / "INV101-enterprise.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace('list = "currency"', 'list = "money"'),
                     encoding="utf-8")
    assert hub.main(["--config", str(tmp_path / "config" / "hub.toml"), "lint"]) == 1
    assert "INV101-enterprise.toml: code[5].list: no code list schemas/codes/money.toml" in capsys.readouterr().err
