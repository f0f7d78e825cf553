"""Every type in the catalog has valid and invalid samples, and every map keeps every value.

These tests walk the catalog and the samples folder, so a new type or map is covered the day
it is catalogued, without a new test.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

import hub
from exchange import envelope as envelopes
from exchange.errors import HubError
from exchange.pipeline import read_document

from conftest import CONFIG, SAMPLES

_assembly = hub.assemble(CONFIG, Path("/nonexistent-data-dir"))
CATALOG = _assembly.catalog


def _identified() -> dict[tuple[str, str], list[Path]]:
    """Valid samples (outside invalid/, tolerated/ and hostile/) by (type, dialect); a member of a
    family (SAS299 read as a SAS2## receipt) counts for its family's pattern."""
    found: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(SAMPLES.rglob("*.xml")):
        if path.parent.name in ("invalid", "hostile", "tolerated"):
            continue
        kind, _ = read_document(path.read_bytes(), _assembly.context)  # a sample the catalog cannot read fails
        found.setdefault((kind.family or kind.type, kind.dialect), []).append(path)
    return found


SAMPLES_BY_KIND = _identified()
LABELS = sorted({(kind.type, kind.dialect) for kind in CATALOG.kinds})


@pytest.mark.parametrize("label", LABELS, ids=[f"{t}/{d}" for t, d in LABELS])
def test_every_catalogued_type_has_a_valid_sample(label):
    samples = SAMPLES_BY_KIND.get(label)
    assert samples, f"no valid sample of {label[0]}/{label[1]} under samples/"
    for path in samples:
        kind, document = read_document(path.read_bytes(), _assembly.context)
        drift = CATALOG.validate(kind, document, file=path.name)
        if kind.family:  # the only finding in a family member's sample is that its type is new
            assert [(d.kind, d.element) for d in drift] == [("unknown-type", kind.type)], path.name


def _invalid_samples(type_: str) -> list[Path]:
    """samples/invalid/TYPE-*.xml; for a family (SAS2##) its member's name: SAS299-*.xml."""
    return sorted((SAMPLES / "invalid").glob(f"{type_.replace('##', '99')}-*.xml"))


@pytest.mark.parametrize("type_", sorted(CATALOG.types()))
def test_every_catalogued_type_has_invalid_samples_that_fail(type_):
    invalid = _invalid_samples(type_)
    assert len(invalid) >= 2, f"fewer than two invalid samples of {type_} in samples/invalid/"
    for path in invalid:
        with pytest.raises(HubError):
            kind, document = read_document(path.read_bytes(), _assembly.context)
            CATALOG.validate(kind, document, file=path.name)


TOLERANT = sorted({kind.type for kind in CATALOG.kinds if kind.policy == "tolerant"})


@pytest.mark.parametrize("type_", TOLERANT)
def test_a_tolerant_types_invalid_samples_fail_on_a_field_the_hub_needs(type_):
    """What refuses an authority's document is a field the hub reads, never one it does not."""
    for path in _invalid_samples(type_):
        kind, document = read_document(path.read_bytes(), _assembly.context)
        with pytest.raises(HubError) as caught:
            CATALOG.validate(kind, document, file=path.name)
        body = "/" + "/".join(envelopes.local_name(e) for e in reversed(
            [document.body, *document.body.iterancestors()]))
        for issue in caught.value.issues:
            relative = re.sub(r"\[[0-9]+\]", "", issue.path or "").removeprefix(body + "/")
            assert relative in kind.needed, f"{path.name}: {issue.path} is not a field {kind.label} needs"


def business_values(root: etree._Element) -> Counter:
    return Counter((element.text or "").strip() for element in root.iter()
                   if isinstance(element.tag, str) and len(element) == 0 and (element.text or "").strip())


MAPS = sorted(CATALOG.maps)
# Values for the parameters a map declares (facts the hub looks up in its journal when it routes).
PARAMS = {"bondInvtNo": "QD080126I000012345"}


def convert(name: str, document):
    return CATALOG.convert(name, document, {p: PARAMS[p] for p in CATALOG.maps[name].params})


@pytest.mark.parametrize("name", MAPS)
def test_every_map_output_validates_against_its_target(name):
    spec = CATALOG.maps[name]
    sources = SAMPLES_BY_KIND.get(spec.source)
    assert sources, f"no sample of {spec.source} to run map {name} on"
    for path in sources:
        _, document = read_document(path.read_bytes(), _assembly.context)
        output = convert(name, document)
        kind, converted = CATALOG.identify(envelopes.read(output))
        assert (kind.type, kind.dialect) == spec.target
        CATALOG.validate(kind, converted, file=f"{name}({path.name})")


ROUND_TRIPS = sorted((name, back) for name in MAPS for back in MAPS
                     if CATALOG.maps[back].source == CATALOG.maps[name].target
                     and CATALOG.maps[back].target == CATALOG.maps[name].source and name < back)


@pytest.mark.parametrize("there, back", ROUND_TRIPS)
def test_a_round_trip_keeps_every_business_value(there, back):
    spec = CATALOG.maps[there]
    for start in (spec.source, spec.target):
        forward, backward = (there, back) if start == spec.source else (back, there)
        for path in SAMPLES_BY_KIND.get(start, []):
            _, original = read_document(path.read_bytes(), _assembly.context)
            middle = CATALOG.identify(envelopes.read(convert(forward, original)))[1]
            returned_tree = convert(backward, middle)
            kind, returned = CATALOG.identify(envelopes.read(returned_tree))
            CATALOG.validate(kind, returned, file=f"round trip of {path.name}")
            assert business_values(returned.body) == business_values(original.body), path.name


def test_a_dxp_wrapper_that_breaks_its_own_schema_is_refused_though_its_content_is_valid():
    from exchange.errors import InvalidDocument

    data = (SAMPLES / "invalid/DxpMsg-missing-ver.xml").read_bytes()
    kind, document = read_document(data, _assembly.context)
    assert kind.type == "SAS121"  # the document inside is fine ...
    with pytest.raises(InvalidDocument, match="transport envelope") as caught:
        CATALOG.validate(kind, document)
    assert any("ver" in issue.message for issue in caught.value.issues)  # ... the wrapper is not


@pytest.mark.parametrize("bound", ["maxOccurs", "minOccurs"])
def test_no_schema_bounds_a_repeating_element_beyond_what_a_validation_window_sees(bound):
    """Crowded parents are validated WINDOW occurrences of a name at a time, KEEP of a name whose own
    windows are done (exchange/policy.py): a maxOccurs above WINDOW would never be seen exceeded, a
    minOccurs above KEEP would be seen missing where it is not."""
    from exchange.policy import KEEP, WINDOW

    schemas = CONFIG.parent.parent / "schemas"
    bounds = {(path.relative_to(schemas).as_posix(), int(value))
              for path in schemas.rglob("*.xsd")
              for value in re.findall(bound + r'="(\d+)"', path.read_text(encoding="utf-8"))}
    assert bounds, "the schemas were not found"
    assert [(path, value) for path, value in bounds if value > (WINDOW if bound == "maxOccurs" else KEEP)] == []


def test_no_schema_repeats_a_sequence_that_validation_windows_would_split():
    """A window keeps some occurrences of each name: a repeated sequence (A, B)+ split by name would
    no longer pair them. Repeated single names and choices keep their validity in any ordered subset."""
    schemas = CONFIG.parent.parent / "schemas"
    repeated = [(path.name, group) for path in schemas.rglob("*.xsd")
                for group in re.findall(r"<xs:(?:sequence|all|group)\b[^>]*maxOccurs=\"(?!1\")[^\"]*\"",
                                        path.read_text(encoding="utf-8"))]
    assert repeated == []
