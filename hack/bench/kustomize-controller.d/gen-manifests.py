#!/usr/bin/env python3
"""Writes one kustomization of N objects into DIR, all in NAMESPACE:
1 Namespace, then ConfigMaps, Services and Deployments in proportions
50% / 30% / 20% (the rest), small and realistic (one app per Service).

Usage: gen-manifests.py DIR NAMESPACE [N]   (default N: 1000)
"""
import os
import sys

root, ns = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
cms = (n - 1) // 2
svcs = (n - 1) * 3 // 10
deps = n - 1 - cms - svcs
os.makedirs(root, exist_ok=True)


def labels(app, indent):
    pad = " " * indent
    return (
        f"{pad}app.kubernetes.io/name: {app}\n"
        f"{pad}app.kubernetes.io/part-of: bench\n"
    )


with open(os.path.join(root, "namespace.yaml"), "w") as f:
    f.write(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n"
            + labels("bench", 4))

with open(os.path.join(root, "configmaps.yaml"), "w") as f:
    for i in range(cms):
        app = f"app-{i % svcs:03d}"
        f.write(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            f"  name: {app}-config-{i:03d}\n  namespace: {ns}\n  labels:\n"
            + labels(app, 4)
            + "data:\n"
            f"  LOG_LEVEL: info\n  LISTEN_ADDR: \":8080\"\n"
            f"  UPSTREAM_URL: http://app-{(i + 1) % svcs:03d}.{ns}.svc.cluster.local:80\n"
            f"  FEATURE_FLAGS: \"search,checkout,beta-{i % 7}\"\n"
            "  app.properties: |\n"
            f"    cache.size={128 + i}\n    pool.max=16\n    timeout.ms=2500\n"
        )

with open(os.path.join(root, "services.yaml"), "w") as f:
    for i in range(svcs):
        app = f"app-{i:03d}"
        f.write(
            "---\napiVersion: v1\nkind: Service\nmetadata:\n"
            f"  name: {app}\n  namespace: {ns}\n  labels:\n"
            + labels(app, 4)
            + "spec:\n  type: ClusterIP\n  selector:\n"
            f"    app.kubernetes.io/name: {app}\n"
            "  ports:\n  - name: http\n    port: 80\n    targetPort: http\n    protocol: TCP\n"
        )

with open(os.path.join(root, "deployments.yaml"), "w") as f:
    for i in range(deps):
        app = f"app-{i:03d}"
        f.write(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: {app}\n  namespace: {ns}\n  labels:\n"
            + labels(app, 4)
            + "spec:\n  replicas: 2\n  selector:\n    matchLabels:\n"
            f"      app.kubernetes.io/name: {app}\n"
            "  template:\n    metadata:\n      labels:\n"
            + labels(app, 8)
            + "    spec:\n      containers:\n      - name: app\n"
            f"        image: ghcr.io/example/{app}:1.{i % 10}.0\n"
            "        ports:\n        - name: http\n          containerPort: 8080\n"
            "        envFrom:\n        - configMapRef:\n"
            f"            name: {app}-config-{i:03d}\n"
            "        resources:\n          requests:\n            cpu: 10m\n            memory: 32Mi\n"
            "          limits:\n            memory: 128Mi\n"
            "        readinessProbe:\n          httpGet:\n            path: /healthz\n            port: http\n"
        )

with open(os.path.join(root, "kustomization.yaml"), "w") as f:
    f.write(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "- namespace.yaml\n- configmaps.yaml\n- services.yaml\n- deployments.yaml\n"
    )
print(f"{1 + cms + svcs + deps} objects: 1 Namespace, {cms} ConfigMaps, "
      f"{svcs} Services, {deps} Deployments")
