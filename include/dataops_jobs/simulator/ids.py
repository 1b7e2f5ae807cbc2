"""Deterministic random sources and identifier formats of the simulated workspace."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timezone

RUN_ID_BASE = 700_000_000_000_000
TASK_RUN_ID_BASE = 900_000_000_000_000
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def rng(*parts: object) -> random.Random:
    """A ``random.Random`` seeded by the parts (e.g. seed, job, day): every day is a pure function."""
    return random.Random(":".join(str(part) for part in parts))


def unit(*parts: object) -> float:
    """A uniform [0, 1) derived from the parts: cheaper than a seeded ``Random`` for one draw."""
    digest = hashlib.blake2b(":".join(str(part) for part in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def stable_uuid(*parts: object) -> str:
    """A UUID string derived from the parts (record ids, principal ids)."""
    digest = hashlib.md5(":".join(str(part) for part in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest))


def workspace_id(seed: int, index: int) -> str:
    """A 16-digit workspace id, like ``1234567890123456``."""
    return str(rng(seed, "workspace", index).randrange(10**15, 10**16))


def job_id(seed: int, job_index: int) -> str:
    """A job id unique in the account: a seed-derived prefix and the job's index."""
    return str(rng(seed, "jobs").randrange(100_000, 999_999) * 1_000_000 + job_index)


def run_id(day: int, job_index: int, slot: int) -> str:
    """A job run id: unique per (day, job, slot) for slot < 1000 and job_index < 10**6."""
    return str(RUN_ID_BASE + day * 10**9 + job_index * 1000 + slot)


def task_run_id(day: int, job_index: int, slot: int, attempt: int, task_no: int) -> str:
    """A task run id: unique per (day, job, slot, attempt < 4, task < 5); repairs get new ids."""
    return str(TASK_RUN_ID_BASE + day * 10**11 + job_index * 10**5 + slot * 20 + attempt * 5 + task_no)


def cluster_id(created: datetime, *parts: object) -> str:
    """A cluster id in Databricks' ``MMDD-HHMMSS-xxxxxxxx`` format."""
    local = created.astimezone(timezone.utc)
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    tail = "".join(_ALNUM[b % len(_ALNUM)] for b in digest)
    return f"{local:%m%d-%H%M%S}-{tail}"


def instance_id(cluster: str, index: int) -> str:
    """An EC2-like instance id of node ``index`` of ``cluster``."""
    return "i-" + hashlib.sha1(f"{cluster}:{index}".encode()).hexdigest()[:17]
