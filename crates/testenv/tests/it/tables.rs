//! `kubectl get` prints kube-apiserver's columns for the less common built-in
//! kinds too (`src/printers.rs`), `-o wide` included.

use ferroflux_testenv::TestEnv;

async fn kubectl(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let run = crate::run_kubectl(env, args, stdin).await;
    (run.ok, run.stdout, run.stderr)
}

/// The header line with runs of spaces squeezed.
fn header(out: &str) -> String {
    out.lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The row of `name` as cells split on runs of two or more spaces (cells
/// such as `80, 443` keep their single space).
fn row(out: &str, name: &str) -> Vec<String> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

const OBJECTS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: tables-nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  ingressClassName: tables-nginx
  tls: [{hosts: [a.example]}]
  rules:
  - host: a.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
---
apiVersion: v1
kind: Node
metadata:
  name: tables-node
  labels: {node-role.kubernetes.io/control-plane: ""}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: tables-pv}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: tables-fast
  hostPath: {path: /tmp/tables-pv}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: tables-fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/fast
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tables-admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: ann, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: flux, namespace: flux-system}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: tables-high}
value: 1000
preemptionPolicy: Never
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: tables-hooks}
webhooks:
- name: check.tables.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig: {url: "https://hooks.example.com/check"}
  rules:
  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: default}
spec:
  limits:
  - {type: Container, default: {cpu: 500m}}
"#;

#[tokio::test]
async fn kubectl_get_prints_kube_apiservers_columns_for_more_kinds() {
    let env = TestEnv::start().await.unwrap();
    let (ok, _, err) = kubectl(&env, &["apply", "-f", "-"], Some(OBJECTS)).await;
    assert!(ok, "{err}");
    let cases: &[(&[&str], &str, &str, &[&str])] = &[
        (
            &["ingress"],
            "NAME CLASS HOSTS ADDRESS PORTS AGE",
            "web",
            &["web", "tables-nginx", "a.example", "80, 443"],
        ),
        (
            &["ingressclass"],
            "NAME CONTROLLER PARAMETERS AGE",
            "tables-nginx",
            &["tables-nginx", "k8s.io/ingress-nginx", "<none>"],
        ),
        (
            &["networkpolicy"],
            "NAME POD-SELECTOR AGE",
            "web",
            &["web", "app=web"],
        ),
        (
            &["node", "tables-node"],
            "NAME STATUS ROLES AGE VERSION",
            "tables-node",
            &["tables-node", "Unknown", "control-plane"],
        ),
        (
            &["pv", "tables-pv", "-o", "wide"],
            "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE VOLUMEMODE",
            "tables-pv",
            &["tables-pv", "5Gi", "RWO", "Retain"],
        ),
        (
            &["storageclass", "tables-fast"],
            "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE",
            "tables-fast",
            &[
                "tables-fast (default)",
                "example.com/fast",
                "Delete",
                "Immediate",
                "false",
            ],
        ),
        (
            &["hpa"],
            "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE",
            "web",
            &["web", "Deployment/web", "cpu: <unknown>/80%", "2", "5", "0"],
        ),
        (
            &["pdb"],
            "NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE",
            "web",
            &["web", "N/A", "1", "0"],
        ),
        (
            &["clusterrolebinding", "tables-admins", "-o", "wide"],
            "NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS",
            "tables-admins",
            &["tables-admins", "ClusterRole/cluster-admin"],
        ),
        (
            &["priorityclass", "tables-high"],
            "NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY",
            "tables-high",
            &["tables-high", "1000", "false"],
        ),
        (
            &["validatingwebhookconfiguration", "tables-hooks"],
            "NAME WEBHOOKS AGE",
            "tables-hooks",
            &["tables-hooks", "1"],
        ),
        (&["limitrange"], "NAME CREATED AT", "limits", &["limits"]),
    ];
    for (args, want_header, name, want_cells) in cases {
        let mut full = vec!["get"];
        full.extend_from_slice(args);
        let (ok, out, err) = kubectl(&env, &full, None).await;
        assert!(ok, "{args:?}: {err}");
        if name.is_empty() {
            // An empty list prints no table at all.
            assert!(
                out.is_empty() && err.contains("No resources found"),
                "{out}{err}"
            );
            continue;
        }
        assert_eq!(header(&out), *want_header, "{args:?}:\n{out}");
        let cells = row(&out, name);
        assert_eq!(&cells[..want_cells.len()], *want_cells, "{args:?}:\n{out}");
    }
    let (_, wide, _) = kubectl(
        &env,
        &["get", "clusterrolebinding", "tables-admins", "-o", "wide"],
        None,
    )
    .await;
    assert!(
        wide.contains("ann") && wide.contains("flux-system/flux"),
        "{wide}"
    );
}
