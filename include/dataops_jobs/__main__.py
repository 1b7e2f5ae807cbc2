"""``python -m dataops_jobs``: the job entrypoint."""

from __future__ import annotations

import sys

from dataops_jobs.entrypoint import main

sys.exit(main())
