"""Malformed configuration: every mistake is one ConfigError naming the file, the key and what was
expected, and never echoing a secret."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from dataops_jobs.config import ConfigError, DataOpsError, format_config_error, load_config

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One malformed setup: files to write, how to load them, and what the error must say."""

    base: str
    overlay: str | None = None
    env: str | None = None
    environ: dict[str, str] = field(default_factory=dict)
    file: str = "base.yaml"
    key: str | None = None
    expected: str = ""
    line: int | None = None
    secret: str | None = None


CASES = {
    "unknown key with suggestion": Case(
        base="storage:\n  catalg_name: x\n",
        key="storage.catalg_name",
        expected="unknown key 'catalg_name' (did you mean 'catalog_name'?)",
        line=2,
    ),
    "unknown section with suggestion": Case(
        base="environment: dev\nalerts:\n  enabled: true\n",
        key="alerts",
        expected="did you mean 'alerting'?",
        line=2,
    ),
    "SQL in an identifier (overlay)": Case(
        base="storage:\n  schema_name: monitoring\n",
        overlay='storage:\n  catalog_name: "x; DROP TABLE"\n',
        env="prod",
        file="prod.yaml",
        key="storage.catalog_name",
        expected="expected an identifier of letters, digits and underscores",
        line=2,
    ),
    "source table not schema.table": Case(
        base="storage:\n  sources:\n    usage: billing\n",
        key="storage.sources.usage",
        expected="expected schema.table",
        line=3,
    ),
    "bad enum target": Case(
        base="compute:\n  target: kubernetes\n",
        key="compute.target",
        expected="expected one of local, databricks, spark_submit",
        line=2,
    ),
    "missing env var without default": Case(
        base="databricks:\n  workspace_url: https://${WS_HOST}.cloud.databricks.com\n",
        key="databricks.workspace_url",
        expected="environment variable WS_HOST is not set",
        line=2,
    ),
    "missing env var in an overlay list": Case(
        base="environment: dev\n",
        overlay="alerting:\n  channels:\n    email:\n      options:\n        to:\n          - ${ONCALL}\n",
        env="prod",
        file="prod.yaml",
        key="alerting.channels.email.options.to[0]",
        expected="ONCALL",
        line=6,
    ),
    "literal databricks token": Case(
        base="databricks:\n  access_token: dapiFAKE_not_a_token\n",
        key="databricks.access_token",
        expected="secrets only by reference: use env:VAR or conn:CONN_ID",
        line=2,
        secret="dapiFAKE_not_a_token",
    ),
    "literal webhook URL as signing secret": Case(
        base="alerting:\n  channels:\n    webhook:\n      signing_secret: https://hooks.slack.com/services/T0/B0/XyZ\n",
        key="alerting.channels.webhook.signing_secret",
        expected="write options.secret_env: <ENVIRONMENT_VARIABLE> instead",
        line=4,
        secret="hooks.slack.com/services/T0/B0/XyZ",
    ),
    "secret substituted from the environment": Case(
        base="databricks:\n  access_token: ${SLACK_TOKEN}\n",
        environ={"SLACK_TOKEN": "xoxb-FAKE"},
        key="databricks.access_token",
        expected="secrets only by reference",
        secret="xoxb-FAKE",
    ),
    "string for int": Case(
        base="collection:\n  lookback_days: thirty\n",
        key="collection.lookback_days",
        expected="expected an integer",
        line=2,
    ),
    "negative overlap": Case(
        base="collection:\n  overlap_minutes: -5\n",
        key="collection.overlap_minutes",
        expected="expected a number >= 0",
        line=2,
    ),
    "bad finish_by": Case(
        base="sla:\n  jobs:\n    - job_name: nightly_etl\n      finish_by: '25:00'\n",
        key="sla.jobs[0].finish_by",
        expected="expected a time of day HH:MM",
        line=4,
    ),
    "sla without job": Case(
        base="sla:\n  jobs:\n    - max_duration_minutes: 30\n",
        key="sla.jobs[0].job_name",
        expected="expected job_name or job_id",
        line=3,
    ),
    "existing_cluster without id (overlay)": Case(
        base="compute:\n  target: databricks\n",
        overlay="compute:\n  databricks:\n    cluster_mode: existing_cluster\n",
        env="staging",
        file="staging.yaml",
        key="compute.databricks.existing_cluster_id",
        expected="expected a cluster id when cluster_mode is existing_cluster",
        line=2,
    ),
    "YAML syntax error": Case(
        base="storage:\n  catalog_name: [unclosed\n  schema_name: x\n",
        expected="expected valid YAML",
        line=3,
    ),
    "YAML duplicate key": Case(
        base="storage:\n  catalog_name: a\n  catalog_name: b\n",
        key="storage.catalog_name",
        expected="duplicate key 'catalog_name'",
        line=3,
    ),
    "missing overlay when env given": Case(
        base="environment: dev\n",
        env="qa",
        file="qa.yaml",
        expected="overlay file for environment 'qa' not found",
    ),
    "missing overlay when DATAOPS_ENV set": Case(
        base="environment: dev\n",
        environ={"DATAOPS_ENV": "prd"},
        file="prd.yaml",
        expected="not found",
    ),
    "old channel key recipients": Case(
        base="alerting:\n  channels:\n    email:\n      enabled: true\n      recipients: [oncall@example.com]\n",
        key="alerting.channels.email.recipients",
        expected="write options.to: [oncall@example.com, ...] instead",
        line=5,
    ),
    "bad email address": Case(
        base="alerting:\n  channels:\n    email:\n      options: {to: [oncall.example.com]}\n",
        key="alerting.channels.email.options",
        expected="expected an email address",
        line=4,
    ),
    "all health weights zero": Case(
        base="health:\n  weights: {success_rate: 0, current_failures: 0, performance_stability: 0,"
        " sla_adherence: 0, retry_rate: 0, duration_drift: 0, cost_drift: 0}\n",
        key="health.weights",
        expected="expected at least one weight greater than 0",
        line=2,
    ),
    "bad log level from environment": Case(
        base="logging:\n  level: ${LOG_LEVEL:INFO}\n",
        environ={"LOG_LEVEL": "verbose"},
        key="logging.level",
        expected="expected one of DEBUG, INFO, WARNING, ERROR",
        line=2,
    ),
    "section that is not a mapping": Case(
        base="storage: dataops\n",
        key="storage",
        expected="expected a mapping of keys",
        line=1,
    ),
    "malformed substitution": Case(
        base="local:\n  warehouse_path: ${not a var}/x\n",
        key="local.warehouse_path",
        expected="expected ${VAR} or ${VAR:default}",
        line=2,
    ),
}


