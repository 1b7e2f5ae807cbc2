"""The ``databricks`` target: stages and whole cycles as Databricks one-time runs (``runs/submit``).

``DatabricksRunMixin`` gives an operator the submit-and-wait life cycle, built on the official hook
(auth, retries) and trigger (polling in the triggerer):

1. submit with an idempotency token derived from dag/task/run/try (a submit the hook retries after a
   5xx never starts a second run), push ``run_id`` and ``run_page_url`` to XCom, log the URL;
2. check once, then defer to ``DataOpsExecutionTrigger`` (default) or poll in the worker;
3. on success, return the jobs' ``DATAOPS_RESULT`` from ``runs/get-output`` logs; on failure raise
   ``RemoteRunError`` carrying each failed task's ``error`` and ``error_trace`` tail;
4. ``on_kill`` cancels the run (the trigger's own ``on_kill`` does it while deferred).

``DataOpsCycleOperator`` submits a whole monitoring cycle as ONE multi-task run (collect_runs ->
[collect_metrics -> [health, anomalies], sla]) on one shared job cluster or serverless.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from dataops_intelligence.links import XCOM_RUN_ID_KEY, XCOM_RUN_PAGE_URL_KEY, DataOpsRunLink
from dataops_intelligence.operators.databricks_payload import (
    CYCLE_DEPENDENCIES,
    TASK_TYPES,
    cycle_payload,
    error_text,
    job_config_json,
    job_parameters,
    parse_result,
    stage_payload,
)
from dataops_intelligence.operators.remote import RemoteRunError, TaskIdentity, retry_setting

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.providers.databricks.hooks.databricks import RunState
    from airflow.sdk import Context

    from dataops_intelligence.hooks.databricks import DataOpsDatabricksHook
    from dataops_jobs.config import Config

    _Base = BaseOperator
else:
    _Base = object

_FAILED_RESULTS = frozenset({"FAILED", "TIMEDOUT", "CANCELED", "MAXIMUM_CONCURRENT_RUNS_REACHED"})


class DatabricksRunMixin(_Base):
    """Submit-and-wait of one Databricks one-time run, for operators (mix in before ``BaseOperator``).

    The operator sets ``deferrable`` (None: ``compute.databricks.deferrable``), ``databricks_conn_id``
    (None: ``databricks.conn_id``) and ``databricks_task_type`` in its constructor.
    """

    deferrable: bool | None
    databricks_conn_id: str | None
    config_path: str | None
    environment: str | None
    databricks_task_type: str
    databricks_run_id: int | None = None
    #: The submitted run's page, read by the "Databricks run" extra link (None: nothing submitted).
    databricks_run_page_url: str | None = None
    _databricks_conn: str = "databricks_default"

    def load_config(self) -> Config:
        """The validated config for this task (``config_path`` / ``environment`` or the defaults)."""
        from dataops_intelligence.settings import config_path, environment
        from dataops_jobs.config import load_config

        return load_config(config_path(self.config_path), env=environment(self.environment))

    @staticmethod
    def check_task_type(task_type: str) -> str:
        """Validate ``databricks_task_type`` at DAG-definition time."""
        if task_type not in TASK_TYPES:
            raise ValueError(f"databricks_task_type must be one of {', '.join(TASK_TYPES)}, not {task_type!r}")
        return task_type

    @cached_property
    def databricks_hook(self) -> DataOpsDatabricksHook:
        """The hook on the run's connection (resolved in ``execute``), with the provider's retry policy."""
        from dataops_intelligence.hooks.databricks import DataOpsDatabricksHook

        return DataOpsDatabricksHook(
            self._databricks_conn,
            retry_limit=int(retry_setting("databricks_retry_limit", 8)),
            retry_delay=retry_setting("databricks_retry_delay", 1.0),
            caller=type(self).__name__,
        )

    # ----------------------------------------------------------------------------- entry points
    def run_databricks_stage(
        self, stage: str, config: Config, start: datetime, end: datetime, context: Context
    ) -> dict[str, Any]:
        """Submit one stage as a one-task run and wait for it."""
        ident = TaskIdentity.from_context(context)
        compute = config.compute.databricks
        params = job_parameters(stage, job_config_json(config), start, end)
        payload = stage_payload(stage, params, compute, self._task_type(), ident.run_name, ident.token)
        return self.submit_databricks_run(payload, config, context)

    def submit_databricks_run(
        self, payload: dict[str, Any], config: Config, context: Context
    ) -> dict[str, Any]:
        """Submit ``payload``, publish the breadcrumbs, then defer or poll until the run ends."""
        self._databricks_conn = self.databricks_conn_id or config.databricks.conn_id
        compute = config.compute.databricks
        hook = self.databricks_hook
        run_id = hook.submit_run(payload)
        self.databricks_run_id = run_id
        url = hook.get_run_page_url(run_id)
        self.databricks_run_page_url = url
        context["ti"].xcom_push(key=XCOM_RUN_ID_KEY, value=run_id)
        context["ti"].xcom_push(key=XCOM_RUN_PAGE_URL_KEY, value=url)
        self.log.info("Databricks run %s submitted: %s", run_id, url)
        deferrable = compute.deferrable if self.deferrable is None else self.deferrable
        state = hook.get_run_state(run_id)
        if deferrable and not state.is_terminal:
            self._defer(run_id, url, compute.polling_period_seconds)
        while not state.is_terminal:
            self.log.info("run %s is %s; next check in %s s", run_id, state.life_cycle_state,
                          compute.polling_period_seconds)
            time.sleep(compute.polling_period_seconds)
            state = hook.get_run_state(run_id)
        return self._finish(run_id, url, state)

    def execute_complete(
        self, context: Context, event: Mapping[str, Any] | None = None, databricks_conn_id: str | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger: validate its event, then succeed or raise with the run's errors."""
        from airflow.providers.databricks.hooks.databricks import RunState

        if not isinstance(event, Mapping) or not isinstance(event.get("run_id"), int):
            raise RemoteRunError(f"invalid trigger event {event!r}: expected a run_id and a run_state")
        try:
            state = RunState.from_json(str(event["run_state"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteRunError(f"invalid run_state in trigger event {event!r}: {exc}") from exc
        if not state.is_terminal:
            raise RemoteRunError(f"trigger event for run {event['run_id']} is not terminal: {state}")
        # defer(kwargs=...) is not carried through every resume path (dag.test), so fall back to config.
        self._databricks_conn = (databricks_conn_id or self.databricks_conn_id
                                 or self.load_config().databricks.conn_id)
        self.databricks_run_id = int(event["run_id"])
        self.databricks_run_page_url = str(event.get("run_page_url") or "") or None
        return self._finish(self.databricks_run_id, self.databricks_run_page_url or "", state)

    def on_kill(self) -> None:
        """Cancel the submitted run (while deferred, the trigger's ``on_kill`` does it)."""
        if self.databricks_run_id is not None:
            self.log.info("cancelling Databricks run %s", self.databricks_run_id)
            self.databricks_hook.cancel_run(self.databricks_run_id)
        super().on_kill()

    # ----------------------------------------------------------------------------- internals
    def _task_type(self) -> Any:
        return self.databricks_task_type

    def _defer(self, run_id: int, url: str, polling_period_seconds: int) -> None:
        from dataops_intelligence.triggers.databricks import DataOpsExecutionTrigger

        trigger = DataOpsExecutionTrigger(
            run_id=run_id,
            databricks_conn_id=self._databricks_conn,
            polling_period_seconds=polling_period_seconds,
            retry_limit=int(retry_setting("databricks_retry_limit", 8)),
            retry_delay=retry_setting("databricks_retry_delay", 1.0),
            run_page_url=url,
            caller=type(self).__name__,
        )
        self.defer(trigger=trigger, method_name="execute_complete",
                   kwargs={"databricks_conn_id": self._databricks_conn})

    def _finish(self, run_id: int, url: str, state: RunState) -> dict[str, Any]:
        hook = self.databricks_hook
        tasks = hook.get_run(run_id).get("tasks") or []
        if not state.is_successful:
            message = (
                f"Databricks run {run_id} ended {state.life_cycle_state}/{state.result_state or '-'}: "
                f"{state.state_message}\n{self._task_errors(tasks)}\nRun page: {url}"
            )
            self.log.error("%s", message)
            raise RemoteRunError(message)
        results = {
            str(t["task_key"]): parse_result(hook.get_run_output(int(t["run_id"])).get("logs")) for t in tasks
        }
        summary: dict[str, Any] = {"target": "databricks", "run_id": run_id, "run_page_url": url}
        if len(results) == 1:
            (only,) = results.values()
            return {**(only or {}), **summary}
        return {**summary, "tasks": results}

    def _task_errors(self, tasks: Sequence[Mapping[str, Any]]) -> str:
        lines = []
        for task in tasks:
            task_state = task.get("state") or {}
            failed = task_state.get("result_state") in _FAILED_RESULTS
            if not failed and task_state.get("life_cycle_state") != "INTERNAL_ERROR":
                continue
            try:
                output = self.databricks_hook.get_run_output(int(task["run_id"]))
            except Exception as exc:  # the failure itself matters more than its details
                output = {"error": f"{task_state.get('state_message', '')} (get-output failed: {exc})"}
            text = error_text(output.get("error"), output.get("error_trace")) or task_state.get("state_message")
            lines.append(f"[task {task.get('task_key')}] {text}")
        return "\n".join(lines)


class DataOpsCycleOperator(DatabricksRunMixin, BaseOperator):
    """Runs a whole monitoring cycle on Databricks as ONE multi-task run that starts at most one cluster.

    Tasks ``collect_runs -> [collect_metrics -> [health, anomalies], sla]`` are wired with ``depends_on`` and
    share one ``job_cluster_key`` (``cluster_mode: job_cluster``), one existing cluster, or one
    serverless environment. Each task runs ``dataops-job <stage>`` for the task's data interval.

    :param stages: the stages to include (default: all five, in dependency order).
    :param config_path: base YAML config (default: ``[dataops] config_path`` / ``DATAOPS_CONFIG``).
    :param environment: config overlay.
    :param deferrable: wait in the triggerer (default ``compute.databricks.deferrable``, True).
    :param databricks_conn_id: overrides ``databricks.conn_id``.
    :param databricks_task_type: ``spark_python_task`` (entry script) or ``python_wheel_task``.
    """

    template_fields: Sequence[str] = ("config_path", "environment")
    operator_extra_links = (DataOpsRunLink(),)
    ui_color = "#ffe8d6"
    stages_default: ClassVar[tuple[str, ...]] = tuple(CYCLE_DEPENDENCIES)

    def __init__(
        self,
        *,
        stages: Sequence[str] | None = None,
        config_path: str | None = None,
        environment: str | None = None,
        deferrable: bool | None = None,
        databricks_conn_id: str | None = None,
        databricks_task_type: str = "spark_python_task",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.stages = tuple(stages or self.stages_default)
        unknown = sorted(set(self.stages) - set(CYCLE_DEPENDENCIES))
        if unknown:
            raise ValueError(f"unknown stages {unknown}; expected some of {list(CYCLE_DEPENDENCIES)}")
        self.config_path = config_path
        self.environment = environment
        self.deferrable = deferrable
        self.databricks_conn_id = databricks_conn_id
        self.databricks_task_type = self.check_task_type(databricks_task_type)

    def execute(self, context: Context) -> dict[str, Any]:
        """Submit the cycle run for the task's data interval and wait for it."""
        from dataops_intelligence.operators.stages import task_interval

        config = self.load_config()
        start, end = task_interval(context)
        ident = TaskIdentity.from_context(context)
        config_json = job_config_json(config)
        params = {stage: job_parameters(stage, config_json, start, end) for stage in self.stages}
        payload = cycle_payload(self.stages, params, config.compute.databricks, self._task_type(),
                                ident.run_name, ident.token)
        self.log.info("cycle %s on Databricks (%s) for interval (%s, %s]", ", ".join(self.stages),
                      config.compute.databricks.cluster_mode, start, end)
        return self.submit_databricks_run(payload, config, context)
