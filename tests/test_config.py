"""Config errors name the file, the key and the reason; lint checks across files without I/O."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hub
from exchange.config import load_endpoints, load_settings
from exchange.errors import ConfigError
from exchange.spec import Table

from conftest import HOME


@pytest.fixture
def config_copy(tmp_path) -> Path:
    """A copy of the embedded default's config, schemas and routes, free to break."""
    for folder in ("config", "schemas", "routes", "samples"):
        shutil.copytree(HOME / folder, tmp_path / folder)
    return tmp_path / "config" / "hub.toml"


def endpoint_file(config: Path, name: str) -> Path:
    return config.parent / "endpoints" / f"{name}.toml"


def test_the_embedded_default_lints_clean(tmp_path):
    assert hub.consistency_problems(hub.assemble(hub.DEFAULT_CONFIG, tmp_path)) == []


def test_an_unknown_key_is_refused_with_file_and_key(config_copy):
    path = endpoint_file(config_copy, "zone")
    path.write_text(path.read_text().replace("may_send =", "may_sent ="))
    with pytest.raises(ConfigError) as caught:
        load_endpoints(path.parent)
    assert (Path(caught.value.file).name, caught.value.key) == ("zone.toml", "may_sent")
    assert "unknown key" in str(caught.value)


def test_a_wrong_type_is_refused_with_the_value(config_copy):
    text = config_copy.read_text().replace("batch_size = 100", 'batch_size = "many"')
    config_copy.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_copy)
    assert caught.value.key == "hub.batch_size"
    assert "expected a whole number, got 'many'" in str(caught.value)


def test_two_endpoints_cannot_claim_the_same_sender_id(config_copy):
    path = endpoint_file(config_copy, "zone")
    path.write_text(path.read_text().replace('"ZONE0801"', '"CUS0000"'))
    with pytest.raises(ConfigError, match="CUS0000 already belongs to endpoint customs"):
        load_endpoints(path.parent)


def test_a_route_to_an_endpoint_that_may_not_receive_the_type_fails_lint(config_copy, capsys):
    path = endpoint_file(config_copy, "customs")
    path.write_text(path.read_text().replace('may_receive = ["INV101"]', "may_receive = []"))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    err = capsys.readouterr().err
    assert "routes/enterprise.toml: route inventory-lists-to-customs: to: endpoint customs may not receive INV101" in err


