"""Configuration: the file `init` writes, and clear errors naming the file, the key and what was expected."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from poguard.config import Config, load_config, parse_config
from poguard.errors import ConfigError
from poguard.template import config_template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_init_template_matches_the_documented_example() -> None:
    """GIVEN the configuration models WHEN the template is rendered THEN it equals fixtures/poguard.example.toml."""
    assert config_template() == (FIXTURES / "poguard.example.toml").read_text(encoding="utf-8")


def test_init_template_loads_back_to_the_defaults() -> None:
    """GIVEN the template WHEN it is loaded THEN every value is the default."""
    assert parse_config(tomllib.loads(config_template()), "poguard.toml") == Config()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {"price": {"over_pct": "5%"}}},
         "config-invalid: rules.price.over_pct: input should be a valid decimal, got '5%' (at poguard.toml)"),
        ({"rules": {"price": {"ovr_pct": 5}}},
         "config-invalid: rules.price.ovr_pct: unknown setting (did you mean 'over_pct'?) (at poguard.toml)"),
        ({"rules": {"date": {"late_days": -1}}},
         "config-invalid: rules.date.late_days: input should be greater than or equal to 0, got -1 (at poguard.toml)"),
        ({"rules": {"suppliers": {"GLF": {"price": {"over_pct": "x"}}}}},
         "config-invalid: rules.suppliers.GLF.price.over_pct: input should be a valid decimal, got 'x' (at poguard.toml)"),
    ],
)
def test_bad_setting_names_file_key_and_expectation(data: dict, message: str) -> None:
    """GIVEN a bad value or key WHEN the config is validated THEN one line names the file, the key and what was expected."""
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "poguard.toml")
    assert str(caught.value) == message


def test_every_problem_is_listed_at_once() -> None:
    """GIVEN two bad settings WHEN validated THEN both are reported in one error."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"rules": {"price": {"over_pct": "a"}, "date": {"early_days": "b"}}}, "poguard.toml")
    assert "rules.price.over_pct" in str(caught.value) and "rules.date.early_days" in str(caught.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """GIVEN a file that is not TOML WHEN loaded THEN the error names the file."""
    path = tmp_path / "poguard.toml"
    path.write_text("[rules\nprice = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert caught.value.location == str(path)
