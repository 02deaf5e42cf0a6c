//! `commonAnnotations`: on every resource and on pod templates.

use std::collections::BTreeMap;

use super::{add_pairs, template_meta_paths};
use crate::resource::Resource;

/// Adds `annotations` to every resource's metadata and its pod templates.
pub(crate) fn apply(resources: &mut [Resource], annotations: &BTreeMap<String, String>) {
    for r in resources {
        let kind = r.kind().to_string();
        add_pairs(&mut r.value, "metadata/annotations", true, annotations);
        for p in template_meta_paths(&kind) {
            add_pairs(&mut r.value, &format!("{p}/annotations"), true, annotations);
        }
    }
}
