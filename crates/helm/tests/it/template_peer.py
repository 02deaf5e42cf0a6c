"""Helm v4 SDK (helm-python-sdk) as the peer of crates/helm's differential test.

Reads a JSON list of jobs on stdin: {"chart": DIR, "values": YAML text,
"release", "namespace", "kube_version" (or null for Helm's default),
"api_versions": [...]}. Writes a JSON list of results: {"templates": {key: text},
"manifest": text, "notes": text} or {"error": message}. The engine's map comes
from helm_render; the manifest and notes from a client-only dry-run install
(what `helm template` prints), on a freshly loaded chart.
"""
import json
import sys

import helm_python as helm
from helm_python import _native

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: x, cluster: {server: "https://127.0.0.1:9"}}]
contexts: [{name: x, context: {cluster: x, user: x}}]
current-context: x
users: [{name: x, user: {token: x}}]
"""


def one(job):
    values = helm.values_from_yaml(job["values"])
    opts = {"name": job["release"], "namespace": job["namespace"],
            "is_install": True, "is_upgrade": False}
    iopts = {"dry_run": "client", "namespace": job["namespace"]}
    if job.get("kube_version"):
        opts["kube_version"] = job["kube_version"]
        iopts["kube_version"] = job["kube_version"]
    if job.get("api_versions"):
        opts["api_versions"] = job["api_versions"]
        iopts["api_versions"] = job["api_versions"]
    chart = helm.Chart.load(job["chart"])
    try:
        templates = json.loads(_native.call_string(
            "helm_render", chart._raw(), json.dumps(values), json.dumps(opts)))
    finally:
        chart.close()
    chart = helm.Chart.load(job["chart"])
    cfg = helm.Config(kubeconfig_content=KUBECONFIG, namespace=job["namespace"],
                      storage_driver="memory")
    try:
        rel = json.loads(_native.call_string(
            "helm_install", cfg._raw(), _native.HANDLE(0), chart._raw(), None,
            job["release"], json.dumps(values), json.dumps(iopts)))
    finally:
        cfg.close()
        chart.close()
    return {"templates": templates, "manifest": rel.get("manifest") or "",
            "notes": rel.get("notes") or ""}


def main():
    out = []
    for job in json.load(sys.stdin):
        try:
            out.append(one(job))
        except helm.HelmError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
