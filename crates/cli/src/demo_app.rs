//! The example the demo deploys: an app (frontend, backend, settings) with a
//! base and staging/production overlays, and the Flux objects that deliver it.

/// Files of the example Git repository, by path.
pub const FILES: &[(&str, &str)] = &[
    (
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - frontend.yaml\n  - backend.yaml\n  - settings.yaml\n",
    ),
    (
        "apps/base/frontend.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  labels: {app: frontend}
spec:
  replicas: 1
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers:
        - name: web
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          ports: [{containerPort: 9898}]
          envFrom: [{configMapRef: {name: settings}}]
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
spec:
  selector: {app: frontend}
  ports: [{port: 80, targetPort: 9898}]
"#,
    ),
    (
        "apps/base/backend.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  labels: {app: backend}
spec:
  replicas: 1
  selector:
    matchLabels: {app: backend}
  template:
    metadata:
      labels: {app: backend}
    spec:
      containers:
        - name: api
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          args: ["--port=9898", "--level=info"]
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector: {app: backend}
  ports: [{port: 9898}]
"#,
    ),
    (
        "apps/base/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  PODINFO_UI_MESSAGE: hello from ferroflux\n",
    ),
    (
        "apps/staging/kustomization.yaml",
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
  - namespace.yaml
  - ../base
patches:
  - target: {kind: ConfigMap, name: settings}
    patch: |
      - op: replace
        path: /data/PODINFO_UI_MESSAGE
        value: hello from staging
"#,
    ),
    (
        "apps/staging/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: staging\n",
    ),
    (
        "apps/production/kustomization.yaml",
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
resources:
  - namespace.yaml
  - ../base
replicas:
  - name: frontend
    count: 3
  - name: backend
    count: 2
"#,
    ),
    (
        "apps/production/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: production\n",
    ),
];

/// The change the demo pushes to show a commit flowing through.
pub const CHANGE: (&str, &str) = (
    "apps/base/settings.yaml",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  PODINFO_UI_MESSAGE: hello again, from a new commit\n",
);

/// The Flux objects, as a user would write them (`GIT_URL`, `SINK_URL` and
/// `TOKEN` are filled in).
pub const FLUX_OBJECTS: &str = r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: demo-app
  namespace: flux-system
spec:
  interval: 10m
  url: GIT_URL
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps-staging
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/staging
  prune: true
  wait: true
  timeout: 2m
  sourceRef:
    kind: GitRepository
    name: demo-app
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps-production
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/production
  prune: true
  wait: true
  timeout: 2m
  dependsOn:
    - name: apps-staging
  sourceRef:
    kind: GitRepository
    name: demo-app
---
apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
stringData:
  token: TOKEN
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: chat
  namespace: flux-system
spec:
  type: generic
  address: SINK_URL
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: deployments
  namespace: flux-system
spec:
  providerRef:
    name: chat
  eventSeverity: info
  eventSources:
    - kind: GitRepository
      name: '*'
    - kind: Kustomization
      name: '*'
    - kind: HelmRelease
      name: '*'
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github
  namespace: flux-system
spec:
  type: github
  events: ["push"]
  secretRef:
    name: webhook-token
  resources:
    - kind: GitRepository
      name: demo-app
"#;
