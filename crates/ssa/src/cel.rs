//! `healthCheckExprs`: readiness of custom resources judged by CEL
//! expressions, as Flux does: for an object whose group (and kind, when
//! given) an entry names, `inProgress`, then `failed`, then `current` are
//! evaluated against the object; the first that is true decides, and none
//! true means in progress. An entry with a kind beats a group-only entry.

use ferroflux_api::meta::CustomHealthCheck;
use serde_json::Value;

use crate::health::{Health, Status};

/// The checks of one Kustomization or HelmRelease, each expression parsed
/// once up front so a mistake is reported before anything is applied.
#[derive(Debug, Clone, Default)]
pub struct HealthExprs {
    entries: Vec<CustomHealthCheck>,
}

fn group_of(api_version: &str) -> &str {
    crate::object::split_api_version(api_version).0
}

fn parse(field: &str, n: usize, expr: &str) -> Result<(), String> {
    cel::Program::compile(expr)
        .map(|_| ())
        .map_err(|e| format!("healthCheckExprs[{n}].{field}: invalid CEL expression {expr:?}: {e}"))
}

/// Evaluates `expr` against `obj` (its top-level fields are the
/// variables); an error (a missing field, a non-boolean) counts as false.
fn holds(expr: &str, obj: &Value) -> bool {
    let Ok(program) = cel::Program::compile(expr) else {
        return false;
    };
    let mut ctx = cel::Context::default();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if let Ok(value) = cel::to_value(v) {
                ctx.add_variable_from_value(k.clone(), value);
            }
        }
    }
    matches!(program.execute(&ctx), Ok(cel::Value::Bool(true)))
}

impl HealthExprs {
    /// Checks every expression of `checks`; `Err` names the first invalid one.
    pub fn new(checks: &[CustomHealthCheck]) -> Result<Self, String> {
        for (n, c) in checks.iter().enumerate() {
            parse("current", n, &c.current)?;
            if let Some(e) = &c.in_progress {
                parse("inProgress", n, e)?;
            }
            if let Some(e) = &c.failed {
                parse("failed", n, e)?;
            }
        }
        Ok(HealthExprs {
            entries: checks.to_vec(),
        })
    }

    /// Whether there are no checks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry_for(&self, obj: &Value) -> Option<&CustomHealthCheck> {
        let group = group_of(obj["apiVersion"].as_str().unwrap_or_default());
        let kind = obj["kind"].as_str().unwrap_or_default();
        let of_group = |c: &&CustomHealthCheck| group_of(&c.api_version) == group;
        self.entries
            .iter()
            .filter(of_group)
            .find(|c| c.kind.as_deref() == Some(kind))
            .or_else(|| {
                self.entries
                    .iter()
                    .filter(of_group)
                    .find(|c| c.kind.is_none())
            })
    }

    /// The health of `obj` by the expressions, `None` when no entry names it.
    pub fn assess(&self, obj: &Value) -> Option<Health> {
        let c = self.entry_for(obj)?;
        let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
        let observed = obj
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64);
        if let (Some(g), Some(o)) = (generation, observed)
            && o != g
        {
            return Some(Health {
                status: Status::InProgress,
                message: format!("generation {g} is not observed yet (observed {o})"),
            });
        }
        let (status, message) = if c.in_progress.as_deref().is_some_and(|e| holds(e, obj)) {
            (Status::InProgress, "inProgress expression is true")
        } else if c.failed.as_deref().is_some_and(|e| holds(e, obj)) {
            (Status::Failed, "failed expression is true")
        } else if holds(&c.current, obj) {
            (Status::Current, "current expression is true")
        } else {
            (Status::InProgress, "no expression is true yet")
        };
        Some(Health {
            status,
            message: message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checks() -> Vec<CustomHealthCheck> {
        serde_json::from_value(json!([
            {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
             "failed": "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
             "current": "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')"},
            {"apiVersion": "bitnami.com/v1", "current": "has(status.ready) && status.ready"},
        ]))
        .expect("checks")
    }

    fn sealed(status: &str) -> Value {
        json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
               "metadata": {"name": "s", "generation": 1},
               "status": {"observedGeneration": 1, "conditions": [{"type": "Synced", "status": status}]}})
    }

    #[test]
    fn flux_s_sealed_secret_example_is_judged_in_order() {
        let h = HealthExprs::new(&checks()).expect("valid");
        assert_eq!(h.assess(&sealed("True")).unwrap().status, Status::Current);
        assert_eq!(h.assess(&sealed("False")).unwrap().status, Status::Failed);
        let mut stale = sealed("True");
        stale["metadata"]["generation"] = json!(2);
        assert_eq!(h.assess(&stale).unwrap().status, Status::InProgress);
        // The group-only entry covers other kinds of the group; others are not judged here.
        let other =
            json!({"apiVersion": "bitnami.com/v1", "kind": "Other", "status": {"ready": true}});
        assert_eq!(h.assess(&other).unwrap().status, Status::Current);
        let no_status = json!({"apiVersion": "bitnami.com/v1", "kind": "Other"});
        assert_eq!(h.assess(&no_status).unwrap().status, Status::InProgress);
        assert!(
            h.assess(&json!({"apiVersion": "v1", "kind": "ConfigMap"}))
                .is_none()
        );
    }

    #[test]
    fn an_invalid_expression_is_named() {
        let bad: Vec<CustomHealthCheck> = serde_json::from_value(json!([
            {"apiVersion": "x/v1", "kind": "X", "current": "status.("}
        ]))
        .unwrap();
        let e = HealthExprs::new(&bad).unwrap_err();
        assert!(
            e.starts_with("healthCheckExprs[0].current: invalid CEL expression"),
            "{e}"
        );
    }
}
