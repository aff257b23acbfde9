"""The figures of single DVC commands: a cold `dvc repro`, a no-op `dvc repro` against
`dvc status`, and one `dvc exp run -S cluster.k=K`."""

from __future__ import annotations

from figure import GB, Context, Figure, median, stage_seconds
from pipeline_graph import always_changed, downstream, stages_ran


def fig_cold(ctx: Context) -> Figure:
    s = ctx.scratch
    wall, cpu, rss, stage_rss, outside = [], [], [], [], []
    for i in range(ctx.runs):
        # git clean -X: every ignored file goes, i.e. outputs, metrics, the DVC cache and
        # run-cache (.dvc/cache), .dvc/tmp, the MLflow store and the timing files
        s.quiet("git", "clean", "-q", "-f", "-d", "-X")
        run = s.run("dvc", "repro")
        wall.append(run.seconds)
        cpu.append(run.cpu)
        rss.append(run.peak_rss / GB)
        timings = s.timings()
        for name, t in timings.items():
            row = ctx.stage_table.setdefault(name, {})
            for key in ("wall_s", "startup_s", "cpu_s"):
                row.setdefault(key, []).append(t[key] or 0.0)
            row.setdefault("peak_rss_gb", []).append(t["peak_rss_bytes"] / GB)
        if timings:
            stage_rss.append(max(t["peak_rss_bytes"] for t in timings.values()) / GB)
            # what DVC itself costs between the stages: hashing, caching, lock and run-cache
            outside.append(run.seconds - stage_seconds(timings))
        ctx.log(f"  cold run {i + 1}: {run.seconds:.1f} s, peak RSS {run.peak_rss / GB:.2f} GB")
    s.commit("bench baseline")  # dvc.lock at this scale: queued experiments start from it
    w, r = median(wall), median(rss)
    return Figure(
        "cold",
        "cold `dvc repro` (all stages)",
        f"{w:.1f} s (CPU {median(cpu):.0f} s), peak RSS {r:.2f} GB",
        "<= 60 s, <= 4 GB",
        w <= 60 and r <= 4,
        {
            "seconds": wall,
            "cpu_s": cpu,
            "peak_rss_gb": rss,
            "largest_stage_rss_gb": stage_rss,
            "dvc_outside_stages_s": outside,
        },
    )


def fig_noop(ctx: Context) -> Figure:
    s = ctx.scratch
    s.run("dvc", "status")  # warm-up: page cache, DVC's site cache
    s.run("dvc", "repro")
    status, repro, status_cpu, repro_cpu, ran = [], [], [], [], set()
    # a second or two each, and noisy: three pairs per run, alternating
    for _ in range(3 * ctx.runs):
        run = s.run("dvc", "status")
        status.append(run.seconds)
        status_cpu.append(run.cpu)
        run = s.run("dvc", "repro")
        repro.append(run.seconds)
        repro_cpu.append(run.cpu)
        ran |= stages_ran(run.text())
    ratio = median(repro) / median(status)
    extra = {
        "stages_ran": sorted(ran),
        "always_changed": sorted(always_changed(s.repo)),
        # CPU seconds: steadier than wall time on a shared machine
        "cpu_ratio": round(median(repro_cpu) / median(status_cpu), 3),
        # each repro over the status just before it: shows drift within the run (the
        # verdict stays the ratio of the medians)
        "pair_ratio": round(median([r / t for r, t in zip(repro, status, strict=True)]), 3),
    }
    return Figure(
        "noop",
        "no-op `dvc repro` / `dvc status`",
        f"{median(repro):.2f} s / {median(status):.2f} s = {ratio:.2f}x "
        f"(CPU {extra['cpu_ratio']:.2f}x, median of pairs {extra['pair_ratio']:.2f}x)",
        "<= 1.5x",
        ratio <= 1.5,
        {
            "repro_s": repro,
            "status_s": status,
            "repro_cpu_s": repro_cpu,
            "status_cpu_s": status_cpu,
        },
        extra,
    )


def other_ks(base: int, count: int) -> list[int]:
    """The `count` values of k >= 2 nearest the baseline's, never the baseline's own."""
    ks = [k for k in range(2, base + count + 2) if k != base]
    return sorted(sorted(ks, key=lambda k: (abs(k - base), k))[:count])


def fig_exp(ctx: Context) -> Figure:
    s = ctx.scratch
    expected = downstream(s.repo, "cluster") | always_changed(s.repo)
    ks = other_ks(int(s.params()["cluster"]["k"]), max(ctx.runs, 1))
    seconds, cpu, in_stages, outside, wrong = [], [], [], [], []
    for k in ks[: ctx.runs]:
        run = s.run("dvc", "exp", "run", "-S", f"cluster.k={k}")
        seconds.append(run.seconds)
        cpu.append(run.cpu)
        ran = stages_ran(run.text())
        if not ran <= expected or "cluster" not in ran:
            wrong.append({"k": k, "ran": sorted(ran)})
        split = ""
        if timings := s.timings():  # the stages that ran wrote theirs in the workspace just now
            in_stages.append(stage_seconds(timings, ran))
            outside.append(run.seconds - in_stages[-1])
            split = f"; stage processes {in_stages[-1]:.1f} s, DVC {outside[-1]:.1f} s"
        ctx.log(f"  exp k={k}: {run.seconds:.1f} s, ran {', '.join(sorted(ran))}{split}")
    s.restore()
    m = median(seconds)
    split = ""
    if in_stages:  # medians of each part, so the two need not add up to the median
        split = f"; stage processes {median(in_stages):.1f} s, DVC {median(outside):.1f} s"
    return Figure(
        "exp",
        "`dvc exp run -S cluster.k=...`",
        f"{m:.1f} s (CPU {median(cpu):.1f} s{split})"
        + ("" if not wrong else f"; reran other stages: {wrong}"),
        "cluster and later stages only; <= 15 s",
        m <= 15 and not wrong,
        {
            "seconds": seconds,
            "cpu_s": cpu,
            "stage_processes_s": in_stages,
            "dvc_outside_stages_s": outside,
        },
        {"expected_stages": sorted(expected)},
    )
