"""DVC stage ab_test: A (rule perks) vs B (ML perks) vs C (control).

Assigns every cohort user to an arm (seeded hash, optionally stratified), plans the power and
minimum detectable effect of each comparison at the assigned sizes, then either simulates the
outcomes with the response model or loads a real campaign's results file, and analyses them.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from pathlib import Path

import pandas as pd

from traveltide.config import SIMULATE, ABTestConfig, PerksConfig
from traveltide.errors import ConfigError, DataError
from traveltide.experiment.abtest import (
    ResponseModel,
    analyse,
    assign_groups,
    comparison_pairs,
    load_outcomes,
    power_analysis,
    simulate_outcomes,
)
from traveltide.io import read_parquet, write_csv, write_json, write_parquet
from traveltide.segment.compare import align
from traveltide.segment.perks import (
    arm_perks,
    fit_perk_by_behaviour,
    fit_perk_by_persona,
    random_perks,
)
from traveltide.stage import run_stage

STRATUM_COLUMN = {"rule_segment": "segment", "cluster": "cluster"}


def read_results(path: Path, campaign: Path) -> pd.DataFrame:
    """Read a campaign results file (CSV or Parquet) from the folder DVC tracks for ab_test."""
    if not path.resolve().is_relative_to(campaign.resolve()):
        raise ConfigError(
            f"params.yaml: ab_test.outcomes must be a file inside {campaign}/ (ab_test depends "
            f"on that folder in dvc.yaml, so a new or changed file reruns it), got '{path}'"
        )
    if not path.is_file():
        raise DataError(f"{path}: results file not found (params.yaml ab_test.outcomes)")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path}: cannot read the results file: {detail}") from exc


def main(params, paths):
    config = ABTestConfig.from_params(params)
    both = align(
        read_parquet(paths.rules, what="segment_rules' segments"),
        read_parquet(paths.clusters, what="cluster's segments"),
    ).reset_index(drop=True)
    users = both["user_id"]
    strata = both[STRATUM_COLUMN[config.stratify_by]] if config.stratify_by else None
    groups = assign_groups(users, weights=config.weights, seed=config.seed, strata=strata)
    control_perks = random_perks(users, seed=config.seed)
    plan = power_analysis(
        {g: int((groups == g).sum()) for g in config.weights},
        control="C",
        baseline_rate=config.plan.baseline_rate,
        mde=config.plan.mde,
        mde_kind=config.plan.mde_kind,
        alpha=config.alpha,
        power=config.plan.power,
        correction="bonferroni",
        pairs=comparison_pairs(config.weights, control="C"),
    )
    extra = {
        "outcomes": config.outcomes,
        "stratify_by": config.stratify_by or "none",
        "control_kind": config.control,
    }
    if config.outcomes == SIMULATE:
        if config.response.fit_source == "personas":
            from traveltide.synthetic.generate import PERSONA_PERK

            personas = read_parquet(paths.personas, what="generate's personas")
            fit = fit_perk_by_persona(users, personas, PERSONA_PERK)
        else:
            features = read_parquet(paths.features, what="features' user table")
            by_user = features.set_index("user_id").loc[users].reset_index()
            fit = fit_perk_by_behaviour(by_user, PerksConfig.from_params(params).signals)
        table = pd.DataFrame(
            {
                "user_id": users,
                "group": groups,
                "perk": arm_perks(
                    groups,
                    both["perk_rules"],
                    both["perk_ml"],
                    control_perks,
                    control=config.control,
                ),
                "fit_perk": fit,
            }
        )
        r = config.response
        model = ResponseModel(
            r.base_rate,
            r.fit_lift,
            r.any_perk_lift,
            r.revenue_mean,
            r.revenue_sd,
            noise_sd=r.noise_sd,
            seed=config.seed,
        )
        outcomes = simulate_outcomes(table, model=model)
        extra["fit_source"] = r.fit_source
    else:
        path = Path(config.outcomes)
        results = load_outcomes(
            read_results(path, paths.campaign),
            known_users=users,
            groups=config.weights,
            what=str(path),
        )
        # The arm is the one the campaign ran (the file's); the perk follows from the arm.
        row = pd.Index(users).get_indexer(results["user_id"])
        arm = pd.Series(results["group"].to_numpy(), name="group")
        perk = arm_perks(
            arm,
            both["perk_rules"].iloc[row].reset_index(drop=True),
            both["perk_ml"].iloc[row].reset_index(drop=True),
            control_perks.iloc[row].reset_index(drop=True),
            control=config.control,
        )
        outcomes = (
            pd.DataFrame(
                {
                    "user_id": results["user_id"].to_numpy(),
                    "group": arm,
                    "perk": perk,
                    "converted": results["converted"].to_numpy(),
                    "revenue": results["revenue"].to_numpy(),
                }
            )
            .sort_values("user_id", kind="stable")
            .reset_index(drop=True)
        )
        extra["outcomes_users"] = len(outcomes)
        extra["outcomes_users_missing"] = len(users) - len(outcomes)
        extra["outcomes_group_mismatch"] = int((groups.iloc[row].to_numpy() != arm).sum())
    result = analyse(
        outcomes,
        control="C",
        weights=config.weights,
        alpha=config.alpha,
        correction=config.correction,
    )
    write_parquet(outcomes, paths.users)
    power = {(r.treatment, r.control): r for r in plan.comparisons}
    arms = pd.DataFrame(
        [
            {
                "comparison": f"{c.treatment} vs {c.control}",
                "lift_abs": c.conversion.lift_abs,
                "ci_low": c.conversion.lift_ci_low,
                "ci_high": c.conversion.lift_ci_high,
                "lift_rel": c.conversion.lift_rel,
                "p_value": c.conversion.p_value,
                "p_adj": c.p_adj,
                "power": getattr(power.get((c.treatment, c.control)), "power", None),
                "mde_abs": getattr(power.get((c.treatment, c.control)), "mde_abs", None),
            }
            for c in result.comparisons
        ]
    )
    write_csv(arms, paths.arms)
    write_json({**result.to_dict(), **plan.to_dict(), **extra}, paths.metrics)


if __name__ == "__main__":
    run_stage(
        "ab_test",
        main,
        ["features", "rules", "clusters", "personas", "campaign", "users", "arms", "metrics"],
    )
