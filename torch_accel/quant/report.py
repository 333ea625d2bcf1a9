"""The format sweep: each workload trained in float32 on accel, then each
format applied after training (PTQ) and fine-tuned with it (QAT), evaluated
on accel with the chip's arithmetic, and priced on wormhole_n150 and
blackhole_p150 (quant.pricing). Writes the table and a Pareto plot into
docs/QUANTIZATION.md between its sweep markers."""
import copy
import datetime
import pathlib
from dataclasses import dataclass

import torch

from . import api
from .pricing import estimate_quantized
from .workloads import train, workloads

ARCHS = ("wormhole_n150", "blackhole_p150")
BEGIN, END = "<!-- sweep:begin -->", "<!-- sweep:end -->"


@dataclass(frozen=True)
class Recipe:
    """One row of the sweep: formats and fidelity for every quantized layer."""
    label: str
    weights: object = None
    activations: object = None
    math_fidelity: object = None
    calibrate: bool = False


def _mixed(model):
    """Bfp8_b for the first and last quantized layers (the sensitive ones), Bfp4_b between."""
    names = [n for n, m in model.named_modules()
             if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.LSTM))]
    edge = {names[0], names[-1]}
    weights = {n: ("bfp8_b" if n in edge else "bfp4_b") for n in names}
    fidelity = {n: ("HiFi2" if n in edge else "LoFi") for n in names}
    return weights, fidelity


RECIPES = [
    Recipe("fp32"),
    Recipe("bf16", "bf16", "bf16", "HiFi4"),
    Recipe("Bfp8_b", "bfp8_b", "bfp8_b", "HiFi2"),
    Recipe("Bfp4_b", "bfp4_b", "bfp8_b", "LoFi"),
    Recipe("Bfp4/Bfp8 mixed", "mixed", "bfp8_b"),
    Recipe("MX fp8 (e4m3)", "mxfp8_e4m3", "mxfp8_e4m3", "HiFi2"),
    Recipe("MX fp6 (e2m3)", "mxfp6_e2m3", "mxfp6_e2m3", "HiFi2"),
    Recipe("MX fp4 (e2m1), A: MX fp8", "mxfp4_e2m1", "mxfp8_e4m3", "LoFi"),
    Recipe("int8 PTQ", "int8", "int8", "HiFi2", calibrate=True),
]
QUICK = ("fp32", "Bfp8_b", "Bfp4_b", "int8 PTQ")


def _quantized(recipe, model):
    """The model with the recipe's formats on its Linear, Conv and LSTM layers;
    the other ops (norms, attention's own matmuls, pooling) stay float32."""
    if recipe.weights is None and recipe.activations is None:
        return model
    weights, fidelity = recipe.weights, recipe.math_fidelity
    if weights == "mixed":
        weights, fidelity = _mixed(model)
    return api.quantize(model, weights=weights, activations=recipe.activations,
                        math_fidelity=fidelity)


def _calibrate(workload, model, n=4):
    batches = workload.batches(seed=99)
    api.calibrate(model, [next(batches)[0] for _ in range(n)])


def _price(workload, recipe, trained):
    model = _quantized(recipe, copy.deepcopy(trained).cpu())
    costs = {}
    for arch in ARCHS:
        prof = estimate_quantized(model, workload.example(), arch=arch)
        costs[arch] = {"time_us": prof.total_time_s * 1e6, "dram_kb": prof.total_dram_bytes / 1e3,
                       "energy_uj": prof.total_energy_j * 1e6,
                       "fallbacks": sum(prof.host_fallbacks.values())}
    return costs


def sweep(steps=300, qat_steps=60, quick=False, progress=True, device="accel"):
    """Rows: one per workload x recipe x (PTQ, QAT)."""
    from tqdm import tqdm
    recipes = [r for r in RECIPES if not quick or r.label in QUICK]
    loads = workloads(device)
    total = len(loads) * 2 * len(recipes)
    bar = tqdm(total=total, desc="quantization sweep", disable=not progress)
    rows = []
    for w in loads:
        torch.manual_seed(0)
        bar.set_postfix_str(f"{w.name}: fp32 training")
        trained = train(w, w.build().to(device), steps, w.lr, seed=1)
        for recipe in recipes:
            costs = _price(w, recipe, trained)
            # fp32 too gets the QAT fine-tuning steps: the control for what the
            # extra training alone buys
            for mode in ("PTQ", "QAT"):
                bar.set_postfix_str(f"{w.name}: {recipe.label} {mode}")
                model = _quantized(recipe, copy.deepcopy(trained))
                if recipe.calibrate:
                    _calibrate(w, model)
                if mode == "QAT":
                    train(w, model, qat_steps, w.qat_lr, seed=2)
                rows.append({"model": w.name, "metric": w.metric, "inference": w.inference,
                             "higher_is_better": w.higher_is_better, "format": recipe.label,
                             "mode": "fp32" if (recipe.label, mode) == ("fp32", "PTQ") else mode,
                             "value": w.evaluate(model), "cost": costs})
                bar.update(1)
    bar.close()
    return rows


