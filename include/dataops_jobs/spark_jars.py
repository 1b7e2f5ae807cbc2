"""Fetch Delta Lake's jars from Maven Central once, cache them, and list them for Spark.

Spark can resolve ``spark.jars.packages`` at every session start, but that costs a network
round-trip per session and fails offline. We resolve once (at set-up, through Spark's own Ivy
resolver restricted to Maven Central), keep only the jars Spark does not already bundle, and
start every later session from that cache with ``spark.jars``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: The Delta release paired with pyspark 4.2.0 (delta-spark 4.4.1 on PyPI). Maven Central may lag
#: PyPI: when the exact jar is not served, the newest earlier patch of the same minor is used.
DELTA_VERSIONS = ("4.4.1", "4.4.0")
SCALA_BINARY = "2.13"
MANIFEST = "manifest.json"

_IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="central"/>
  <resolvers>
    <ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/>
  </resolvers>
</ivysettings>
"""

_RESOLVE_SCRIPT = """
import sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]").appName("dataops-fetch-jars")
         .config("spark.jars.packages", sys.argv[1]).config("spark.jars.ivy", sys.argv[2])
         .config("spark.jars.ivySettings", sys.argv[3]).config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .getOrCreate())
spark.stop()
"""


class DeltaJarsError(RuntimeError):
    """Raised when Delta's jars are neither cached nor obtainable from Maven Central."""


def default_jars_dir() -> Path:
    """Where the jar cache lives: ``$DATAOPS_JARS_DIR`` or ``~/.cache/dataops-intelligence/jars``."""
    env = os.environ.get("DATAOPS_JARS_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "dataops-intelligence" / "jars"


def _spark_minor() -> str:
    import pyspark

    major, minor = pyspark.__version__.split(".")[:2]
    return f"{major}.{minor}"


def _bundled_artifacts() -> set[str]:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return {_artifact_name(p.name) for p in jars.glob("*.jar")}


def _artifact_name(jar: str) -> str:
    """``org.foo_bar-baz-1.2.3.jar`` or ``bar-baz-1.2.3.jar`` -> ``bar-baz``."""
    # Ivy names jars <organisation>_<artifact>-<revision>.jar; Spark's bundle has no organisation.
    name = jar.partition("_")[2] if "_" in jar.split("-")[0] else jar
    return re.sub(r"-\d[\w.\-]*\.jar$", "", name)


def cached_jars(jars_dir: Path | None = None) -> list[str]:
    """Jars of a completed fetch in ``jars_dir``, or an empty list when there is none."""
    root = jars_dir or default_jars_dir()
    manifest = root / MANIFEST
    if not manifest.exists():
        return []
    data = json.loads(manifest.read_text())
    if data.get("spark_minor") != _spark_minor():
        return []
    jars = [str(root / j) for j in data["jars"]]
    return jars if all(Path(j).exists() for j in jars) else []


def _resolve(coordinate: str, work: Path) -> list[Path]:
    settings = work / "ivysettings.xml"
    settings.write_text(_IVY_SETTINGS)
    cmd = [sys.executable, "-c", _RESOLVE_SCRIPT, coordinate, str(work / "ivy"), str(settings)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise DeltaJarsError(f"could not resolve {coordinate} from Maven Central: {tail}")
    return sorted((work / "ivy" / "jars").glob("*.jar"))


def fetch_delta_jars(jars_dir: Path | None = None, *, force: bool = False) -> list[str]:
    """Resolve Delta's jars once into ``jars_dir`` and return their paths (cached afterwards)."""
    root = jars_dir or default_jars_dir()
    if not force and (jars := cached_jars(root)):
        return jars
    bundled = _bundled_artifacts()
    errors: list[str] = []
    for version in DELTA_VERSIONS:
        coordinate = f"io.delta:delta-spark_{_spark_minor()}_{SCALA_BINARY}:{version}"
        with tempfile.TemporaryDirectory(prefix="dataops-jars-") as tmp:
            try:
                resolved = _resolve(coordinate, Path(tmp))
            except DeltaJarsError as exc:
                errors.append(str(exc))
                log.warning("%s not available, trying the next release", coordinate)
                continue
            # Spark's own copies of jackson, hadoop, parquet, log4j... win; keep only what it lacks.
            keep = [p for p in resolved if _artifact_name(p.name) not in bundled]
            root.mkdir(parents=True, exist_ok=True)
            for p in keep:
                shutil.copy2(p, root / p.name)
        manifest = {"coordinate": coordinate, "spark_minor": _spark_minor(), "jars": [p.name for p in keep]}
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return [str(root / p.name) for p in keep]
    raise DeltaJarsError("; ".join(errors))


def main(argv: list[str] | None = None) -> int:
    """``python -m dataops_jobs.spark_jars``: fetch (or show) the cached Delta jars."""
    parser = argparse.ArgumentParser(prog="dataops-fetch-jars", description=__doc__)
    parser.add_argument("--jars-dir", type=Path, default=None, help="cache directory")
    parser.add_argument("--force", action="store_true", help="fetch again even when cached")
    args = parser.parse_args(argv)
    try:
        jars = fetch_delta_jars(args.jars_dir, force=args.force)
    except DeltaJarsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    root = args.jars_dir or default_jars_dir()
    print(f"Delta jars cached in {root}: {len(jars)} jars ({json.loads((root / MANIFEST).read_text())['coordinate']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
