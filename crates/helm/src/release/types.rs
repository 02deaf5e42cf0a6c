//! Helm v4's release JSON (`release/v1.Release`, `Info`, `Hook`,
//! `HookExecution`, `common.Status`), field for field in Go's order and with
//! Go's emptiness rules, so that encoding writes what Helm writes. Every
//! struct keeps the fields it does not know in `extra`, so a record from a
//! newer Helm survives a decode and re-encode.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chart::Chart;
use super::serde_go::{GoTime, nullable, time_opt};

/// One revision of a release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Release name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Status, times, description and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Info>,
    /// The chart that was released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// The user-supplied values (what `helm get values` shows).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Map::is_empty"
    )]
    pub config: Map<String, Value>,
    /// The rendered manifest, hooks excluded.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub manifest: String,
    /// The chart's hooks.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hooks: Vec<Hook>,
    /// The revision, from 1.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub version: i64,
    /// The release's namespace.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace: String,
    /// `ssa` or `csa` (empty: client-side apply), Helm v4.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub apply_method: String,
    /// Fields this version does not know, kept for a lossless round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Release {
    /// The status, `None` when the record has no `info` or no status.
    pub fn status(&self) -> Option<&Status> {
        self.info.as_ref().and_then(|i| i.status.as_ref())
    }

    /// Sets the status and the description, as Helm's `SetStatus`.
    pub fn set_status(&mut self, status: Status, description: impl Into<String>) {
        let info = self.info.get_or_insert_with(Info::default);
        info.status = Some(status);
        info.description = description.into();
    }

    /// Marks this revision superseded by a newer one, keeping its
    /// description, as Helm's upgrade and rollback do to the previous
    /// deployed revision.
    pub fn supersede(&mut self) {
        self.info.get_or_insert_with(Info::default).status = Some(Status::Superseded);
    }

    /// The chart's name from its metadata, if stored.
    pub fn chart_name(&self) -> Option<&str> {
        self.chart_metadata().map(|m| m.name.as_str())
    }

    /// The chart's version from its metadata, if stored.
    pub fn chart_version(&self) -> Option<&str> {
        self.chart_metadata().map(|m| m.version.as_str())
    }

    fn chart_metadata(&self) -> Option<&super::chart::Metadata> {
        self.chart.as_ref().and_then(|c| c.metadata.as_ref())
    }
}

/// What happened to a revision and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// When the release was first deployed (revision 1's time, carried on).
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_deployed: Option<GoTime>,
    /// When this revision was deployed.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_deployed: Option<GoTime>,
    /// When the release was uninstalled.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted: Option<GoTime>,
    /// Human-readable log entry ("Install complete", "Rollback to 1", ...).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// The revision's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The revision a rollback went back to (Helm after 4.2; 0: not a rollback).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub rollback_revision: i64,
    /// Rendered `NOTES.txt`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub notes: String,
    /// The deployed resources by kind (as `helm status --show-resources`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Map::is_empty"
    )]
    pub resources: Map<String, Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A hook resource of the release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// The resource's name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// The resource's kind.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub kind: String,
    /// The template it came from, e.g. `demo/templates/job.yaml`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub path: String,
    /// The rendered resource.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub manifest: String,
    /// Events it runs on (`pre-install`, `post-upgrade`, `test`, ...).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub events: Vec<String>,
    /// Its last run (always written, as Go does).
    #[serde(default, deserialize_with = "nullable")]
    pub last_run: HookExecution,
    /// `helm.sh/hook-weight`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy` entries.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub output_log_policies: Vec<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// When a hook last ran and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookExecution {
    /// Start time.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<GoTime>,
    /// Completion time.
    #[serde(
        default,
        deserialize_with = "time_opt::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<GoTime>,
    /// `Unknown`, `Running`, `Succeeded`, `Failed` (or empty: never ran).
    #[serde(default, deserialize_with = "nullable")]
    pub phase: String,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A release's status (Helm's `common.Status`); a status this version does
