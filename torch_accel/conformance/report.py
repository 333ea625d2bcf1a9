"""The expectation file (what each entry did last time) and docs/CONFORMANCE.md."""
import collections
import json
import re

import torch


def load_expectations(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_expectations_dict(path, entries):
    """One entry per line, sorted, so a change reads as a one-line diff."""
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}"
                                   for k, v in sorted(entries.items())) + "\n}\n")


def compare(outcome, expected):
    """("regression" | "improvement" | "new" | None, why) for one outcome."""
    if expected is None:
        return "new", "not in the expectation file"
    was_pass, is_pass = expected["status"] == "pass", outcome.status == "pass"
    if was_pass and not is_pass:
        return "regression", f"passed before, now {outcome.status}: {outcome.reason}"
    if was_pass and expected["native"] and not outcome.native and is_pass:
        return "regression", f"ran natively before, now falls back: {', '.join(outcome.fallbacks)}"
    if is_pass and not was_pass:
        return "improvement", f"now passes (was {expected['status']}: {expected['reason']})"
    if outcome.native and not expected["native"] and is_pass:
        return "improvement", "now runs natively"
    if outcome.status != expected["status"]:
        return "changed", f"{expected['status']} -> {outcome.status}: {outcome.reason}"
    return None, ""


def totals(outcomes, dtype):
    rows = [o for o in outcomes if o.dtype == dtype]
    count = collections.Counter(o.status for o in rows)
    comparable = count["pass"] + count["fail"]
    native = sum(1 for o in rows if o.status == "pass" and o.native)
    rate = 100.0 * count["pass"] / comparable if comparable else 0.0
    return {"entries": len(rows), "pass": count["pass"], "fail": count["fail"],
            "skip": count["skip"], "comparable": comparable, "rate": rate, "native": native}


def summary_lines(outcomes):
    lines = []
    for dtype in ("float32", "bfloat16"):
        t = totals(outcomes, dtype)
        if t["entries"]:
            lines.append(f"{dtype}: {t['pass']} of {t['comparable']} comparable entries pass "
                         f"({t['rate']:.1f}%), {t['native']} of them natively; {t['skip']} not "
                         f"comparable ({t['entries']} entries)")
    return lines


def _cause(reason):
    """A failure's cause without sample numbers or values, to group failures by."""
    cause = re.sub(r"^(forward|non-contiguous|out=|in-place|gradient) sample \d+: ", r"\1: ", reason)
    cause = re.sub(r"output \d+: ", "", cause)
    cause = re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", cause)
    return cause[:120]


def write_markdown(path, outcomes, command):
    by_op = collections.defaultdict(dict)
    for o in outcomes:
        by_op[o.op][o.dtype] = o
    lines = ["# Conformance: PyTorch's OpInfo suite on accel", "",
             f"Made by `{command}` with torch {torch.__version__}. Every sample of each op_db "
             "entry (reference inputs, their non-contiguous copies, out= and in-place variants; "
             "float32 gradients of every input) runs on accel and on the CPU, judged by "
             "PyTorch's own rules: test_compare_cpu's tolerance, the dtype's assert_close "
             "default, and the entry's own tolerance overrides. An entry is not comparable "
             "where PyTorch skips or expects to fail that comparison on every device "
             "(random or uninitialised results, views a copy cannot keep). Native means no "
             "call went through the CPU fallback.", "", "## Totals", ""]
    lines += [f"- {line}" for line in summary_lines(outcomes)]
    causes = collections.defaultdict(list)
    for o in outcomes:
        if o.status == "fail":
            causes[_cause(o.reason)].append(f"{o.op} [{o.dtype}]")
    lines += ["", "## Remaining failures by cause", ""]
    lines += [f"- {len(ops)} x {cause}: {', '.join(ops)}"
              for cause, ops in sorted(causes.items(), key=lambda c: -len(c[1]))] or ["- none"]
    fallback_ops = collections.Counter(f for o in outcomes if o.status == "pass" for f in o.fallbacks)
    lines += ["", "## Ops that ran through the CPU fallback (entries that pass)", ""]
    lines += [f"- {name}: {n} entries" for name, n in fallback_ops.most_common()] or ["- none"]
    lines += ["", "## Per op", "", "| op | float32 | bfloat16 | native | why |",
              "|---|---|---|---|---|"]
    for op in sorted(by_op):
        cells = by_op[op]
        why = "; ".join(f"{d}: {o.reason}" for d, o in cells.items() if o.reason)
        fallbacks = sorted({f for o in cells.values() for f in o.fallbacks})
        native = "yes" if not fallbacks else "fallback: " + ", ".join(fallbacks)
        status = [cells[d].status if d in cells else "-" for d in ("float32", "bfloat16")]
        lines.append(f"| {op} | {status[0]} | {status[1]} | {native} | "
                     f"{why.replace('|', '/')[:300]} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
