//! Which Alerts an event matches: event sources, severity and the
//! inclusion/exclusion lists, as Flux's Alert spec documents them.
//!
//! Matching is pure except for `matchLabels`, which needs the involved
//! object's labels; [`evaluate`] says when they are needed so the caller can
//! fetch them once per event.

use std::collections::BTreeMap;

use ferroflux_api::notification::v1::CrossNamespaceObjectReference;
use ferroflux_api::notification::v1beta3::{AlertSpec, EventSeverity};
use regex::Regex;

use crate::intake::{FluxEvent, Severity};

/// What an Alert's event sources say about an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// No source matches.
    Drop,
    /// A source matches outright.
    Match,
    /// Sources match if the involved object carries all labels of one of
    /// these sets.
    IfLabels(Vec<&'a BTreeMap<String, String>>),
}

/// Whether the Alert's `eventSeverity` lets an event of `severity` through:
/// `info` forwards everything, `error` only errors.
pub fn severity_allows(alert: EventSeverity, severity: Severity) -> bool {
    match alert {
        EventSeverity::Info => true,
        EventSeverity::Error => severity == Severity::Error,
    }
}

/// Whether one event source selects the event's object, not looking at
/// labels. A source without namespace means the Alert's namespace.
pub fn source_selects(
    event: &FluxEvent,
    alert_namespace: &str,
    source: &CrossNamespaceObjectReference,
) -> bool {
    let o = &event.involved_object;
    let namespace = source.namespace.as_deref().unwrap_or(alert_namespace);
    o.namespace == namespace
        && o.kind == source.kind.as_str()
        && (source.is_wildcard() || source.name == o.name)
}

/// Evaluates the event sources and severity of an Alert in
/// `alert_namespace` against `event`.
pub fn evaluate<'a>(event: &FluxEvent, alert_namespace: &str, spec: &'a AlertSpec) -> Decision<'a> {
    if !severity_allows(spec.event_severity, event.severity) {
        return Decision::Drop;
    }
    let mut label_sets = Vec::new();
    for source in &spec.event_sources {
        if !source_selects(event, alert_namespace, source) {
            continue;
        }
        if source.match_labels.is_empty() {
            return Decision::Match;
        }
        label_sets.push(&source.match_labels);
    }
    if label_sets.is_empty() {
        Decision::Drop
    } else {
        Decision::IfLabels(label_sets)
    }
}

/// Whether `labels` carries every key/value of `selector`.
pub fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// An Alert's compiled inclusion and exclusion lists.
#[derive(Debug, Default)]
pub struct MessageFilters {
    include: Vec<Regex>,
    /// Whether an inclusion list was given (even if none of it compiled:
    /// then nothing is included, as in Flux).
    has_include: bool,
    exclude: Vec<Regex>,
    /// Expressions that did not compile, with the error.
    pub invalid: Vec<String>,
}

