"""The service settings: a pydantic-settings model read from ``RESILIENTCITY_*`` variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import run_cli
from resilientcity.api.app import app_from_environment
from resilientcity.errors import ValidationError
from resilientcity.operations.service import ENV_PREFIX, ServiceSettings

SETTINGS = (
    "db_url", "mqtt", "city_size", "twin", "seed_demo", "rules", "public_reports_per_hour",
    "sse_poll_s", "overdue_check_s", "max_ingest_bytes",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting comes from the environment of the test run itself."""
    for name in SETTINGS:
        monkeypatch.delenv(ENV_PREFIX + name.upper(), raising=False)


def test_every_setting_has_its_variable() -> None:
    assert tuple(ServiceSettings.model_fields) == SETTINGS


def test_settings_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENTCITY_DB_URL", "postgresql://ops@db.example:5433/ops")
    monkeypatch.setenv("RESILIENTCITY_MQTT", "broker.example:1884")
    monkeypatch.setenv("RESILIENTCITY_CITY_SIZE", "default")
    monkeypatch.setenv("RESILIENTCITY_TWIN", "/data/twin")
    monkeypatch.setenv("RESILIENTCITY_SEED_DEMO", "false")
    monkeypatch.setenv("RESILIENTCITY_RULES", "/data/rules.yaml")
    monkeypatch.setenv("RESILIENTCITY_PUBLIC_REPORTS_PER_HOUR", "7")
    monkeypatch.setenv("RESILIENTCITY_SSE_POLL_S", "2.5")
    monkeypatch.setenv("RESILIENTCITY_OVERDUE_CHECK_S", "60")
    monkeypatch.setenv("RESILIENTCITY_MAX_INGEST_BYTES", "2048")
    s = ServiceSettings()
    # the URL is checked and gets the psycopg 3 driver (operations.db.normalise_url)
    assert s.db_url == "postgresql+psycopg://ops@db.example:5433/ops"
    assert s.mqtt == "broker.example:1884" and s.city_size == "default"
    assert s.twin == Path("/data/twin") and s.seed_demo is False
    assert s.rules == Path("/data/rules.yaml")
    assert (s.public_reports_per_hour, s.sse_poll_s) == (7, 2.5)
    assert (s.overdue_check_s, s.max_ingest_bytes) == (60.0, 2048)
    # arguments take precedence over the variables
    assert ServiceSettings(sse_poll_s=1.0, mqtt=None).sse_poll_s == 1.0
    assert ServiceSettings(mqtt=None).mqtt is None


def test_defaults_without_variables() -> None:
    s = ServiceSettings()
    assert s.db_url.startswith("sqlite:///") and s.mqtt is None and s.twin is None
    assert (s.city_size, s.seed_demo, s.sse_poll_s) == ("small", True, 0.5)


def test_bad_values_are_refused_naming_each_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENTCITY_DB_URL", "mysql://root@localhost/ops")
    monkeypatch.setenv("RESILIENTCITY_MQTT", "broker.example:99999")
    monkeypatch.setenv("RESILIENTCITY_CITY_SIZE", "huge")
    monkeypatch.setenv("RESILIENTCITY_SSE_POLL_S", "-1")
    monkeypatch.setenv("RESILIENTCITY_MAX_INGEST_BYTES", "lots")
    with pytest.raises(ValidationError) as caught:
        ServiceSettings()
    text = str(caught.value)
    assert len(caught.value.problems) == 5, text
    assert "db_url (RESILIENTCITY_DB_URL): expected sqlite:///FILE or postgresql" in text
    assert "mqtt (RESILIENTCITY_MQTT): expected HOST:PORT with a port from 1 to 65535" in text
    assert "city_size (RESILIENTCITY_CITY_SIZE): expected Input should be 'small'" in text
    assert "sse_poll_s (RESILIENTCITY_SSE_POLL_S): expected Input should be greater than 0" in text
    assert "max_ingest_bytes (RESILIENTCITY_MAX_INGEST_BYTES)" in text and "'lots'" in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_reports_per_hour", 0),
        ("sse_poll_s", 61.0),
        ("overdue_check_s", 0.0),
        ("max_ingest_bytes", 100),
        ("max_ingest_bytes", 1 << 40),
    ],
)
def test_out_of_range_arguments_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=rf"{field} \({ENV_PREFIX}{field.upper()}\)"):
        ServiceSettings(**{field: value})


def test_settings_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        ServiceSettings().sse_poll_s = 3.0  # type: ignore[misc]


def test_environment_round_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    given = ServiceSettings(
        db_url=f"sqlite:///{tmp_path / 'ops.db'}",
        twin=tmp_path / "twin",
        seed_demo=False,
        rules=tmp_path / "rules.yaml",
        public_reports_per_hour=3,
        sse_poll_s=0.1 + 0.2,  # a float that needs every digit
        max_ingest_bytes=4096,
    )
    variables = given.environment()
    assert variables["RESILIENTCITY_MQTT"] is None  # None: the variable is unset
    assert variables["RESILIENTCITY_SEED_DEMO"] == "false"
    for name, text in variables.items():
        if text is not None:
            monkeypatch.setenv(name, text)
    assert ServiceSettings() == given


def test_worker_app_reads_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    monkeypatch.setenv("RESILIENTCITY_DB_URL", url)
    monkeypatch.setenv("RESILIENTCITY_SSE_POLL_S", "0.25")
    monkeypatch.setenv(
        "RESILIENTCITY_MQTT", "127.0.0.1:1883"
    )  # the parent subscribes, not a worker
    monkeypatch.setenv("RESILIENTCITY_RULES", str(tmp_path / "rules.yaml"))  # nor adds rules
    app = app_from_environment()
    settings = app.state.service.settings
    assert (settings.db_url, settings.sse_poll_s) == (url, 0.25)
    assert settings.mqtt is None and settings.seed_demo is False and settings.rules is None
    app.state.service.db.dispose()


def test_serve_names_a_bad_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("RESILIENTCITY_OVERDUE_CHECK_S", "never")
    code, out, err = run_cli(
        ["serve", "--db", f"sqlite:///{tmp_path / 'ops.db'}", "--port", "8765"], capsys
    )
    assert code == 1
    assert "RESILIENTCITY_OVERDUE_CHECK_S" in out + err
