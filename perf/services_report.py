#!/usr/bin/python3
"""Report step of perf/services_bench.sh: reads the run directory (loads.jsonl, runs.jsonl),
writes the result JSON, prints per Service count and path the median UDP Mpps and TCP
connections/s over the repetitions, the rule-load time and memory, the 100k/1 (largest/
smallest count) ratios, and the checks. Exit 1 when a check failed.

  perf/services_report.py RUN_DIR OUT.json PARAMS_JSON

Checks: every UDP run received something and no probe came back wrong (foreign frames are
fine: the generator counts none of ours there); every TCP run completed connections, without
connection errors, and the server saw them spread over all 10 backend addresses; sluice
loaded every Service (show stats: model services and LB frontends = the count).

Side by side (services_bench.sh runs a 1-Service reference sluiced, path sluice-ref, in every
repetition next to the one holding N): per count, the per-repetition ratios sluice-fixed /
sluice-ref (the same traffic, to one Service, with N Services present: the target's figure),
sluice / sluice-ref (the traffic spread over the N Services) and the TCP sluice / sluice-ref,
their medians in "side_by_side".
"""
import json
import statistics
import sys

PATHS = ("sluice", "sluice-fixed", "sluice-ref", "iptables", "nft")
TARGET = 0.95
BACKENDS = 10


def lines(path):
    try:
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    except OSError:
        return []


