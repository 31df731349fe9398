#!/usr/bin/python3
"""Report steps of perf/tcp_bench.sh.

  perf/tcp_report.py line PREFIX PATH TEST STREAMS ROUND
      one result line (JSON) from PREFIX.json (iperf3 -J of the client), PREFIX.cpu
      (/proc/stat "cpu" lines around the steady part of the run: busy cores), the path's
      idle window DIR/PATH-ROUND.idlecpu, for sluice PREFIX.graph0/.graph1 (node 1's `show
      graph` before and after: cycles per packet of each graph node during the test), for
      ovs PREFIX.pmd (node 1's PMD counters)
  perf/tcp_report.py report RESULTS.jsonl OUT.json OUT.png [UDP64.json]
      medians per (path, test, streams), path/kernel ratios, busy cores and Gbit/s per busy
      core, the 64-byte UDP rates of perf/vxlan_bench.sh (UDP64.json) when given, a chart
"""
import json
import os
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def graph_delta(g0, g1):
    """Cycles per packet of each node of worker 0 between two `show graph` snapshots."""
    def index(g):
        return {(n["worker"], n["node"]): n for n in g or []}
    a, b = index(g0), index(g1)
    out = {}
    for key, n in b.items():
        m = a.get(key, {"packets": 0, "cycles_per_packet": 0})
        pk = n["packets"] - m["packets"]
        cyc = n["packets"] * n["cycles_per_packet"] - m["packets"] * m["cycles_per_packet"]
        if pk > 0 and not key[1].startswith("drop-"):
            out[key[1]] = {"packets": int(pk), "cycles_per_packet": round(cyc / pk)}
    return out


def cpu_window(path):
    """Busy CPUs (0..number of CPUs) between the two /proc/stat "cpu" lines of PATH, as
    {"busy": user+system+irq+softirq, "nice": nice} over all time counted (idle, iowait and
    steal included) times the number of CPUs. Time at positive nice is kept apart: other
    users' builds run niced on this machine, the benchmark does not. None when the file is
    missing or short."""
    try:
        with open(path) as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu ")]
    except OSError:
        return None
    if len(lines) < 2:
        return None
    a, b = ([int(x) for x in ln[1:9]] for ln in lines[:2])
    d = [y - x for x, y in zip(a, b)]
    total = sum(d)
    if total <= 0:
        return None
    n = os.cpu_count() or 1
    return {"busy": round((d[0] + d[2] + d[5] + d[6]) / total * n, 3),
            "nice": round(d[1] / total * n, 3)}


def busy_cores(path):
    w = cpu_window(path)
    return w["busy"] if w else None


def line(prefix, path, test, streams, rnd):
    doc = load(prefix + ".json") or {}
    end = doc.get("end", {})
    recv = end.get("sum_received", {}).get("bits_per_second", 0.0)
    sent = end.get("sum_sent", {})
    r = {"path": path, "test": test, "streams": int(streams), "round": int(rnd),
         "gbps": round(recv / 1e9, 3), "retransmits": sent.get("retransmits", 0),
         "error": doc.get("error") or (None if doc else "no iperf3 result")}
    w = cpu_window(prefix + ".cpu") or {}
    bc = w.get("busy")
    r["busy_cores"] = bc
    r["nice_cores"] = w.get("nice")
    r["gbps_per_core"] = round(r["gbps"] / bc, 3) if bc and r["gbps"] else None
    r["idle_busy_cores"] = busy_cores(os.path.join(os.path.dirname(prefix), f"{path}-{rnd}.idlecpu"))
    if path.startswith("sluice"):
        g = graph_delta(load(prefix + ".graph0"), load(prefix + ".graph1"))
        r["graph"] = g
        top = sorted(g.items(), key=lambda kv: -kv[1]["cycles_per_packet"])[:3]
        r["graph_top"] = ", ".join(f"{k} {v['cycles_per_packet']}" for k, v in top)
    if path == "ovs":
        r["ovs_pmd_node1"] = load(prefix + ".pmd")
    pmd = r.get("ovs_pmd_node1") or {}
    print(json.dumps(r))
    print(f"  {path:13} {test:5} {streams}x: {r['gbps']:6.2f} Gbit/s, retransmits {r['retransmits']}"
          + (f", busy cores {bc:.2f}" if bc is not None else "")
          + (f", {r['gbps_per_core']:.2f} Gbit/s per busy core" if r["gbps_per_core"] else "")
          + (f"; node1 cycles/packet: {r['graph_top']}" if r.get("graph_top") else "")
          + (f"; node1 PMD: {pmd.get('processing_cycles_per_packet')} processing cycles/packet,"
             f" ran {pmd.get('core_share_pct')} % of the time" if pmd else "")
          + (f"; error: {r['error']}" if r["error"] else ""), file=sys.stderr)


