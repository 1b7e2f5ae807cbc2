"""Incremental per-series detection: new points plus the persisted detector state, never the history.

A *series* is what one causal detector follows: a job's runs, a job's cost per run, a job's (or a
shared cluster's) minutes of one resource metric. Its state (baselines, counters, the streaming
detector's windows) lives in the ``_analysis_state`` Delta table, one row per
``(detector, workspace_id, series_id, metric)``, with the time and id of the last point it learnt.

Each cycle hands :func:`detect` the points collected since the stage's watermark. Points that come
after the series' last point continue from its state (the normal case: cost follows new data). A
point at or before it -- a row that arrived late, a repaired run whose result changed, a kill between
the state write and the watermark -- means the state no longer describes the past: that series is
replayed from its whole history instead, so cycling, cycling with gaps and one backfill all give the
same findings. The first cycle (no watermark) replays every series from the backfill window.

The detectors themselves are pure Python ``step`` functions (``(points, state) -> (findings, state)``),
run per series with ``cogroup().applyInPandas``; states are JSON with long float lists packed as
base64 doubles.
"""

from __future__ import annotations

import base64
import json
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from dataops_jobs.io import read_output
from dataops_jobs.schemas.output import OutputTable, _cols, register

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from dataops_jobs.io import TableLocator

CANDIDATE_COLUMNS = ["workspace_id", "job_id", "run_id", "cluster_id", "metric", "observed", "expected",
                     "lower_bound", "upper_bound", "score", "method", "anomaly_type", "detected_at",
                     "explanation"]
"""Columns every detector produces (ids, severity and names are added by the processor)."""

STATE_KEYS = ["workspace_id", "series_id", "metric"]

ANALYSIS_STATE = OutputTable(
    name="analysis_state",
    comment="Per-series detector state (baselines, counters, streaming windows) kept between cycles",
    keys=("detector", "workspace_id", "series_id", "metric"),
    time_column="updated_at",
    columns=_cols(
        ("detector", "STRING", "runs (durations and failures), cost or stream (resource metrics)"),
        ("workspace_id", "STRING", "Workspace id"),
        ("series_id", "STRING", "job:<job_id>, or cluster:<cluster_id> for a shared cluster"),
        ("metric", "STRING", "Metric the series follows"),
        ("last_time", "TIMESTAMP", "Time of the last point learnt (run end, metric minute)"),
        ("last_id", "STRING", "Id of the last point learnt (run id)"),
        ("recent_ids", "ARRAY<STRING>", "Ids of the last points learnt (a re-delivered run replays the series)"),
        ("points", "BIGINT", "Points learnt so far"),
        ("state", "BINARY", "JSON state of the detector (long float lists as base64 doubles)"),
        ("updated_at", "TIMESTAMP", "End of the cycle that wrote the state"),
    ),
    bookkeeping=("updated_at",),
)
register(ANALYSIS_STATE)

_OUT_SCHEMA = (
    "record STRING, workspace_id STRING, series_id STRING, job_id STRING, run_id STRING, cluster_id STRING, "
    "metric STRING, observed DOUBLE, expected DOUBLE, lower_bound DOUBLE, upper_bound DOUBLE, score DOUBLE, "
    "method STRING, anomaly_type STRING, detected_at TIMESTAMP, explanation STRING, last_time TIMESTAMP, "
    "last_id STRING, recent_ids ARRAY<STRING>, points BIGINT, state BINARY"
)
_OUT_COLUMNS = [f.split()[0] for f in _OUT_SCHEMA.split(", ")]
Step = Callable[["pd.DataFrame", "dict[str, Any] | None"], "tuple[list[dict[str, Any]], dict[str, Any]]"]


@dataclass(frozen=True)
class SeriesDetector:
    """A resumable detector: ``step(points, state)`` over one series' new points, in time order.

    :param name: the ``detector`` value of its state rows.
    :param step: a picklable function; points carry ``ts`` (order time), ``pid`` (tie-break id) and
        the payload columns the detector needs; it returns findings (dicts of
        :data:`CANDIDATE_COLUMNS`) and the new state.
    :param remember_ids: how many point ids the state keeps; a point whose id is among them was
        already learnt (a repaired run comes back with a later end), so its series is replayed.
    """

    name: str
    step: Step
    remember_ids: int = 0


_FLOATS = "__f8__"
_MIN_PACKED = 16


def _pack(value: Any) -> Any:
    """Long lists of numbers become base64 of their IEEE doubles: a detector's windows are thousands of
    floats, and text JSON of those costs ten times more to write and read than the detector's work."""
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) >= _MIN_PACKED and all(type(v) is float or type(v) is int for v in value):
            return {_FLOATS: base64.b64encode(array("d", value).tobytes()).decode("ascii")}
        return [_pack(v) for v in value]
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if _FLOATS in value and len(value) == 1:
            floats = array("d")
            floats.frombytes(base64.b64decode(value[_FLOATS]))
            return floats.tolist()
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def encode(state: dict[str, Any]) -> bytes:
    """Compact form of a JSON-safe state (numbers in long lists come back as floats). Not compressed
    here: zlib on packed doubles costs more than the detector's work and gains little; Parquet's own
    page compression applies."""
    return json.dumps(_pack(state), separators=(",", ":")).encode()


