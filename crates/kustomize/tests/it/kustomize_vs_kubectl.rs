//! `Flavor::Kustomize` against `kubectl kustomize` with one strategic merge patch.

use ferroflux_kustomize::strategic_merge::{Flavor, strategic_merge_builtin};

use crate::peer::{Case, compare, kustomize};

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
  annotations: {owner: team-a}
  finalizers: [example.com/a, example.com/b]
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: u-1}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      imagePullSecrets:
      - name: pull-a
      hostAliases:
      - ip: 10.0.0.1
        hostnames: [a.local]
      tolerations:
      - {key: a, operator: Exists}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
      initContainers:
      - name: init
        image: busybox:1
        args: [sh, -c, "true"]
      containers:
      - name: app
        image: app:1
        args: [--port=8080]
        envFrom:
        - configMapRef: {name: env-a}
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 8080, name: http}
        - {containerPort: 53, protocol: UDP, name: dns}
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: config, mountPath: /etc/app}
        resources:
          limits: {cpu: 500m, memory: 128Mi}
      - name: sidecar
        image: sidecar:1
      volumes:
      - name: data
        emptyDir: {}
      - name: config
        configMap: {name: app-config}
"#;

const CRD_OBJECT: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  finalizers: [example.com/a]
spec:
  size: 3
  items:
  - {name: a, value: 1}
  - {name: b, value: 2}
  nested:
    keep: yes-please
    list: [x, y]
"#;

fn cases() -> Vec<Case> {
    vec![
        // ---- containers and the lists below them
        Case {
            name: "container image by name",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:2
"#,
        },
        Case {
            name: "new container goes first",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: logger
        image: logger:1
"#,
        },
        Case {
            name: "patch order of containers wins",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: new, image: new:1}
      - {name: sidecar, image: sidecar:2}
      - {name: app, args: [--port=9090]}
"#,
        },
        Case {
            name: "delete a container",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: sidecar
        $patch: delete
"#,
        },
        Case {
            name: "delete every container leaves an empty list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: sidecar, $patch: delete}
      - {name: app, $patch: delete}
"#,
        },
        Case {
            name: "replace the container list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - $patch: replace
      - {name: only, image: only:1}
"#,
        },
        Case {
            name: "delete the whole volumes list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      volumes:
      - $patch: delete
"#,
        },
        Case {
            name: "element-level replace is ignored by kustomize",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: app, image: app:9, $patch: replace}
"#,
        },
        Case {
            name: "env by name: change, add, delete",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - {name: C, value: "3"}
        - name: A
          value: null
          valueFrom:
            secretKeyRef: {name: s, key: a}
        - {name: B, $patch: delete}
"#,
        },
        Case {
            name: "ports match on containerPort and protocol",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        ports:
        - {containerPort: 53, protocol: TCP, name: dns-tcp}
        - {containerPort: 8080, name: web}
        - {containerPort: 9090, name: metrics}
"#,
        },
        Case {
            name: "port with a protocol the original leaves out",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        ports:
        - {containerPort: 8080, protocol: TCP, name: main}
"#,
        },
        Case {
            name: "volumeMounts by mountPath, volumes by name",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        volumeMounts:
        - {mountPath: /data, readOnly: true}
        - {name: cache, mountPath: /cache}
      volumes:
      - name: config
        configMap: {name: other-config}
      - name: cache
        emptyDir: {medium: Memory}
"#,
        },
        Case {
            name: "volume source switched with null",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      volumes:
      - name: config
        configMap: null
        secret: {secretName: app-secret}
"#,
        },
        Case {
            name: "imagePullSecrets, hostAliases, topologySpreadConstraints merge",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      imagePullSecrets:
      - name: pull-b
      hostAliases:
      - ip: 10.0.0.1
        hostnames: [b.local]
      - ip: 10.0.0.2
        hostnames: [c.local]
      topologySpreadConstraints:
      - {maxSkew: 2, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
      - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}
"#,
        },
        Case {
            name: "tolerations, envFrom and args are replaced",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      tolerations:
      - {key: b, operator: Exists}
      containers:
      - name: app
        args: [--debug]
        envFrom:
        - secretRef: {name: env-b}
"#,
        },
        Case {
            name: "init containers merge",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
      - {name: migrate, image: migrate:1}
      - {name: init, image: busybox:2}
"#,
        },
        Case {
            name: "resources merge as maps",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          limits: {memory: 256Mi}
          requests: {cpu: 100m}
"#,
        },
        // ---- maps, nulls, directives on maps
        Case {
            name: "labels and annotations merge, null deletes",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: null, env: prod}
  annotations: {note: hi}
