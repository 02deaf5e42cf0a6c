#!/usr/bin/env python3
"""The peer of the differential test: renders template x values cases with Helm v4's
own engine (PyPI helm-python-sdk), one single-template chart per case.

Usage: helm_peer.py CASES.json OUT.json
CASES.json is a list of {"template": str, "values": str (YAML)}; OUT.json gets a list of
{"out": str} or {"err": str}, with "values" as Helm read them, in the same order.
"""
import json
import os
import sys
import tempfile

import helm_python as helm

CHART_YAML = "apiVersion: v2\nname: t\nversion: 0.1.0\n"


def main():
    cases = json.load(open(sys.argv[1], encoding="utf-8"))
    results = []
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "templates"))
        with open(os.path.join(d, "Chart.yaml"), "w") as f:
            f.write(CHART_YAML)
        tpath = os.path.join(d, "templates", "t.yaml")
        for c in cases:
            with open(tpath, "w", encoding="utf-8", newline="") as f:
                f.write(c["template"])
            values = {}
            try:
                values = helm.values_from_yaml(c["values"]) if c["values"].strip() else {}
                chart = helm.Chart.load(d)
                try:
                    out = chart.render(values, name="rel", namespace="ns")
                finally:
                    chart.close()
                results.append({"out": out.get("t/templates/t.yaml", ""), "values": values})
            except helm.HelmError as e:
                results.append({"err": str(e), "values": values})
    json.dump(results, open(sys.argv[2], "w", encoding="utf-8"))


if __name__ == "__main__":
    main()
