"""`python -m acco layer` on ZigZag 3.x files: same numbers as ACCO's own files, clear errors."""

from __future__ import annotations

import json

from acco.cli import main
from conftest import DATA

ZZ = DATA / "zigzag_examples"


def test_zigzag_files_run_through_layer(capsys):
    code = main(["layer", str(ZZ / "hardware" / "tpu_like.yaml"), str(ZZ / "workload" / "conv_k64_c64_56x56_3x3.yaml"),
                 "--mapping", str(ZZ / "mapping" / "tpu_like.yaml"), "--layer", "0", "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    # ZigZag 3.9.1 LOMA lpf 6 finds 68,294,568.7 pJ on this layer (docs/references.md)
    assert abs(d["energy_total_pJ"] - 68_294_568.736) < 1e-3
    assert d["search"]["orderings"] == 720


def test_zigzag_workload_without_mapping_is_a_clear_error(capsys):
    code = main(["layer", str(ZZ / "hardware" / "tpu_like.yaml"), str(ZZ / "workload" / "conv_k64_c64_56x56_3x3.yaml"),
                 "--layer", "0"])
    assert code == 2
    err = capsys.readouterr().err
    assert "conv_k64_c64_56x56_3x3.yaml" in err and "--mapping" in err