def median(v):
    v = [x for x in v if x is not None]
    return round(statistics.median(v), 3) if v else None


TEST_NAME = {"same": "same node", "vxlan": "across VXLAN"}
UDP_LABEL = {"sluice": "sluice", "sluice_tap": "sluice-tap", "ovs": "ovs", "kernel": "kernel",
             "testpmd": "testpmd"}


def color(path, order):
    fixed = {"kernel": "tab:gray", "ovs": "tab:orange", "testpmd": "tab:olive"}
    if path in fixed:
        return fixed[path]
    others = ["tab:blue", "tab:green", "tab:purple", "tab:cyan", "tab:red", "tab:brown"]
    sl = [p for p in order if p not in fixed]
    return others[sl.index(path) % len(others)] if path in sl else "tab:pink"


def udp64_rows(doc):
    """The 64-byte rates of perf/vxlan_bench.sh's JSON, with ratios to the kernel and OVS."""
    if not doc:
        return []
    paths = {k: v for k, v in (doc.get("paths") or {}).items() if v}
    kern = (paths.get("kernel") or {}).get("rx_pps")
    ovs = (paths.get("ovs") or {}).get("rx_pps")
    checks = doc.get("delivery_checks") or {}
    rows = []
    for label, p in paths.items():
        pps = p.get("rx_pps") or 0.0
        rows.append({"path": UDP_LABEL.get(label, label), "label": label,
                     "mpps": round(pps / 1e6, 3), "gbps": p.get("rx_gbps"),
                     "loss_pct": p.get("loss_pct"), "cycles_per_packet": p.get("cycles_per_packet"),
                     "vs_kernel": round(pps / kern, 3) if kern and pps else None,
                     "vs_ovs": round(pps / ovs, 3) if ovs and pps else None,
                     "delivery_ok": (checks.get(label) or {}).get("ok")})
    return rows


