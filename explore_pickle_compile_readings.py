"""Step 2 of the ACCO pipeline: the Step-1 results as CSV tables under OUT/step2/ (see docs/pipeline.md).

    python explore_pickle_compile_readings.py [--sweep inputs/sweeps/default.yaml] [--out outputs] [--jobs N]
"""

import sys

if __name__ == "__main__":
    from acco.stopping import install_early

    install_early("explore_pickle_compile_readings.py")  # a Ctrl-C while the imports below run ends with one line too
    from acco.dse.cli import step2_main

    sys.exit(step2_main())
