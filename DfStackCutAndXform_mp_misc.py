"""Step 1 of the ACCO pipeline: run every scenario of a sweep, one result file each (see docs/pipeline.md).

    python DfStackCutAndXform_mp_misc.py [--sweep inputs/sweeps/default.yaml] [--out outputs] [--jobs N]
        [--executor process|dask --scheduler ADDR] [--force]
"""

import sys

if __name__ == "__main__":
    from acco.stopping import install_early

    install_early("DfStackCutAndXform_mp_misc.py")  # a Ctrl-C while the imports below run ends with one line too
    from acco.dse.cli import step1_main

    sys.exit(step1_main())