def report(results, out_json, out_png, udp_json=None):
    rows = [json.loads(x) for x in open(results) if x.strip()]
    keys, paths = [], []
    for r in rows:
        if (r["test"], r["streams"]) not in keys:
            keys.append((r["test"], r["streams"]))
        if r["path"] not in paths:
            paths.append(r["path"])
    # The kernel last: it is every other path's reference.
    paths = [p for p in paths if p != "kernel"] + (["kernel"] if "kernel" in paths else [])
    by = {}
    for r in rows:
        by.setdefault((r["path"], r["test"], r["streams"]), []).append(r)
    table = []
    fmt = lambda v, w=7, d=2: f"{v:{w}.{d}f}" if v is not None else f"{'-':>{w}}"  # noqa: E731
    print(f"\n{'test':<24} {'path':<18} {'Gbit/s':>7} {'/kernel':>7} {'busy':>5} {'Gbit/s':>7} "
          f"{'idle':>5} {'retr':>6}   runs: Gbit/s (busy cores)")
    print(f"{'':<24} {'':<18} {'median':>7} {'':>7} {'cores':>5} {'/core':>7} {'cores':>5}")
    for test, streams in keys:
        k = [r for r in by.get(("kernel", test, streams), []) if not r["error"]]
        km = median([r["gbps"] for r in k])
        name = f"{TEST_NAME.get(test, test)}, {streams} stream{'s' if streams > 1 else ''}"
        for p in paths:
            runs = by.get((p, test, streams), [])
            if not runs:
                continue
            ok = [r for r in runs if not r["error"]]
            gm = median([r["gbps"] for r in ok])
            row = {"test": test, "streams": streams, "path": p, "gbps": gm, "kernel_gbps": km,
                   "ratio": round(gm / km, 3) if gm and km else None,
                   "busy_cores": median([r.get("busy_cores") for r in ok]),
                   "gbps_per_core": median([r.get("gbps_per_core") for r in ok]),
                   "idle_busy_cores": median([r.get("idle_busy_cores") for r in runs]),
                   "nice_cores": median([r.get("nice_cores") for r in ok]),
                   "retransmits": median([r.get("retransmits") for r in ok]),
                   "runs": [r["gbps"] for r in runs], "failed": len(runs) - len(ok)}
            table.append(row)
            detail = ", ".join(f"{r['gbps']:.2f} ({r['busy_cores'] if r.get('busy_cores') is not None else '-'})"
                               + (" FAILED" if r["error"] else "") for r in runs)
            print(f"{name:<24} {p:<18} {fmt(gm)} {fmt(row['ratio'])} {fmt(row['busy_cores'], 5)} "
                  f"{fmt(row['gbps_per_core'])} {fmt(row['idle_busy_cores'], 5)} "
                  f"{fmt(row['retransmits'], 6, 0)}   {detail}")
    print("busy cores: the whole machine (/proc/stat, all CPUs: user+system+irq+softirq, niced time left "
          "out), 0-%d, during the steady part of each run;\nidle cores: the same for 1 s with the path up and "
          "no test traffic; retr: TCP retransmits" % (os.cpu_count() or 1))
    busy_idle = sorted({f"{r['path']} round {r['round']} ({r['idle_busy_cores']:.2f})" for r in rows
                        if (r.get("idle_busy_cores") or 0) > 0.25})
    if busy_idle:
        print("WARNING: more than 0.25 cores busy with no test traffic: " + ", ".join(busy_idle)
              + ": something else shared the machine; its CPU is in those rows' busy cores and "
              "took CPU from the test")
    udp = udp64_rows(load(udp_json) if udp_json else None)
    if udp_json:
        print(f"\n64-byte UDP, pod -> remote pod over VXLAN, one forwarding core (perf/vxlan_bench.sh, {udp_json}):")
        if not udp:
            print("  no figures (vxlan_bench.sh failed or wrote nothing)")
        print(f"{'path':<12} {'Mpps':>7} {'/kernel':>7} {'/ovs':>7} {'loss %':>7} {'cyc/pkt':>8} delivery")
        for u in udp:
            print(f"{u['path']:<12} {fmt(u['mpps'], 7, 3)} {fmt(u['vs_kernel'])} {fmt(u['vs_ovs'])} "
                  f"{fmt(u['loss_pct'])} {fmt(u['cycles_per_packet'], 8, 0)} "
                  f"{'ok' if u['delivery_ok'] else ('-' if u['delivery_ok'] is None else 'FAILED')}")
    with open(out_json, "w") as f:
        json.dump({"table": table, "udp64": udp, "udp64_result": udp_json, "runs": rows,
                   "cpus": os.cpu_count()}, f, indent=1)
    print(f"results: {out_json}")
    chart(out_png, table, keys, paths, udp)


