"""DVC stage generate: the synthetic TravelTide database (the embedded default source).

With an external database (`TRAVELTIDE_DB_URL`, recorded by the source stage) nothing is
generated: the stage writes an empty personas table and a note in the database folder, in
about a second, so `dvc repro` against PostgreSQL never pays for 5 million synthetic sessions.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import GenerateConfig
from traveltide.io import read_json
from traveltide.stage import run_stage
from traveltide.synthetic.outputs import GenerateOutputs, write_skipped


def main(params, paths):
    config = GenerateConfig.from_params(params)
    outputs = GenerateOutputs(paths.database, paths.personas, paths.metrics, paths.fidelity)
    if read_json(paths.source)["kind"] != "embedded":
        write_skipped(outputs)
    else:  # the generator's imports only when it runs
        from traveltide.synthetic.write import write_database

        write_database(config, outputs)


if __name__ == "__main__":
    run_stage("generate", main, ["source", "database", "personas", "metrics", "fidelity"])