/// not know is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Status {
    /// `unknown`.
    Unknown,
    /// `deployed`.
    Deployed,
    /// `uninstalled`.
    Uninstalled,
    /// `superseded`.
    Superseded,
    /// `failed`.
    Failed,
    /// `uninstalling`.
    Uninstalling,
    /// `pending-install`.
    PendingInstall,
    /// `pending-upgrade`.
    PendingUpgrade,
    /// `pending-rollback`.
    PendingRollback,
    /// Any other text.
    Other(String),
}

impl Status {
    /// The status as Helm writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Other(s) => s,
        }
    }

    /// Whether an install, upgrade or rollback is under way (Helm refuses
    /// another operation on the release meanwhile).
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl From<String> for Status {
    fn from(s: String) -> Self {
        match s.as_str() {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            _ => Status::Other(s),
        }
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Self {
        Status::from(s.to_owned())
    }
}

impl From<Status> for String {
    fn from(s: Status) -> Self {
        match s {
            Status::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::codec::{from_json, to_json};

    /// Every field Helm v4 writes, in Go's order, plus a field unknown to
    /// this version at each level: decoding and encoding gives the same bytes.
    const FULL: &str = concat!(
        r#"{"name":"web","info":{"first_deployed":"2026-01-02T03:04:05.123456789Z","#,
        r#""last_deployed":"2026-01-02T04:04:05+01:00","deleted":"2026-01-03T00:00:00Z","#,
        r#""description":"Upgrade complete","status":"deployed","rollback_revision":2,"#,
        r#""notes":"a \u003c b","resources":{"v1/ConfigMap":[{"kind":"ConfigMap"}]},"#,
        r#""future_info":1},"#,
        r#""chart":{"metadata":{"name":"web","home":"https://h","sources":["s"],"#,
        r#""version":"1.2.3","description":"d","keywords":["k"],"#,
        r#""maintainers":[{"name":"m","email":"e@x","url":"u","future_m":true}],"#,
        r#""icon":"i","apiVersion":"v2","condition":"c","tags":"t","appVersion":"9","#,
        r#""deprecated":true,"annotations":{"a":"b"},"kubeVersion":"\u003e=1.20","#,
        r#""dependencies":[{"name":"sub","version":"0.1.0","repository":"file://sub","#,
        r#""condition":"sub.enabled","tags":["x"],"enabled":true,"#,
        r#""import-values":["data",{"child":"c","parent":"p"}],"alias":"s2","future_d":0}],"#,
        r#""type":"application","future_md":"x"},"#,
        r#""lock":{"generated":"2026-01-01T00:00:00Z","digest":"sha256:ab","#,
        r#""dependencies":[{"name":"sub","version":"0.1.0","repository":"file://sub"}],"future_l":[]},"#,
        r#""templates":[{"name":"templates/cm.yaml","data":"YQ==","modtime":"2026-01-01T00:00:00.5Z","future_f":1},"#,
        r#"{"name":"templates/empty.yaml","data":""},{"name":"templates/nil.yaml","data":null}],"#,
        r#""values":{"a":{"b":[1,2.5,"x",null,true]},"big":1e+21},"#,
        r#""schema":"e30=","schemamodtime":"0001-01-01T00:00:00Z","#,
        r#""files":[{"name":"README.md","data":"aGk="}],"modtime":"2026-01-01T00:00:00Z","future_c":{}},"#,
        r#""config":{"replicas":3},"manifest":"---\n# Source: web/templates/cm.yaml\n","#,
        r#""hooks":[{"name":"h","kind":"Job","path":"web/templates/h.yaml","manifest":"m","#,
        r#""events":["pre-install","post-upgrade"],"#,
        r#""last_run":{"started_at":"2026-01-01T00:00:00Z","completed_at":"2026-01-01T00:00:01Z","#,
        r#""phase":"Succeeded","future_r":2},"weight":-5,"#,
        r#""delete_policies":["before-hook-creation"],"output_log_policies":["hook-failed"],"#,
        r#""future_h":"y"},{"name":"never-ran","last_run":{"phase":""}}],"#,
        r#""version":4,"namespace":"apps","apply_method":"ssa","future_release":{"z":1}}"#
    );

    #[test]
    fn every_field_and_unknown_ones_round_trip_byte_for_byte() {
        let release = from_json(FULL.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(to_json(&release).unwrap()).unwrap(), FULL);

        let info = release.info.as_ref().unwrap();
        assert_eq!(info.status, Some(Status::Deployed));
        assert_eq!(info.rollback_revision, 2);
        assert_eq!(info.notes, "a < b");
        assert_eq!(info.extra["future_info"], 1);
        let chart = release.chart.as_ref().unwrap();
        let md = chart.metadata.as_ref().unwrap();
        assert_eq!(
            (md.name.as_str(), md.kube_version.as_str()),
            ("web", ">=1.20")
        );
        assert_eq!(md.dependencies[0].import_values.len(), 2);
        let templates = chart.templates.as_ref().unwrap();
        assert_eq!(templates[0].data.as_deref(), Some(&b"a"[..]));
        assert_eq!(templates[1].data.as_deref(), Some(&b""[..]));
        assert_eq!(templates[2].data, None);
        assert_eq!(chart.schema.as_deref(), Some(&b"{}"[..]));
        assert_eq!(release.hooks[0].weight, -5);
        assert_eq!(release.hooks[0].last_run.phase, "Succeeded");
        assert_eq!(release.extra["future_release"]["z"], 1);
        assert_eq!(release.chart_name(), Some("web"));
        assert_eq!(release.chart_version(), Some("1.2.3"));
    }

    #[test]
    fn nulls_and_empty_times_read_as_go_reads_them() {
        let release = from_json(
            br#"{"name":null,"config":null,"hooks":null,"version":null,
                 "info":{"first_deployed":"","status":null,"last_deployed":null},
                 "chart":{"metadata":null,"templates":null,"values":null,"schema":null,
                          "schemamodtime":null,"files":null,"lock":null}}"#,
        )
        .unwrap();
        assert_eq!(release.name, "");
        assert_eq!(release.version, 0);
        let info = release.info.as_ref().unwrap();
        assert_eq!(
            (info.first_deployed.as_ref(), info.status.as_ref()),
            (None, None)
        );
        // Go writes a chart's nil slices and maps as null and its zero schema
        // time in full: the re-encoding says what Helm would.
        assert_eq!(
            String::from_utf8(to_json(&release).unwrap()).unwrap(),
            concat!(
                r#"{"info":{},"chart":{"metadata":null,"lock":null,"templates":null,"#,
                r#""values":null,"schema":null,"schemamodtime":"0001-01-01T00:00:00Z","files":null}}"#
            )
        );
    }

    #[test]
    fn wrong_types_are_errors() {
        for bad in [
            r#"{"version":"1"}"#,
            r#"{"info":{"status":3}}"#,
            r#"{"chart":{"templates":[{"name":"t","data":"%%"}]}}"#,
            r#"{"hooks":{}}"#,
            r#"[]"#,
        ] {
            assert!(
                from_json(bad.as_bytes()).is_err(),
                "{bad} should not decode"
            );
        }
    }

    #[test]
    fn statuses_parse_and_print_as_helm_writes_them() {
        for s in [
            "unknown",
            "deployed",
            "uninstalled",
            "superseded",
            "failed",
            "uninstalling",
            "pending-install",
            "pending-upgrade",
            "pending-rollback",
            "from-the-future",
        ] {
            let status = Status::from(s);
            assert_eq!(status.to_string(), s);
            assert_eq!(String::from(status.clone()), s);
            assert_eq!(status.is_pending(), s.starts_with("pending-"));
        }
        assert_eq!(
            Status::from("from-the-future"),
            Status::Other("from-the-future".into())
        );
        let mut r = Release::default();
        r.set_status(Status::Failed, "boom");
        assert_eq!(r.status(), Some(&Status::Failed));
        assert_eq!(r.info.as_ref().unwrap().description, "boom");
        r.supersede();
        assert_eq!(r.status(), Some(&Status::Superseded));
        assert_eq!(r.info.as_ref().unwrap().description, "boom");
    }
}
