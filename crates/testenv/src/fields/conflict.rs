//! Apply conflicts and kube-apiserver's 409 message for them.

use super::managed::{Operation, identifier};
use super::path::go_quote;

/// A field the applier would change that another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// The other manager's operation.
    pub operation: Operation,
    /// The apiVersion of the other manager's entry.
    pub api_version: String,
    /// The other manager's subresource (`""` or `"status"`).
    pub subresource: String,
    /// The field, e.g. `.spec.replicas` or `.spec.template.spec.containers[name="web"].image`.
    pub path: String,
}

impl Conflict {
    /// The manager as kube-apiserver names it in messages: `"kubectl"` for an applier,
    /// `"kubectl-edit" using apps/v1` for an updater, with ` with subresource "status"`
    /// after the name when there is one.
    pub fn manager_description(&self) -> String {
        let mut out = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            out.push_str(" with subresource ");
            out.push_str(&go_quote(&self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(" using ");
            out.push_str(&self.api_version);
        }
        out
    }

    /// The message of this conflict's StatusCause (type `FieldManagerConflict`, field
    /// [`Conflict::path`]): `conflict with "kubectl-edit" using apps/v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }

    fn identifier(&self) -> String {
        identifier(
            &self.manager,
            self.operation,
            &self.api_version,
            &self.subresource,
        )
    }
}

/// The conflicts that stopped an apply, grouped by manager (sorted as kube-apiserver
/// sorts them) and, within a manager, in field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    /// kube-apiserver's 409 message:
    /// `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`,
    /// or for several:
    /// `Apply failed with 2 conflicts: conflicts with "x":\n- .spec.a\n- .spec.b`.
    pub fn message(&self) -> String {
        if let [only] = self.0.as_slice() {
            return format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager_description(),
                only.path
            );
        }
        let mut groups: Vec<(String, String, Vec<&str>)> = Vec::new();
        for c in &self.0 {
            let id = c.identifier();
            match groups.iter_mut().find(|(gid, _, _)| *gid == id) {
                Some((_, _, paths)) => paths.push(&c.path),
                None => groups.push((id, c.manager_description(), vec![&c.path])),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        let mut lines = Vec::new();
        for (_, description, paths) in groups {
            lines.push(format!("conflicts with {description}:"));
            for p in paths {
                lines.push(format!("- {p}"));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }
}

impl std::fmt::Display for Conflicts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Conflicts {}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(manager: &str, op: Operation, path: &str) -> Conflict {
        Conflict {
            manager: manager.into(),
            operation: op,
            api_version: "apps/v1".into(),
            subresource: String::new(),
            path: path.into(),
        }
    }

    #[test]
    fn one_conflict_with_an_updater() {
        let cs = Conflicts(vec![c(
            "kubectl-client-side-apply",
            Operation::Update,
            ".spec.replicas",
        )]);
        assert_eq!(
            cs.message(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
        );
        assert_eq!(
            cs.0[0].cause_message(),
            "conflict with \"kubectl-client-side-apply\" using apps/v1"
        );
    }

    #[test]
    fn several_conflicts_grouped_by_sorted_manager() {
        let cs = Conflicts(vec![
            c("zeta", Operation::Apply, ".spec.a"),
            c("alpha", Operation::Update, ".spec.b"),
            c("zeta", Operation::Apply, ".spec.c"),
        ]);
        assert_eq!(
            cs.message(),
            "Apply failed with 3 conflicts: conflicts with \"alpha\" using apps/v1:\n- .spec.b\nconflicts with \"zeta\":\n- .spec.a\n- .spec.c"
        );
    }

    #[test]
    fn subresource_is_named() {
        let mut one = c("ctrl", Operation::Update, ".status.x");
        one.subresource = "status".into();
        assert_eq!(
            one.cause_message(),
            "conflict with \"ctrl\" with subresource \"status\" using apps/v1"
        );
    }
}
