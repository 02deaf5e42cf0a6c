#!/usr/bin/env python3
"""Generates the MTTP workload (the shape of Flux's published benchmark).

gen.py app DIR VERSION     the app's manifests (one directory shared by every
                           app, names substituted by postBuild): a ServiceAccount,
                           a Service, an Ingress and a Deployment scaled to 0;
                           VERSION goes into labels and the pod template, so a
                           new VERSION changes every object of every app
gen.py tenants N           per app i: Namespace app-i, ServiceAccount
                           app-i/flux-reconciler, RoleBinding of it to the
                           ClusterRole tenant-admin (flux2-multi-tenancy's shape)
gen.py apps N URL          per app i, in app-i: a GitRepository (of URL, with
                           {i} replaced by i) and a
                           Kustomization (prune, wait, timeout 1m, targetNamespace,
                           serviceAccountName, postBuild.substitute)
"""
import os
import sys

kind = sys.argv[1]

if kind == "app":
    out, version = sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    files = {
        "kustomization.yaml": """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - serviceaccount.yaml
  - service.yaml
  - ingress.yaml
  - deployment.yaml
labels:
  - pairs:
      app.kubernetes.io/name: ${APP_NAME}
      app.kubernetes.io/version: "%s"
""" % version,
        "serviceaccount.yaml": """apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${APP_NAME}
""",
        "service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: ${APP_NAME}
spec:
  type: ClusterIP
  selector:
    app: ${APP_NAME}
  ports:
    - name: http
      port: 9898
      targetPort: http
""",
        "ingress.yaml": """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${APP_NAME}
spec:
  rules:
    - host: ${APP_NAME}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${APP_NAME}
                port:
                  name: http
""",
        "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${APP_NAME}
spec:
  replicas: 0
  selector:
    matchLabels:
      app: ${APP_NAME}
  template:
    metadata:
      labels:
        app: ${APP_NAME}
      annotations:
        bench/version: "%s"
    spec:
      serviceAccountName: ${APP_NAME}
      containers:
        - name: app
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          ports:
            - name: http
              containerPort: 9898
          env:
            - name: VERSION
              value: "%s"
""" % (version, version),
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
elif kind == "tenants":
    n = int(sys.argv[2])
    print("""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: tenant-admin
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]""")
    for i in range(n):
        ns = f"app-{i}"
        print(f"""---
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: flux-reconciler
  namespace: {ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: flux-reconciler
  namespace: {ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: tenant-admin
subjects:
  - kind: ServiceAccount
    name: flux-reconciler
    namespace: {ns}""")
elif kind == "apps":
    n, url = int(sys.argv[2]), sys.argv[3]
    first = True
    for i in range(n):
        ns = f"app-{i}"
        if not first:
            print("---")
        first = False
        print(f"""apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
  namespace: {ns}
spec:
  interval: 60m
  url: {url.replace("{i}", str(i))}
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: {ns}
spec:
  interval: 60m
  path: ./app
  prune: true
  wait: true
  timeout: 1m
  targetNamespace: {ns}
  serviceAccountName: flux-reconciler
  sourceRef:
    kind: GitRepository
    name: app
  postBuild:
    substitute:
      APP_NAME: {ns}""")
else:
    sys.exit(f"unknown kind {kind}")
