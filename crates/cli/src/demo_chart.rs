//! The demo's Helm repository: an example chart embedded in the binary,
//! packaged as a `.tgz` with crates/helm when the demo starts, indexed, and
//! served from memory on loopback. No helm binary and nothing fetched from
//! the internet; the server answers only the two paths it was built with.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferroflux_helm::chart::{File, LoadLimits, load_files};
use sha2::{Digest, Sha256};

/// The example chart's name.
pub const CHART: &str = "greeter";
/// The example chart's version.
pub const VERSION: &str = "0.1.0";

/// The chart's files, by path inside the chart.
const FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: greeter\nversion: 0.1.0\nappVersion: \"6.7.0\"\ndescription: A web server that greets, installed by the Ferroflux demo\ntype: application\n",
    ),
    (
        "values.yaml",
        "replicaCount: 1\nimage:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: \"\"\nmessage: hello from a Helm chart\nservice:\n  port: 80\n",
    ),
    (
        "templates/_helpers.tpl",
        r#"{{- define "greeter.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
"#,
    ),
    (
        "templates/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "greeter.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "greeter.labels" . | nindent 8 }}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          env:
            - name: PODINFO_UI_MESSAGE
              value: {{ .Values.message | quote }}
          ports:
            - name: http
              containerPort: 9898
"#,
    ),
    (
        "templates/service.yaml",
        r#"apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "greeter.labels" . | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
"#,
    ),
];

/// The Flux objects that install the chart (`HELM_REPO_URL` replaced).
pub const FLUX_OBJECTS: &str = r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: demo-charts
  namespace: flux-system
spec:
  interval: 10m
  url: HELM_REPO_URL
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: greeter
  namespace: flux-system
spec:
  interval: 10m
  timeout: 2m
  targetNamespace: helm-demo
  releaseName: greeter
  install:
    createNamespace: true
  chart:
    spec:
      chart: greeter
      version: "0.1.x"
      interval: 10m
      sourceRef:
        kind: HelmRepository
        name: demo-charts
  values:
    message: hello from Ferroflux's helm-controller
"#;

/// Why the repository could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The embedded chart did not load or package (a bug in the demo).
    #[error("packaging the example chart: {0}")]
    Chart(String),
    /// The server could not start.
    #[error("starting the Helm repository server: {0}")]
    Serve(#[from] std::io::Error),
}

/// The repository's files: `index.yaml` and the packaged chart, by path.
pub fn repository_files() -> Result<BTreeMap<String, Vec<u8>>, RepoError> {
    let files = FILES
        .iter()
        .map(|(name, text)| File {
            name: (*name).to_string(),
            data: text.as_bytes().to_vec(),
        })
        .collect();
    let chart =
        load_files(files, &LoadLimits::default()).map_err(|e| RepoError::Chart(e.to_string()))?;
    let archive =
        ferroflux_helm::package::archive(&chart).map_err(|e| RepoError::Chart(e.to_string()))?;
    let digest = hex::encode(Sha256::digest(&archive));
    let file_name = format!("{CHART}-{VERSION}.tgz");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let created = ferroflux_gocompat::time::format_rfc3339(now).unwrap_or_default();
    let meta = &chart.metadata;
    let index = serde_json::json!({
        "apiVersion": "v1",
        "entries": {
            CHART: [{
                "apiVersion": meta.api_version,
                "name": meta.name,
                "version": meta.version,
                "appVersion": meta.app_version,
                "description": meta.description,
                "type": meta.chart_type,
                "created": created,
                "digest": digest,
                "urls": [file_name],
            }]
        },
        "generated": created,
    });
    let index = serde_yaml::to_string(&index).map_err(|e| RepoError::Chart(e.to_string()))?;
    Ok(BTreeMap::from([
        ("index.yaml".to_string(), index.into_bytes()),
        (file_name, archive),
    ]))
}

/// Serves `files` on a free loopback port until the runtime stops; returns
/// the repository URL. Any other path is a 404.
pub async fn serve(files: BTreeMap<String, Vec<u8>>) -> Result<String, RepoError> {
    let files = Arc::new(files);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let files = files.clone();
        async move {
            let path = uri.path().trim_start_matches('/');
            match files.get(path) {
                Some(body) => (axum::http::StatusCode::OK, body.clone()),
                None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_chart_loads_back_and_the_index_names_its_digest() {
        let files = repository_files().unwrap();
        let archive = &files[&format!("{CHART}-{VERSION}.tgz")];
        let chart = ferroflux_helm::chart::load_archive(archive, &LoadLimits::default()).unwrap();
        assert_eq!(chart.metadata.name, CHART);
        assert_eq!(chart.metadata.version, VERSION);
        let names: Vec<&str> = chart.templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "templates/_helpers.tpl",
                "templates/deployment.yaml",
                "templates/service.yaml"
            ]
        );
        let index: serde_json::Value = serde_yaml::from_slice(&files["index.yaml"]).unwrap();
        let entry = &index["entries"][CHART][0];
        assert_eq!(entry["digest"], hex::encode(Sha256::digest(archive)));
        assert_eq!(entry["urls"][0], format!("{CHART}-{VERSION}.tgz"));
        assert_eq!(entry["version"], VERSION);
    }

    #[tokio::test]
    async fn the_server_answers_only_its_files() {
        let url = serve(BTreeMap::from([("index.yaml".into(), b"x".to_vec())]))
            .await
            .unwrap();
        let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
        for (path, code) in [
            ("/index.yaml", "200"),
            ("/../index.yaml", "404"),
            ("/etc/passwd", "404"),
            ("/%2e%2e/index.yaml", "404"),
        ] {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            let got = response.split_whitespace().nth(1).unwrap_or_default();
            assert_eq!(got, code, "{path}: {response}");
        }
    }
}
