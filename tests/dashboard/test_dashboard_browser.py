"""The dashboard in a real Airflow api-server, driven by headless Chromium through Selenium.

One api-server (SimpleAuthManager with an admin, a ``viewer`` and an ``editor`` of role ``user``; SQLite;
the plugin loaded from ``plugins/``) over small local Delta tables written with deltalake. The test
logs in through Airflow's login page, opens the **DataOps** entry of the navigation bar, and checks the
fleet table lists the jobs, the job page's duration chart has drawn points, an anomaly's explanation is
shown, then creates a silence in the UI and runs the next alert cycle (``with_stored_silences``, as the
alert task does, and the real engine delivering to a loopback webhook): the silenced job's alert is
muted, the other job's is delivered; expiring the silence in the UI un-mutes it at the following cycle.
Screenshots of every page go to ``$DATAOPS_SCREENSHOTS`` (default ``.dataops/artefacts/dashboard``).

Auth is checked against the same server: 401 without a token, 403 for a read-only user creating or
expiring a silence, 201 for a user with edit access.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from support import cycle_with_stored_silences, free_port, loopback_webhook
from synthetic import JOB_WITH_INCIDENT, write_tables

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120
WAIT = 30


@dataclass
class Stack:
    base: str
    home: Path
    warehouse: Path
    passwords: dict[str, str]


def _require_browser() -> None:
    missing = [b for b in ("chromium", "chromedriver") if shutil.which(b) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run `make setup` (installs Debian's chromium and "
                    "chromium-driver) or `apt-get install chromium chromium-driver`")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_browser()
    tmp = tmp_path_factory.mktemp("dashboard-stack")
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump({"local": {"warehouse_path": str(tmp / "warehouse"),
                                                "system_tables_path": str(tmp / "system")}}))
    home, port = tmp / "airflow", free_port()
    (home / "dags").mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "provider"), str(REPO / "include"),
                                       os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer,editor:user",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "dashboard-test-secret-0123456789abcdef",
        "AIRFLOW__API__SECRET_KEY": "dashboard-test-key",
        "DATAOPS_CONFIG": str(config),
    }
    env.pop("AIRFLOW__DATAOPS__CONFIG_PATH", None)
    log = (tmp / "api-server.log").open("wb")
    # The metadata DB migrates while the tables are written.
    migrate = subprocess.Popen([str(BIN / "airflow"), "db", "migrate"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    written = write_tables(tmp / "warehouse", jobs=12, days=14)
    assert migrate.wait(timeout=300) == 0, f"airflow db migrate failed; see {tmp / 'api-server.log'}"
    proc = subprocess.Popen([str(BIN / "airflow"), "api-server"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5):
                    break
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"api-server did not start; see {tmp / 'api-server.log'}") from None
                time.sleep(0.5)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        yield Stack(base, home, written.warehouse, passwords)
    finally:
        _kill_group(proc)
        log.close()


def _call(stack: Stack, method: str, path: str, body: Any = None, user: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if user:
        headers["Authorization"] = f"Bearer {_token(stack, user)}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(stack.base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


_TOKENS: dict[tuple[str, str], str] = {}


def _token(stack: Stack, user: str) -> str:
    key = (stack.base, user)
    if key not in _TOKENS:
        status, body = _call(stack, "POST", "/auth/token",
                             {"username": user, "password": stack.passwords[user]})
        assert status == 201, body
        _TOKENS[key] = body["access_token"]
    return _TOKENS[key]


def test_every_route_needs_a_user_and_silences_need_edit_access(stack: Stack) -> None:
    silence = {"matchers": ["job_id=999"], "duration_minutes": 30, "comment": "auth test"}
    for path in ("/dataops/api/fleet", "/dataops/api/alerts", "/dataops/static/dashboard.js"):
        assert _call(stack, "GET", path)[0] == 401, path
    assert _call(stack, "POST", "/dataops/api/silences", silence)[0] == 401
    assert _call(stack, "GET", "/dataops/api/fleet", user="viewer")[0] == 200
    assert _call(stack, "POST", "/dataops/api/silences", silence, user="viewer")[0] == 403
    status, created = _call(stack, "POST", "/dataops/api/silences", silence, user="editor")
    assert status == 201
    assert created["created_by"] == "editor"
    expire = f"/dataops/api/silences/{created['silence_id']}/expire"
    assert _call(stack, "POST", expire, {}, user="viewer")[0] == 403
    assert _call(stack, "POST", expire, {})[0] == 401
    status, expired = _call(stack, "POST", expire, {}, user="editor")
    assert status == 200
    assert expired["state"] == "expired"
    status, plugins = _call(stack, "GET", "/api/v2/plugins", user="admin")
    views = [v for p in plugins["plugins"] for v in p["external_views"]]
    assert any(v["name"] == "DataOps" and v["href"] == "/dataops/" for v in views)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1440,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _shots() -> Path:
    target = Path(os.environ.get("DATAOPS_SCREENSHOTS") or REPO / ".dataops" / "artefacts" / "dashboard")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _wait(driver: WebDriver, condition: Any, what: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}") from None


def _in_dashboard(driver: WebDriver, hash_: str) -> None:
    """Go to a page of the dashboard inside the Airflow UI's iframe."""
    driver.switch_to.default_content()
    frame = driver.find_element("css selector", "iframe")
    driver.switch_to.frame(frame)
    driver.execute_script("location.hash = arguments[0];", hash_)


