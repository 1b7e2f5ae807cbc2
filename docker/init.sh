#!/usr/bin/env bash
# One-off initialisation of the docker-compose stack (service airflow-init), before any Airflow
# component starts. Idempotent: every later `docker compose up` runs it again and it only does what is
# missing. Runs outside Docker too (tests/test_compose.py): every path comes from the environment.
#
#   1. checks the mounted config and alert rules exist (the provider is installed as a package, so
#      its own default paths point into site-packages: compose sets both paths explicitly);
#   2. creates $DATAOPS_HOME and the directory of the generated admin password;
#   3. migrates the metadata database;
#   4. with DATAOPS_SIMULATE=1 (the compose default), simulates a demo workspace into
#      <local.system_tables_path> once, so collection and the health check have tables to read.
#      Set DATAOPS_SIMULATE=0 when the config points at real system tables (compute.target databricks).
set -euo pipefail

CONFIG="${AIRFLOW__DATAOPS__CONFIG_PATH:?set AIRFLOW__DATAOPS__CONFIG_PATH to the mounted base.yaml}"
RULES="${AIRFLOW__DATAOPS__ALERTING_RULES:?set AIRFLOW__DATAOPS__ALERTING_RULES to the mounted alerting_rules.yaml}"
DATAOPS_HOME="${DATAOPS_HOME:?set DATAOPS_HOME (where local tables and alert state live)}"
PASSWORDS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-${AIRFLOW_HOME:-/opt/airflow}/simple_auth_manager_passwords.json.generated}"

for file in "$CONFIG" "$RULES"; do
  if [[ ! -f "$file" ]]; then
    echo "airflow-init: $file does not exist (is ./config mounted at $(dirname "$file")?)" >&2
    exit 2
  fi
done

mkdir -p "$DATAOPS_HOME" "$(dirname "$PASSWORDS")"
if [[ ! -w "$DATAOPS_HOME" ]]; then
  echo "airflow-init: $DATAOPS_HOME is not writable by $(id -un) (uid $(id -u))" >&2
  exit 2
fi

echo "airflow-init: migrating the metadata database"
airflow db migrate

MARKER="$DATAOPS_HOME/.simulated"
if [[ "${DATAOPS_SIMULATE:-0}" == "1" && ! -f "$MARKER" ]]; then
  jobs="${DATAOPS_SIMULATE_JOBS:-20}" days="${DATAOPS_SIMULATE_DAYS:-3}"
  echo "airflow-init: simulating a demo workspace ($jobs jobs, $days days) for $CONFIG"
  dataops simulate --config "$CONFIG" --jobs "$jobs" --days "$days"
  date -u +%Y-%m-%dT%H:%M:%SZ > "$MARKER"
elif [[ -f "$MARKER" ]]; then
  echo "airflow-init: demo workspace already simulated ($(cat "$MARKER")); 'dataops simulate --append-day' adds a day"
fi

echo "airflow-init: ready. The admin password is written by the api-server to $PASSWORDS"
