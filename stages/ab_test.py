"""DVC stage ab_test: A (rule perks) vs B (ML perks) vs C (control), simulated outcomes."""

import pandas as pd

from traveltide.abtest import ResponseModel, analyse, assign_groups, simulate_outcomes
from traveltide.compare import align
from traveltide.config import ABTestConfig, PerksConfig
from traveltide.io import read_parquet, write_csv, write_json, write_parquet
from traveltide.perks import arm_perks, fit_perk_by_behaviour, fit_perk_by_persona, random_perks
from traveltide.stage import run_stage


def main(params, paths):
    config = ABTestConfig.from_params(params)
    features = read_parquet(paths.features, what="features' user table")
    both = align(
        read_parquet(paths.rules, what="segment_rules' segments"),
        read_parquet(paths.clusters, what="cluster's segments"),
    ).reset_index(drop=True)
    users = both["user_id"]
    if config.response.fit_source == "personas":
        from traveltide.generate import PERSONA_PERK

        personas = read_parquet(paths.personas, what="generate's personas")
        fit = fit_perk_by_persona(users, personas, PERSONA_PERK)
    else:
        by_user = features.set_index("user_id").loc[users].reset_index()
        fit = fit_perk_by_behaviour(by_user, PerksConfig.from_params(params).signals)
    groups = assign_groups(users, weights=config.weights, seed=config.seed)
    table = pd.DataFrame(
        {
            "user_id": users,
            "group": groups,
            "perk": arm_perks(
                groups,
                both["perk_rules"],
                both["perk_ml"],
                random_perks(users, seed=config.seed),
                control=config.control,
            ),
            "fit_perk": fit,
        }
    )
    r = config.response
    model = ResponseModel(
        r.base_rate, r.fit_lift, r.any_perk_lift, r.revenue_mean, r.revenue_sd, seed=config.seed
    )
    outcomes = simulate_outcomes(table, model=model)
    result = analyse(
        outcomes,
        control="C",
        weights=config.weights,
        alpha=config.alpha,
        correction=config.correction,
    )
    write_parquet(outcomes, paths.users)
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
            }
            for c in result.comparisons
        ]
    )
    write_csv(arms, paths.arms)
    write_json({**result.to_dict(), "fit_source": r.fit_source}, paths.metrics)


if __name__ == "__main__":
    run_stage(
        "ab_test", main, ["features", "rules", "clusters", "personas", "users", "arms", "metrics"]
    )
