//! `Flavor::ApiServer` against `kubectl patch --local --type strategic`, which runs
//! Kubernetes' own strategic merge with kubectl's built-in types.

use ferroflux_kustomize::strategic_merge::{Flavor, strategic_merge_builtin};

use crate::peer::{Case, compare, patch_local};

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
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
      tolerations:
      - {key: a, operator: Exists}
      containers:
      - name: app
        image: app:1
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        ports:
        - {containerPort: 8080, name: http}
        - {containerPort: 53, protocol: UDP, name: dns}
        volumeMounts:
        - {name: data, mountPath: /data}
      - name: sidecar
        image: sidecar:1
      volumes:
      - name: data
        emptyDir: {}
      - name: config
        configMap: {name: app-config}
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "container image by name",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: app, image: app:2}]}}}}",
        },
        Case {
            name: "new container is interleaved",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: logger, image: l}, {name: sidecar, image: s:2}]}}}}",
        },
        Case {
            name: "patch order of containers",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: sidecar}, {name: new, image: n}, {name: app}]}}}}",
        },
        Case {
            name: "delete a container",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: sidecar, $patch: delete}]}}}}",
        },
        Case {
            name: "replace the container list",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{$patch: replace}, {name: only, image: o}]}}}}",
        },
        Case {
            name: "element replace replaces the whole list",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: other, image: o}, {name: app, image: x, $patch: replace}]}}}}",
        },
        Case {
            name: "env change, add, delete",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: app, env: [{name: C, value: '3'}, {name: A, value: null, valueFrom: {secretKeyRef: {name: s, key: a}}}, {name: B, $patch: delete}]}]}}}}",
        },
        Case {
            name: "ports match on containerPort alone",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: app, ports: [{containerPort: 53, protocol: TCP}, {containerPort: 9090}]}]}}}}",
        },
        Case {
            name: "volumeMounts by mountPath, volumes by name",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{name: app, volumeMounts: [{mountPath: /data, readOnly: true}, {name: c, mountPath: /c}]}], volumes: [{name: config, configMap: null, secret: {secretName: s}}, {name: c, emptyDir: {}}]}}}}",
        },
        Case {
            name: "tolerations replaced",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {tolerations: [{key: b, operator: Exists}]}}}}",
        },
        Case {
            name: "labels merge, null deletes",
            base: DEPLOYMENT,
            patch: "{metadata: {labels: {tier: null, env: prod}, annotations: {a: b}}}",
        },
        Case {
            name: "null deletes scalars, maps and lists",
            base: DEPLOYMENT,
            patch: "{spec: {replicas: null, strategy: null, template: {spec: {tolerations: null}}}}",
        },
        Case {
            name: "finalizers ordered set",
            base: DEPLOYMENT,
            patch: "{metadata: {finalizers: [example.com/c, example.com/b]}}",
        },
        Case {
            name: "ownerReferences by uid",
            base: DEPLOYMENT,
            patch: "{metadata: {ownerReferences: [{apiVersion: v1, kind: Secret, name: s, uid: u-2}, {uid: u-1, controller: true}]}}",
        },
        Case {
            name: "replace a map",
            base: DEPLOYMENT,
            patch: "{spec: {strategy: {$patch: replace, type: Recreate}}}",
        },
        Case {
            name: "delete a map leaves an empty one",
            base: DEPLOYMENT,
            patch: "{spec: {strategy: {$patch: delete}}}",
        },
        Case {
            name: "retainKeys drops the other fields",
            base: DEPLOYMENT,
            patch: "{spec: {strategy: {$retainKeys: [type], type: Recreate}}}",
        },
        Case {
            name: "retainKeys must list every patched field",
            base: DEPLOYMENT,
            patch: "{spec: {strategy: {$retainKeys: [type], type: Recreate, rollingUpdate: {maxSurge: 2}}}}",
        },
        Case {
            name: "deleteFromPrimitiveList",
            base: DEPLOYMENT,
            patch: "{metadata: {$deleteFromPrimitiveList/finalizers: [example.com/a], finalizers: [example.com/z]}}",
        },
        Case {
            name: "setElementOrder of containers",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {$setElementOrder/containers: [{name: sidecar}, {name: new}, {name: app}], containers: [{name: new, image: n}]}}}}",
        },
        Case {
            name: "setElementOrder of finalizers with deletion",
            base: DEPLOYMENT,
            patch: "{metadata: {$setElementOrder/finalizers: [example.com/c, example.com/a], $deleteFromPrimitiveList/finalizers: [example.com/b], finalizers: [example.com/c]}}",
        },
        Case {
            name: "setElementOrder that contradicts the patch",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {$setElementOrder/containers: [{name: app}, {name: sidecar}], containers: [{name: sidecar}, {name: app}]}}}}",
        },
        Case {
            name: "unknown directive",
            base: DEPLOYMENT,
            patch: "{spec: {strategy: {$patch: explode}}}",
        },
        Case {
            name: "list element without merge key",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {containers: [{image: nameless}]}}}}",
        },
        Case {
            name: "map patched onto a list takes the patch",
            base: DEPLOYMENT,
            patch: "{spec: {template: {spec: {tolerations: {key: a}}}}}",
        },
        Case {
            name: "PodDisruptionBudget selector is replaced",
            base: r#"
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: a}}
"#,
            patch: "{spec: {selector: {matchLabels: {tier: b}}}}",
        },
        Case {
            name: "Service ports by port",
            base: r#"
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  ports:
  - {port: 80, targetPort: 8080, name: http}
  - {port: 53, protocol: UDP, name: dns}
"#,
            patch: "{spec: {ports: [{port: 443, name: https}, {port: 53, protocol: TCP}]}}",
        },
        Case {
            name: "Pod scheduling gates and status conditions",
            base: r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  schedulingGates: [{name: a}]
  containers: [{name: c, image: c}]
status:
  conditions: [{type: Ready, status: "False"}, {type: PodScheduled, status: "True"}]
"#,
            patch: "{spec: {schedulingGates: [{name: b}]}, status: {conditions: [{type: Ready, status: 'True'}]}}",
        },
        Case {
            name: "Node podCIDRs and addresses",
            base: r#"
apiVersion: v1
kind: Node
metadata: {name: n}
spec: {podCIDRs: [10.0.0.0/24]}
status:
  addresses: [{type: InternalIP, address: 10.1.1.1}]
"#,
            patch: "{spec: {podCIDRs: [10.0.1.0/24]}, status: {addresses: [{type: Hostname, address: n}]}}",
        },
        Case {
            name: "ConfigMap data",
            base: "{apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {a: '1', b: '2'}}",
            patch: "{data: {b: null, c: '3'}}",
        },
        Case {
            name: "ClusterRole rules replaced",
            base: "{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}, rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]}",
            patch: "{rules: [{apiGroups: [apps], resources: [deployments], verbs: [list]}]}",
        },
        Case {
            name: "ServiceAccount secrets merge",
            base: "{apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}, secrets: [{name: s1}], imagePullSecrets: [{name: p1}]}",
            patch: "{secrets: [{name: s2}], imagePullSecrets: [{name: p2}]}",
        },
        Case {
            name: "CronJob job template",
            base: "{apiVersion: batch/v1, kind: CronJob, metadata: {name: cj}, spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: a}]}}}}}}",
            patch: "{spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: b, image: b}]}}}}}}",
        },
    ]
}

#[test]
fn api_server_flavor_matches_kubectl_patch() {
    compare(
        &cases(),
        |base, patch| {
            strategic_merge_builtin(base, patch, Flavor::ApiServer)
                .map(Some)
                .map_err(|e| e.to_string())
        },
        |base, patch| patch_local(base, patch).map(Some),
    );
}
