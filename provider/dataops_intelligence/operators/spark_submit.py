"""The ``spark_submit`` target: the same job entrypoint on an existing Spark cluster (on-prem hybrid).

The job runs as ``spark-submit <entry script> <stage> --config-json ... --interval-start ...
--interval-end ...`` with ``compute.spark_submit.conf`` as ``--conf``; its output streams into the
task log, ``DATAOPS_RESULT`` becomes the task's return value, a non-zero exit raises ``RemoteRunError``
with the exit code's meaning and the output tail. ``on_kill`` stops the spark-submit process group.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataops_intelligence.operators.databricks_payload import (
    ENTRY_SCRIPT,
    ENTRY_SCRIPT_NAME,
    job_config_json,
    job_parameters,
    parse_result,
)
from dataops_intelligence.operators.remote import RemoteRunError

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.sdk import BaseOperator

    from dataops_intelligence.hooks.spark_submit import DataOpsSparkSubmitHook
    from dataops_jobs.config import Config

    _Base = BaseOperator
else:
    _Base = object

#: ``dataops-job`` exit codes (see ``dataops_jobs.entrypoint``).
EXIT_MEANINGS = {2: "configuration error", 3: "a source table cannot be read", 4: "a Delta write failed"}


def entry_script(directory: Path) -> str:
    """Write the job's entry script into ``directory`` and return its path."""
    path = directory / ENTRY_SCRIPT_NAME
    path.write_text(ENTRY_SCRIPT)
    return str(path)


class SparkSubmitMixin(_Base):
    """Runs a stage through ``spark-submit`` (mix in before ``BaseOperator``)."""

    _spark_hook: DataOpsSparkSubmitHook | None = None

    def run_spark_submit(self, stage: str, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        """Submit ``stage`` for ``(start, end]`` and wait for the driver to exit."""
        from dataops_intelligence.hooks.spark_submit import DataOpsSparkSubmitHook

        settings = config.compute.spark_submit
        self._spark_hook = hook = DataOpsSparkSubmitHook(settings.conn_id, master=settings.master,
                                                         conf=settings.conf)
        params = job_parameters(stage, job_config_json(config), start, end)
        self.log.info("spark-submit of %s to %s", stage, hook.master)
        with tempfile.TemporaryDirectory(prefix="dataops-submit-") as tmp:
            outcome = hook.submit(entry_script(Path(tmp)), params, f"dataops-{stage}",
                                  lambda line: self.log.info("%s", line))
        if outcome.returncode != 0:
            meaning = EXIT_MEANINGS.get(outcome.returncode, "the job failed")
            tail = "\n".join(outcome.lines[-25:])
            raise RemoteRunError(f"spark-submit of {stage} exited {outcome.returncode} ({meaning}):\n{tail}")
        result = parse_result("\n".join(outcome.lines)) or {}
        return {"stage": stage, **result, "target": "spark_submit"}

    def on_kill(self) -> None:
        """Stop a running spark-submit."""
        if self._spark_hook is not None:
            self.log.info("stopping spark-submit")
            self._spark_hook.kill()
        super().on_kill()
