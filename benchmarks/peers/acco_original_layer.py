"""Cost ONE layer under a FIXED temporal mapping with the ORIGINAL ACCO (KULeuven-MICAS/ACCO @ 229f6d7).

Our own driver (not the original's code), for reference numbers such as tests/test_cost_reference.py's
case D.  Like ``acco_original_runner.py`` it runs under the Python 3.9 peer venv (numpy 1.26.4,
networkx 3.2.1, sympy 1.14.0) with the original tree extracted to ``benchmarks/.peers/acco-src``::

    benchmarks/.peers/acco-venv/bin/python benchmarks/peers/acco_original_layer.py --case d

The original's own stages parse the workload and hardware (``inputs.HW.Meta_prototype_DF``) and convert
the spatial mapping (``WorkloadAndAcceleratorParserStage, WorkloadStage, SpatialMappingConversionStage``);
a one-line stage of ours hands the fixed temporal mapping (the original's ``TemporalMapping`` class) to
its ``ZigZagCostModelStage``, i.e. ``CostModelEvaluation``.  Printed: energy, latency and every access count.
"""
import argparse
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SRC = os.path.join(REPO, 'benchmarks', '.peers', 'acco-src')
DEFAULT_SCRATCH = os.path.join(REPO, 'benchmarks', '.peers', 'acco-scratch')

#: case D of tests/test_cost_reference.py: tests/data/stride2_fractional_{wl,tm}.yaml in the original's format
CASES = {
    'd': (
        {-1: {'equation': 'input', 'loop_dim_size': {'B': 1, 'K': 128, 'OY': 29, 'OX': 29}, 'precision': 8,
              'core_allocation': 1, 'memory_operand_links': {'O': 'I1'}},
         0: {'equation': 'O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][ix][iy]',
             'equation_relations': ['ix=2*ox+1*fx', 'iy=2*oy+1*fy'],
             'loop_dim_size': {'B': 1, 'K': 256, 'C': 128, 'OY': 14, 'OX': 14, 'FY': 3, 'FX': 3},
             'operand_precision': {'O': 16, 'O_final': 8, 'W': 8, 'I': 8},
             'operand_source': {'W': [], 'I': [-1]},
             'operand_source_dimension_mapping': {'I': {'IX': 'OX', 'IY': 'OY', 'C': 'K'}},
             'constant_operands': ['W'], 'core_allocation': 1,
             'spatial_mapping': {'D1': ('K', 32), 'D2': ('C', 2), 'D3': ('OX', 4), 'D4': ('OY', 4)},
             'memory_operand_links': {'O': 'O', 'W': 'I2', 'I': 'I1'}}},
        {'O': [[('C', 64), ('FY', 3), ('FX', 3)], [('OY', 4), ('OX', 4)], [('K', 8)], []],
         'W': [[], [('FY', 3), ('FX', 3)], [('C', 64), ('OY', 4), ('OX', 4), ('K', 8)], []],
         'I': [[('C', 64), ('FY', 3), ('FX', 3)], [('OY', 4), ('OX', 4), ('K', 8)], []]},
    ),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', choices=sorted(CASES), required=True)
    p.add_argument('--src', default=DEFAULT_SRC, help='extracted original tree')
    p.add_argument('--scratch', default=DEFAULT_SCRATCH, help='working directory (the workload module goes here)')
    args = p.parse_args(argv)
    workload, tm = CASES[args.case]
    scratch = os.path.abspath(args.scratch)
    os.makedirs(scratch, exist_ok=True)
    sys.pycache_prefix = os.path.join(scratch, 'pycache')  # never write into the original's tree
    sys.path.insert(0, os.path.abspath(args.src))
    wl_module = types.ModuleType('acco_case_workload')
    wl_module.workload = workload
    sys.modules['acco_case_workload'] = wl_module

    import numpy, networkx, sympy  # noqa: E401
    from classes.mapping.temporal.temporal_mapping import TemporalMapping
    from classes.stages import (MainStage, SpatialMappingConversionStage, Stage, WorkloadAndAcceleratorParserStage,
                                WorkloadStage, ZigZagCostModelStage)

    class FixedTemporalMappingStage(Stage):
        def __init__(self, list_of_callables, *, layer, **kwargs):
            super().__init__(list_of_callables, **kwargs)
            self.layer = layer

        def run(self):
            sub = self.list_of_callables[0](self.list_of_callables[1:], layer=self.layer,
                                            temporal_mapping=TemporalMapping(tm, self.layer), **self.kwargs)
            yield from sub.run()

    answers = MainStage([WorkloadAndAcceleratorParserStage, WorkloadStage, SpatialMappingConversionStage,
                         FixedTemporalMappingStage, ZigZagCostModelStage],
                        workload_path='acco_case_workload', accelerator_path='inputs.HW.Meta_prototype_DF').run()
    print(f'python {sys.version.split()[0]}, numpy {numpy.__version__}, networkx {networkx.__version__}, sympy {sympy.__version__}')
    for cme, _ in answers:
        print(f'energy_total {cme.energy_total!r}  mac_energy {cme.MAC_energy!r}  latency_total2 {cme.latency_total2!r}')
        for op in ('O', 'W', 'I'):
            acc = [(int(a.rd_out_to_low), int(a.wr_in_by_high), int(a.wr_in_by_low), int(a.rd_out_to_high))
                   if hasattr(a, 'rd_out_to_low') else a for a in cme.memory_word_access[op]]
            print(op, acc)


if __name__ == '__main__':
    main()
