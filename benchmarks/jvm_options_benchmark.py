"""Embedded Spark: session start and a short Delta MERGE workload under different driver JVM options.

    .venv/bin/python benchmarks/jvm_options_benchmark.py [--repeat 2] [--merges 4]

Each measurement is a fresh interpreter (one JVM), as every local-target Airflow task is: start the
session, write a 1,000-row Delta table, then MERGE ``--merges`` batches of 500 rows into it. It
compares the JVM's defaults (tiered JIT up to C2, G1 GC) with ``local.driver_java_options``'
default (C1 only, serial GC), alternating the two so a noisy machine affects both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent('''
    import json, sys, time
    t0 = time.perf_counter()
    from delta.tables import DeltaTable
    from dataops_jobs.session import get_spark
    spark = get_spark(shuffle_partitions=2, driver_memory="1g", driver_java_options=sys.argv[1])
    t1 = time.perf_counter()
    path = sys.argv[2]
    spark.range(1000).selectExpr("id", "id * 2 AS v").write.format("delta").save(path)
    for i in range(int(sys.argv[3])):
        batch = spark.range(100 * i, 100 * i + 500).selectExpr("id", f"id * {i + 3} AS v")
        (DeltaTable.forPath(spark, path).alias("t").merge(batch.alias("s"), "t.id = s.id")
         .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    t2 = time.perf_counter()
    print("RESULT " + json.dumps({"start": t1 - t0, "work": t2 - t1}))
''')


def measure(options: str, merges: int) -> dict[str, float]:
    """One fresh interpreter and JVM: session start and workload seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, options, f"{tmp}/t", str(merges)],
                             capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT "):]))


def main(argv: list[str] | None = None) -> None:
    from dataops_jobs.config.models import DEFAULT_DRIVER_JAVA_OPTIONS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--merges", type=int, default=4)
    args = parser.parse_args(argv)
    variants = {"JVM defaults": "", "local.driver_java_options default": DEFAULT_DRIVER_JAVA_OPTIONS}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, options in variants.items():
            results[name].append(measure(options, args.merges))
    for name, runs in results.items():
        start = statistics.median(r["start"] for r in runs)
        work = statistics.median(r["work"] for r in runs)
        print(f"{name:36s} options={variants[name]!r:45s} start {start:6.1f} s  "
              f"write + {args.merges} MERGEs {work:6.1f} s  (median of {len(runs)})")


if __name__ == "__main__":
    main()
