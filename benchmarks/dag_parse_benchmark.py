"""DAG parse time of each file in dags/ against a trivial ``airflow.sdk`` DAG parsed in the same process.

    .venv/bin/python benchmarks/dag_parse_benchmark.py [--repeat 15]

Each DAG file is measured in a fresh interpreter that has already imported ``airflow.sdk`` (as the
DAG processor has): first the trivial DAG, then the file once ("cold": includes importing the
provider modules the file needs), then both alternately ``--repeat`` times ("warm": median). Parsing
is ``DagBag(dag_folder=<file>)``, what the DAG processor runs per file. Goal: warm ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIVIAL = textwrap.dedent('''
    from __future__ import annotations
    import pendulum
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG(dag_id="trivial", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
             catchup=False):
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
''')

_CHILD = textwrap.dedent('''
    import json, statistics, sys, time, warnings
    warnings.simplefilter("ignore")
    import airflow.sdk  # noqa: F401  (the DAG processor has this loaded already)
    from airflow.dag_processing.dagbag import DagBag

    trivial, target, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def parse(path):
        start = time.perf_counter()
        bag = DagBag(dag_folder=path, safe_mode=False)
        elapsed = time.perf_counter() - start
        assert not bag.import_errors, bag.import_errors
        return elapsed

    parse(trivial)  # DagBag's own first-use costs belong to neither side
    trivial_cold = parse(trivial)
    cold = parse(target)
    t, d = [], []
    for _ in range(repeat):
        t.append(parse(trivial))
        d.append(parse(target))
    print(json.dumps({"trivial_cold": trivial_cold, "cold": cold,
                      "trivial_warm": statistics.median(t), "warm": statistics.median(d)}))
''')


def measure(dag_file: Path, trivial: Path, repeat: int) -> dict[str, float]:
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    env.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="parse-bench-"))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(trivial), str(dag_file), str(repeat)],
                         capture_output=True, text=True, check=True, env=env, cwd=REPO, timeout=600)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dags", type=Path, default=REPO / "dags")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_dag.py"
        trivial.write_text(TRIVIAL)
        print(f"{'DAG file':<28}{'trivial ms':>11}{'file ms':>10}{'ratio':>7}   {'cold trivial':>12}{'cold file':>10}"
              f"{'ratio':>7}")
        worst = 0.0
        for dag_file in sorted(args.dags.glob("*.py")):
            r = measure(dag_file, trivial, args.repeat)
            warm_ratio, cold_ratio = r["warm"] / r["trivial_warm"], r["cold"] / r["trivial_cold"]
            worst = max(worst, warm_ratio)
            print(f"{dag_file.name:<28}{r['trivial_warm'] * 1e3:>11.1f}{r['warm'] * 1e3:>10.1f}{warm_ratio:>7.2f}"
                  f"   {r['trivial_cold'] * 1e3:>12.1f}{r['cold'] * 1e3:>10.1f}{cold_ratio:>7.2f}")
    print(f"worst warm ratio {worst:.2f} (goal <= 1.5): {'OK' if worst <= 1.5 else 'ABOVE GOAL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
