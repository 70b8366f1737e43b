"""`python -m acco import-onnx MODEL.onnx --mapping MAP.yaml --time-axis H [-o OUT.yaml]`.

Kept apart from acco/cli.py: `add_import_onnx_parser` registers the subcommand; the `onnx`
package is only imported when the command runs (it is an optional extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT_ERROR = 2


def _bits(text: str) -> int:
    """argparse type: a non-negative number of bits."""
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer (bits), got {text!r}")
    return v


def add_import_onnx_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the `import-onnx` subcommand to the CLI's subparsers; returns its parser."""
    p = sub.add_parser(
        "import-onnx",
        help="convert an ONNX model into a workload YAML file",
        description="Import an ONNX model as an ACCO workload (docs/inputs.md). Conv, pools, Gemm/MatMul and "
        "residual Add become layers; element-wise ops (Relu, BatchNormalization, ...) and Flatten are folded away. "
        "Needs the optional package onnx (pip install .[onnx]).",
    )
    p.add_argument("model", metavar="MODEL.onnx", help="the ONNX model (external weight data is not needed)")
    p.add_argument("--mapping", required=True, metavar="MAP.yaml",
                   help="spatial mapping per hardware, ZigZag mapping format (entries: default, layer names, "
                   "operator types)")
    p.add_argument("--time-axis", required=True, choices=["H", "W"],
                   help="the ONNX spatial axis (of N x C x H x W) that is time, i.e. becomes Y (OY/IY/FY)")
    p.add_argument("-o", "--output", metavar="OUT.yaml",
                   help="write the workload here (default: print it); e.g. inputs/workloads/NAME.yaml")
    p.add_argument("--force", action="store_true", help="overwrite OUT.yaml if it exists")
    p.add_argument("--name", help="workload name (default: the output file's stem, else the model's)")
    p.add_argument("--act-bits", type=_bits, default=8, metavar="N", help="activation precision (default 8)")
    p.add_argument("--weight-bits", type=_bits, default=8, metavar="N", help="weight precision (default 8)")
    p.add_argument("--psum-bits", type=_bits, default=16, metavar="N",
                   help="partial-sum (O) precision (default 16)")
    p.add_argument("--out-bits", type=_bits, default=8, metavar="N",
                   help="final output (O_final) precision (default 8)")
    p.set_defaults(func=cmd_import_onnx)
    return p


def cmd_import_onnx(args: argparse.Namespace) -> int:
    """Import the model; write (or print) the workload YAML. InputErrors propagate to the CLI's handler."""
    from acco.io.onnx import OnnxNotInstalled, Precision, import_onnx  # noqa: PLC0415

    out = Path(args.output) if args.output else None
    if out is not None and out.exists() and not args.force:
        print(f"error: {out} exists (use --force to overwrite it)", file=sys.stderr)
        return EXIT_FAILED
    name = args.name or (out.stem if out is not None else None)
    precision = Precision(args.act_bits, args.weight_bits, args.psum_bits, args.out_bits)
    try:
        result = import_onnx(args.model, args.mapping, time_axis=args.time_axis, name=name, precision=precision)
    except OnnxNotInstalled as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    if out is None:
        sys.stdout.write(result.to_yaml())
        return EXIT_OK
    result.write(out)
    wl = result.workload
    folded = ", ".join(f"{k} x{v}" for k, v in result.folded.items()) or "nothing"
    print(f"wrote {out}: workload {wl.name}, {len(wl.layers)} layers (folded away: {folded})")
    return EXIT_OK
