//! Server-side apply and managed fields, as kube-apiserver does them
//! (structured-merge-diff's `merge`/`typed`/`fieldpath` and apimachinery's field
//! manager), on Kubernetes JSON objects.
//!
//! - [`apply`]: a server-side apply (PATCH `application/apply-patch+yaml`).
//! - [`update`]: the managedFields after a create, PUT or other patch
//!   ([`managed_fields_for_update`] picks the entries it starts from).
//! - [`decode_managed_fields`] / [`encode_managed_fields`] / [`set_managed_fields`]:
//!   `metadata.managedFields` with `fieldsType: FieldsV1`.
//! - [`builtin_list_types`] / [`schema_list_types`]: how lists and maps of a type merge
//!   (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`).
//!
//! Times: only the acting manager's entry gets `now`, and only when it changed
//! something (an Update that took fields, an apply that changed the object), as in
//! kube-apiserver; other entries keep theirs even when they lose fields.
//!
//! Verified against the structured-merge-diff and apimachinery sources (fieldpath
//! serialization, merge/compare/remove/prune, conflicts, managedFields encoding and
//! order, manager identifiers, before-first-apply, ancient-changes); several tests are
//! cases of structured-merge-diff's own `merge` tests.
//!
//! Not modelled: conversion between API versions (every entry is treated as if written
//! in the request's version), schema changes between atomic and granular, the
//! `kubectl.kubernetes.io/last-applied-configuration` upgrade path, and the zero-valued
//! Go structs kube-apiserver compares built-in objects against on create (so a create
//! records `{".":{}}` for `spec` where kube-apiserver, for built-in kinds only, does not).

mod apply;
mod builtin_table;
mod compare;
mod conflict;
mod list_types;
mod managed;
mod merge;
mod path;
mod set;
mod update;
mod walk;

#[cfg(test)]
mod tests;

pub use apply::{ApplyError, apply};
pub use conflict::{Conflict, Conflicts};
pub use list_types::{
    BuiltinListTypes, ListType, ListTypes, NoSchema, SchemaListTypes, builtin_list_types,
    schema_list_types,
};
pub use managed::{
    ManagedFieldsEntry, Operation, decode_managed_fields, encode_managed_fields,
    set_managed_fields, sort_entries,
};
pub use path::{PathElement, path_string};
pub use set::FieldSet;
pub use update::{managed_fields_for_update, update};

/// Bad managedFields, FieldsV1 or objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldsError {
    /// `metadata.managedFields` is not what kube-apiserver accepts.
    #[error("invalid managedFields: {0}")]
    ManagedFields(String),
    /// A `fieldsV1` value cannot be read.
    #[error("invalid fieldsV1: {0}")]
    FieldsV1(String),
    /// An object does not fit its list types (e.g. duplicate keys in a keyed list).
    #[error("invalid object: {0}")]
    Invalid(String),
}
