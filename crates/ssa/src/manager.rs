//! The apply engine's handle: a client (possibly impersonating a tenant),
//! a shared discovery cache and the field manager it writes as.

use std::sync::Arc;

use crate::resolve::Resolver;

/// Applies, prunes and waits for sets of objects.
#[derive(Clone)]
pub struct Manager {
    pub(crate) client: kube::Client,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) field_manager: String,
    pub(crate) health_exprs: Option<Arc<crate::cel::HealthExprs>>,
}

impl Manager {
    /// A manager that reads and writes through `client` as `field_manager`,
    /// resolving kinds through `resolver` (which may be shared by managers of
    /// different users).
    pub fn new(
        client: kube::Client,
        resolver: Arc<Resolver>,
        field_manager: impl Into<String>,
    ) -> Self {
        Self {
            client,
            resolver,
            field_manager: field_manager.into(),
            health_exprs: None,
        }
    }

    /// Judges the kinds `exprs` names by its CEL expressions instead of kstatus.
    pub fn with_health_exprs(mut self, exprs: Arc<crate::cel::HealthExprs>) -> Self {
        if !exprs.is_empty() {
            self.health_exprs = Some(exprs);
        }
        self
    }

    /// The client reads and writes go through.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }
}
