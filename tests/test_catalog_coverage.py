"""Every type in the catalog has valid and invalid samples, and every map keeps every value.

These tests walk the catalog and the samples folder, so a new type or map is covered the day
it is catalogued, without a new test.
"""

from __future__ import annotations

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
    """Valid samples (outside invalid/ and hostile/) by (type, dialect)."""
    found: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(SAMPLES.rglob("*.xml")):
        if path.parent.name in ("invalid", "hostile"):
            continue
        try:
            kind, _ = read_document(path.read_bytes(), _assembly.context)
        except HubError:
            continue
        found.setdefault((kind.type, kind.dialect), []).append(path)
    return found


SAMPLES_BY_KIND = _identified()
LABELS = sorted({(kind.type, kind.dialect) for kind in CATALOG.kinds})


@pytest.mark.parametrize("label", LABELS, ids=[f"{t}/{d}" for t, d in LABELS])
def test_every_catalogued_type_has_a_valid_sample(label):
    samples = SAMPLES_BY_KIND.get(label)
    assert samples, f"no valid sample of {label[0]}/{label[1]} under samples/"
    for path in samples:
        kind, document = read_document(path.read_bytes(), _assembly.context)
        CATALOG.validate(kind, document, file=path.name)


@pytest.mark.parametrize("type_", sorted(CATALOG.types()))
def test_every_catalogued_type_has_invalid_samples_that_fail(type_):
    invalid = sorted((SAMPLES / "invalid").glob(f"{type_}-*.xml"))
    assert len(invalid) >= 2, f"fewer than two invalid samples of {type_} in samples/invalid/"
    for path in invalid:
        with pytest.raises(HubError):
            kind, document = read_document(path.read_bytes(), _assembly.context)
            CATALOG.validate(kind, document, file=path.name)


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
