"""Calibration benchmark of the A/B engine (`make calibrate`): A/A false-positive rates, CI
coverages and policy-value coverages, by simulation on a cohort with known latent truth.

    python bench/calibrate.py                       # the pipeline's cohort (after `make run`)
    python bench/calibrate.py --world toy --users 6000
    python bench/calibrate.py --aa 1000 --policy 500 --out bench/results/calibrate.json

Each replication reruns the real code with another seed (traveltide.experiment.calibration):
A/A experiments (every arm gives the rule perks) through the whole analysis with the params'
covariates on, and A/B/C experiments whose policy-value intervals are checked against the
simulation's true policy values. One JSON results file; a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

from traveltide.config import ABTestConfig, read_params
from traveltide.errors import TravelTideError
from traveltide.experiment.calibration import (
    World,
    aa_replication,
    aa_summary,
    make_world,
    policy_replication,
    policy_summary,
    toy_world,
)

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_FILES = {
    "rules": "data/segments/rules.parquet",
    "clusters": "data/segments/clusters.parquet",
    "features": "data/features/user_features.parquet",
    "truth": "data/interim/cohort_truth.parquet",
}


def pipeline_world(repo: Path) -> World:
    """The cohort a pipeline run left in ``repo``: both segmentations, features, truth."""
    missing = [p for p in PIPELINE_FILES.values() if not (repo / p).exists()]
    if missing:
        raise SystemExit(
            f"error: calibrate: {repo} has no {', '.join(missing)}: run `make run` first, "
            "or use --world toy"
        )
    tables = {k: pd.read_parquet(repo / p) for k, p in PIPELINE_FILES.items()}
    return make_world(tables["rules"], tables["clusters"], tables["features"], tables["truth"])


def binomial_band(p: float, n: int, z: float = 1.96) -> str:
    half = z * math.sqrt(p * (1 - p) / max(n, 1))
    return f"{100 * max(p - half, 0.0):.1f}-{100 * min(p + half, 1.0):.1f}%"


def table(aa: pd.DataFrame, policy: pd.DataFrame, alpha: float) -> str:
    """The printed table: A/A rates and coverages by metric, policy coverages by estimator."""
    lines = ["| check | replications | value | expected (95% binomial band) |", "|---|---|---|---|"]
    n_aa = int(aa["replications"].max()) if len(aa) else 0
    for metric, part in aa.groupby("metric", sort=False) if len(aa) else ():
        fp, cover = part["false_positive_rate"].mean(), part["coverage"].mean()
        lines.append(
            f"| A/A false positives, {metric} (mean of {len(part)} comparisons) | {n_aa} | "
            f"{100 * fp:.1f}% | {binomial_band(alpha, n_aa)} |"
        )
        lines.append(
            f"| A/A CI coverage of 0, {metric} | {n_aa} | {100 * cover:.1f}% | "
            f"{binomial_band(1 - alpha, n_aa)} |"
        )
    if len(policy):
        n_pol = int(policy["replications"].max())
        for (estimator, metric), part in policy.groupby(["estimator", "metric"], sort=True):
            lines.append(
                f"| policy value coverage, {estimator}, {metric} ({len(part)} policies: "
                f"min {100 * part['coverage'].min():.1f}%) | {n_pol} | "
                f"{100 * part['coverage'].mean():.1f}% | {binomial_band(1 - alpha, n_pol)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", choices=("pipeline", "toy"), default="pipeline")
    parser.add_argument("--repo", type=Path, default=ROOT, help="where `make run` wrote data/")
    parser.add_argument("--users", type=int, default=6000, help="toy world: cohort size")
    parser.add_argument("--aa", type=int, default=1000, help="A/A replications")
    parser.add_argument("--policy", type=int, default=500, help="A/B/C replications")
    parser.add_argument(
        "--learning",
        choices=("split", "cross_fit"),
        default="split",
        help="learned policies: the stage's sample splitting, or cross-fitting (to compare)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/calibrate.json")
    args = parser.parse_args(argv)
    config = ABTestConfig.from_params(read_params(args.repo / "params.yaml"))
    try:
        world = pipeline_world(args.repo) if args.world == "pipeline" else toy_world(args.users)
    except TravelTideError as exc:
        print(f"error: calibrate: {exc}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    aa_rows = [aa_replication(world, config, seed) for seed in range(args.aa)]
    aa_seconds = time.perf_counter() - start
    frames = [
        policy_replication(world, config, 10_000 + seed, learning=args.learning)
        for seed in range(args.policy)
    ]
    policy_seconds = time.perf_counter() - start - aa_seconds
    aa = aa_summary(aa_rows, config.alpha)
    policy = policy_summary(frames) if frames else pd.DataFrame()
    verdicts = float(pd.DataFrame(aa_rows)["verdict_claims"].mean()) if aa_rows else math.nan
    results = {
        "world": args.world,
        "users": len(world.users),
        "alpha": config.alpha,
        "adjust_for": list(config.adjust_for),
        "decision_metric": config.decision.metric,
        "learning": args.learning,
        "aa_replications": args.aa,
        "policy_replications": args.policy,
        "aa_verdict_claims_rate": verdicts,
        "seconds": {"aa": round(aa_seconds, 1), "policy": round(policy_seconds, 1)},
        "aa": aa.to_dict("records"),
        "policy": policy.to_dict("records"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{args.world} cohort of {len(world.users):,} users; {args.aa} A/A and {args.policy} "
        f"A/B/C replications ({aa_seconds:.0f} s + {policy_seconds:.0f} s); "
        f"A/A verdicts claiming a difference: {100 * verdicts:.1f}%"
    )
    print(table(aa, policy, config.alpha))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
