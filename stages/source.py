"""DVC stage source (always runs): which database this repro reads, as files DVC can compare."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

import os

from traveltide.config import validate_params
from traveltide.io import write_json
from traveltide.sources.source import source_state
from traveltide.stage import run_stage


def main(params, paths):
    validate_params(params)  # first stage to run: a bad param stops the repro before any harm
    state = source_state(os.environ)
    write_json(state.kind_record(), paths.kind)
    write_json(state.request_record(), paths.request)


if __name__ == "__main__":
    run_stage("source", main, ["kind", "request"])
