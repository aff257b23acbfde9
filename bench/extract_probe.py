"""Time the extract stage's function once, on the embedded database or on a PostgreSQL URL.

Run by bench/run.py in its scratch clone (cwd = clone, PYTHONPATH = clone/src), one process per
measurement, so every run pays the same connection set-up and no Python-side cache carries
over. Prints one JSON line: {"source": ..., "seconds": ..., "rows": ..., "users": ...}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from traveltide.config import CohortConfig, read_params
from traveltide.sources.db import Source
from traveltide.sources.extract import extract_cohort


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--embedded", type=Path, metavar="DIR", help="the generated Parquet folder")
    where.add_argument("--url", help="PostgreSQL URL holding the same tables")
    args = parser.parse_args()
    source = Source(url=None, embedded_dir=args.embedded) if args.embedded else Source(args.url)
    config = CohortConfig.from_params(read_params("params.yaml"))
    start = time.perf_counter()
    cohort = extract_cohort(source, config)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "source": "embedded" if args.embedded else "postgresql",
                "seconds": round(seconds, 3),
                "rows": len(cohort),
                "users": int(cohort["user_id"].nunique()),
            }
        )
    )


if __name__ == "__main__":
    main()