def chart(out_png, table, keys, paths, udp):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no chart")
        return
    fig, axs = plt.subplots(2, 2, figsize=(15, 10))
    xs = list(range(len(keys)))
    labels = [f"{TEST_NAME.get(t, t)}\n{n} stream{'s' if n > 1 else ''}" for t, n in keys]
    cell = {(t["path"], t["test"], t["streams"]): t for t in table}

    def bars(ax, plist, value, note):
        w = 0.8 / max(len(plist), 1)
        for i, p in enumerate(plist):
            rs = [cell.get((p, t, n)) for t, n in keys]
            vals = [(value(r) or 0) if r else 0 for r in rs]
            bs = ax.bar([x + (i - (len(plist) - 1) / 2) * w for x in xs], vals, w, label=p,
                        color=color(p, paths))
            for b, r in zip(bs, rs):
                txt = note(r) if r else None
                if txt:
                    ax.annotate(txt, (b.get_x() + b.get_width() / 2, b.get_height()),
                                ha="center", va="bottom", fontsize=7)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, fontsize=9)
        ax.grid(axis="y", alpha=0.3)

    ax = axs[0][0]
    bars(ax, paths, lambda r: r["gbps"], lambda r: f"{r['gbps']:.1f}" if r["gbps"] else "fail")
    ax.set_ylabel("Gbit/s (iperf3 received, median)")
    ax.set_title("TCP pod -> pod, pod MTU " + os.environ.get("SL_POD_MTU", "1450"), fontsize=10)
    ax.legend(fontsize=8)

    ax = axs[0][1]
    others = [p for p in paths if p != "kernel"]
    bars(ax, others, lambda r: r["ratio"], lambda r: f"{r['ratio']:.2f}" if r["ratio"] else None)
    ax.axhline(1.0, color="tab:gray", linestyle="--", linewidth=1)
    ax.text(-0.45, 1.0, "kernel = 1.0 (target) ", va="bottom", ha="left", fontsize=8,
            color="tab:gray")
    top = max([t["ratio"] or 0 for t in table if t["path"] != "kernel"] + [1.0])
    ax.set_ylim(0, top * 1.2)
    ax.set_ylabel("path / kernel (median Gbit/s)")
    ax.set_title("TCP throughput relative to the kernel's flannel path", fontsize=10)
    ax.legend(fontsize=8)

    ax = axs[1][0]
    bars(ax, paths, lambda r: r["gbps_per_core"],
         lambda r: f"{r['busy_cores']:.2f}c" if r["busy_cores"] is not None else None)
    ax.set_ylabel("Gbit/s per busy core")
    ax.set_title(f"TCP efficiency: Gbit/s over busy cores of the whole machine (/proc/stat; "
                 f"label: busy cores of {os.cpu_count()})", fontsize=10)
    ax.legend(fontsize=8)

    ax = axs[1][1]
    if udp:
        names = [u["path"] for u in udp]
        bs = ax.bar(range(len(udp)), [u["mpps"] for u in udp],
                    color=[color(u["path"], paths + names) for u in udp])
        for b, u in zip(bs, udp):
            txt = f"{u['mpps']:.2f} Mpps" + (f"\n{u['vs_kernel']:.2f}x kernel" if u["vs_kernel"] else "")
            ax.annotate(txt, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                        va="bottom", fontsize=8)
        ax.set_xticks(range(len(udp)))
        ax.set_xticklabels(names)
        ax.set_xlabel("sluice: AF_XDP pod, sluice-tap: tap pod (both with an AF_XDP uplink);\n"
                      "ovs: OVS afxdp ports; kernel: flannel's path", fontsize=8)
        ax.set_ylabel("Mpps received")
        ax.set_ylim(0, max(u["mpps"] for u in udp) * 1.25 or 1)
        ax.grid(axis="y", alpha=0.3)
    else:
        ax.text(0.5, 0.5, "64-byte UDP not run (--udp64)", ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title("64-byte UDP pod -> remote pod over VXLAN, one forwarding core (vxlan_bench)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    print(f"chart: {out_png}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "line":
        line(*sys.argv[2:7])
    elif len(sys.argv) > 1 and sys.argv[1] == "report":
        report(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
