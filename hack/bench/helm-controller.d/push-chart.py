#!/usr/bin/env python3
"""Writes the benchmark's chart (podinfo-like: a Deployment whose replicas come
from values, a Service, an Ingress when enabled) into WORKDIR, packages it with
the Helm SDK and pushes it with the SDK's registry client to REMOTE (plain HTTP),
as `helm package` and `helm push` do. Prints the chart's version.

Usage: push-chart.py WORKDIR REMOTE      (REMOTE: oci://host:port/path)
"""
import os
import sys

import helm_python as helm

VERSION = "6.7.0"
FILES = {
    "Chart.yaml": f"""apiVersion: v2
name: podinfo
version: {VERSION}
appVersion: {VERSION}
description: A podinfo-like chart for hack/bench/helm-controller
""",
    "values.yaml": """replicaCount: 1
image:
  repository: ghcr.io/stefanprodan/podinfo
  tag: ""
  pullPolicy: IfNotPresent
service:
  type: ClusterIP
  port: 9898
ingress:
  enabled: false
  className: ""
  host: podinfo.local
  path: /
resources:
  limits:
    cpu: 100m
    memory: 64Mi
  requests:
    cpu: 10m
    memory: 16Mi
""",
    "templates/_helpers.tpl": """{{- define "podinfo.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}
{{- define "podinfo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
{{- define "podinfo.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
""",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "podinfo.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "podinfo.selector" . | nindent 8 }}
    spec:
      containers:
        - name: podinfo
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: ["./podinfo", "--port={{ .Values.service.port }}"]
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
""",
    "templates/service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "podinfo.selector" . | nindent 4 }}
""",
    "templates/ingress.yaml": """{{- if .Values.ingress.enabled -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  rules:
    - host: {{ .Release.Name }}.{{ .Values.ingress.host }}
      http:
        paths:
          - path: {{ .Values.ingress.path }}
            pathType: ImplementationSpecific
            backend:
              service:
                name: {{ include "podinfo.fullname" . }}
                port:
                  number: {{ .Values.service.port }}
{{- end }}
""",
}


def main():
    work, remote = sys.argv[1], sys.argv[2]
    root = os.path.join(work, "podinfo")
    for path, text in FILES.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    archive = helm.package(root, destination=work)
    client = helm.RegistryClient(plain_http=True, credentials_file=os.path.join(work, "registry.json"))
    client.push(archive, remote)
    print(VERSION)


if __name__ == "__main__":
    main()