"#,
        },
        Case {
            name: "null deletes a scalar, a map and a list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: null
  strategy: null
  template:
    spec:
      tolerations: null
"#,
        },
        Case {
            name: "null for an absent field is dropped",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  paused: null
  template:
    spec:
      securityContext: {runAsUser: null, fsGroup: 2000}
"#,
        },
        Case {
            name: "replace a map",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy:
    $patch: replace
    type: Recreate
"#,
        },
        Case {
            name: "strategy type switch keeps rollingUpdate (no retainKeys in kustomize)",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy:
    type: Recreate
"#,
        },
        Case {
            name: "replace the pod spec",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      $patch: replace
      containers:
      - {name: only, image: only:1}
"#,
        },
        Case {
            name: "delete a map",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy:
    $patch: delete
  template:
    metadata:
      $patch: delete
"#,
        },
        Case {
            name: "merge directive is accepted",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy:
    $patch: merge
    rollingUpdate: {maxUnavailable: 0}
  template:
    spec:
      containers:
      - $patch: merge
      - {name: app, image: app:3}
"#,
        },
        Case {
            name: "delete the whole object",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
$patch: delete
"#,
        },
        Case {
            name: "add new nested maps and lists",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        sysctls: [{name: a, value: "1"}]
      containers:
      - name: sidecar
        env:
        - {name: X, value: x}
        - {name: Y, $patch: delete}
        ports:
        - {containerPort: 1, protocol: UDP}
"#,
        },
        // ---- metadata lists
        Case {
            name: "finalizers are an ordered set",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  finalizers: [example.com/c, example.com/a]
"#,
        },
        Case {
            name: "ownerReferences by uid",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner-2, uid: u-2}
  - {uid: u-1, controller: true}
"#,
        },
        // ---- kustomize quirks reproduced
        Case {
            name: "duplicate keys in the original collapse",
            base: r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, image: "1"}
  - {name: a, image: "2"}
"#,
            patch: r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: a, args: [z]}
"#,
        },
        Case {
            name: "element without merge key empties the list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - image: nameless
"#,
        },
        Case {
            name: "fields Kubernetes tagged after v1.21 are replaced",
            base: r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  schedulingGates: [{name: a}]
  ephemeralContainers:
  - name: debug
    ports: [{containerPort: 1}]
  containers: [{name: c}]
"#,
            patch: r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  schedulingGates: [{name: b}]
  ephemeralContainers:
  - name: debug
    ports: [{containerPort: 2}]
"#,
        },
        Case {
            name: "versions kustomize does not know have no schema",
            base: r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h, finalizers: [a]}
spec:
  metrics: [{type: Resource}]
"#,
            patch: r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h, finalizers: [b]}
"#,
        },
        Case {
            name: "PodDisruptionBudget selector merges in kustomize",
            base: r#"
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: a}
"#,
            patch: r#"
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec:
  selector:
    matchLabels: {tier: b}
"#,
        },
        // ---- other kinds
        Case {
            name: "Service ports by port and protocol",
            base: r#"
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080, name: http}
  - {port: 53, protocol: UDP, name: dns}
"#,
            patch: r#"
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  type: NodePort
  ports:
  - {port: 443, targetPort: 8443, name: https}
  - {port: 53, protocol: TCP, name: dns-tcp}
  - {port: 80, nodePort: 30080}
"#,
        },
        Case {
            name: "ConfigMap data merges",
            base: r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: "1", b: "2"}
"#,
            patch: r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {b: null, c: "3"}
"#,
        },
        Case {
            name: "Secret stringData and type",
            base: r#"
apiVersion: v1
kind: Secret
metadata: {name: s}
type: Opaque
stringData: {user: admin}
"#,
            patch: r#"
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: hunter2}
"#,
        },
        Case {
            name: "ServiceAccount secrets merge, imagePullSecrets replaced",
            base: r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
secrets: [{name: s1}]
imagePullSecrets: [{name: p1}]
"#,
            patch: r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
secrets: [{name: s2}]
imagePullSecrets: [{name: p2}]
"#,
        },
        Case {
            name: "ClusterRole rules are replaced",
            base: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get]}
