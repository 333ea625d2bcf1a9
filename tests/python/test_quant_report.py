"""python -m torch_accel.quant --quick: the sweep's table, plot and document."""
import pytest

from torch_accel.quant import __main__ as cli
from torch_accel.quant import report


def test_quick_sweep_writes_the_table_and_plot(tmp_path, capsys):
    doc = tmp_path / "QUANTIZATION.md"
    doc.write_text(f"# kept\n\nintro\n\n{report.BEGIN}\nold\n{report.END}\n\ntail\n")
    assert cli.main(["--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    text = doc.read_text()
    assert text.startswith("# kept\n\nintro\n") and text.rstrip().endswith("tail")
    assert "old" not in text and "CPU fallbacks: none while training and evaluating, none" in text
    sweep, layer = text.split("One Linear(4096, 4096)")
    layer_times = {line.split(" | ")[0][2:]: float(line.split(" | ")[1])
                   for line in layer.splitlines() if line.startswith("| ") and "us" not in line}
    assert layer_times["Bfp4_b"] < layer_times["Bfp8_b"] < layer_times["fp32"]  # DRAM-bound
    rows = [line for line in sweep.splitlines() if line.startswith("| ") and "---" not in line][1:]
    models = ("digits MLP", "digits CNN", "char GPT", "char LSTM")
    assert len(rows) == len(models) * 2 * len(report.QUICK)
    for model in models:
        mine = [r.split(" | ") for r in rows if r.startswith(f"| {model} |")]
        modes = {f: ("fp32", "QAT") if f == "fp32" else ("PTQ", "QAT") for f in report.QUICK}
        assert {(cells[1], cells[2]) for cells in mine} == {
            (f, m) for f, ms in modes.items() for m in ms}
        dram = {cells[1]: float(cells[5]) for cells in mine}  # wormhole DRAM kB
        assert dram["Bfp4_b"] < dram["Bfp8_b"] < dram["fp32"]
    png = tmp_path / "quantization_pareto.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_front():
    points = [(1.0, 0.5), (2.0, 0.9), (3.0, 0.8), (0.5, 0.1), (2.5, 0.95)]
    assert report._pareto(points, True) == [(0.5, 0.1), (1.0, 0.5), (2.0, 0.9), (2.5, 0.95)]
    assert report._pareto(points, False) == [(0.5, 0.1)]


def test_bad_arguments():
    with pytest.raises(SystemExit):
        cli.main(["--steps", "0"])
