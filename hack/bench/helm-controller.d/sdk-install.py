#!/usr/bin/env python3
"""The same-run peer: the Helm v4 SDK (helm-python-sdk) installs the chart
COUNT times into NAMESPACE of the cluster behind KUBECONFIG, pulling it from
REF (oci://..., plain HTTP) for each release as `helm install oci://...` does,
with the same values as the HelmReleases and Helm's watcher wait (kstatus, as
helm-controller waits), WORKERS releases at a time (threads; the SDK's calls
release the GIL). Prints "SECONDS PEAK_RSS_KIB" (this process's ru_maxrss).

Usage: sdk-install.py KUBECONFIG NAMESPACE REF VERSION COUNT WORKERS [QPS BURST]
(QPS and BURST: the client's rate limits; without them Helm's defaults, as
`helm install` runs, which throttle the writes of a run this size)
"""
import concurrent.futures
import resource
import sys
import time

import helm_python as helm

kubeconfig, namespace, ref, version, count, workers = sys.argv[1:7]
count, workers = int(count), int(workers)
limits = {}
if len(sys.argv) > 8:
    limits = {"qps": float(sys.argv[7]), "burst_limit": int(sys.argv[8])}
values = {"replicaCount": 0, "ingress": {"enabled": True}}

t0 = time.time_ns()
with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace, **limits) as cfg:
    def one(i):
        cfg.install(ref, f"app-{i}", values, namespace=namespace, timeout=300, wait="watcher",
                    chart_version=version, plain_http=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(one, i) for i in range(count)]:
            f.result()
elapsed = (time.time_ns() - t0) / 1e9
print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
