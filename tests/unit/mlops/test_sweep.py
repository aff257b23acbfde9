"""Watching a sweep: progress while DVC's queue runs, failures as they happen."""

from __future__ import annotations

import pytest

from traveltide import cli
from traveltide.mlops.sweep import parse_status, progress, queued_names, watch

QUEUED = """\
Queued experiment 'sappy-kale' for future execution.
Queued experiment 'frail-ibis' for future execution.
Queued experiment 'tall-moat' for future execution.
"""


def status(*rows: tuple[str, str]) -> str:
    """`dvc queue status` as DVC prints it (Created may hold a space)."""
    lines = ["Task     Name         Created    Status"]
    lines += [f"{i:07x}  {name}   Dec 07, 2026  {state}" for i, (name, state) in enumerate(rows)]
    return "\n".join([*lines, "", "Worker status: 2 active, 0 idle", ""])


def test_names_and_rows_are_read_from_dvc_output():
    assert queued_names(QUEUED) == ["sappy-kale", "frail-ibis", "tall-moat"]
    tasks = parse_status(status(("sappy-kale", "Success"), ("old-one", "Failed")))
    assert {name: t.status for name, t in tasks.items()} == {
        "sappy-kale": "Success",
        "old-one": "Failed",
    }


def test_progress_counts_only_the_sweeps_experiments():
    names = queued_names(QUEUED)
    tasks = parse_status(
        status(
            ("old-one", "Failed"),  # an earlier sweep's: not this one's
            ("sappy-kale", "Failed"),
            ("frail-ibis", "Running"),
            ("tall-moat", "Queued"),
        )
    )
    now = progress(names, tasks)
    assert now.line() == "sweep: 1/3 done (1 failed), 1 running, 1 queued"
    assert now.failed == ("sappy-kale",) and not now.finished


def test_watch_says_progress_when_it_changes_and_each_failure_once():
    said: list[str] = []
    polls = iter(
        [
            status(("sappy-kale", "Running"), ("frail-ibis", "Running"), ("tall-moat", "Queued")),
            status(("sappy-kale", "Running"), ("frail-ibis", "Running"), ("tall-moat", "Queued")),
            status(("sappy-kale", "Failed"), ("frail-ibis", "Running"), ("tall-moat", "Running")),
            status(("sappy-kale", "Failed"), ("frail-ibis", "Success"), ("tall-moat", "Success")),
        ]
    )
    failed = watch(
        queued_names(QUEUED), say=said.append, status=lambda: next(polls), sleep=lambda s: None
    )
    assert failed == ("sappy-kale",)
    assert said == [
        "sweep: 0/3 done, 2 running, 1 queued",
        "sweep: sappy-kale failed (dvc queue logs sappy-kale)",
        "sweep: 1/3 done (1 failed), 2 running, 0 queued",
        "sweep: 3/3 done (1 failed), 0 running, 0 queued",
    ]


def test_sweep_wait_fails_in_one_line_naming_the_failed(tmp_path, monkeypatch, capsys):
    queued = tmp_path / "queued.txt"
    queued.write_text(QUEUED)
    final = status(("sappy-kale", "Failed"), ("frail-ibis", "Success"), ("tall-moat", "Failed"))
    monkeypatch.setattr("traveltide.mlops.sweep.queue_status", lambda: final)
    assert cli.main(["sweep-wait", str(queued), "--poll", "0"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "sweep: 3/3 done (2 failed), 0 running, 0 queued"
    assert err == (
        "error: sweep-wait: 2 of 3 experiments failed: sappy-kale, tall-moat "
        "(dvc queue logs NAME shows why)\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "cannot read"), ("ERROR: nothing queued\n", "names no queued experiment")],
)
def test_sweep_wait_without_queued_experiments_is_one_line(tmp_path, capsys, text, message):
    queued = tmp_path / "queued.txt"
    if text is not None:
        queued.write_text(text)
    assert cli.main(["sweep-wait", str(queued)]) == 1
    assert capsys.readouterr().err == f"error: sweep-wait: {queued}: {message}" + (
        " (No such file or directory)\n" if text is None else "\n"
    )