def main():
    run, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    loads, runs = lines(f"{run}/loads.jsonl"), lines(f"{run}/runs.jsonl")
    counts = sorted({r["count"] for r in loads if r["path"] != "sluice-ref"})
    ref_load = next((x for x in loads if x["path"] == "sluice-ref"), None)
    if ref_load and (ref_load.get("services") != 2 or ref_load.get("frontends") != 2):
        problems_ref = [f"sluice-ref: {ref_load.get('services')} Services loaded, not 2"]
    else:
        problems_ref = []
    problems = list(problems_ref)
    table = {}
    for n in counts:
        for p in PATHS:
            ld = next((x for x in loads if x["count"] == n and x["path"] == p), None)
            if p == "sluice-ref":
                ld = ref_load
            elif p == "sluice-fixed":
                ld = next((x for x in loads if x["count"] == n and x["path"] == "sluice"), None)
            if ld is None or not any(r["count"] == n and r["path"] == p for r in runs):
                if p not in ("sluice", "iptables", "nft") or ld is None:
                    continue
            u = [r for r in runs if r["count"] == n and r["path"] == p and r["proto"] == "udp"]
            t = [r for r in runs if r["count"] == n and r["path"] == p and r["proto"] == "tcp"]
            e = {"load": ld}
            if u:
                e["udp_mpps"] = round(statistics.median(r["mpps"] for r in u), 4)
                e["udp_mpps_runs"] = [r["mpps"] for r in u]
                e["udp_tx_mpps"] = round(statistics.median(r["tx_mpps"] for r in u), 4)
                for k in ("ip4_lb_cycles_per_packet", "graph_cycles_per_packet"):
                    v = [r[k] for r in u if r.get(k) is not None]
                    if v:
                        e["udp_" + k] = round(statistics.median(v), 1)
                for r in u:
                    if r["mpps"] <= 0:
                        problems.append(f"{p} {n}: UDP run {r['rep']} received nothing")
            if t:
                e["tcp_conn_per_s"] = round(statistics.median(r["conn_per_s"] for r in t), 1)
                e["tcp_conn_per_s_runs"] = [r["conn_per_s"] for r in t]
                per = {}
                for r in t:
                    for a, c in (r.get("per_backend") or {}).items():
                        per[a] = per.get(a, 0) + c
                    if r["conn_per_s"] <= 0:
                        problems.append(f"{p} {n}: TCP run {r['rep']} completed no connection")
                    if r.get("errors"):
                        problems.append(f"{p} {n}: TCP run {r['rep']} errors {r['errors']}")
                e["tcp_per_backend"] = per
                if len(per) != BACKENDS:
                    problems.append(f"{p} {n}: TCP reached {len(per)} of {BACKENDS} backends")
            if p == "sluice" and "skipped" not in ld:
                want = max(n, 2)
                if ld.get("services") != want or ld.get("frontends") != want:
                    problems.append(f"sluice {n}: {ld.get('services')} Services and "
                                    f"{ld.get('frontends')} frontends loaded, not {want}")
            table.setdefault(str(n), {})[p] = e

    lo, hi = (str(counts[0]), str(counts[-1])) if counts else (None, None)

    def ratio(p, key):
        a = table.get(hi, {}).get(p, {}).get(key)
        b = table.get(lo, {}).get(p, {}).get(key)
        return round(a / b, 3) if a and b else None

    ratios = {p: {"udp": ratio(p, "udp_mpps"), "tcp": ratio(p, "tcp_conn_per_s")}
              for p in ("sluice", "iptables", "nft")}

    def rep_ratios(n, num, den, proto, key):
        """Per repetition num / mean(den) of count n (all measured in that repetition)."""
        out = []
        for r in runs:
            if r["count"] != n or r["path"] != num or r["proto"] != proto:
                continue
            d = [x[key] for x in runs if x["count"] == n and x["path"] == den
                 and x["proto"] == proto and x["rep"] == r["rep"] and x.get(key)]
            if d and r.get(key) is not None:
                out.append(round(r[key] / statistics.mean(d), 3))
        return out

    side = {}
    for n in counts:
        e = {}
        for name, num, proto, key in (("udp_same_traffic", "sluice-fixed", "udp", "mpps"),
                                      ("udp_spread", "sluice", "udp", "mpps"),
                                      ("tcp", "sluice", "tcp", "conn_per_s")):
            rr = rep_ratios(n, num, "sluice-ref", proto, key)
            if rr:
                e[name] = round(statistics.median(rr), 3)
                e[name + "_runs"] = rr
        for p in ("sluice-fixed", "sluice", "sluice-ref"):
            v = table.get(str(n), {}).get(p, {}).get("udp_ip4_lb_cycles_per_packet")
            g = table.get(str(n), {}).get(p, {}).get("udp_graph_cycles_per_packet")
            if v is not None:
                e.setdefault("ip4_lb_cycles_per_packet", {})[p] = v
                e.setdefault("graph_cycles_per_packet", {})[p] = g
        if e:
            side[str(n)] = e
    res = dict(params, scenario="pod -> ClusterIP, N Services x 10 backends, one forwarding core",
               ipvs="not available: ip_vs is not built into this kernel and no modules load",
               results=table, ratios={"of": f"{hi}/{lo}", **ratios},
               side_by_side={"of": "sluice at N / sluice-ref (1 Service), per repetition, median",
                             "target_udp_same_traffic": TARGET, **side},
               problems=problems,
               valid=not problems)
    with open(out, "w") as f:
        json.dump(res, f, indent=2)

    print()
    print(f"{'Services':>9} {'path':12} {'UDP Mpps':>9} {'TCP conn/s':>11} {'load s':>8} "
          f"{'memory MiB':>11}")
    for n in counts:
        for p in PATHS:
            e = table.get(str(n), {}).get(p)
            if not e:
                continue
            ld = e["load"]
            if p in ("sluice-fixed", "sluice-ref"):
                what = "same traffic as sluice-ref" if p == "sluice-fixed" else "1 Service"
                print(f"{n:>9} {p:12} {e.get('udp_mpps', 0):9.3f} "
                      f"{e.get('tcp_conn_per_s', 0) if 'tcp_conn_per_s' in e else '':>11}"
                      f"  ({what}, measured in these repetitions)")
                continue
            if "skipped" in ld:
                print(f"{n:>9} {p:12} {'skipped: ' + ld['skipped']}")
                continue
            mem = ld.get("mem_kb")
            print(f"{n:>9} {p:12} {e.get('udp_mpps', 0):9.3f} {e.get('tcp_conn_per_s', 0):11.0f} "
                  f"{ld['load_s']:8.2f} {'' if mem is None else f'{mem / 1024:11.1f}'}")
    print()
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    for p, r in ratios.items():
        if r["udp"] is not None or r["tcp"] is not None:
            print(f"{p:9} {hi}/{lo} Services: UDP {fmt(r['udp'])}, TCP {fmt(r['tcp'])}"
                  + ("   (target UDP >= 0.95)" if p == "sluice" else ""))
    for n in counts:
        e = side.get(str(n))
        if not e:
            continue
        u = e.get("udp_same_traffic")
        met = "" if u is None else ("   (target >= %.2f: %s)" % (TARGET, "met" if u >= TARGET
                                                                  else "NOT met"))
        print(f"sluice {n} vs 1 Service side by side: UDP same traffic {fmt(u)} "
              f"{e.get('udp_same_traffic_runs', [])}{met}, UDP spread over the Services "
              f"{fmt(e.get('udp_spread'))} {e.get('udp_spread_runs', [])}, TCP "
              f"{fmt(e.get('tcp'))} {e.get('tcp_runs', [])}")
        if e.get("ip4_lb_cycles_per_packet"):
            print(f"  worker cycles per packet (show graph, medians), ip4-lb / whole graph: " +
                  ", ".join(f"{p} {v} / {e['graph_cycles_per_packet'].get(p)}"
                            for p, v in e["ip4_lb_cycles_per_packet"].items()))
    print("IPVS: " + res["ipvs"])
    for pr in problems:
        print("! " + pr)
    print(f"results: {out}")
    if problems:
        print("WARNING: a check failed (lines marked '!')")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