def decode(blob: bytes | bytearray) -> dict[str, Any]:
    """Inverse of :func:`encode`."""
    result: dict[str, Any] = _unpack(json.loads(bytes(blob)))
    return result


def _apply(detector: SeriesDetector) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """The ``cogroup().applyInPandas`` body for ``detector``: one series' points and its saved state."""

    def run(points: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        if points.empty:
            return pd.DataFrame([], columns=_OUT_COLUMNS)
        points = points.sort_values(["ts", "pid"], kind="stable").reset_index(drop=True)
        saved = decode(state["state"].iloc[0]) if len(state) else None
        learnt = int(state["points"].iloc[0]) if len(state) else 0
        ids = list(state["recent_ids"].iloc[0]) if len(state) and detector.remember_ids else []
        found, new_state = detector.step(points, saved)
        ws, series, metric = (points[k].iloc[0] for k in STATE_KEYS)
        empty = dict.fromkeys(_OUT_COLUMNS)
        rows: list[dict[str, Any]] = [{**empty, "record": "anomaly", "workspace_id": ws, "series_id": series, **f}
                                      for f in found]
        if detector.remember_ids:
            ids = [*ids, *(str(p) for p in points["pid"])][-detector.remember_ids:]
        rows.append({**empty, "record": "state", "workspace_id": ws, "series_id": series, "metric": metric,
                     "last_time": points["ts"].iloc[-1], "last_id": str(points["pid"].iloc[-1]),
                     "recent_ids": ids, "points": learnt + len(points), "state": encode(new_state)})
        return pd.DataFrame(rows, columns=_OUT_COLUMNS, dtype=object)

    return run


def read_state(spark: SparkSession, locator: TableLocator, detector: str) -> DataFrame | None:
    """The saved states of one detector, or None before the first cycle."""
    table = read_output(spark, locator, ANALYSIS_STATE.name)
    return None if table is None else table.where(F.col("detector") == F.lit(detector))


def _late(points: DataFrame, state: DataFrame) -> DataFrame:
    """Series with a point at or before the last one learnt, or one already learnt (by id)."""
    info = state.select(*STATE_KEYS, "last_time", "last_id", "recent_ids")
    before: Column = (F.col("ts") < F.col("last_time")) | (
        (F.col("ts") == F.col("last_time")) & (F.col("pid") <= F.col("last_id")))
    seen = F.coalesce(F.array_contains(F.col("recent_ids"), F.col("pid")), F.lit(False))
    return points.join(info, STATE_KEYS).where(before | seen).select(*STATE_KEYS).distinct()


@dataclass
class Detection:
    """What :func:`detect` found: candidate anomalies and the state rows to MERGE after them."""

    candidates: DataFrame
    states: DataFrame
    replayed: int


def detect(
    spark: SparkSession,
    locator: TableLocator,
    detector: SeriesDetector,
    new_points: DataFrame,
    history: Callable[[DataFrame], DataFrame],
    *,
    backfill: bool,
    at: datetime,
) -> Detection:
    """Run ``detector`` over the new points, resuming each series from its state.

    ``history(keys)`` returns every point (up to the cycle's end) of the series in ``keys``: the
    replay of series whose new points are out of order. On a backfill ``new_points`` already holds
    every point of the backfill window and no state is read.
    """
    state = None if backfill else read_state(spark, locator, detector.name)
    points, replayed = new_points, 0
    if state is not None:
        late = _late(new_points, state).localCheckpoint()
        replayed = late.count()
        if replayed:
            points = new_points.join(late, STATE_KEYS, "left_anti").unionByName(history(late))
            state = state.join(late, STATE_KEYS, "left_anti")
        state = state.join(points.select(*STATE_KEYS).distinct(), STATE_KEYS, "left_semi")
    else:
        state = spark.createDataFrame([], "workspace_id STRING, series_id STRING, metric STRING, "
                                          "points BIGINT, recent_ids ARRAY<STRING>, state BINARY")
    saved = state.select(*STATE_KEYS, "points", "recent_ids", "state")
    out = (points.groupBy(*STATE_KEYS).cogroup(saved.groupBy(*STATE_KEYS))
           .applyInPandas(_apply(detector), _OUT_SCHEMA).localCheckpoint())
    candidates = out.where(F.col("record") == "anomaly").select(*CANDIDATE_COLUMNS)
    states = out.where(F.col("record") == "state").select(
        F.lit(detector.name).alias("detector"), *STATE_KEYS, "last_time", "last_id", "recent_ids", "points",
        "state", F.lit(at).cast("timestamp").alias("updated_at"))
    return Detection(candidates, states, replayed)


def candidates(df: DataFrame, **cols: Column) -> DataFrame:
    """Project ``df`` onto :data:`CANDIDATE_COLUMNS`, taking the named columns from ``cols``."""
    out = [cols[c].alias(c) if c in cols else F.col(c) for c in CANDIDATE_COLUMNS]
    return df.select(*out)


def terminal_runs(runs: DataFrame) -> DataFrame:
    """Runs that have finished (not RUNNING, not SKIPPED), one row per run."""
    return runs.where((F.col("status") != "RUNNING") & (F.col("status") != "SKIPPED") & F.col("end_time").isNotNull())


__all__ = ["ANALYSIS_STATE", "CANDIDATE_COLUMNS", "STATE_KEYS", "Detection", "SeriesDetector", "candidates",
           "decode", "detect", "encode", "read_state", "terminal_runs"]
