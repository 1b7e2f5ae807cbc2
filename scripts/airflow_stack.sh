#!/usr/bin/env bash
# Start a real Airflow 3.3 for DataOps Intelligence: api-server, scheduler, dag-processor and triggerer
# with the LocalExecutor, on SQLite, in an Airflow home of its own (never ~/airflow).
#
#   scripts/airflow_stack.sh            # or: make airflow      (Ctrl-C stops every component)
#
# Environment (all optional):
#   AIRFLOW_STACK_HOME   Airflow home                       (default: .dataops/airflow-stack)
#   AIRFLOW_STACK_PORT   UI / REST API port on 127.0.0.1    (default: 8080)
#   AIRFLOW_STACK_PARALLELISM  LocalExecutor worker slots   (default: 4)
#   AIRFLOW_STACK_LOG_PORT / AIRFLOW_STACK_TRIGGER_LOG_PORT  task / triggerer log servers on 127.0.0.1
#                        (default: 8793 / 8794, Airflow's ports)
#   DATAOPS_STACK_FIRST_RUN  1 = unpause dataops_monitoring once parsed, which starts its first run at
#                        once (the latest interval); 0 = leave every DAG paused (default: 1)
#   DATAOPS_CONFIG       monitoring config                  (default: a demo config in the home)
#   DATAOPS_STACK_DEMO   1 = simulate a demo workspace on first start, 0 = do not (default: 1)
#   DATAOPS_STACK_DEMO_JOBS / _DAYS   size of the demo workspace (default: 20 jobs, 3 days)
#   PYTHON               interpreter with Airflow and the provider installed (default: .venv/bin/python)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
BIN="$(dirname "$PYTHON")"
HOME_DIR="${AIRFLOW_STACK_HOME:-$REPO/.dataops/airflow-stack}"
PORT="${AIRFLOW_STACK_PORT:-8080}"
mkdir -p "$HOME_DIR/logs" "$HOME_DIR/dataops"
HOME_DIR="$(cd "$HOME_DIR" && pwd)"

export AIRFLOW_HOME="$HOME_DIR"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW_STACK_PARALLELISM:-4}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$HOME_DIR/airflow.db"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__API__HOST=127.0.0.1
# Airflow's own log servers listen on every interface: the stack runs them on loopback (below) and
# names this host 127.0.0.1, so the api-server fetches running tasks' logs from there.
LOG_PORT="${AIRFLOW_STACK_LOG_PORT:-8793}"
TRIGGER_LOG_PORT="${AIRFLOW_STACK_TRIGGER_LOG_PORT:-8794}"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$LOG_PORT"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$TRIGGER_LOG_PORT"
export AIRFLOW__CORE__HOSTNAME_CALLABLE=dataops_intelligence.settings.loopback_hostname
export AIRFLOW__DATAOPS__DEADLINE_ALERTS="${AIRFLOW__DATAOPS__DEADLINE_ALERTS:-true}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON="$PYTHON" PYSPARK_DRIVER_PYTHON="$PYTHON"
export DATAOPS_ALERT_STATE_PATH="${DATAOPS_ALERT_STATE_PATH:-$HOME_DIR/dataops/alert_state.sqlite}"

# Every component must sign and accept the same tokens (the api-server issues the workers' tokens);
# 64 random bytes: PyJWT warns about HMAC keys shorter than the 64 bytes SHA-512 wants.
SECRETS="$HOME_DIR/.stack_secrets"
if [[ ! -f "$SECRETS" ]]; then
  umask 077
  printf 'JWT=%s\nKEY=%s\n' "$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    "$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))')" > "$SECRETS"
fi
export AIRFLOW__API_AUTH__JWT_SECRET="$(sed -n 's/^JWT=//p' "$SECRETS")"
export AIRFLOW__API__SECRET_KEY="$(sed -n 's/^KEY=//p' "$SECRETS")"

if [[ -z "${DATAOPS_CONFIG:-}" ]]; then
  export DATAOPS_CONFIG="$HOME_DIR/dataops/config.yaml"
  if [[ ! -f "$DATAOPS_CONFIG" ]]; then
    cat > "$DATAOPS_CONFIG" <<EOF
# Demo config written by scripts/airflow_stack.sh (edit freely; delete it to regenerate).
environment: demo
local:
  system_tables_path: $HOME_DIR/dataops/system_tables
  warehouse_path: $HOME_DIR/dataops/warehouse
  driver_memory: 1g
schedules:
  retries: 1
  retry_delay_seconds: 10
alerting:
  # Nothing leaves the machine: every alert is one JSON line in this file (tail -f it).
  route_all_to: local
  channels:
    local:
      type: file
      options:
        path: $HOME_DIR/dataops/alerts/notifications.jsonl
EOF
  fi
  if [[ "${DATAOPS_STACK_DEMO:-1}" == "1" && ! -f "$HOME_DIR/dataops/system_tables/_simulator.json" ]]; then
    echo "==> simulating a demo workspace (${DATAOPS_STACK_DEMO_JOBS:-20} jobs, ${DATAOPS_STACK_DEMO_DAYS:-3} days)"
    "$BIN/dataops" simulate --config "$DATAOPS_CONFIG" --jobs "${DATAOPS_STACK_DEMO_JOBS:-20}" \
      --days "${DATAOPS_STACK_DEMO_DAYS:-3}"
  fi
