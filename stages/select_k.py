"""DVC stage select_k: the k-selection table, one K-Means (or GMM, ...) fit per candidate k.

A stage of its own because it depends on fewer params than cluster (`K_SELECTION_PARAMS`):
`dvc exp run -S cluster.k=...` reuses it instead of refitting every candidate.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import ClusterConfig
from traveltide.io import write_csv
from traveltide.segment.clustering import select_k
from traveltide.segment.table import FileTable, read_personas
from traveltide.stage import run_stage


def main(params, paths):
    config = ClusterConfig.from_params(params)
    features = FileTable(paths.features)  # read a sample or a batch of users at a time
    personas = read_personas(paths.personas)
    write_csv(select_k(features, config, personas=personas), paths.k_selection)


if __name__ == "__main__":
    run_stage("select_k", main, ["features", "personas", "k_selection"])