def fallbacks(rows):
    """CPU fallbacks: taken by the sweep's runs (torch_accel.fallback_stats since
    the sweep began) and those the priced runs would take (estimate's host_fallbacks)."""
    import torch_accel
    priced = sum(c["fallbacks"] for r in rows for c in r["cost"].values())
    return {"run": sum(torch_accel.fallback_stats().values()), "priced": priced}


def layer_rows(recipes=RECIPES, shape=(32, 4096, 4096)):
    """One Linear of `shape` (batch, in, out) priced in each recipe's formats: a
    DRAM-bound decode-sized layer, where a format's bytes show in its time."""
    batch, k, n = shape
    rows = []
    for recipe in recipes:
        if recipe.weights == "mixed":
            continue
        layer = _quantized(recipe, torch.nn.Linear(k, n))
        if recipe.calibrate:
            api.calibrate(layer, [torch.randn(2, k)])
        costs = {}
        for arch in ARCHS:
            prof = estimate_quantized(layer, torch.zeros(batch, k), arch=arch)
            costs[arch] = (prof.total_time_s * 1e6, prof.total_dram_bytes / 1e6,
                           prof.total_energy_j * 1e6)
        rows.append((recipe.label, costs))
    return rows


def layer_table(rows, shape=(32, 4096, 4096)):
    lines = [f"One Linear({shape[1]}, {shape[2]}) on a batch of {shape[0]}, priced the same way:",
             "", "| format | " + " | ".join(f"{a} us | {a} DRAM MB | {a} energy uJ"
                                            for a in ARCHS) + " |",
             "|" + "---|" * (1 + 3 * len(ARCHS))]
    for label, costs in rows:
        cells = [label] + [f"{v:.2f}" for a in ARCHS for v in costs[a]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(rows):
    head = ("| model | format | | metric | " +
            " | ".join(f"{a} us | {a} DRAM kB | {a} energy uJ" for a in ARCHS) + " |")
    lines = [head, "|" + "---|" * (4 + 3 * len(ARCHS))]
    for r in rows:
        cells = [r["model"], r["format"], r["mode"], f"{r['metric']} {r['value']:.4f}"]
        for a in ARCHS:
            c = r["cost"][a]
            cells += [f"{c['time_us']:.2f}", f"{c['dram_kb']:.1f}", f"{c['energy_uj']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pareto(points, higher_is_better):
    """The points no other point beats in both time and metric, by time."""
    best, front = None, []
    for t, v, *_ in sorted(points, key=lambda p: (p[0], -p[1] if higher_is_better else p[1])):
        if best is None or (v > best if higher_is_better else v < best):
            best = v
            front.append((t, v))
    return front


def plot(rows, path, arch=ARCHS[0]):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = list(dict.fromkeys(r["model"] for r in rows))
    cols = 2
    n_rows = -(-len(models) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(6 * cols, 4.6 * n_rows), squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, models):
        mine = [r for r in rows if r["model"] == name]
        for mode, marker in (("fp32", "*"), ("PTQ", "o"), ("QAT", "^")):
            pts = [r for r in mine if r["mode"] == mode]
            ax.scatter([r["cost"][arch]["time_us"] for r in pts], [r["value"] for r in pts],
                       marker=marker, label=mode, s=60 if mode == "fp32" else 30)
        for r in mine:
            if r["mode"] != "QAT":
                ax.annotate(r["format"].split(",")[0], (r["cost"][arch]["time_us"], r["value"]),
                            fontsize=7, xytext=(3, 3), textcoords="offset points")
        front = _pareto([(r["cost"][arch]["time_us"], r["value"]) for r in mine],
                        mine[0]["higher_is_better"])
        ax.plot(*zip(*front), drawstyle="steps-post", color="grey", lw=0.8, label="Pareto front")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(f"modelled time per inference on {arch} (us)")
        ax.set_ylabel(mine[0]["metric"])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_doc(rows, doc_path, png_name, settings, fallbacks, layer=None):
    doc_path = pathlib.Path(doc_path)
    inferences = "; ".join(dict.fromkeys(f"{r['model']}: {r['inference']}" for r in rows))
    block = "\n".join([
        BEGIN,
        f"Generated by `python -m torch_accel.quant` ({settings}) on "
        f"{datetime.date.today().isoformat()}. One inference: {inferences}. "
        "PTQ: the format applied to the float32-trained model; QAT: then fine-tuned with it "
        "on accel (for fp32, the same fine-tuning without quantization: the control). "
        "Accuracy and loss are computed on accel with the formats' exact values and each "
        "layer's math fidelity; time, DRAM bytes and energy are the performance model's. "
        f"CPU fallbacks: {fallbacks['run'] or 'none'} while training and evaluating, "
        f"{fallbacks['priced'] or 'none'} in the priced runs.",
        "", table(rows), "", f"![accuracy against modelled time]({png_name})", "",
        *([layer_table(layer), ""] if layer else []), END])
    text = doc_path.read_text() if doc_path.exists() else f"# Quantization\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    doc_path.write_text(text[:start] + block + text[stop:])
    return doc_path
