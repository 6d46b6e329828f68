#!/usr/bin/env python3
"""Tabulates criterion results of `cargo bench --bench parser` (median time),
run in benches/parser: `python3 table.py` there."""
import json, os, sys
root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
corpora = ["tokens", "notifications", "64k-lines", "20-line", "notifications-crlf"]
chunks = ["16KiB", "7B"]
peers = ["eventsource-stream", "sse-stream", "sse-core"]
ours = ["ssefeed", "ssefeed-bytes", "ssefeed-borrowed"]
cols = ours + peers + ["memchr-floor"]
def rate(group, name):
    d = os.path.join(root, group, name, "new")
    est = json.load(open(os.path.join(d, "estimates.json")))
    bench = json.load(open(os.path.join(d, "benchmark.json")))
    nbytes = bench["throughput"]["Bytes"]
    return nbytes / (est["median"]["point_estimate"] * 1e-9) / 1e6  # MB/s
def fmt(v):
    return f"{v/1000:.2f} GB/s" if v >= 1000 else f"{v:.0f} MB/s" if v >= 10 else f"{v:.2f} MB/s"
print("| corpus | chunks | " + " | ".join(cols)
      + " | ssefeed / fastest peer | bytes / fastest peer | borrowed / fastest peer"
      + " | borrowed / floor |")
print("|---|---|" + "---:|" * (len(cols) + 4))
for c in corpora:
    for k in chunks:
        g = f"{c}_{k}"
        r = {n: rate(g, n) for n in cols}
        best = max(peers, key=lambda n: r[n])
        print(f"| {c} | {k} | " + " | ".join(fmt(r[n]) for n in cols)
              + f" | {r['ssefeed']/r[best]:.2f}× ({best})"
              + f" | {r['ssefeed-bytes']/r[best]:.2f}×"
              + f" | {r['ssefeed-borrowed']/r[best]:.2f}×"
              + f" | {r['ssefeed-borrowed']/r['memchr-floor']:.3f} |")
