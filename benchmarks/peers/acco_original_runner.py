"""Run the ORIGINAL ACCO (KULeuven-MICAS/ACCO @ 229f6d7) Step 1 + Step 2 for one configuration.

This is our own driver, not a copy of the original code.  It must be executed by the Python 3.9
interpreter of the peer venv (numpy 1.26.4, networkx 3.2.1, sympy 1.14.0), with the original tree
extracted to ``benchmarks/.peers/acco-src`` (both git-ignored), e.g.::

    benchmarks/.peers/acco-venv/bin/python benchmarks/peers/acco_original_runner.py \
        --hw Meta_prototype --opt energy --workload workload_stftCNN_fixed_unrolling_oxoy_025_1x \
        --tile-x 4 --tile-y 4 --cut-max 1

Step 1 builds the same ``MainStage`` as the released ``DfStackCutAndXform_mp_misc.py`` (same stage list
and kwargs: ``df_stack_cuts=[]``, ``df_tcn_transform=True``, dilation -1, ``df_tcn_frame_amount=1``,
``loma_lpf_limit=6``), except that ``df_tcn_substack_cut_max`` and the caching pair are arguments.
The pickle goes to ``<scratch>/result_pickle_files_misc_camready/test_{hw}/test_mp_{opt}/...`` (the
original's relative layout, below a scratch working directory).

Step 2 calls the original ``explore_pickle_compile_readings_utils.result_generator`` with the constants
of the original ``explore_pickle_compile_readings.py`` for that HW (see docs/references.md; that script
cannot be imported because it starts a multiprocessing sweep at module level).  The logs land in
``<scratch>/result_pickle_files_misc_camready_log/...``.

Nothing of the original is edited: shipped ``__pycache__`` files are bypassed with
``sys.pycache_prefix`` so every module is compiled from its ``.py`` source.
"""
import argparse
import contextlib
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SRC = os.path.join(REPO, 'benchmarks', '.peers', 'acco-src')
DEFAULT_SCRATCH = os.path.join(REPO, 'benchmarks', '.peers', 'acco-scratch')

ROOT_DIR = './result_pickle_files_misc_camready'  # as in both original scripts

# Constants of the original Step 2 (explore_pickle_compile_readings.py), keyed by batch dir.
TOTAL_LAYERS = {'seldnet': 8, 'stftCNN': 12, 'mobilenetv1': 27, 'resnet18': 26}
OPERAND_MAX_HIERARCHY = {
    'test_Edge_TPU_like': [3, 4, 4, 1.0, 1.0],
    'test_Meta_prototype': [3, 4, 4, 1.0, 1.0],
    'test_Tesla_NPU_like': [4, 5, 4, 896 / 1024.0, 1.0],
}
DATA_MOVEMENT_OVERHEAD = {
    'test_Edge_TPU_like': [[26.01 * 8, 23.65 * 8, 128 * 8], [700 * 1, 750 * 1, 64 * 1]],
    'test_Meta_prototype': [[26.01 * 8, 23.65 * 8, 128 * 8], [700 * 1, 750 * 1, 64 * 1]],
    'test_Tesla_NPU_like': [[26.01 * 7, 23.65 * 8, 128 * 7], [700 * 1, 750 * 1, 64 * 1]],
}
DILATION = -1
FRAME_AMOUNT = 1


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def stub_missing_visualization():
    """Edge_TPU_like_DF.py and Tesla_NPU_like_DF.py run ``from visualization.graph.memory_hierarchy import
    visualize_memory_hierarchy_graph`` inside ``memory_hierarchy_dut`` (the call itself is commented out), but
    the released repo has no ``visualization`` package (it belonged to ZigZag).  Register an in-memory no-op
    stand-in so the dead import succeeds; Meta_prototype_DF.py does not need it."""
    import importlib.util
    import types
    try:
        if importlib.util.find_spec('visualization') is not None:
            return False
    except (ImportError, ValueError):
        pass
    names = ['visualization', 'visualization.graph', 'visualization.graph.memory_hierarchy']
    for n in names:
        m = types.ModuleType(n)
        m.__path__ = []
        sys.modules[n] = m
    sys.modules[names[-1]].visualize_memory_hierarchy_graph = lambda *a, **k: None
    return True


