"""Step 2 of the ACCO pipeline: the Step-1 results as CSV tables under OUT/step2/ (see docs/pipeline.md).

    python explore_pickle_compile_readings.py [--sweep inputs/sweeps/default.yaml] [--out outputs] [--jobs N]
"""

import sys

from acco.dse.cli import step2_main

if __name__ == "__main__":
    sys.exit(step2_main())
