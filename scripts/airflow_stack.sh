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
export AIRFLOW__DATAOPS__DEADLINE_ALERTS="${AIRFLOW__DATAOPS__DEADLINE_ALERTS:-true}"
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON="$PYTHON" PYSPARK_DRIVER_PYTHON="$PYTHON"
export DATAOPS_ALERT_STATE_PATH="${DATAOPS_ALERT_STATE_PATH:-$HOME_DIR/dataops/alert_state.sqlite}"

# Every component must sign and accept the same tokens (the api-server issues the workers' tokens).
SECRETS="$HOME_DIR/.stack_secrets"
if [[ ! -f "$SECRETS" ]]; then
  umask 077
  printf 'JWT=%s\nKEY=%s\n' "$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    "$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')" > "$SECRETS"
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
stop() {
  trap - INT TERM EXIT
  echo "==> stopping Airflow (${PIDS[*]:-})"
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
  "$BIN/airflow" "$component" > "$HOME_DIR/logs/$component.log" 2>&1 &
  PIDS+=("$!")
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
cat <<EOF

  DataOps Intelligence on Airflow $("$BIN/airflow" version 2>/dev/null | tail -1)
  UI:        http://127.0.0.1:$PORT   (also http://localhost:$PORT)
  Log in:    user "admin", password: $( [[ -f "$PASSWORDS" ]] && "$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1])).get('admin',''))" "$PASSWORDS" || echo "see $PASSWORDS")
             (stored in $PASSWORDS)
  DAGs:      dataops_monitoring, dataops_health_check, dataops_maintenance (unpause them in the UI)
  Config:    $DATAOPS_CONFIG
  Alerts:    $HOME_DIR/dataops/alerts/notifications.jsonl (alerting.route_all_to: local in the config)
  Logs:      $HOME_DIR/logs
  Stop:      Ctrl-C

EOF
wait -n "${PIDS[@]}" || true
echo "==> an Airflow component exited; see $HOME_DIR/logs" >&2
