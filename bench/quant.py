"""The quantization sweep (torch_accel/quant/report.py): accuracy against
modelled chip time, DRAM bytes and energy for fp32, bf16, block-float, MX and
int8 formats, PTQ and QAT, over the examples' models. Same as
`python -m torch_accel.quant`; writes docs/QUANTIZATION.md and the plot.

    python bench/quant.py [--steps 300] [--qat-steps 60] [--quick] [--out docs]
"""
import pathlib
import sys

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from torch_accel.quant.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