def step1(args, home_dir):
    from classes.stages.Stage import MainStage
    from classes.stages import (WorkloadAndAcceleratorParserStage, DfStackCutIfWeightsOverflowStage,
                                DepthFirstStage, SpatialMappingConversionStage, RemoveExtraInfoStage,
                                MinimalEnergyStage, MinimalLatencyStage, ZigZagCostModelStage, LomaStage,
                                DumpStage)
    df_cut = []
    suffix = f'{args.workload}_dil-{DILATION}_fr-{FRAME_AMOUNT}'
    saving = f'{home_dir}/{suffix}'
    os.makedirs(saving, exist_ok=True)
    stem = f'{args.tile_x}_{args.tile_y}_{args.h_caching}_{args.v_caching}'
    pkl = f'{saving}/{stem}_{str(df_cut)}.pkl'
    if os.path.exists(pkl):
        os.remove(pkl)  # always recompute (the original would skip an existing pickle)
    opt_stage = MinimalEnergyStage if args.opt == 'energy' else MinimalLatencyStage
    dut = MainStage(
        [WorkloadAndAcceleratorParserStage, DumpStage, DfStackCutIfWeightsOverflowStage, DepthFirstStage,
         SpatialMappingConversionStage, RemoveExtraInfoStage, opt_stage, LomaStage, ZigZagCostModelStage],
        workload_path=f'inputs.WL.{args.hw}.{args.workload}',
        accelerator_path=f'inputs.HW.{args.hw}_DF',
        df_horizontal_caching=args.h_caching,
        df_vertical_caching=args.v_caching,
        df_tilesize_x=args.tile_x,
        df_tilesize_y=args.tile_y,
        df_stack_cuts=df_cut,
        df_tcn_transform=True,
        df_tcn_global_initial_dilation=DILATION,
        df_tcn_frame_amount=FRAME_AMOUNT,
        df_tcn_substack_cut_max=args.cut_max,
        loma_lpf_limit=6,
        result_saving_path=saving,
        dump_filename_pattern=pkl,
    )
    dut.run()
    return pkl


def step2(args, home_dir):
    import explore_pickle_compile_readings_utils as u
    batch = f'test_{args.hw}'
    u.result_generator(ROOT_DIR, home_dir, args.workload, args.tile_x, args.tile_y, args.h_caching,
                       args.v_caching, DILATION, FRAME_AMOUNT, DATA_MOVEMENT_OVERHEAD[batch],
                       OPERAND_MAX_HIERARCHY[batch], TOTAL_LAYERS, [home_dir], time.time())
    log_dir = home_dir.replace(ROOT_DIR, ROOT_DIR + '_log')
    return f'{log_dir}/{args.workload}_dil-{DILATION}_fr-{FRAME_AMOUNT}'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--hw', required=True, choices=['Meta_prototype', 'Edge_TPU_like', 'Tesla_NPU_like'])
    p.add_argument('--opt', required=True, choices=['energy', 'latency'])
    p.add_argument('--workload', required=True)
    p.add_argument('--tile-x', type=int, required=True)
    p.add_argument('--tile-y', type=int, required=True)
    p.add_argument('--h-caching', type=lambda s: s == 'True', default=True, help='True/False')
    p.add_argument('--v-caching', type=lambda s: s == 'True', default=True, help='True/False')
    p.add_argument('--cut-max', type=int, default=0, help='df_tcn_substack_cut_max')
    p.add_argument('--src', default=DEFAULT_SRC, help='extracted original tree')
    p.add_argument('--scratch', default=DEFAULT_SCRATCH, help='working directory for pickles and logs')
    p.add_argument('--step2-only', action='store_true', help='reuse an existing Step-1 pickle')
    p.add_argument('--quiet', action='store_true', help="send the original's prints to <scratch>/stdout_*.txt")
    args = p.parse_args(argv)

    src = os.path.abspath(args.src)
    scratch = os.path.abspath(args.scratch)
    os.makedirs(scratch, exist_ok=True)
    # ignore the shipped (possibly stale) __pycache__ of the original; never write into its tree
    sys.pycache_prefix = os.path.join(scratch, 'pycache')
    sys.path.insert(0, src)
    os.chdir(scratch)
    home_dir = f'{ROOT_DIR}/test_{args.hw}/test_mp_{args.opt}'
    tag = f'{args.hw}_{args.opt}_{args.workload}_{args.tile_x}_{args.tile_y}_{args.h_caching}_{args.v_caching}_cm{args.cut_max}'

    sink = open(os.path.join(scratch, f'stdout_{tag}.txt'), 'w') if args.quiet else None
    with (contextlib.redirect_stdout(sink) if sink else contextlib.nullcontext()):
        import numpy, networkx, sympy  # noqa: E401
        versions = f'python {sys.version.split()[0]}, numpy {numpy.__version__}, networkx {networkx.__version__}, sympy {sympy.__version__}'
        c0, w0 = cpu_seconds(), time.time()
        stubbed = stub_missing_visualization()
        if not args.step2_only:
            pkl = step1(args, home_dir)
        c1, w1 = cpu_seconds(), time.time()
        log_dir = step2(args, home_dir)
        c2, w2 = cpu_seconds(), time.time()
    if sink:
        sink.close()
    print(f'[acco_original_runner] {tag}: {versions}' + (' (in-memory stub: visualization.graph.memory_hierarchy)' if stubbed else ''))
    if not args.step2_only:
        print(f'[acco_original_runner] step1: {c1 - c0:.1f} s CPU, {w1 - w0:.1f} s wall -> {os.path.join(scratch, pkl)}')
    print(f'[acco_original_runner] step2: {c2 - c1:.2f} s CPU, {w2 - w1:.2f} s wall -> {os.path.join(scratch, log_dir)}')


if __name__ == '__main__':
    main()
