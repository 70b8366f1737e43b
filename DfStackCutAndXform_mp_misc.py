"""Step 1 of the ACCO pipeline: run every scenario of a sweep, one result file each (see docs/pipeline.md).

    python DfStackCutAndXform_mp_misc.py [--sweep inputs/sweeps/default.yaml] [--out outputs] [--jobs N]
        [--executor process|dask --scheduler ADDR] [--force]
"""

import sys

from acco.dse.cli import step1_main

if __name__ == "__main__":
    sys.exit(step1_main())
