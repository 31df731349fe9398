#!/usr/bin/python3
"""Bar chart of sluice-gen results: received pps per path (label), with ratios.

Input files hold sluice-gen --json output: one object, a JSON array of objects, or one
object per line. Each object becomes one bar, in input order; the ratio label on each bar
is its rx_pps over the baseline's (the first bar, or --baseline LABEL). Objects that carry
a "cycles_per_packet" field (added by the benchmark scripts for the dataplanes whose
forwarding core they can count: sluice, OVS) also get a bar in a second panel: TSC cycles
per packet on the forwarding core.

  perf/plot.py kernel.json sluice.json -o chart.png
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="sluice-gen JSON result files")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--baseline", help="label the ratios are relative to (default: first)")
    ap.add_argument("--title", help="chart title")
    args = ap.parse_args()

    runs = [r for path in args.results for r in load(path)]
    for r in runs:
        missing = [k for k in ("label", "rx_pps") if k not in r]
        if missing:
            sys.exit(f"plot.py: result without {', '.join(missing)}: {r}")
    if not runs:
        sys.exit("plot.py: no results")
    labels = [str(r["label"]) for r in runs]
    pps = [float(r["rx_pps"]) for r in runs]
    if args.baseline is None:
        base = pps[0]
    elif args.baseline in labels:
        base = pps[labels.index(args.baseline)]
    else:
        sys.exit(f"plot.py: --baseline {args.baseline!r} is not one of {labels}")

    cyc = [r for r in runs if r.get("cycles_per_packet")]
    width = max(4.0, 1.4 * len(runs) + 1.5)
    if cyc:
        fig, (ax, cax) = plt.subplots(1, 2, figsize=(width + 1.2 * len(cyc) + 1.5, 4.5),
                                      gridspec_kw={"width_ratios": [len(runs), len(cyc) + 0.5]})
    else:
        fig, ax = plt.subplots(figsize=(width, 4.5))
    bars = ax.bar(range(len(runs)), [p / 1e3 for p in pps], color="#4c72b0")
    for bar, p, r in zip(bars, pps, runs):
        ratio = f"{p / base:.2f}x" if base > 0 else "n/a"
        loss = r.get("loss_pct")
        note = f"{p / 1e3:,.0f} kpps\n{ratio}" + (f"\nloss {loss:.2f}%" if loss else "")
        ax.annotate(note, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                    textcoords="offset points")
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels(labels, rotation=20 if len(runs) > 4 else 0, ha="right"
                       if len(runs) > 4 else "center")
    ax.set_ylabel("received kpps")
    sizes = sorted({r.get("size") for r in runs if r.get("size")})
    title = args.title or "sluice-gen: rx pps per path" + (
        f" ({', '.join(map(str, sizes))}-byte frames)" if sizes else "")
    ax.set_title(title)
    ax.set_ylim(0, max(pps) / 1e3 * 1.25 if max(pps) > 0 else 1)
    ax.grid(axis="y", alpha=0.3)
    if cyc:
        cpp = [float(r["cycles_per_packet"]) for r in cyc]
        cbars = cax.bar(range(len(cyc)), cpp, color="#dd8452")
        for bar, c in zip(cbars, cpp):
            cax.annotate(f"{c:,.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                         ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                         textcoords="offset points")
        cax.set_xticks(range(len(cyc)))
        cax.set_xticklabels([str(r["label"]) for r in cyc])
        cax.set_ylabel("TSC cycles per packet, forwarding core")
        cax.set_title("cycles / packet (lower is better)", fontsize=10)
        cax.set_ylim(0, max(cpp) * 1.2)
        cax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
