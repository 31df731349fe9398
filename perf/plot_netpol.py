#!/usr/bin/python3
"""Chart of perf/netpol_bench.sh results: UDP Mpps received per NetworkPolicy count (10 rules
each, selecting sender and receiver), sluice and iptables side by side, each bar labelled
with its ratio to the 0-policy figure of the same path. Counts where the policies were not
loaded (e.g. sluiced without policy support) are hatched and marked "not loaded"; skipped
counts are marked "not run".

  perf/plot_netpol.py perf/results/netpol-<time>.json -o chart.png [--title TEXT]
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATHS = (("sluice", "#4c72b0"), ("iptables", "#c44e52"))


def draw(ax, table, counts, top, log):
    width = 0.38
    floor = 1e-4
    for k, (path, color) in enumerate(PATHS):
        base = table.get("0", {}).get(path, {}).get("mpps")
        for i, c in enumerate(counts):
            x = i + (k - 0.5) * width
            r = table[c].get(path)
            if r is None or "mpps" not in r:
                ax.text(x, floor * 2 if log else top * 0.02, "not run", ha="center", va="bottom",
                        rotation=90, fontsize=8)
                continue
            loaded = r.get("loaded", True)
            v = max(r["mpps"], floor) if log else r["mpps"]
            ax.bar(x, v, width, color=color, hatch=None if loaded else "//",
                   alpha=1.0 if loaded else 0.45, label=path if i == 0 else None)
            lab = "%.3f" % r["mpps"]
            if base:
                lab += "\n%.2fx" % (r["mpps"] / base)
            if not loaded:
                lab += "\nnot loaded"
            if r.get("enforced") is False:
                lab += "\nNOT enforced"
            ax.text(x, v * (1.15 if log else 1) + (0 if log else top * 0.01), lab, ha="center",
                    va="bottom", fontsize=7)
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels(["{:,}".format(int(c)) for c in counts])
    ax.set_xlabel("NetworkPolicies selecting sender and receiver (10 rules each)")
    ax.set_ylabel("UDP 64 B, Mpps received (median)")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(floor, top * 20)
    else:
        ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper right")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title")
    a = ap.parse_args()
    res = json.load(open(a.result))
    table = res["results"]
    counts = sorted(table, key=int)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.4))
    top = max([table[c][p].get("mpps", 0) for c in counts for p, _ in PATHS if p in table[c]] + [0.01])
    for ax, log in zip(axes, (False, True)):
        draw(ax, table, counts, top, log)
    p = res.get("params", {})
    fig.suptitle(a.title or "NetworkPolicy scaling: pod -> pod through sluice vs iptables "
                 "(%s reps x %s s, %s flows; left linear, right log scale)" % (
                     p.get("reps"), p.get("duration_s"), p.get("flows")), fontsize=10)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)


if __name__ == "__main__":
    main()
