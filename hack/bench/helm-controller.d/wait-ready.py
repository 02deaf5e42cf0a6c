#!/usr/bin/env python3
"""Waits, with one list + watch of every HelmRelease in the cluster (no
polling), until COUNT of them are Ready=True for their current generation with
status.lastAttemptedRevision equal to VERSION and a release in history.
Prints the seconds from T0 (epoch nanoseconds, taken by the caller before it
made its change) to the moment the last one was seen Ready, then the p50 and
p90 of the per-HelmRelease times, on one line: "ALL P50 P90".

Usage: wait-ready.py SERVER COUNT VERSION T0_NS TIMEOUT_S
(SERVER: testenv's plain-HTTP URL from the kubeconfig; no credentials is admin)
"""
import json
import sys
import time
import urllib.request

server, count, version, t0, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
path = "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"
deadline = time.time() + timeout
done = {}  # namespace/name -> seconds since t0 when first seen Ready
state = {}  # namespace/name -> last Ready condition, for the failure report


def check(obj):
    meta = obj["metadata"]
    key = f"{meta['namespace']}/{meta['name']}"
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    state[key] = f"{ready.get('status')} {ready.get('reason')}: {ready.get('message', '')[:200]}"
    if (key not in done and ready.get("status") == "True"
            and ready.get("observedGeneration") == meta.get("generation")
            and status.get("lastAttemptedRevision") == version
            and (status.get("history") or [{}])[0].get("chartVersion") == version):
        done[key] = (time.time_ns() - t0) / 1e9


def finish():
    times = sorted(done.values())
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(f"{times[-1]:.3f} {q(0.5):.3f} {q(0.9):.3f}")
    sys.exit(0)


while True:
    with urllib.request.urlopen(server + path, timeout=60) as r:
        listing = json.load(r)
    for obj in listing["items"]:
        check(obj)
    if len(done) >= count:
        finish()
    rv = listing["metadata"]["resourceVersion"]
    try:
        remaining = max(1, int(deadline - time.time()))
        url = f"{server}{path}?watch=1&resourceVersion={rv}&timeoutSeconds={remaining}"
        with urllib.request.urlopen(url, timeout=remaining + 30) as r:
            for line in r:
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    check(event["object"])
                elif event.get("type") == "ERROR":
                    break  # 410 Gone or similar: list again
                if len(done) >= count:
                    finish()
    except (TimeoutError, OSError):
        pass
    if time.time() >= deadline:
        pending = sorted(k for k in state if k not in done)
        print(f"timed out: {len(done)}/{count} done; e.g.", file=sys.stderr)
        for k in pending[:10]:
            print(f"  {k}: {state[k]}", file=sys.stderr)
        sys.exit(1)