"#,
            patch: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [list]}
"#,
        },
        Case {
            name: "RoleBinding subjects are replaced",
            base: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: a, namespace: ns}]
"#,
            patch: r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: ns}
subjects: [{kind: ServiceAccount, name: b, namespace: ns}]
"#,
        },
        Case {
            name: "Ingress rules are replaced",
            base: r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, annotations: {a: "1"}}
spec:
  ingressClassName: nginx
  rules:
  - host: a.example.com
"#,
            patch: r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing}
spec:
  rules:
  - host: b.example.com
"#,
        },
        Case {
            name: "NetworkPolicy ingress is replaced",
            base: r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {}}]}]
"#,
            patch: r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np}
spec:
  ingress: [{ports: [{port: 80}]}]
"#,
        },
        Case {
            name: "PersistentVolumeClaim requests",
            base: r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pvc}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"#,
            patch: r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pvc}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 5Gi}}
"#,
        },
        Case {
            name: "Namespace labels",
            base: r#"
apiVersion: v1
kind: Namespace
metadata: {name: ns, labels: {a: "1"}}
"#,
            patch: r#"
apiVersion: v1
kind: Namespace
metadata: {name: ns, labels: {b: "2"}}
"#,
        },
        Case {
            name: "CronJob job template containers",
            base: r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: job, image: job:1}]
"#,
            patch: r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: job, image: job:2}
          - {name: helper, image: helper:1}
"#,
        },
        Case {
            name: "StatefulSet volumeClaimTemplates replaced, containers merged",
            base: r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {resources: {requests: {storage: 1Gi}}}
  template:
    spec:
      containers: [{name: db, image: db:1}]
"#,
            patch: r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {resources: {requests: {storage: 2Gi}}}
  template:
    spec:
      containers: [{name: db, image: db:2}]
"#,
        },
        Case {
            name: "DaemonSet and Job templates",
            base: r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers: [{name: a, env: [{name: X, value: "1"}]}]
"#,
            patch: r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  backoffLimit: 2
  template:
    spec:
      containers: [{name: a, env: [{name: Y, value: "2"}]}]
"#,
        },
        // ---- custom resources: maps merge, lists are replaced
        Case {
            name: "custom resource: lists replaced, maps merged",
            base: CRD_OBJECT,
            patch: r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  finalizers: [example.com/b]
spec:
  items:
  - {name: a, value: 10}
  nested:
    list: [z]
    added: true
"#,
        },
        Case {
            name: "custom resource: map directives",
            base: CRD_OBJECT,
            patch: r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec:
  size: null
  nested:
    $patch: replace
    fresh: 1
"#,
        },
        Case {
            name: "custom resource embedding a built-in kind",
            base: r#"
apiVersion: example.com/v1
kind: Wrapper
metadata: {name: w}
spec:
  object:
    apiVersion: v1
    kind: Pod
    spec:
      containers: [{name: a, image: a:1}]
"#,
            patch: r#"
apiVersion: example.com/v1
kind: Wrapper
metadata: {name: w}
spec:
  object:
    apiVersion: v1
    kind: Pod
    spec:
      containers: [{name: b, image: b:1}]
"#,
        },
        // ---- errors both sides raise
        Case {
            name: "unknown directive on a map",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  strategy:
    $patch: explode
"#,
        },
        Case {
            name: "unknown directive in a list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - $patch: explode
"#,
        },
        Case {
            name: "map patched onto a list",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: {name: app}
"#,
        },
        Case {
            name: "map patched onto a scalar",
            base: DEPLOYMENT,
            patch: r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: {value: 3}
"#,
        },
    ]
}

#[test]
fn kustomize_flavor_matches_kubectl_kustomize() {
    compare(
        &cases(),
        |base, patch| {
            strategic_merge_builtin(base, patch, Flavor::Kustomize)
                .map(|v| (!v.is_null()).then_some(v))
                .map_err(|e| e.to_string())
        },
        kustomize,
    );
}
