#!/usr/bin/python3
"""Report step of perf/vhost_bench.sh: reads the run directory, writes the result JSON and
the per-path lines for plot.py, prints the table, ratios, cycles, delivery checks and the
TSO line.

  perf/vhost_report.py RUN_DIR OUT.json PLOT.jsonl
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import check_delivery, load, ovs_cycles, sluice_cycles  # noqa: E402

LABELS = ("vhost", "ovs_vhost", "ovs_vhost2", "ceiling", "af_xdp", "vxlan", "ovs_vxlan")


def port_tx(ports_file, name):
    """tx_packets of sluiced port NAME (a vhost-user port is named after its socket file)
    from a `show ports` snapshot, or None."""
    for p in load(ports_file) or []:
        if p.get("name") == name:
            return p.get("tx_packets")
    return None


def tso_line(run):
    t = load(f"{run}/tso.json")
    d0, d1 = load(f"{run}/drops0.json"), load(f"{run}/drops1.json")
    if not t or d0 is None or d1 is None:
        return None, "tso: (failed or not run)"
    d0 = {d["reason"]: d["packets"] for d in d0}
    d1 = {d["reason"]: d["packets"] for d in d1}
    drops = {r: n - d0.get(r, 0) for r, n in d1.items() if n - d0.get(r, 0)}
    sent = t["tx_packets"] * 7  # 8960 payload bytes per frame: 7 segments of MSS 1398
    return t, (f"tso: {t['tx_packets'] / t['duration_s'] / 1e3:.1f} k frames/s of 9014 bytes in "
               f"(= {sent / t['duration_s'] / 1e3:.0f} k segments/s), "
               f"{t['rx_tcp_segments'] / t['duration_s'] / 1e3:.1f} k segments/s out, "
               f"{t['rx_tcp_gbps']:.2f} Gbit/s of TCP delivered, bad payload "
               f"{t['rx_tcp_bad_payload']}; sluiced drops during it: {drops}")


def main():
    run, out, plot_lines = sys.argv[1], sys.argv[2], sys.argv[3]
    paths = {label: load(f"{run}/{label}.json") for label in LABELS}

    def pps(label):
        return (paths[label] or {}).get("rx_pps", 0.0)

    def ratio(a, b):
        return round(pps(a) / pps(b), 3) if pps(a) and pps(b) else None

    ratios = {"vhost_vs_ceiling": ratio("vhost", "ceiling"),
              "sluice_vs_ovs_vhost": ratio("vhost", "ovs_vhost"),
              "sluice_vs_ovs_vhost2": ratio("vhost", "ovs_vhost2"),
              "sluice_vs_ovs_vxlan": ratio("vxlan", "ovs_vxlan"),
              "ovs_vhost_vs_ceiling": ratio("ovs_vhost", "ceiling")}

    # Cycles per packet on node 1's forwarding core (core 1).
    graph_vhost = load(f"{run}/graph-vhost.json")
    graph_vxlan = load(f"{run}/graph-vxlan.json")
    cycles = {
        "vhost": sluice_cycles(load(f"{run}/graph-start.json"), graph_vhost) if graph_vhost else None,
        "ovs_vhost": ovs_cycles(load(f"{run}/ovs_vhost-pmd.json")),
        "ovs_vhost2": ovs_cycles(load(f"{run}/ovs_vhost2-pmd.json")),
        "vxlan": sluice_cycles(load(f"{run}/graph-vxlan0.json"), graph_vxlan) if graph_vxlan else None,
        "ovs_vxlan": ovs_cycles(load(f"{run}/ovs_vxlan-pmd.json")),
        "ovs_vxlan_node2": ovs_cycles(load(f"{run}/ovs_vxlan2-pmd.json")),
    }
    for label in ("vhost", "vxlan"):
        if paths[label] and cycles[label] and cycles[label]["cycles_per_packet"]:
            paths[label]["cycles_per_packet"] = cycles[label]["cycles_per_packet"]
    for label in ("ovs_vhost", "ovs_vhost2", "ovs_vxlan"):
        if paths[label] and cycles[label]:
            paths[label]["cycles_per_packet"] = cycles[label]["like_for_like"]

    # Did the last hop (the dataplane's port to the receiving pod) send at least what the
    # receiver counted?
    egress = {
        "vhost": port_tx(f"{run}/ports-vhost.json", "b.sock"),
        "ovs_vhost": (load(f"{run}/ovs_vhost-ports.json") or {}).get("egress_tx"),
        "ovs_vhost2": (load(f"{run}/ovs_vhost2-ports.json") or {}).get("egress_tx"),
        "vxlan": port_tx(f"{run}/ports-vxlan2.json", "c.sock"),
        "ovs_vxlan": (load(f"{run}/ovs_vxlan2-ports.json") or {}).get("egress_tx"),
    }
    checks = {k: check_delivery(k, paths[k], v, expect_vxlan=False)
              for k, v in egress.items() if paths[k]}

    t, tso_text = tso_line(run)
    res = {"scenario": "pod to pod through one forwarding core, 64-byte UDP; sluice and OVS",
           "paths": paths, "ratios": ratios, "ratio_vhost_vs_ceiling": ratios["vhost_vs_ceiling"],
           "cycles_per_packet": cycles,
           "delivery_checks": {k: {"ok": ok, "text": text} for k, (ok, text) in checks.items()},
           "graph": load(f"{run}/graph.json"), "tso": t}
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    with open(plot_lines, "w") as f:
        for p in paths.values():
            if p:
                f.write(json.dumps(p) + "\n")

    print(f"\n{'path':10} {'rx kpps':>9} {'loss %':>7} {'p50 us':>7} {'p99 us':>7} {'cyc/pkt':>8}")
    for label, p in paths.items():
        if not p:
            print(f"{label:10} (failed or not run)")
            continue
        lat = p["lat_ns"]
        c = p.get("cycles_per_packet")
        print(f"{label:10} {p['rx_pps'] / 1e3:9.1f} {p['loss_pct']:7.2f} {lat['p50'] / 1e3:7.1f} "
              f"{lat['p99'] / 1e3:7.1f} {'' if c is None else f'{c:8.0f}'}")
    fmt = lambda x: "n/a" if x is None else f"{x:.2f}"  # noqa: E731
    print()
    for ok, text in checks.values():
        print(("  " if ok else "! ") + text)
    print(f"\nvhost/ceiling        = {fmt(ratios['vhost_vs_ceiling'])}   (target >= 0.6)")
    print(f"sluice/OVS vhost     = {fmt(ratios['sluice_vs_ovs_vhost'])}   (target >= 1.5; same pods, same core, same five ports polled)")
    print(f"sluice/OVS vhost2    = {fmt(ratios['sluice_vs_ovs_vhost2'])}   (OVS polling only the two vhost-user ports)")
    print(f"sluice/OVS vxlan     = {fmt(ratios['sluice_vs_ovs_vxlan'])}   (two nodes; node 2 shares core 0 with the generator)")
    for s, o in (("vhost", "ovs_vhost"), ("vhost", "ovs_vhost2"), ("vxlan", "ovs_vxlan")):
        sc, oc = cycles[s], cycles[o]
        if sc or oc:
            print(f"cycles/packet, node 1 forwarding core, {s} vs {o}: sluice "
                  f"{sc['cycles_per_packet'] if sc else 'n/a'} (all graph nodes), OVS "
                  + (f"{oc['processing_cycles_per_packet']} (PMD processing; "
                     f"{oc['cycles_per_packet']} with idle polling; PMD ran "
                     f"{oc.get('core_share_pct')} % of the time)" if oc else "n/a"))
    if cycles["ovs_vxlan_node2"]:
        print(f"  OVS node 2 (core 0, shared with the generator): "
              f"{cycles['ovs_vxlan_node2']['processing_cycles_per_packet']} processing cycles/packet")
    print(tso_text)
    print(f"results: {out}")
    if any(not ok for ok, _ in checks.values()):
        print("WARNING: a delivery check failed (lines marked '!')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