def load_case(tmp_path: Path, case: Case) -> ConfigError:
    base = tmp_path / "base.yaml"
    base.write_text(case.base, encoding="utf-8")
    if case.overlay is not None:
        (tmp_path / f"{case.env}.yaml").write_text(case.overlay, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(base, case.env, environ=case.environ)
    return caught.value


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_error_names_file_key_and_expectation(tmp_path: Path, case: Case) -> None:
    error = load_case(tmp_path, case)
    message = str(error)
    assert error.file == str(tmp_path / case.file)
    assert error.key == case.key
    assert case.expected in error.expected
    assert str(tmp_path / case.file) in message
    assert case.expected in message
    if case.key:
        assert case.key in message
    if case.line is not None:
        assert error.line == case.line
        assert f"{case.file}:{case.line}:" in message
    assert "\n" not in message
    assert isinstance(error, DataOpsError)
    if case.secret:
        assert case.secret not in message
        assert case.secret not in format_config_error(error)
        assert case.secret not in repr(error)


def test_all_problems_are_reported_and_formatted(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("compute:\n  target: gpu\ncollection:\n  lookback_days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(base, environ={})
    error = caught.value
    assert [problem.key for problem in error.problems] == ["compute.target", "collection.lookback_days"]
    assert "(and 1 more problem)" in str(error)
    text = format_config_error(error)
    assert text.splitlines()[0] == "Configuration error: 2 problems"
    assert f"{base}:4: collection.lookback_days: expected a number >= 1 (got 0)" in text


def test_single_problem_formats_on_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, environ={})
    assert format_config_error(caught.value) == (
        f"Configuration error: {missing}: configuration file not found"
    )


def test_unknown_key_without_close_match_lists_keys(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("retention:\n  zzz: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'zzz'; expected one of job_monitoring, "):
        load_config(base, environ={})


def test_error_in_base_key_is_blamed_on_base_when_overlay_touches_section(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("storage:\n  catalog_name: 1bad\n", encoding="utf-8")
    (tmp_path / "prod.yaml").write_text("storage:\n  schema_name: ok\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(base, "prod", environ={})
    assert caught.value.file == str(base)
    assert caught.value.line == 2


def test_environment_name_cannot_escape_the_config_directory(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("environment: dev\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected an environment name"):
        load_config(base, "../secrets", environ={})


def test_config_error_survives_pickling(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("compute:\n  target: gpu\ncollection:\n  lookback_days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(base, environ={})
    copy = pickle.loads(pickle.dumps(caught.value))
    assert str(copy) == str(caught.value)
    assert (copy.file, copy.key, copy.line) == (caught.value.file, caught.value.key, caught.value.line)
    assert len(copy.problems) == 2
