"""The recommendation rules on crafted evidence (pure Python, no Spark): every kind, the guards,
and no recommendation for a well-sized job or one with too few runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dataops_jobs.config import RecommendationsConfig
from dataops_jobs.recommend.rules import (
    ALL_PURPOSE,
    AUTOSCALING,
    IDLE_TIME,
    MEMORY_PRESSURE,
    OVER_PROVISIONED,
    ClusterEvidence,
    JobEvidence,
    Recommendation,
    cluster_idle,
    memory_node,
    needed_workers,
    recommend,
)

CFG = RecommendationsConfig()
#: 8 workers at 25 % CPU and 20 % memory (90th percentile over busy minutes), 1,000 a month.
OVER = JobEvidence("ws", "j1", "etl", runs=20, metric_runs=20, p95_minutes=40.0, workers=8, worker_node="m5d.xlarge",
                   monthly_cost=900.0, cpu_p=25.0, mem_p=20.0, busy_fraction=0.9, needed_mean_share=0.4,
                   needed_low_share=0.3, idle_share=0.05)


def kinds(ev: JobEvidence, cfg: RecommendationsConfig = CFG) -> dict[str, Recommendation]:
    return {r.kind: r for r in recommend(ev, cfg)}


def test_over_provisioned_smallest_count_under_both_targets_and_savings() -> None:
    rec = kinds(OVER)[OVER_PROVISIONED]
    # 8 x 25 / 85 = 2.35 -> 3 workers; memory 8 x 20 / 90 = 1.8 -> 2; the larger wins.
    assert rec.proposed_change == "num_workers 8 → 3"
    # Same node for driver and workers: 5 of the 9 instances go.
    assert rec.monthly_savings == pytest.approx(900.0 * 5 / 9)
    assert rec.evidence["cpu_at_proposed"] == pytest.approx(25.0 * 8 / 3, abs=0.01)
    assert AUTOSCALING not in kinds(OVER)  # right-size first


def test_memory_bound_job_keeps_the_workers_memory_needs() -> None:
    assert needed_workers(replace(OVER, mem_p=60.0), CFG) == 6  # 8 x 60 / 90 = 5.3 -> 6


def test_well_sized_job_gets_nothing() -> None:
    well = replace(OVER, cpu_p=78.0, mem_p=55.0, needed_mean_share=0.9, needed_low_share=0.75)
    assert kinds(well) == {}


def test_too_few_runs_gets_nothing() -> None:
    assert recommend(replace(OVER, runs=CFG.min_runs - 1), CFG) == []
    assert recommend(replace(OVER, metric_runs=CFG.min_runs - 1), CFG) == []


def test_sla_headroom_limits_the_cut() -> None:
    # At 3 workers CPU would be 66.7 %, under the 70 % knee: no slow-down predicted, 3 allowed.
    assert needed_workers(replace(OVER, sla_limit_minutes=60.0), CFG) == 3
    # At 35 % CPU, 4 workers would run at 70 %, 3 at 93 % (CPU target 85 % already says 4);
    # with the p95 at the SLA's headroom any slow-down breaches it: stays at 4 (no stretch there).
    tight = replace(OVER, cpu_p=35.0, sla_limit_minutes=50.0)
    assert needed_workers(tight, CFG) == 4
    # A knee at 40 % and the p95 (40 min) already at 80 % of the 50-minute SLA: any slow-down
    # breaches the headroom, so the cut stops at 7 workers (8 x 35 / 7 = 40 %, no slow-down).
    knee = CFG.model_copy(update={"no_slowdown_cpu_percent": 40.0})
    rec = kinds(tight, knee)[OVER_PROVISIONED]
    assert rec.proposed == "num_workers 7"
    assert rec.predicted_p95_minutes is not None
    assert rec.predicted_p95_minutes <= 50.0 * (1 - knee.sla_headroom)
    assert rec.duration_risk == "none"
    # Without the SLA the p95 may grow by 25 %: 6 workers (+15 %), not 5 (+36 %).
    rec = kinds(replace(tight, sla_limit_minutes=None), knee)[OVER_PROVISIONED]
    assert rec.proposed == "num_workers 6"
    assert rec.predicted_p95_minutes == pytest.approx(40.0 * (0.9 * 280 / 6 / 40 + 0.1), abs=0.01)
    assert rec.duration_risk == "medium"


def test_never_breaches_an_sla_already_without_headroom() -> None:
    knee = CFG.model_copy(update={"no_slowdown_cpu_percent": 20.0})
    assert OVER_PROVISIONED not in kinds(replace(OVER, sla_limit_minutes=45.0), knee)


def test_idle_time_of_job_clusters() -> None:
    rec = kinds(replace(OVER, idle_share=0.4))[IDLE_TIME]
    assert rec.monthly_savings == pytest.approx(900.0 * 0.4)
    assert IDLE_TIME not in kinds(replace(OVER, idle_share=0.1))


def test_idle_all_purpose_cluster() -> None:
    rec = cluster_idle(ClusterEvidence("ws", "ap1", "shared", up_hours=280.0, idle_hours=210.0, monthly_cost=1000.0,
                                       auto_termination_minutes=120), CFG)
    assert rec is not None
    assert rec.monthly_savings == pytest.approx(750.0)
    assert rec.proposed == "auto_termination_minutes 30"
    busy = ClusterEvidence("ws", "ap1", "shared", 280.0, 20.0, 1000.0, 120)
    assert cluster_idle(busy, CFG) is None


def test_all_purpose_to_job_compute() -> None:
    ap = JobEvidence("ws", "j2", "report", compute="all_purpose", runs=10, p95_minutes=30.0, ap_monthly_dbus=100.0,
                     ap_price=0.55, jobs_price=0.15)
    rec = kinds(ap)[ALL_PURPOSE]
    assert rec.monthly_savings == pytest.approx(40.0)
    assert rec.predicted_p95_minutes == pytest.approx(35.0)
    # The job-cluster start-up would eat the SLA's headroom: not recommended.
    assert ALL_PURPOSE not in kinds(replace(ap, sla_limit_minutes=40.0))


def test_memory_pressure_more_memory_and_failures_avoided() -> None:
    starved = replace(OVER, workers=2, cpu_p=50.0, mem_p=93.0, memory_peak=98.5, pressure_runs=12, memory_failures=4,
                      failed_monthly_cost=200.0, monthly_cost=300.0)
    found = kinds(starved)
    rec = found[MEMORY_PRESSURE]
    assert rec.proposed_change == "num_workers 2 → 3 (or worker node m5d.xlarge → r5d.xlarge)"
    # 200 of failed runs avoided minus one more worker (a third of 300).
    assert rec.monthly_savings == pytest.approx(100.0)
    assert rec.evidence["memory_failures"] == 4
    assert OVER_PROVISIONED not in found
    assert MEMORY_PRESSURE not in kinds(replace(starved, pressure_runs=1, memory_failures=0))


def test_autoscaling_bounds_for_a_bursty_fixed_cluster() -> None:
    bursty = replace(OVER, cpu_p=80.0, mem_p=40.0, needed_mean_share=0.45, needed_low_share=0.25)
    rec = kinds(bursty)[AUTOSCALING]
    assert rec.proposed == "autoscale 2-8"
    expected = 900.0 * 8 / 9 * (1 - 0.45) * CFG.autoscale_efficiency
    assert rec.monthly_savings == pytest.approx(expected)
    assert AUTOSCALING not in kinds(replace(bursty, needed_mean_share=0.85))


def test_memory_node_same_size() -> None:
    assert memory_node("m5d.2xlarge") == "r5d.2xlarge"
    assert memory_node("Standard_D8s_v3") == "Standard_E8s_v3"
    assert memory_node("n2-standard-8") == "n2-highmem-8"
    assert memory_node("x1.large") is None


def test_summary_lists_the_top_savings(capsys: pytest.CaptureFixture[str]) -> None:
    from dataops_intelligence.cli import print_summary

    top = [{"job_name": "etl", "proposed_change": "num_workers 8 → 3", "kind": OVER_PROVISIONED,
            "estimated_monthly_savings": 1234.5, "currency": "USD", "confidence": 0.9, "duration_risk": "none"}]
    stage = {"stats_rows": 40, "evaluated": True, "recommendations": 7, "seconds": 3.5}
    print_summary({"interval_end": "2025-06-01", "stages": {"recommendations": stage}}, {"top_recommendations": top})
    out = capsys.readouterr().out
    assert "  etl: num_workers 8 → 3 (over_provisioned_workers) saves 1,234.50 USD/month" in out
    assert "  recommendations  40 run summaries merged, 7 recommendations (3.5 s)" in out
    print_summary({"interval_end": "2025-06-01"}, {})
    assert "no recommendation yet" in capsys.readouterr().out
