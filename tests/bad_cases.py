"""Bad-input cases run through the real pipeline: the checks both bad-input modules share.

A case breaks one thing, runs the real `dvc repro` in a throwaway repository (see
`pipeline_repo`) and checks that the run fails with exactly one `error: <stage>: ...` line that
matches, without a traceback; after putting the input back, `git checkout` of the dvc.lock files
and `dvc checkout` must restore every output the pipeline had before, byte for byte (DVC removes
a stage's outputs before running it, and stages before the failing one may have run with the
bad input).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from pipeline_repo import PipelineRepo, copy_repo, stages_ran

# Not an output a failure could lose: the track stage's run file is no DVC-cached output (track
# writes it again whenever it runs).
VOLATILE = ("data/track/",)


def baseline_fixture(name: str) -> Callable[..., PipelineRepo]:
    """A module's `repo` fixture: its own copy of the run's baseline repository (committed, at
    the small scale: conftest's `baseline_template`), which its cases break and restore."""

    @pytest.fixture(scope="module")
    def repo(baseline_template, tmp_path_factory) -> PipelineRepo:
        return copy_repo(baseline_template, tmp_path_factory.mktemp(name))

    return repo


@dataclass
class Case:
    """One bad input: a change to params, and the one error line it must give."""

    id: str
    stage: str
    message: str  # a regular expression searched in the error line
    params: Callable[[dict], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def expect_one_line_failure(repo: PipelineRepo, case: Case, env: dict[str, str]):
    """Run `dvc repro`, check the single error line; return the stages that ran and the output."""
    proc = repo.run("dvc", "repro", check=False, env=env)
    assert proc.returncode != 0, proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"error: {case.stage}: "), errors[0]
    assert re.search(case.message, errors[0]), errors[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    return stages_ran(proc.stdout), proc.stdout + proc.stderr


def restore_and_compare(repo: PipelineRepo, before: dict[str, str], params_text: str) -> None:
    """Params and locks back; `dvc checkout` must bring back every output DVC removed.

    Where the run stopped before any stage removed an output (a bad param stops the first
    stage to run; extract's outputs are never removed), the outputs must be untouched, and the
    checkout (two seconds of DVC) is skipped.
    """
    (repo.path / "params.yaml").write_text(params_text)
    repo.restore_locks()
    if repo.output_hashes(VOLATILE) != before:
        repo.run("dvc", "checkout", "--force")
        assert repo.output_hashes(VOLATILE) == before


def check_case(
    repo: PipelineRepo, case: Case, env: dict[str, str] | None = None
) -> tuple[set[str], str]:
    before = repo.output_hashes(VOLATILE)
    params_text = (repo.path / "params.yaml").read_text()
    if case.params is not None:
        params = copy.deepcopy(repo.params())
        case.params(params)
        repo.write_params(params)
    try:
        result = expect_one_line_failure(repo, case, {**(env or repo.env), **case.env})
    finally:
        restore_and_compare(repo, before, params_text)
    return result


def setter(dotted: str, value) -> Callable[[dict], None]:
    def apply(params: dict) -> None:
        *parents, last = dotted.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[last] = value

    return apply


# Hostile strings in params: validation stops them in extract, the first stage that reads the
# cohort block, before any SQL runs.
SQL_CASES = [
    Case(
        "sql_in_min_sessions",
        "extract",
        r"cohort.min_sessions must be an integer, got '7 OR 1=1'",
        setter("cohort.min_sessions", "7 OR 1=1"),
    ),
    Case(
        "sql_in_start_date",
        "extract",
        r"cohort.session_start_after must be an ISO date YYYY-MM-DD, got \"2023-01-04'; DROP",
        setter("cohort.session_start_after", "2023-01-04'; DROP TABLE users; --"),
    ),
]
