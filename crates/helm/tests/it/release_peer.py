"""Drives the Helm v4 SDK (helm-python-sdk) for the release-record tests.

Reads one JSON document on stdin (without "kubeconfig", only steps that
need no cluster can run):
    {"kubeconfig": PATH, "namespace": NS, "driver": "secret" | "configmap" (optional),
     "steps": [{"op": ..., ...}, ...]}
runs the steps in order against that cluster in this one process, and writes
one JSON array on stdout: per step {"ok": result} or {"error": "Type: message"}.
A failing step does not stop the later ones; the test decides what matters.
"""

import json
import sys

import helm_python as helm


def run(cfg, step):
    op = step["op"]
    if op == "validate_name":
        helm.validate_release_name(step["name"])
        return None
    if op == "install":
        return cfg.install(
            step["chart"],
            step["name"],
            step.get("values"),
            timeout=60,
            labels=step.get("labels"),
            description=step.get("description"),
        )
    if op == "upgrade":
        return cfg.upgrade(
            step["chart"],
            step["name"],
            step.get("values"),
            timeout=60,
            max_history=step.get("max_history"),
        )
    if op == "rollback":
        cfg.rollback(step["name"], version=step.get("version"), timeout=60)
        return None
    if op == "uninstall":
        return cfg.uninstall(step["name"], keep_history=step.get("keep_history", False), timeout=60)
    if op == "list":
        return cfg.list(all_states=step.get("all", False))
    if op == "history":
        return cfg.history(step["name"])
    if op == "get_values":
        return cfg.get_values(
            step["name"], all_values=step.get("all", False), revision=step.get("revision")
        )
    if op == "status":
        return cfg.status(step["name"], revision=step.get("revision"))
    raise ValueError(f"unknown op {op!r}")


def main():
    spec = json.load(sys.stdin)
    results = []
    if "kubeconfig" not in spec:
        # Steps that need no cluster.
        for step in spec["steps"]:
            try:
                results.append({"ok": run(None, step)})
            except Exception as e:
                results.append({"error": f"{type(e).__name__}: {e}"})
        json.dump(results, sys.stdout)
        return
    with helm.Config(
        kubeconfig_path=spec["kubeconfig"],
        namespace=spec["namespace"],
        storage_driver=spec.get("driver"),
    ) as cfg:
        for step in spec["steps"]:
            try:
                results.append({"ok": run(cfg, step)})
            except Exception as e:  # reported to the test, which asserts on it
                results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
