"""DVC stage generate: the synthetic TravelTide database (the embedded default source).

It always builds it, whichever database params `source.url` names: DVC caches the tables, so
switching sources back and forth never replaces them.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import GenerateConfig
from traveltide.stage import run_stage
from traveltide.synthetic.outputs import GenerateOutputs
from traveltide.synthetic.write import write_database


def main(params, paths):
    config = GenerateConfig.from_params(params)
    outputs = GenerateOutputs(paths.database, paths.personas, paths.metrics, paths.fidelity)
    write_database(config, outputs)


if __name__ == "__main__":
    run_stage("generate", main, ["database", "personas", "metrics", "fidelity"])
