//! What a strategic merge needs to know of an object type: for each field, how its
//! value merges (the `patchStrategy`/`patchMergeKey` tags of the Kubernetes Go types,
//! `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` in OpenAPI) and the
//! schema of the value below it.

use std::borrow::Cow;
use std::fmt;

/// How a field's value combines with the patch's value for that field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchStrategy {
    /// No strategy: maps merge key by key, lists and scalars are replaced whole.
    Default,
    /// For lists: elements merge by `merge_key` (lists of maps) or as a set (lists of
    /// strings, numbers, booleans), keeping the original's elements the patch does not name.
    Merge,
    /// For maps: the patch's map replaces the original's instead of merging into it
    /// (e.g. PodDisruptionBudget `spec.selector`). Kustomize ignores this strategy.
    Replace,
}

/// Patch metadata of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchMeta {
    /// How the field's value merges.
    pub strategy: PatchStrategy,
    /// For lists of maps with [`PatchStrategy::Merge`]: the field that identifies an element.
    pub merge_key: Option<Cow<'static, str>>,
    /// `x-kubernetes-list-map-keys`: all fields that identify an element. Kustomize
    /// matches elements on these (e.g. container ports on `containerPort` and
    /// `protocol`) where they exist; the API server uses `merge_key` alone.
    pub list_map_keys: Cow<'static, [Cow<'static, str>]>,
    /// The field also has the `retainKeys` strategy. Only patch generators act on it;
    /// applying a patch honours an explicit `$retainKeys` directive wherever it is.
    pub retain_keys: bool,
    /// The strategy is in the OpenAPI document kustomize embeds (Kubernetes v1.21.2).
    /// Kustomize treats fields without it as having no schema: their lists are replaced.
    pub in_kustomize_schema: bool,
}

impl PatchMeta {
    /// Metadata of a field without a patch strategy.
    pub const DEFAULT: PatchMeta = PatchMeta {
        strategy: PatchStrategy::Default,
        merge_key: None,
        list_map_keys: Cow::Borrowed(&[]),
        retain_keys: false,
        in_kustomize_schema: true,
    };

    /// Whether lists at this field merge rather than being replaced.
    pub fn merges_lists(&self) -> bool {
        self.strategy == PatchStrategy::Merge
    }
}

/// The schema of one field: its patch metadata and the schema of its value (for a
/// list, of each element).
#[derive(Debug, Clone, Copy)]
pub struct FieldSchema<'a> {
    /// How the field merges.
    pub meta: &'a PatchMeta,
    /// Schema of the value, if known; `None` means "no strategies below here".
    pub value: Option<&'a dyn PatchSchema>,
}

/// Patch strategies of the fields of one object type.
///
/// Implemented by the built-in Kubernetes types (see [`lookup`](super::lookup)); a
/// schema read from a CRD's OpenAPI can implement it too.
pub trait PatchSchema: fmt::Debug + Send + Sync {
    /// The schema of field `name`, or `None` when the type has no strategy for it
    /// anywhere below (its lists are then replaced, its maps merged).
    fn field(&self, name: &str) -> Option<FieldSchema<'_>>;
}

/// A built-in object type: a static table of the fields on the way to patch strategies.
#[derive(Debug)]
pub(crate) struct TypeSchema {
    pub(crate) fields: &'static [FieldDef],
}

impl PatchSchema for TypeSchema {
    fn field(&self, name: &str) -> Option<FieldSchema<'_>> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| FieldSchema {
                meta: &f.meta,
                value: f.value.map(|v| v as &dyn PatchSchema),
            })
    }
}

/// One row of a [`TypeSchema`].
#[derive(Debug)]
pub(crate) struct FieldDef {
    name: &'static str,
    meta: PatchMeta,
    value: Option<&'static TypeSchema>,
}

impl FieldDef {
    /// A field without a strategy and without strategies below it; listed only to
    /// carry a modifier such as [`FieldDef::retain_keys`].
    pub(crate) const fn plain(name: &'static str) -> FieldDef {
        FieldDef {
            name,
            meta: PatchMeta::DEFAULT,
            value: None,
        }
    }

    /// A field without a strategy whose value has strategies below it.
    pub(crate) const fn nested(name: &'static str, value: &'static TypeSchema) -> FieldDef {
        FieldDef {
            name,
            meta: PatchMeta::DEFAULT,
            value: Some(value),
        }
    }

    /// A list of maps merged by `key`.
    pub(crate) const fn merge_by(
        name: &'static str,
        key: &'static str,
        element: &'static TypeSchema,
    ) -> FieldDef {
        FieldDef {
            name,
            meta: PatchMeta {
                strategy: PatchStrategy::Merge,
                merge_key: Some(Cow::Borrowed(key)),
                list_map_keys: Cow::Borrowed(&[]),
                retain_keys: false,
                in_kustomize_schema: true,
            },
            value: Some(element),
        }
    }

    /// A list of strings merged as an ordered set.
    pub(crate) const fn merge_primitives(name: &'static str) -> FieldDef {
        FieldDef {
            name,
            meta: PatchMeta {
                strategy: PatchStrategy::Merge,
                merge_key: None,
                list_map_keys: Cow::Borrowed(&[]),
                retain_keys: false,
                in_kustomize_schema: true,
            },
            value: None,
        }
    }

    /// A map replaced whole.
    pub(crate) const fn replace(name: &'static str) -> FieldDef {
        FieldDef {
            name,
            meta: PatchMeta {
                strategy: PatchStrategy::Replace,
                merge_key: None,
                list_map_keys: Cow::Borrowed(&[]),
                retain_keys: false,
                in_kustomize_schema: true,
            },
            value: None,
        }
    }

    /// Adds `x-kubernetes-list-map-keys`.
    pub(crate) const fn list_map_keys(mut self, keys: &'static [Cow<'static, str>]) -> FieldDef {
        // A plain assignment would drop the old value, which const fns cannot do; it
        // is always borrowed, so forgetting it frees nothing.
        std::mem::forget(std::mem::replace(
            &mut self.meta.list_map_keys,
            Cow::Borrowed(keys),
        ));
        self
    }

    /// Adds the `retainKeys` strategy.
    pub(crate) const fn retain_keys(mut self) -> FieldDef {
        self.meta.retain_keys = true;
        self
    }

    /// Marks a strategy Kubernetes added after v1.21, which kustomize does not know.
    pub(crate) const fn after_kustomize_schema(mut self) -> FieldDef {
        self.meta.in_kustomize_schema = false;
        self
    }
}