def test_dashboard_pages_and_a_silence_from_the_ui(stack: Stack, browser: WebDriver,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.by import By

    from dataops_intelligence.alerting.model import AlertStatus
    from dataops_intelligence.alerting.store import InMemoryAlertStore
    from dataops_intelligence.dashboard.silences import DeltaSilenceStore
    from dataops_jobs.config.models import Config
    from dataops_jobs.io import TableLocator

    shots = _shots()
    driver = browser
    # Log in through Airflow's own login page, then open the DataOps entry of the navigation bar.
    driver.get(f"{stack.base}/auth/login")
    _wait(driver, lambda d: d.find_elements(By.NAME, "username"), "the login form")
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(stack.passwords["admin"])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    nav = _wait(driver, lambda d: d.find_elements(
        By.XPATH, "//a[normalize-space()='DataOps'] | //button[normalize-space()='DataOps']"),
        "the DataOps navigation entry")
    nav[0].click()
    frame = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "iframe"), "the dashboard iframe")
    driver.switch_to.frame(frame[0])
    rows = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#fleet-table tbody tr"), "the fleet table")
    assert len(rows) == 12
    assert "job_0000_etl" in rows[0].text  # worst first: the job with the incident
    driver.switch_to.default_content()
    driver.save_screenshot(str(shots / "fleet.png"))

    # Job page: the duration chart has drawn points; the anomaly explanations are shown.
    ws, job = JOB_WITH_INCIDENT
    _in_dashboard(driver, f"job/{ws}/{job}")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-durations canvas"), "the duration chart")
    points = driver.execute_script(
        "var c = window.__dataops.charts.durations; return c ? c.data[1].filter(function (v) { return v != null; }).length : 0;")
    painted = driver.execute_script(
        "var cv = document.querySelector('#chart-durations canvas');"
        "var px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data, n = 0;"
        "for (var i = 3; i < px.length; i += 4) { if (px[i] > 0) n++; } return n;")
    assert points > 50
    assert painted > 500
    explanations = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#job-anomalies .anomaly-explanation")]
    assert explanations
    assert all("its median" in t for t in explanations)
    assert "success rate" in driver.find_element(By.ID, "score-explanation").text
    driver.switch_to.default_content()
    driver.save_screenshot(str(shots / "job.png"))

    _in_dashboard(driver, "anomalies")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#anomalies-table tbody tr"), "the anomalies table")
    driver.switch_to.default_content()
    driver.save_screenshot(str(shots / "anomalies.png"))

    _in_dashboard(driver, "status")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#stages-table tbody tr"), "the status page")
    driver.switch_to.default_content()
    driver.save_screenshot(str(shots / "status.png"))

    # A silence created in the UI is honoured by the next alert cycle; expiring it un-mutes.
    _in_dashboard(driver, "alerts")
    _wait(driver, lambda d: d.find_elements(By.ID, "silence-form"), "the silence form")
    driver.find_element(By.ID, "s-matchers").send_keys(f"job_id={job}")
    driver.find_element(By.ID, "s-comment").send_keys("fix being deployed, see INC-42")
    driver.find_element(By.ID, "s-submit").click()
    _wait(driver, lambda d: d.find_elements(By.ID, "s-created"), "the silence to be created")
    row = driver.find_element(By.CSS_SELECTOR, "#silences-table tbody tr")
    assert f"job_id={job}" in row.text
    assert "active" in row.text
    assert "admin" in row.text
    driver.switch_to.default_content()
    driver.save_screenshot(str(shots / "alerts.png"))

    silences = DeltaSilenceStore(TableLocator(Config.model_validate(
        {"local": {"warehouse_path": str(stack.warehouse)}}), by_path=True))
    store = InMemoryAlertStore()
    with loopback_webhook(monkeypatch) as received:
        states = cycle_with_stored_silences(silences, store, [job, "101"])
        assert states[job].status is AlertStatus.SILENCED
        assert [a["labels"]["job_id"] for a in received] == ["101"]
        _in_dashboard(driver, "alerts")
        button = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#silences-table button.expire"),
                       "the Expire button")
        button[0].click()
        _wait(driver, lambda d: "expired" in d.find_element(By.CSS_SELECTOR, "#silences-table tbody tr").text,
              "the silence to be expired")
        states = cycle_with_stored_silences(silences, store, [job, "101"])
        assert states[job].status is AlertStatus.FIRING
        assert [a["labels"]["job_id"] for a in received] == ["101", job]