@pytest.mark.parametrize("pattern", ["SAS22I", "SAS2#I", "INV2?"])
def test_a_type_or_pattern_the_catalog_has_no_member_of_fails_lint_naming_it(config_copy, capsys, pattern):
    """"#" stands for one digit only: a typo such as SAS22I (letter I for digit 1) is no pattern."""
    routes = config_copy.parent.parent / "routes" / "receipts.toml"
    routes.write_text(routes.read_text().replace('type = ["INV2##", "SAS2##"', f'type = ["INV2##", "{pattern}"'))
    path = endpoint_file(config_copy, "etps-shenyang")
    path.write_text(path.read_text().replace('"SAS2##", "CommonResponeMessage"', f'"SAS2##", "{pattern}", '
                                             '"CommonResponeMessage"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    err = capsys.readouterr().err
    assert f"routes/receipts.toml: route receipts-to-their-receiver: type: {pattern} is not in the catalog" in err
    assert f"etps-shenyang.toml: may_receive: {pattern} is not a type in " in err


def test_a_route_naming_an_unknown_map_fails_lint(config_copy, capsys):
    path = config_copy.parent.parent / "routes" / "enterprise.toml"
    path.write_text(path.read_text().replace('map = "sas121-enterprise-to-customs"', 'map = "nope"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "to: no map named nope" in capsys.readouterr().err


def test_a_failing_route_test_fails_lint(config_copy, capsys):
    path = config_copy.parent.parent / "routes" / "receipts.toml"
    path.write_text(path.read_text().replace('expect = [{ endpoint = "etps-shenyang" }]',
                                             'expect = [{ endpoint = "customs" }]', 1))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    err = capsys.readouterr().err
    assert "not delivered to customs" in err and "unexpectedly delivered to etps-shenyang" in err


def test_a_broken_schema_fails_lint_naming_the_file(config_copy, capsys):
    path = config_copy.parent.parent / "schemas" / "receipts" / "SAS221.xsd"
    path.write_text(path.read_text().replace("</xs:schema>", "<xs:element/></xs:schema>"))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "SAS221.xsd" in capsys.readouterr().err


def test_an_unknown_transport_fails_lint(config_copy, capsys):
    path = endpoint_file(config_copy, "zone")
    path.write_text(path.read_text().replace('kind = "local"', 'kind = "carrier-pigeon"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "zone.toml: transport.kind: unknown transport 'carrier-pigeon'" in capsys.readouterr().err


def test_an_endpoint_folder_outside_the_data_folder_fails_lint(config_copy, capsys):
    path = endpoint_file(config_copy, "zone")
    path.write_text(path.read_text().replace('folder = "zone"', 'folder = "../../etc"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "zone.toml: transport.folder: must be a folder inside the hub's data_dir" in capsys.readouterr().err


def test_two_endpoints_reading_one_folder_fail_lint(config_copy, capsys):
    path = endpoint_file(config_copy, "zone")
    path.write_text(path.read_text().replace('folder = "zone"', 'folder = "customs"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "as endpoint customs does" in capsys.readouterr().err


def test_the_documented_production_example_lints_clean(capsys):
    example = HOME / "config" / "examples" / "production" / "hub.toml"
    assert hub.main(["--config", str(example), "lint"]) == 0, capsys.readouterr().err
    assembly = hub.assemble(example)
    kinds = {endpoint.party: endpoint.transport_kind for endpoint in assembly.endpoints.values()}
    assert kinds == {"enterprise": "sftp", "customs": "amqp", "zone": "amqp", "agency": "amqp"}
    assert len([e for e in assembly.endpoints.values() if e.party == "agency"]) == 6


def test_a_password_written_in_an_endpoint_file_is_refused(config_copy, capsys):
    path = endpoint_file(config_copy, "customs")
    path.write_text(path.read_text().replace('kind = "local"\nfolder = "customs"',
                                             'kind = "amqp"\nusername = "hub"\npassword = "hunter2"\n'
                                             'send_exchange = "hub.to-customs"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    err = capsys.readouterr().err
    assert "transport.password: secrets are never written in config files" in err
    assert "hunter2" not in err


def test_an_sftp_endpoint_without_a_pinned_host_key_is_refused(config_copy, capsys):
    path = endpoint_file(config_copy, "etps-shenyang")
    path.write_text(path.read_text().replace(
        'kind = "local"\nfolder = "etps-shenyang"',
        'kind = "sftp"\nhost = "sftp.example.cn"\nusername = "hub"\nprivate_key_file = "/etc/hub/key"'))
    assert hub.main(["--config", str(config_copy), "lint"]) == 1
    assert "host_key_sha256: pin the server's host key" in capsys.readouterr().err


@pytest.mark.parametrize("written, seconds", [("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("1d", 86400.0),
                                              ("1.5m", 90.0), (" 30m ", 1800.0), (45, 45.0), (0.25, 0.25)])
def test_a_duration_is_read_in_every_form_it_is_written(written, seconds):
    assert Table({"within": written}, "routes/x.toml", "").duration("within") == seconds


@pytest.mark.parametrize("written", ["30 minutes", "30", "m", "-5m", "0s", 0, "30M"])
def test_a_duration_in_no_known_form_is_refused_with_the_value(written):
    with pytest.raises(ConfigError) as caught:
        Table({"within": written}, "routes/x.toml", "").duration("within")
    assert caught.value.key == "within" and repr(written) in str(caught.value)
