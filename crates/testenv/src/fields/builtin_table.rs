//! How the lists and maps of built-in kinds merge: the facts of the Kubernetes OpenAPI
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`,
//! defaults of list keys) for the preferred version of each built-in kind, reduced to the
//! fields on the way to something that is not the default (lists atomic, maps granular).
//!
//! Derived from the structured-merge-diff schema Kubernetes publishes for its built-in
//! types (client-go `applyconfigurations/internal`, apiextensions-apiserver for
//! CustomResourceDefinition). Format, one line each:
//!
//! - `root <group or ""> <Kind> <type>`
//! - `type <name> [atomic]`, then its fields indented: `<field> <how>` where `<how>` is
//!   a type name, `[set]`, `[map:key[=default],...] [element type]`, `{atomic}` (atomic
//!   map) or `{entries} [element type]` (a map of free-form keys).

pub(super) const TABLE: &str = r#"
root "" ConfigMap core.v1.ConfigMap
root "" Endpoints core.v1.Endpoints
root "" Event core.v1.Event
root "" LimitRange core.v1.LimitRange
root "" Namespace core.v1.Namespace
root "" Node core.v1.Node
root "" PersistentVolume core.v1.PersistentVolume
root "" PersistentVolumeClaim core.v1.PersistentVolumeClaim
root "" Pod core.v1.Pod
root "" PodTemplate core.v1.PodTemplate
root "" ReplicationController core.v1.ReplicationController
root "" ResourceQuota core.v1.ResourceQuota
root "" Secret core.v1.Secret
root "" Service core.v1.Service
root "" ServiceAccount core.v1.ServiceAccount
root admissionregistration.k8s.io MutatingAdmissionPolicy admissionregistration.v1.MutatingAdmissionPolicy
root admissionregistration.k8s.io MutatingAdmissionPolicyBinding admissionregistration.v1.MutatingAdmissionPolicyBinding
root admissionregistration.k8s.io MutatingWebhookConfiguration admissionregistration.v1.MutatingWebhookConfiguration
root admissionregistration.k8s.io ValidatingAdmissionPolicy admissionregistration.v1.ValidatingAdmissionPolicy
root admissionregistration.k8s.io ValidatingAdmissionPolicyBinding admissionregistration.v1.ValidatingAdmissionPolicyBinding
root admissionregistration.k8s.io ValidatingWebhookConfiguration admissionregistration.v1.ValidatingWebhookConfiguration
root apiextensions.k8s.io CustomResourceDefinition apiextensions.v1.CustomResourceDefinition
root apps ControllerRevision apps.v1.ControllerRevision
root apps DaemonSet apps.v1.DaemonSet
root apps Deployment apps.v1.Deployment
root apps ReplicaSet apps.v1.ReplicaSet
root apps StatefulSet apps.v1.StatefulSet
root autoscaling HorizontalPodAutoscaler autoscaling.v2.HorizontalPodAutoscaler
root batch CronJob batch.v1.CronJob
root batch Job batch.v1.Job
root certificates.k8s.io CertificateSigningRequest certificates.v1.CertificateSigningRequest
root certificates.k8s.io ClusterTrustBundle certificates.v1.ClusterTrustBundle
root certificates.k8s.io PodCertificateRequest certificates.v1.PodCertificateRequest
root coordination.k8s.io Lease coordination.v1.Lease
root discovery.k8s.io EndpointSlice discovery.v1.EndpointSlice
root events.k8s.io Event events.v1.Event
root networking.k8s.io IPAddress networking.v1.IPAddress
root networking.k8s.io Ingress networking.v1.Ingress
root networking.k8s.io IngressClass networking.v1.IngressClass
root networking.k8s.io NetworkPolicy networking.v1.NetworkPolicy
root networking.k8s.io ServiceCIDR networking.v1.ServiceCIDR
root node.k8s.io RuntimeClass node.v1.RuntimeClass
root policy PodDisruptionBudget policy.v1.PodDisruptionBudget
root rbac.authorization.k8s.io ClusterRole rbac.v1.ClusterRole
root rbac.authorization.k8s.io ClusterRoleBinding rbac.v1.ClusterRoleBinding
root rbac.authorization.k8s.io Role rbac.v1.Role
root rbac.authorization.k8s.io RoleBinding rbac.v1.RoleBinding
root scheduling.k8s.io PriorityClass scheduling.v1.PriorityClass
root storage.k8s.io CSIDriver storage.v1.CSIDriver
root storage.k8s.io CSINode storage.v1.CSINode
root storage.k8s.io CSIStorageCapacity storage.v1.CSIStorageCapacity
root storage.k8s.io StorageClass storage.v1.StorageClass
root storage.k8s.io VolumeAttachment storage.v1.VolumeAttachment
root storage.k8s.io VolumeAttributesClass storage.v1.VolumeAttributesClass
type apiextensions.v1.CustomResourceDefinition
  metadata meta.v1.ObjectMeta
  status apiextensions.v1.CustomResourceDefinitionStatus
type apiextensions.v1.CustomResourceDefinitionStatus
  conditions [map:type=""]
type generic
  metadata meta.v1.ObjectMeta
type admissionregistration.v1.MatchResources atomic
type admissionregistration.v1.MutatingAdmissionPolicy
  metadata meta.v1.ObjectMeta
  spec admissionregistration.v1.MutatingAdmissionPolicySpec
type admissionregistration.v1.MutatingAdmissionPolicyBinding
  metadata meta.v1.ObjectMeta
  spec admissionregistration.v1.MutatingAdmissionPolicyBindingSpec
type admissionregistration.v1.MutatingAdmissionPolicyBindingSpec
  matchResources admissionregistration.v1.MatchResources
  paramRef admissionregistration.v1.ParamRef
type admissionregistration.v1.MutatingAdmissionPolicySpec
  matchConditions [map:name=""]
  matchConstraints admissionregistration.v1.MatchResources
  paramKind admissionregistration.v1.ParamKind
type admissionregistration.v1.MutatingWebhook
  matchConditions [map:name=""]
  namespaceSelector meta.v1.LabelSelector
  objectSelector meta.v1.LabelSelector
type admissionregistration.v1.MutatingWebhookConfiguration
  metadata meta.v1.ObjectMeta
  webhooks [map:name=""] admissionregistration.v1.MutatingWebhook
type admissionregistration.v1.ParamKind atomic
type admissionregistration.v1.ParamRef atomic
type admissionregistration.v1.ValidatingAdmissionPolicy
  metadata meta.v1.ObjectMeta
  spec admissionregistration.v1.ValidatingAdmissionPolicySpec
  status admissionregistration.v1.ValidatingAdmissionPolicyStatus
type admissionregistration.v1.ValidatingAdmissionPolicyBinding
  metadata meta.v1.ObjectMeta
  spec admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec
type admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec
  matchResources admissionregistration.v1.MatchResources
  paramRef admissionregistration.v1.ParamRef
  validationActions [set]
type admissionregistration.v1.ValidatingAdmissionPolicySpec
  matchConditions [map:name=""]
  matchConstraints admissionregistration.v1.MatchResources
  paramKind admissionregistration.v1.ParamKind
  variables [map:name=""] admissionregistration.v1.Variable
type admissionregistration.v1.ValidatingAdmissionPolicyStatus
  conditions [map:type=""]
type admissionregistration.v1.ValidatingWebhook
  matchConditions [map:name=""]
  namespaceSelector meta.v1.LabelSelector
  objectSelector meta.v1.LabelSelector
type admissionregistration.v1.ValidatingWebhookConfiguration
  metadata meta.v1.ObjectMeta
  webhooks [map:name=""] admissionregistration.v1.ValidatingWebhook
type admissionregistration.v1.Variable atomic
type apps.v1.ControllerRevision
  metadata meta.v1.ObjectMeta
type apps.v1.DaemonSet
  metadata meta.v1.ObjectMeta
  spec apps.v1.DaemonSetSpec
  status apps.v1.DaemonSetStatus
type apps.v1.DaemonSetSpec
  selector meta.v1.LabelSelector
  template core.v1.PodTemplateSpec
type apps.v1.DaemonSetStatus
  conditions [map:type=""]
type apps.v1.Deployment
  metadata meta.v1.ObjectMeta
  spec apps.v1.DeploymentSpec
  status apps.v1.DeploymentStatus
type apps.v1.DeploymentSpec
  selector meta.v1.LabelSelector
  template core.v1.PodTemplateSpec
type apps.v1.DeploymentStatus
  conditions [map:type=""]
type apps.v1.ReplicaSet
  metadata meta.v1.ObjectMeta
  spec apps.v1.ReplicaSetSpec
  status apps.v1.ReplicaSetStatus
type apps.v1.ReplicaSetSpec
  selector meta.v1.LabelSelector
  template core.v1.PodTemplateSpec
type apps.v1.ReplicaSetStatus
  conditions [map:type=""]
type apps.v1.StatefulSet
  metadata meta.v1.ObjectMeta
  spec apps.v1.StatefulSetSpec
  status apps.v1.StatefulSetStatus
type apps.v1.StatefulSetSpec
  selector meta.v1.LabelSelector
  template core.v1.PodTemplateSpec
type apps.v1.StatefulSetStatus
  conditions [map:type=""]
type autoscaling.v2.HorizontalPodAutoscaler
  metadata meta.v1.ObjectMeta
  status autoscaling.v2.HorizontalPodAutoscalerStatus
type autoscaling.v2.HorizontalPodAutoscalerStatus
  conditions [map:type=""]
type batch.v1.CronJob
  metadata meta.v1.ObjectMeta
  spec batch.v1.CronJobSpec
type batch.v1.CronJobSpec
  jobTemplate batch.v1.JobTemplateSpec
type batch.v1.Job
  metadata meta.v1.ObjectMeta
  spec batch.v1.JobSpec
  status batch.v1.JobStatus
type batch.v1.JobSchedulingConfiguration
  resourceClaims [map:name=""]
type batch.v1.JobSpec
  scheduling batch.v1.JobSchedulingConfiguration
  selector meta.v1.LabelSelector
  template core.v1.PodTemplateSpec
type batch.v1.JobStatus
  uncountedTerminatedPods batch.v1.UncountedTerminatedPods
type batch.v1.JobTemplateSpec
  metadata meta.v1.ObjectMeta
  spec batch.v1.JobSpec
type batch.v1.UncountedTerminatedPods
  failed [set]
  succeeded [set]
type certificates.v1.CertificateSigningRequest
  metadata meta.v1.ObjectMeta
  spec certificates.v1.CertificateSigningRequestSpec
  status certificates.v1.CertificateSigningRequestStatus
type certificates.v1.CertificateSigningRequestSpec
  extra {entries}
type certificates.v1.CertificateSigningRequestStatus
  conditions [map:type=""]
type certificates.v1.ClusterTrustBundle
  metadata meta.v1.ObjectMeta
type certificates.v1.PodCertificateRequest
  metadata meta.v1.ObjectMeta
  status certificates.v1.PodCertificateRequestStatus
type certificates.v1.PodCertificateRequestStatus
  conditions [map:type=""]
type coordination.v1.Lease
  metadata meta.v1.ObjectMeta
type core.v1.Affinity
  nodeAffinity core.v1.NodeAffinity
type core.v1.CSIPersistentVolumeSource
  controllerExpandSecretRef core.v1.SecretReference
  controllerPublishSecretRef core.v1.SecretReference
  nodeExpandSecretRef core.v1.SecretReference
  nodePublishSecretRef core.v1.SecretReference
  nodeStageSecretRef core.v1.SecretReference
type core.v1.CSIVolumeSource
  nodePublishSecretRef core.v1.LocalObjectReference
type core.v1.CephFSPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.CephFSVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.CinderPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.CinderVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.ConfigMap
  metadata meta.v1.ObjectMeta
type core.v1.ConfigMapKeySelector atomic
type core.v1.Container
  env [map:name=""] core.v1.EnvVar
  ports [map:containerPort=0,protocol="TCP"]
  resources core.v1.ResourceRequirements
  volumeDevices [map:devicePath=""]
  volumeMounts [map:mountPath=""] core.v1.VolumeMount
type core.v1.Endpoints
  metadata meta.v1.ObjectMeta
type core.v1.EnvVar
  valueFrom core.v1.EnvVarSource
type core.v1.EnvVarSource
  configMapKeyRef core.v1.ConfigMapKeySelector
  fieldRef core.v1.ObjectFieldSelector
  fileKeyRef core.v1.FileKeySelector
  resourceFieldRef core.v1.ResourceFieldSelector
  secretKeyRef core.v1.SecretKeySelector
type core.v1.EphemeralContainer
  env [map:name=""] core.v1.EnvVar
  ports [map:containerPort=0,protocol="TCP"]
  resources core.v1.ResourceRequirements
  volumeDevices [map:devicePath=""]
  volumeMounts [map:mountPath=""] core.v1.VolumeMount
type core.v1.EphemeralVolumeSource
  volumeClaimTemplate core.v1.PersistentVolumeClaimTemplate
type core.v1.Event
  involvedObject core.v1.ObjectReference
  metadata meta.v1.ObjectMeta
  related core.v1.ObjectReference
type core.v1.EvictionResponder atomic
type core.v1.FileKeySelector atomic
type core.v1.FlexPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.FlexVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.ISCSIPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.ISCSIVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.LimitRange
  metadata meta.v1.ObjectMeta
type core.v1.LocalObjectReference atomic
type core.v1.Namespace
  metadata meta.v1.ObjectMeta
  status core.v1.NamespaceStatus
type core.v1.NamespaceStatus
  conditions [map:type=""]
type core.v1.Node
  metadata meta.v1.ObjectMeta
  spec core.v1.NodeSpec
  status core.v1.NodeStatus
type core.v1.NodeAffinity
  requiredDuringSchedulingIgnoredDuringExecution core.v1.NodeSelector
type core.v1.NodeAllocatableResourceClaimStatus
  containers [set]
  mapping [map:name=""]
  overhead [map:name=""]
type core.v1.NodePodPreemptionPolicy
  disableResizePreemption [set]
type core.v1.NodeSelector atomic
type core.v1.NodeSpec
  podCIDRs [set]
  podPreemptionPolicy core.v1.NodePodPreemptionPolicy
type core.v1.NodeStatus
  addresses [map:type=""]
  allocatable {entries}
  capacity {entries}
  conditions [map:type=""]
type core.v1.ObjectFieldSelector atomic
type core.v1.ObjectReference atomic
type core.v1.PersistentVolume
  metadata meta.v1.ObjectMeta
  spec core.v1.PersistentVolumeSpec
type core.v1.PersistentVolumeClaim
  metadata meta.v1.ObjectMeta
  spec core.v1.PersistentVolumeClaimSpec
  status core.v1.PersistentVolumeClaimStatus
type core.v1.PersistentVolumeClaimSpec
  dataSource core.v1.TypedLocalObjectReference
  resources core.v1.VolumeResourceRequirements
  selector meta.v1.LabelSelector
type core.v1.PersistentVolumeClaimStatus
  allocatedResources {entries}
  capacity {entries}
  conditions [map:type=""]
  healthStatus core.v1.VolumeHealthStatus
type core.v1.PersistentVolumeClaimTemplate
  metadata meta.v1.ObjectMeta
  spec core.v1.PersistentVolumeClaimSpec
type core.v1.PersistentVolumeSpec
  capacity {entries}
  cephfs core.v1.CephFSPersistentVolumeSource
  cinder core.v1.CinderPersistentVolumeSource
  claimRef core.v1.ObjectReference
  csi core.v1.CSIPersistentVolumeSource
  flexVolume core.v1.FlexPersistentVolumeSource
  iscsi core.v1.ISCSIPersistentVolumeSource
  nodeAffinity core.v1.VolumeNodeAffinity
  rbd core.v1.RBDPersistentVolumeSource
  scaleIO core.v1.ScaleIOPersistentVolumeSource
  storageos core.v1.StorageOSPersistentVolumeSource
type core.v1.Pod
  metadata meta.v1.ObjectMeta
  spec core.v1.PodSpec
  status core.v1.PodStatus
type core.v1.PodSpec
  affinity core.v1.Affinity
  containers [map:name=""] core.v1.Container
  ephemeralContainers [map:name=""] core.v1.EphemeralContainer
  evictionResponders [map:name=""] core.v1.EvictionResponder
  hostAliases [map:ip=""]
  imagePullSecrets [map:name=""] core.v1.LocalObjectReference
  initContainers [map:name=""] core.v1.Container
  nodeSelector {atomic}
  overhead {entries}
  resourceClaims [map:name=""]
  resources core.v1.ResourceRequirements
  schedulingGates [map:name=""]
  topologySpreadConstraints [map:topologyKey="",whenUnsatisfiable=""] core.v1.TopologySpreadConstraint
  volumes [map:name=""] core.v1.Volume
type core.v1.PodStatus
  allocatedResources {entries}
  conditions [map:type=""]
  nodeAllocatableResourceClaimStatuses [map:resourceClaimName=""] core.v1.NodeAllocatableResourceClaimStatus
  podIPs [map:ip=""]
  resourceClaimStatuses [map:name=""]
  resources core.v1.ResourceRequirements
  volumeHealth [map:name=""] core.v1.PodVolumeHealth
type core.v1.PodTemplate
  metadata meta.v1.ObjectMeta
  template core.v1.PodTemplateSpec
type core.v1.PodTemplateSpec
  metadata meta.v1.ObjectMeta
  spec core.v1.PodSpec
type core.v1.PodVolumeHealth
  healthConditions [map:status="",reason=""]
type core.v1.RBDPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.RBDVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.ReplicationController
  metadata meta.v1.ObjectMeta
  spec core.v1.ReplicationControllerSpec
  status core.v1.ReplicationControllerStatus
type core.v1.ReplicationControllerSpec
  selector {atomic}
  template core.v1.PodTemplateSpec
type core.v1.ReplicationControllerStatus
  conditions [map:type=""]
type core.v1.ResourceFieldSelector atomic
type core.v1.ResourceQuota
  metadata meta.v1.ObjectMeta
  spec core.v1.ResourceQuotaSpec
  status core.v1.ResourceQuotaStatus
type core.v1.ResourceQuotaSpec
  hard {entries}
  scopeSelector core.v1.ScopeSelector
type core.v1.ResourceQuotaStatus
  hard {entries}
  used {entries}
type core.v1.ResourceRequirements
  claims [map:name=""]
  limits {entries}
  requests {entries}
type core.v1.ScaleIOPersistentVolumeSource
  secretRef core.v1.SecretReference
type core.v1.ScaleIOVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.ScopeSelector atomic
type core.v1.Secret
  metadata meta.v1.ObjectMeta
type core.v1.SecretKeySelector atomic
type core.v1.SecretReference atomic
type core.v1.Service
  metadata meta.v1.ObjectMeta
  spec core.v1.ServiceSpec
  status core.v1.ServiceStatus
type core.v1.ServiceAccount
  metadata meta.v1.ObjectMeta
  secrets [map:name] core.v1.ObjectReference
type core.v1.ServiceSpec
  ports [map:port=0,protocol="TCP"]
  selector {atomic}
type core.v1.ServiceStatus
  conditions [map:type=""]
type core.v1.StorageOSPersistentVolumeSource
  secretRef core.v1.ObjectReference
type core.v1.StorageOSVolumeSource
  secretRef core.v1.LocalObjectReference
type core.v1.TopologySpreadConstraint
  labelSelector meta.v1.LabelSelector
type core.v1.TypedLocalObjectReference atomic
type core.v1.Volume
  cephfs core.v1.CephFSVolumeSource
  cinder core.v1.CinderVolumeSource
  csi core.v1.CSIVolumeSource
  ephemeral core.v1.EphemeralVolumeSource
  flexVolume core.v1.FlexVolumeSource
  iscsi core.v1.ISCSIVolumeSource
  rbd core.v1.RBDVolumeSource
  scaleIO core.v1.ScaleIOVolumeSource
  storageos core.v1.StorageOSVolumeSource
type core.v1.VolumeHealthStatus
  healthConditions [map:status="",reason=""]
type core.v1.VolumeMount
  bindMountOptions [set]
type core.v1.VolumeNodeAffinity
  required core.v1.NodeSelector
type core.v1.VolumeResourceRequirements
  limits {entries}
  requests {entries}
type discovery.v1.EndpointSlice
  metadata meta.v1.ObjectMeta
type events.v1.Event
  metadata meta.v1.ObjectMeta
  regarding core.v1.ObjectReference
  related core.v1.ObjectReference
type networking.v1.IPAddress
  metadata meta.v1.ObjectMeta
type networking.v1.Ingress
  metadata meta.v1.ObjectMeta
  spec networking.v1.IngressSpec
type networking.v1.IngressBackend
  resource core.v1.TypedLocalObjectReference
  service networking.v1.IngressServiceBackend
type networking.v1.IngressClass
  metadata meta.v1.ObjectMeta
type networking.v1.IngressServiceBackend
  port networking.v1.ServiceBackendPort
type networking.v1.IngressSpec
  defaultBackend networking.v1.IngressBackend
type networking.v1.NetworkPolicy
  metadata meta.v1.ObjectMeta
  spec networking.v1.NetworkPolicySpec
type networking.v1.NetworkPolicySpec
  podSelector meta.v1.LabelSelector
type networking.v1.ServiceBackendPort atomic
type networking.v1.ServiceCIDR
  metadata meta.v1.ObjectMeta
  status networking.v1.ServiceCIDRStatus
type networking.v1.ServiceCIDRStatus
  conditions [map:type=""]
type node.v1.Overhead
  podFixed {entries}
type node.v1.RuntimeClass
  metadata meta.v1.ObjectMeta
  overhead node.v1.Overhead
  scheduling node.v1.Scheduling
type node.v1.Scheduling
  nodeSelector {atomic}
type policy.v1.PodDisruptionBudget
  metadata meta.v1.ObjectMeta
  spec policy.v1.PodDisruptionBudgetSpec
  status policy.v1.PodDisruptionBudgetStatus
type policy.v1.PodDisruptionBudgetSpec
  selector meta.v1.LabelSelector
type policy.v1.PodDisruptionBudgetStatus
  conditions [map:type=""]
  disruptedPods {entries}
type rbac.v1.ClusterRole
  metadata meta.v1.ObjectMeta
type rbac.v1.ClusterRoleBinding
  metadata meta.v1.ObjectMeta
  roleRef rbac.v1.RoleRef
type rbac.v1.Role
  metadata meta.v1.ObjectMeta
type rbac.v1.RoleBinding
  metadata meta.v1.ObjectMeta
  roleRef rbac.v1.RoleRef
type rbac.v1.RoleRef atomic
type scheduling.v1.PriorityClass
  metadata meta.v1.ObjectMeta
type storage.v1.CSIDriver
  metadata meta.v1.ObjectMeta
  spec storage.v1.CSIDriverSpec
type storage.v1.CSIDriverSpec
  volumeLifecycleModes [set]
type storage.v1.CSINode
  metadata meta.v1.ObjectMeta
  spec storage.v1.CSINodeSpec
  status storage.v1.CSINodeStatus
type storage.v1.CSINodeSpec
  drivers [map:name=""]
type storage.v1.CSINodeStatus
  storageHealth [map:name=""]
type storage.v1.CSIStorageCapacity
  metadata meta.v1.ObjectMeta
  nodeTopology meta.v1.LabelSelector
type storage.v1.StorageClass
  metadata meta.v1.ObjectMeta
type storage.v1.VolumeAttachment
  metadata meta.v1.ObjectMeta
  spec storage.v1.VolumeAttachmentSpec
type storage.v1.VolumeAttachmentSource
  inlineVolumeSpec core.v1.PersistentVolumeSpec
type storage.v1.VolumeAttachmentSpec
  source storage.v1.VolumeAttachmentSource
type storage.v1.VolumeAttributesClass
  metadata meta.v1.ObjectMeta
type meta.v1.LabelSelector atomic
type meta.v1.ObjectMeta
  finalizers [set]
  ownerReferences [map:uid=""] meta.v1.OwnerReference
type meta.v1.OwnerReference atomic
"#;