impl MessageFilters {
    /// Compiles the lists of `spec`; expressions that do not compile are
    /// skipped and reported in `invalid`.
    pub fn compile(spec: &AlertSpec) -> Self {
        let mut invalid = Vec::new();
        let mut build = |list: &[String], which: &str| -> Vec<Regex> {
            list.iter()
                .filter_map(|expr| match Regex::new(expr) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        invalid.push(format!("invalid {which} expression {expr:?}: {e}"));
                        None
                    }
                })
                .collect()
        };
        let include = build(&spec.inclusion_list, "inclusionList");
        let exclude = build(&spec.exclusion_list, "exclusionList");
        Self {
            include,
            has_include: !spec.inclusion_list.is_empty(),
            exclude,
            invalid,
        }
    }

    /// Whether a message passes: included (when an inclusion list is set)
    /// and not excluded; exclusion wins.
    pub fn allows(&self, message: &str) -> bool {
        if self.has_include && !self.include.iter().any(|re| re.is_match(message)) {
            return false;
        }
        !self.exclude.iter().any(|re| re.is_match(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, ns: &str, name: &str, severity: &str, message: &str) -> FluxEvent {
        serde_json::from_value(serde_json::json!({
            "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind, "namespace": ns, "name": name},
            "severity": severity, "timestamp": "2024-01-01T00:00:00Z", "message": message,
            "reason": "R", "reportingController": "source-controller",
        }))
        .unwrap()
    }

    fn spec(yaml: &str) -> AlertSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn kind_name_namespace_and_wildcard() {
        let s = spec(
            "providerRef: {name: p}\neventSources:\n- {kind: GitRepository, name: podinfo}\n- {kind: Kustomization, name: '*', namespace: apps}\n",
        );
        let e = |k, ns, n| event(k, ns, n, "info", "m");
        assert_eq!(
            evaluate(&e("GitRepository", "flux", "podinfo"), "flux", &s),
            Decision::Match
        );
        assert_eq!(
            evaluate(&e("GitRepository", "flux", "other"), "flux", &s),
            Decision::Drop
        );
        assert_eq!(
            evaluate(&e("GitRepository", "apps", "podinfo"), "flux", &s),
            Decision::Drop
        );
        assert_eq!(
            evaluate(&e("Kustomization", "apps", "any"), "flux", &s),
            Decision::Match
        );
        assert_eq!(
            evaluate(&e("Kustomization", "flux", "any"), "flux", &s),
            Decision::Drop
        );
        assert_eq!(
            evaluate(&e("HelmRelease", "apps", "any"), "flux", &s),
            Decision::Drop
        );
    }

    #[test]
    fn severity_error_drops_info() {
        let s = spec(
            "providerRef: {name: p}\neventSeverity: error\neventSources:\n- {kind: GitRepository, name: '*'}\n",
        );
        assert_eq!(
            evaluate(&event("GitRepository", "ns", "a", "info", "m"), "ns", &s),
            Decision::Drop
        );
        assert_eq!(
            evaluate(&event("GitRepository", "ns", "a", "error", "m"), "ns", &s),
            Decision::Match
        );
        let s = spec("providerRef: {name: p}\neventSources:\n- {kind: GitRepository, name: '*'}\n");
        assert_eq!(
            evaluate(&event("GitRepository", "ns", "a", "error", "m"), "ns", &s),
            Decision::Match
        );
        assert_eq!(
            evaluate(&event("GitRepository", "ns", "a", "trace", "m"), "ns", &s),
            Decision::Match
        );
    }

    #[test]
    fn match_labels_defer_to_the_object() {
        let s = spec(
            "providerRef: {name: p}\neventSources:\n- {kind: GitRepository, name: '*', matchLabels: {team: a}}\n",
        );
        let Decision::IfLabels(sets) =
            evaluate(&event("GitRepository", "ns", "x", "info", "m"), "ns", &s)
        else {
            panic!("labels needed");
        };
        let mut labels = BTreeMap::new();
        assert!(!labels_match(sets[0], &labels));
        labels.insert("team".to_string(), "a".to_string());
        labels.insert("other".to_string(), "b".to_string());
        assert!(labels_match(sets[0], &labels));
    }

    #[test]
    fn inclusion_and_exclusion() {
        let s = spec(
            "providerRef: {name: p}\neventSources: []\ninclusionList: ['.*succeeded.*']\nexclusionList: ['.*uninstall.*', '(']\n",
        );
        let f = MessageFilters::compile(&s);
        assert_eq!(f.invalid.len(), 1);
        assert!(f.allows("upgrade succeeded"));
        assert!(!f.allows("upgrade failed"));
        assert!(!f.allows("uninstall succeeded"));
        let s =
            spec("providerRef: {name: p}\neventSources: []\nexclusionList: ['waiting.*socket']\n");
        let f = MessageFilters::compile(&s);
        assert!(f.allows("anything"));
        assert!(!f.allows("Error waiting on socket"));
        let s = spec("providerRef: {name: p}\neventSources: []\ninclusionList: ['(']\n");
        assert!(!MessageFilters::compile(&s).allows("anything"));
    }
}