fi

echo "==> migrating the metadata DB ($HOME_DIR/airflow.db)"
"$BIN/airflow" db migrate > "$HOME_DIR/logs/db-migrate.log" 2>&1

PIDS=()
NAMES=()
STOPPING=0
stop() {
  trap - INT TERM EXIT
  STOPPING=1
  echo "==> stopping Airflow"
  # Task processes run in sessions of their own: collect the whole tree first, TERM it, then KILL
  # whatever is left after a grace period (a running Spark task would otherwise keep it alive).
  local tree pid alive
  tree="$("$PYTHON" -c 'import sys, psutil; print(" ".join(str(p.pid) for p in psutil.Process(int(sys.argv[1])).children(recursive=True)))' "$$" 2>/dev/null || true)"
  for pid in $tree; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=""; for pid in $tree; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [[ -z "$alive" ]] && break; sleep 1
  done
  for pid in $tree; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

for component in api-server scheduler dag-processor triggerer; do
  flags=()
  [[ "$component" == scheduler || "$component" == triggerer ]] && flags=(--skip-serve-logs)
  "$BIN/airflow" "$component" "${flags[@]}" > "$HOME_DIR/logs/$component.log" 2>&1 &
  PIDS+=("$!"); NAMES+=("$component")
done
# The log servers the scheduler (task logs) and the triggerer would start on every interface, on loopback.
for spec in "task-log-server:$LOG_PORT" "trigger-log-server:$TRIGGER_LOG_PORT"; do
  "$PYTHON" -c 'import sys, uvicorn; uvicorn.run("airflow.utils.serve_logs.log_server:get_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)' \
    "${spec#*:}" > "$HOME_DIR/logs/${spec%%:*}.log" 2>&1 &
  PIDS+=("$!"); NAMES+=("${spec%%:*}")
done

echo "==> waiting for http://127.0.0.1:$PORT/api/v2/monitor/health"
for _ in $(seq 1 120); do
  if "$PYTHON" - "$PORT" <<'EOF' 2>/dev/null; then break; fi
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/monitor/health", timeout=10) as r:
    sys.exit(0 if json.load(r)["metadatabase"]["status"] == "healthy" else 1)
EOF
  sleep 1
done

PASSWORDS="$HOME_DIR/simple_auth_manager_passwords.json.generated"
DAGS="all paused: unpausing one starts the run of its latest interval at once"
if [[ "${DATAOPS_STACK_FIRST_RUN:-1}" == "1" ]]; then
  # Unpausing a DAG with catchup off starts the run of its latest interval at once: that is the first
  # monitoring run. The other DAGs stay paused until someone unpauses them.
  if "$PYTHON" - "$PORT" "$PASSWORDS" > "$HOME_DIR/logs/first-run.log" 2>&1 <<'EOF'; then
import json, sys, time, urllib.error, urllib.request
base, passwords = f"http://127.0.0.1:{sys.argv[1]}", sys.argv[2]
def call(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data, headers, method=method), timeout=30) as r:
        return json.loads(r.read() or b"{}")
with open(passwords) as f:
    password = json.load(f)["admin"]
token = call("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]
error = None
for _ in range(90):
    try:
        call("PATCH", "/api/v2/dags/dataops_monitoring", {"is_paused": False}, token)
        sys.exit(0)
    except (OSError, urllib.error.URLError) as exc:  # 404 until the dag-processor has parsed the file
        error = exc
        time.sleep(2)
sys.exit(f"dataops_monitoring was not parsed in time: {error}")
EOF
    DAGS="dataops_monitoring unpaused: its first run (the latest interval) starts now, then on schedule;
             dataops_health_check and dataops_maintenance are paused (unpausing one starts a run at once)"
  else
    DAGS="could not unpause dataops_monitoring (see $HOME_DIR/logs/first-run.log): unpause it in the UI"
  fi
fi

cat <<EOF

  DataOps Intelligence on Airflow $("$BIN/airflow" version 2>/dev/null | tail -1)
  UI:        http://127.0.0.1:$PORT   (also http://localhost:$PORT; every server listens on 127.0.0.1 only)
  Log in:    user "admin", password: $( [[ -f "$PASSWORDS" ]] && "$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1])).get('admin',''))" "$PASSWORDS" || echo "see $PASSWORDS")
             (stored in $PASSWORDS)
  DAGs:      $DAGS
  Config:    $DATAOPS_CONFIG
  Alerts:    $HOME_DIR/dataops/alerts/notifications.jsonl (alerting.route_all_to: local in the config)
  Logs:      $HOME_DIR/logs
  Stop:      Ctrl-C

EOF
EXITED=""
status=0
wait -n -p EXITED "${PIDS[@]}" || status=$?
if [[ "$STOPPING" == "1" ]]; then
  echo "==> Airflow stopped"
  exit 0
fi
name="an Airflow component"
for i in "${!PIDS[@]}"; do [[ "${PIDS[$i]}" == "$EXITED" ]] && name="${NAMES[$i]}"; done
echo "==> $name exited unexpectedly (status $status); stopping the others. See $HOME_DIR/logs" >&2
exit 1
