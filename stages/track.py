"""DVC stage track: one MLflow run for this pipeline state (none if it is logged already), and
a small JSON file naming the experiment and the state, the same on every machine."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

import os

from traveltide.io import write_json
from traveltide.mlops.pipeline_state import PipelineOutputs
from traveltide.mlops.runs import track_once
from traveltide.stage import run_stage


def main(params, paths):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in DVC logs
    record = track_once(params, PipelineOutputs.from_paths(paths))
    write_json(record.__dict__, paths.run)


if __name__ == "__main__":
    run_stage("track", main, [*PipelineOutputs.names(), "run"])
