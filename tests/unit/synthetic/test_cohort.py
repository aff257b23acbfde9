"""Elena's cohort (more than 7 sessions after 2023-01-04) emerges with the real shape."""

from __future__ import annotations

from traveltide.synthetic.fidelity import fidelity
from traveltide.synthetic.generate import SyntheticDatabase

COHORT_FIGURES = (
    "users_rows",
    "sessions_rows",
    "flights_rows",
    "hotels_rows",
    "sessions_after_cutoff",
    "cohort_users",
    "cohort_sessions",
    "cohort_sessions_per_user_mean",
    "cohort_sessions_per_user_median",
    "cohort_distinct_trips",
    "cohort_cancellation_sessions",
    "cohort_browse_only_sessions",
    "cohort_users_with_cancellation",
    "cohort_booking_sessions",
    "cohort_users_never_booked",
    "booking_mix_flight_and_hotel",
    "booking_mix_hotel_only",
    "booking_mix_flight_only",
    "flight_booked_share",
    "hotel_booked_share",
    "both_booked_share",
    "cohort_last_session_days_vs_2023-07-28",
)


def test_cohort_figures_scale_with_the_database(
    moderate: tuple[SyntheticDatabase, float],
) -> None:
    db, scale = moderate
    figures = {f.name: f for f in fidelity(db, scale=scale)}
    bad = [f for name in COHORT_FIGURES if not (f := figures[name]).ok]
    assert not bad, bad
    per_user = db.sessions[db.sessions["session_start"] > "2023-01-04"].groupby("user_id").size()
    cohort = per_user[per_user > 7]
    assert cohort.between(8, 12).all()
    assert abs(len(cohort) / (5_998 * scale) - 1) < 0.2
