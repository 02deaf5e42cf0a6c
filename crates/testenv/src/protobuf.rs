//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`).
//!
//! kubectl's typed commands (`kubectl create namespace|configmap|secret|...`,
//! `kubectl auth can-i`) send their request bodies as protobuf, and client-go
//! does not fall back to JSON. The test server answers in JSON (which client-go
//! accepts), so it only needs to turn such a body into the JSON object the same
//! client would have sent as `application/json`.
//!
//! The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message
//! (`k8s.io/apimachinery/pkg/runtime/generated.proto`): `typeMeta` = 1
//! {`apiVersion` = 1, `kind` = 2}, `raw` = 2, `contentEncoding` = 3,
//! `contentType` = 4. `raw` holds the object encoded per the `generated.proto`
//! of its API group. Decoding is driven by small schema tables (field number →
//! JSON name and type) transcribed from those files for the kinds in `KINDS`;
//! fields the tables do not name are skipped, as any protobuf reader does.
//!
//! The JSON follows Go's `encoding/json` output for the Go types: `omitempty`
//! scalars and empty lists/maps are left out, pointer fields are kept when the
//! body carries them (even when false or 0), non-pointer structs are always
//! written, and a zero `metav1.Time` is left out. Bytes become standard base64
//! strings; invalid UTF-8 in strings is replaced by U+FFFD, as Go's encoder
//! does. A singular message field that occurs twice is merged, as Go's
//! generated unmarshalers do.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ferroflux_gocompat::time::format_rfc3339 as rfc3339;
use serde_json::{Map, Value};

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded. The message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtobufError(pub String);

impl fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtobufError {}

/// Decodes a `application/vnd.kubernetes.protobuf` request body into the
/// JSON form of the object (with apiVersion and kind set).
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let Some(rest) = body.strip_prefix(MAGIC.as_slice()) else {
        return Err(ProtobufError(if body.is_empty() {
            "empty body: a Kubernetes protobuf body starts with the 4-byte magic \"k8s\\0\""
                .to_string()
        } else {
            format!(
                "bad magic: a Kubernetes protobuf body starts with the 4-byte magic \"k8s\\0\", \
                 this one starts with \"{}\"",
                body[..body.len().min(4)].escape_ascii()
            )
        }));
    };
    let envelope = Envelope::parse(rest).map_err(|e| {
        ProtobufError(format!(
            "invalid Kubernetes protobuf body: runtime.Unknown envelope: {e}"
        ))
    })?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError(format!(
            "unsupported contentEncoding \"{}\" in the runtime.Unknown envelope: \
             this test server decodes only unencoded protobuf",
            envelope.content_encoding
        )));
    }
    if !envelope.content_type.is_empty() && envelope.content_type != CONTENT_TYPE {
        return Err(ProtobufError(format!(
            "unsupported contentType \"{}\" in the runtime.Unknown envelope: \
             this test server decodes only \"{CONTENT_TYPE}\"",
            envelope.content_type
        )));
    }
    let (api_version, kind) = (envelope.api_version, envelope.kind);
    if kind.is_empty() {
        return Err(ProtobufError(format!(
            "the runtime.Unknown envelope names no kind (apiVersion \"{api_version}\")"
        )));
    }
    let Some(schema) = schema_for(&api_version, &kind) else {
        return Err(ProtobufError(format!(
            "unsupported kind \"{kind}\" of apiVersion \"{api_version}\" — \
             this test server decodes protobuf for: {}; send other kinds as application/json",
            supported_list()
        )));
    };
    let mut object = parse(schema, envelope.raw).map_err(|e| {
        ProtobufError(format!(
            "invalid protobuf body for {api_version} {kind}: {e}"
        ))
    })?;
    finish(schema, &mut object);
    object.insert("apiVersion".to_string(), Value::String(api_version));
    object.insert("kind".to_string(), Value::String(kind));
    Ok(Value::Object(object))
}

// ---------------------------------------------------------------------------
// Wire format

/// A decoding failure: a message, and the JSON path (innermost segment first)
/// of the message in which it happened.
#[derive(Debug)]
struct Fail {
    path: Vec<String>,
    msg: String,
}

impl Fail {
    fn new(msg: String) -> Self {
        Fail {
            path: Vec::new(),
            msg,
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            let path: Vec<&str> = self.path.iter().rev().map(String::as_str).collect();
            write!(f, "at {}: ", path.join("."))?;
        }
        f.write_str(&self.msg)
    }
}

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_FIXED32: u8 = 5;

fn wire_name(wire: u8) -> &'static str {
    match wire {
        WIRE_VARINT => "varint",
        WIRE_FIXED64 => "fixed64",
        WIRE_LEN => "length-delimited",
        3 => "start group",
        4 => "end group",
        WIRE_FIXED32 => "fixed32",
        _ => "invalid",
    }
}

fn describe(num: u32, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("field {num} ({name})"),
        None => format!("field {num}"),
    }
}

/// A field value as read off the wire.
#[derive(Clone, Copy)]
enum Val<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Reads a varint; `what` and `part` name it in errors ("field 7
    /// (generation)", "varint").
    fn varint(&mut self, what: &str, part: &str) -> Result<u64, Fail> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some((&byte, rest)) = self.buf.split_first() else {
                return Err(Fail::new(format!(
                    "truncated {what}: the {part} runs past the end of the data"
                )));
            };
            self.buf = rest;
            // Bits beyond 64 in the tenth byte are dropped, as Go's decoders do.
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Fail::new(format!(
            "{what}: the {part} is longer than 10 bytes"
        )))
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Some(head)
    }

    /// Reads the next field key: its number and wire type.
    fn key(&mut self) -> Result<Option<(u32, u8)>, Fail> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint("field key", "varint")?;
        let num = key >> 3;
        if num == 0 || num >= 1 << 29 {
            return Err(Fail::new(format!("invalid field number {num}")));
        }
        Ok(Some((num as u32, (key & 7) as u8)))
    }

    /// Reads the value of field `num` with the given wire type.
    fn value(&mut self, num: u32, name: Option<&str>, wire: u8) -> Result<Val<'a>, Fail> {
        let remaining = self.buf.len();
        let fixed = |len: usize| {
            Fail::new(format!(
                "truncated {}: a {} value needs {len} bytes, but only {remaining} remain",
                describe(num, name),
                wire_name(wire)
            ))
        };
        match wire {
            WIRE_VARINT => self.varint(&describe(num, name), "varint").map(Val::Int),
            WIRE_FIXED64 => {
                let bytes = self.take(8).ok_or_else(|| fixed(8))?;
                let mut le = [0u8; 8];
                le.copy_from_slice(bytes);
                Ok(Val::Int(u64::from_le_bytes(le)))
            }
            WIRE_FIXED32 => {
                let bytes = self.take(4).ok_or_else(|| fixed(4))?;
                let mut le = [0u8; 4];
                le.copy_from_slice(bytes);
                Ok(Val::Int(u64::from(u32::from_le_bytes(le))))
            }
            WIRE_LEN => {
                let len = self.varint(&describe(num, name), "length varint")?;
                let remaining = self.buf.len();
                usize::try_from(len)
                    .ok()
                    .and_then(|len| self.take(len))
                    .map(Val::Bytes)
                    .ok_or_else(|| {
                        Fail::new(format!(
                            "truncated {}: its length is {len} bytes, but only {remaining} remain",
                            describe(num, name)
                        ))
                    })
            }
            3 | 4 => Err(Fail::new(format!(
                "{}: wire type {wire} ({}) is not supported",
                describe(num, name),
                wire_name(wire)
            ))),
            _ => Err(Fail::new(format!(
                "{}: invalid wire type {wire}",
                describe(num, name)
            ))),
        }
    }
}

fn wrong_wire(num: u32, name: &str, got: u8, want: u8) -> Fail {
    Fail::new(format!(
        "{}: wire type {got} ({}) where the schema has {want} ({})",
        describe(num, Some(name)),
        wire_name(got),
        wire_name(want)
    ))
}

fn string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `runtime.Unknown` envelope.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

impl<'a> Envelope<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, Fail> {
        let mut envelope = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
            content_type: String::new(),
        };
        let mut r = Reader::new(data);
        while let Some((num, wire)) = r.key()? {
            let name = match num {
                1 => Some("typeMeta"),
                2 => Some("raw"),
                3 => Some("contentEncoding"),
                4 => Some("contentType"),
                _ => None,
            };
            let val = r.value(num, name, wire)?;
            let Some(name) = name else { continue };
            let Val::Bytes(bytes) = val else {
                return Err(wrong_wire(num, name, wire, WIRE_LEN));
            };
            match num {
                1 => {
                    let type_meta = parse(&TYPE_META, bytes).map_err(|e| e.at(name.into()))?;
                    let get = |key: &str| match type_meta.get(key) {
                        Some(Value::String(s)) => Some(s.clone()),
                        _ => None,
                    };
                    // Later occurrences merge into earlier ones.
                    envelope.api_version = get("apiVersion").unwrap_or(envelope.api_version);
                    envelope.kind = get("kind").unwrap_or(envelope.kind);
                }
                2 => envelope.raw = bytes,
                3 => envelope.content_encoding = string(bytes),
                _ => envelope.content_type = string(bytes),
            }
        }
        Ok(envelope)
    }
}

// ---------------------------------------------------------------------------
// Schemas

/// The type of a field: how its wire value becomes JSON.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Int,
    /// `metav1.Time` {seconds = 1, nanos = 2} → RFC 3339 string.
    Time,
    Message(&'static Schema),
    /// `map<string, string>`.
    StrMap,
    /// `map<string, bytes>` → base64 strings.
    BytesMap,
    /// `map<string, ExtraValue>` (ExtraValue {repeated string items = 1}) →
    /// string lists.
    ListMap,
    /// `metav1.FieldsV1` {Raw = 1}: the raw bytes are JSON.
    FieldsV1,
}

impl Ty {
    fn wire(self) -> u8 {
        match self {
            Ty::Bool | Ty::Int => WIRE_VARINT,
            _ => WIRE_LEN,
        }
    }
}

/// How a field appears in JSON (from its Go type and json tag).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    /// `omitempty` value: left out when zero.
    OmitEmpty,
    /// Pointer: written whenever the body carries it.
    Ptr,
    /// No `omitempty` (or a non-pointer struct): always written, as its zero
    /// value when the body lacks it.
    Always,
    /// Repeated field: a JSON array, left out when empty.
    List,
}

struct Field {
    num: u32,
    name: &'static str,
    ty: Ty,
    card: Card,
}

struct Schema {
    fields: &'static [Field],
}

impl Schema {
    fn field(&self, num: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.num == num)
    }
}

const fn f(num: u32, name: &'static str, ty: Ty, card: Card) -> Field {
    Field {
        num,
        name,
        ty,
        card,
    }
}

const fn omit(num: u32, name: &'static str) -> Field {
    f(num, name, Ty::Str, Card::OmitEmpty)
}

const fn always(num: u32, name: &'static str) -> Field {
    f(num, name, Ty::Str, Card::Always)
}

const fn strings(num: u32, name: &'static str) -> Field {
    f(num, name, Ty::Str, Card::List)
}

/// A repeated message field.
const fn messages(num: u32, name: &'static str, schema: &'static Schema) -> Field {
    f(num, name, Ty::Message(schema), Card::List)
}

/// A non-pointer struct field: always written.
const fn message(num: u32, name: &'static str, schema: &'static Schema) -> Field {
    f(num, name, Ty::Message(schema), Card::Always)
}

/// A pointer-to-struct field: written when present.
const fn optional(num: u32, name: &'static str, schema: &'static Schema) -> Field {
    f(num, name, Ty::Message(schema), Card::Ptr)
}

const fn metadata() -> Field {
    message(1, "metadata", &OBJECT_META)
}

// k8s.io/apimachinery/pkg/runtime/generated.proto

static TYPE_META: Schema = Schema {
    fields: &[omit(1, "apiVersion"), omit(2, "kind")],
};

// k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto

static OBJECT_META: Schema = Schema {
    fields: &[
        omit(1, "name"),
        omit(2, "generateName"),
        omit(3, "namespace"),
        omit(4, "selfLink"),
        omit(5, "uid"),
        omit(6, "resourceVersion"),
        f(7, "generation", Ty::Int, Card::OmitEmpty),
        f(8, "creationTimestamp", Ty::Time, Card::OmitEmpty),
        f(9, "deletionTimestamp", Ty::Time, Card::Ptr),
        f(10, "deletionGracePeriodSeconds", Ty::Int, Card::Ptr),
        f(11, "labels", Ty::StrMap, Card::OmitEmpty),
        f(12, "annotations", Ty::StrMap, Card::OmitEmpty),
        messages(13, "ownerReferences", &OWNER_REFERENCE),
        strings(14, "finalizers"),
        messages(17, "managedFields", &MANAGED_FIELDS_ENTRY),
    ],
};

static OWNER_REFERENCE: Schema = Schema {
    fields: &[
        always(5, "apiVersion"),
        always(1, "kind"),
        always(3, "name"),
        always(4, "uid"),
        f(6, "controller", Ty::Bool, Card::Ptr),
        f(7, "blockOwnerDeletion", Ty::Bool, Card::Ptr),
    ],
};

static MANAGED_FIELDS_ENTRY: Schema = Schema {
    fields: &[
        omit(1, "manager"),
        omit(2, "operation"),
        omit(3, "apiVersion"),
        f(4, "time", Ty::Time, Card::Ptr),
        omit(6, "fieldsType"),
        f(7, "fieldsV1", Ty::FieldsV1, Card::Ptr),
        omit(8, "subresource"),
    ],
};

static LABEL_SELECTOR: Schema = Schema {
    fields: &[
        f(1, "matchLabels", Ty::StrMap, Card::OmitEmpty),
        messages(2, "matchExpressions", &SELECTOR_REQUIREMENT),
    ],
};

/// LabelSelectorRequirement and FieldSelectorRequirement.
static SELECTOR_REQUIREMENT: Schema = Schema {
    fields: &[
        always(1, "key"),
        always(2, "operator"),
        strings(3, "values"),
    ],
};

static DELETE_OPTIONS: Schema = Schema {
    fields: &[
        f(1, "gracePeriodSeconds", Ty::Int, Card::Ptr),
        optional(2, "preconditions", &PRECONDITIONS),
        f(3, "orphanDependents", Ty::Bool, Card::Ptr),
        f(4, "propagationPolicy", Ty::Str, Card::Ptr),
        strings(5, "dryRun"),
        f(
            6,
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            Ty::Bool,
            Card::Ptr,
        ),
    ],
};

static PRECONDITIONS: Schema = Schema {
    fields: &[
        f(1, "uid", Ty::Str, Card::Ptr),
        f(2, "resourceVersion", Ty::Str, Card::Ptr),
    ],
};

// k8s.io/api/core/v1/generated.proto

static NAMESPACE: Schema = Schema {
    fields: &[
        metadata(),
        message(2, "spec", &NAMESPACE_SPEC),
        message(3, "status", &NAMESPACE_STATUS),
    ],
};

static NAMESPACE_SPEC: Schema = Schema {
    fields: &[strings(1, "finalizers")],
};

static NAMESPACE_STATUS: Schema = Schema {
    fields: &[
        omit(1, "phase"),
        messages(2, "conditions", &NAMESPACE_CONDITION),
    ],
};

static NAMESPACE_CONDITION: Schema = Schema {
    fields: &[
        always(1, "type"),
        always(2, "status"),
        f(4, "lastTransitionTime", Ty::Time, Card::OmitEmpty),
        omit(5, "reason"),
        omit(6, "message"),
    ],
};

static CONFIG_MAP: Schema = Schema {
    fields: &[
        metadata(),
        f(4, "immutable", Ty::Bool, Card::Ptr),
        f(2, "data", Ty::StrMap, Card::OmitEmpty),
        f(3, "binaryData", Ty::BytesMap, Card::OmitEmpty),
    ],
};

static SECRET: Schema = Schema {
    fields: &[
        metadata(),
        f(5, "immutable", Ty::Bool, Card::Ptr),
        f(2, "data", Ty::BytesMap, Card::OmitEmpty),
        f(4, "stringData", Ty::StrMap, Card::OmitEmpty),
        omit(3, "type"),
    ],
};

static SERVICE_ACCOUNT: Schema = Schema {
    fields: &[
        metadata(),
        messages(2, "secrets", &OBJECT_REFERENCE),
        messages(3, "imagePullSecrets", &LOCAL_OBJECT_REFERENCE),
        f(4, "automountServiceAccountToken", Ty::Bool, Card::Ptr),
    ],
};

static OBJECT_REFERENCE: Schema = Schema {
    fields: &[
        omit(1, "kind"),
        omit(2, "namespace"),
        omit(3, "name"),
        omit(4, "uid"),
        omit(5, "apiVersion"),
        omit(6, "resourceVersion"),
        omit(7, "fieldPath"),
    ],
};

static LOCAL_OBJECT_REFERENCE: Schema = Schema {
    fields: &[omit(1, "name")],
};

// k8s.io/api/rbac/v1/generated.proto

static ROLE: Schema = Schema {
    fields: &[metadata(), messages(2, "rules", &POLICY_RULE)],
};

static CLUSTER_ROLE: Schema = Schema {
    fields: &[
        metadata(),
        messages(2, "rules", &POLICY_RULE),
        optional(3, "aggregationRule", &AGGREGATION_RULE),
    ],
};

static POLICY_RULE: Schema = Schema {
    fields: &[
        strings(1, "verbs"),
        strings(2, "apiGroups"),
        strings(3, "resources"),
        strings(4, "resourceNames"),
        strings(5, "nonResourceURLs"),
    ],
};

static AGGREGATION_RULE: Schema = Schema {
    fields: &[messages(1, "clusterRoleSelectors", &LABEL_SELECTOR)],
};

/// RoleBinding and ClusterRoleBinding.
static ROLE_BINDING: Schema = Schema {
    fields: &[
        metadata(),
        messages(2, "subjects", &SUBJECT),
        message(3, "roleRef", &ROLE_REF),
    ],
};

static SUBJECT: Schema = Schema {
    fields: &[
        always(1, "kind"),
        omit(2, "apiGroup"),
        always(3, "name"),
        omit(4, "namespace"),
    ],
};

static ROLE_REF: Schema = Schema {
    fields: &[always(1, "apiGroup"), always(2, "kind"), always(3, "name")],
};

// k8s.io/api/authorization/v1/generated.proto

/// SubjectAccessReview and LocalSubjectAccessReview.
static SUBJECT_ACCESS_REVIEW: Schema = Schema {
    fields: &[
        metadata(),
        message(2, "spec", &SUBJECT_ACCESS_REVIEW_SPEC),
        message(3, "status", &SUBJECT_ACCESS_REVIEW_STATUS),
    ],
};

static SUBJECT_ACCESS_REVIEW_SPEC: Schema = Schema {
    fields: &[
        optional(1, "resourceAttributes", &RESOURCE_ATTRIBUTES),
        optional(2, "nonResourceAttributes", &NON_RESOURCE_ATTRIBUTES),
        omit(3, "user"),
        strings(4, "groups"),
        f(5, "extra", Ty::ListMap, Card::OmitEmpty),
        omit(6, "uid"),
    ],
};

static SELF_SUBJECT_ACCESS_REVIEW: Schema = Schema {
    fields: &[
        metadata(),
        message(2, "spec", &SELF_SUBJECT_ACCESS_REVIEW_SPEC),
        message(3, "status", &SUBJECT_ACCESS_REVIEW_STATUS),
    ],
};

static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Schema = Schema {
    fields: &[
        optional(1, "resourceAttributes", &RESOURCE_ATTRIBUTES),
        optional(2, "nonResourceAttributes", &NON_RESOURCE_ATTRIBUTES),
    ],
};

static RESOURCE_ATTRIBUTES: Schema = Schema {
    fields: &[
        omit(1, "namespace"),
        omit(2, "verb"),
        omit(3, "group"),
        omit(4, "version"),
        omit(5, "resource"),
        omit(6, "subresource"),
        omit(7, "name"),
        optional(8, "fieldSelector", &SELECTOR_ATTRIBUTES),
        optional(9, "labelSelector", &SELECTOR_ATTRIBUTES),
    ],
};

/// FieldSelectorAttributes and LabelSelectorAttributes.
static SELECTOR_ATTRIBUTES: Schema = Schema {
    fields: &[
        omit(1, "rawSelector"),
        messages(2, "requirements", &SELECTOR_REQUIREMENT),
    ],
};

static NON_RESOURCE_ATTRIBUTES: Schema = Schema {
    fields: &[omit(1, "path"), omit(2, "verb")],
};

static SUBJECT_ACCESS_REVIEW_STATUS: Schema = Schema {
    fields: &[
        f(1, "allowed", Ty::Bool, Card::Always),
        f(4, "denied", Ty::Bool, Card::OmitEmpty),
        omit(2, "reason"),
        omit(3, "evaluationError"),
    ],
};

static SELF_SUBJECT_RULES_REVIEW: Schema = Schema {
    fields: &[
        metadata(),
        message(2, "spec", &SELF_SUBJECT_RULES_REVIEW_SPEC),
        message(3, "status", &SUBJECT_RULES_REVIEW_STATUS),
    ],
};

static SELF_SUBJECT_RULES_REVIEW_SPEC: Schema = Schema {
    fields: &[omit(1, "namespace")],
};

static SUBJECT_RULES_REVIEW_STATUS: Schema = Schema {
    fields: &[
        messages(1, "resourceRules", &RESOURCE_RULE),
        messages(2, "nonResourceRules", &NON_RESOURCE_RULE),
        f(3, "incomplete", Ty::Bool, Card::Always),
        omit(4, "evaluationError"),
    ],
};

static RESOURCE_RULE: Schema = Schema {
    fields: &[
        strings(1, "verbs"),
        strings(2, "apiGroups"),
        strings(3, "resources"),
        strings(4, "resourceNames"),
    ],
};

static NON_RESOURCE_RULE: Schema = Schema {
    fields: &[strings(1, "verbs"), strings(2, "nonResourceURLs")],
};

/// `ExtraValue`, the value type of `SubjectAccessReviewSpec.extra`.
static EXTRA_VALUE: Schema = Schema {
    fields: &[strings(1, "items")],
};

/// The kinds this module decodes: (apiVersion, kind, schema). `DeleteOptions`
/// is decoded under any apiVersion, since client-go encodes it with the
/// group version of the client that sends it.
static KINDS: &[(&str, &str, &Schema)] = &[
    ("v1", "Namespace", &NAMESPACE),
    ("v1", "ConfigMap", &CONFIG_MAP),
    ("v1", "Secret", &SECRET),
    ("v1", "ServiceAccount", &SERVICE_ACCOUNT),
    ("rbac.authorization.k8s.io/v1", "Role", &ROLE),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", &CLUSTER_ROLE),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", &ROLE_BINDING),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &ROLE_BINDING,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        &SELF_SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview",
        &SELF_SUBJECT_RULES_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
        &SUBJECT_ACCESS_REVIEW,
    ),
    (
        "authorization.k8s.io/v1",
        "LocalSubjectAccessReview",
        &SUBJECT_ACCESS_REVIEW,
    ),
];

fn schema_for(api_version: &str, kind: &str) -> Option<&'static Schema> {
    if kind == "DeleteOptions" {
        return Some(&DELETE_OPTIONS);
    }
    KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, schema)| *schema)
}

fn supported_list() -> String {
    let mut list: Vec<String> = KINDS.iter().map(|(v, k, _)| format!("{v} {k}")).collect();
    list.push("DeleteOptions (any apiVersion)".to_string());
    list.join(", ")
}

// ---------------------------------------------------------------------------
// Decoding

/// Decodes one message into a JSON object holding exactly the fields the body
/// carries; [`finish`] then applies Go's JSON rules.
fn parse(schema: &Schema, data: &[u8]) -> Result<Map<String, Value>, Fail> {
    let mut out = Map::new();
    let mut r = Reader::new(data);
    while let Some((num, wire)) = r.key()? {
        let field = schema.field(num);
        let val = r.value(num, field.map(|f| f.name), wire)?;
        let Some(field) = field else { continue };
        let name = field.name;
        let value = match (field.ty, val) {
            (Ty::Bool, Val::Int(v)) if wire == WIRE_VARINT => Value::Bool(v != 0),
            // int64 and int32 alike: negative values are sign-extended.
            (Ty::Int, Val::Int(v)) if wire == WIRE_VARINT => Value::from(v as i64),
            (Ty::Str, Val::Bytes(bytes)) => Value::String(string(bytes)),
            (Ty::Time, Val::Bytes(bytes)) => time(bytes).map_err(|e| e.at(name.into()))?,
            (Ty::FieldsV1, Val::Bytes(bytes)) => fields_v1(bytes).map_err(|e| e.at(name.into()))?,
            (Ty::Message(schema), Val::Bytes(bytes)) => {
                let object = parse(schema, bytes).map_err(|e| {
                    let segment = match (field.card, out.get(name)) {
                        (Card::List, Some(Value::Array(items))) => {
                            format!("{name}[{}]", items.len())
                        }
                        (Card::List, _) => format!("{name}[0]"),
                        _ => name.to_string(),
                    };
                    e.at(segment)
                })?;
                Value::Object(object)
            }
            (Ty::StrMap | Ty::BytesMap | Ty::ListMap, Val::Bytes(bytes)) => {
                let (key, value) = map_entry(field.ty, bytes).map_err(|e| e.at(name.into()))?;
                let slot = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = slot {
                    map.insert(key, value);
                } else {
                    *slot = Value::Object(Map::from_iter([(key, value)]));
                }
                continue;
            }
            _ => return Err(wrong_wire(num, name, wire, field.ty.wire())),
        };
        put(&mut out, field, value);
    }
    Ok(out)
}

/// Stores a decoded value: appended for repeated fields, merged for messages
/// (Go's unmarshalers merge repeated occurrences), replaced otherwise.
fn put(out: &mut Map<String, Value>, field: &Field, value: Value) {
    match out.get_mut(field.name) {
        Some(Value::Array(items)) if field.card == Card::List => items.push(value),
        Some(existing) if matches!(field.ty, Ty::Message(_)) => merge(existing, value),
        _ => {
            let value = if field.card == Card::List {
                Value::Array(vec![value])
            } else {
                value
            };
            out.insert(field.name.to_string(), value);
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from)) => into.extend(from),
        (into, from) => *into = from,
    }
}

/// Decodes a map entry {key = 1, value = 2}.
fn map_entry(ty: Ty, data: &[u8]) -> Result<(String, Value), Fail> {
    let mut key = String::new();
    let mut value = None;
    let mut r = Reader::new(data);
    while let Some((num, wire)) = r.key()? {
        let name = match num {
            1 => Some("key"),
            2 => Some("value"),
            _ => None,
        };
        let val = r.value(num, name, wire)?;
        let (Some(name), Val::Bytes(bytes)) = (name, val) else {
            match name {
                Some(name) => return Err(wrong_wire(num, name, wire, WIRE_LEN)),
                None => continue,
            }
        };
        if num == 1 {
            key = string(bytes);
            continue;
        }
        value = Some(match ty {
            Ty::BytesMap => Value::String(BASE64.encode(bytes)),
            Ty::ListMap => {
                let mut extra = parse(&EXTRA_VALUE, bytes).map_err(|e| e.at(name.into()))?;
                extra
                    .remove("items")
                    .unwrap_or_else(|| Value::Array(Vec::new()))
            }
            _ => Value::String(string(bytes)),
        });
    }
    let value = value.unwrap_or_else(|| match ty {
        Ty::ListMap => Value::Array(Vec::new()),
        _ => Value::String(String::new()),
    });
    Ok((key, value))
}

/// Decodes a `metav1.Time` {seconds = 1, nanos = 2}. An empty message is the
/// zero time (JSON null); nanos are dropped, as `metav1.Time` does.
fn time(data: &[u8]) -> Result<Value, Fail> {
    if data.is_empty() {
        return Ok(Value::Null);
    }
    let mut seconds = 0i64;
    let mut r = Reader::new(data);
    while let Some((num, wire)) = r.key()? {
        let name = match num {
            1 => Some("seconds"),
            2 => Some("nanos"),
            _ => None,
        };
        let val = r.value(num, name, wire)?;
        match (name, val) {
            (Some(_), Val::Int(v)) if wire == WIRE_VARINT => {
                if num == 1 {
                    seconds = v as i64;
                }
            }
            (Some(name), _) => return Err(wrong_wire(num, name, wire, WIRE_VARINT)),
            (None, _) => {}
        }
    }
    rfc3339(seconds).map(Value::String).ok_or_else(|| {
        Fail::new(format!(
            "timestamp {seconds} (seconds since 1970) is outside the years 0000 to 9999"
        ))
    })
}

/// Decodes a `metav1.FieldsV1` {Raw = 1}, whose bytes are JSON.
fn fields_v1(data: &[u8]) -> Result<Value, Fail> {
    let mut raw = Value::Null;
    let mut r = Reader::new(data);
    while let Some((num, wire)) = r.key()? {
        let name = (num == 1).then_some("Raw");
        let val = r.value(num, name, wire)?;
        match (name, val) {
            (Some(_), Val::Bytes(bytes)) => {
                raw = serde_json::from_slice(bytes)
                    .map_err(|e| Fail::new(format!("field 1 (Raw) is not valid JSON: {e}")))?;
            }
            (Some(name), Val::Int(_)) => return Err(wrong_wire(num, name, wire, WIRE_LEN)),
            (None, _) => {}
        }
    }
    Ok(raw)
}

/// Applies Go's JSON rules to a parsed message: drops empty `omitempty`
/// values and nulls, writes zero values of fields without `omitempty`.
fn finish(schema: &Schema, object: &mut Map<String, Value>) {
    for field in schema.fields {
        let remove = match object.get_mut(field.name) {
            None => {
                if field.card == Card::Always
                    && let Some(zero) = zero_value(field.ty)
                {
                    object.insert(field.name.to_string(), zero);
                }
                false
            }
            Some(value) => {
                let omit = matches!(field.card, Card::OmitEmpty | Card::List) && is_empty(value);
                if !(value.is_null() || omit)
                    && let Ty::Message(schema) = field.ty
                {
                    match value {
                        Value::Object(map) => finish(schema, map),
                        Value::Array(items) => {
                            for item in items {
                                if let Value::Object(map) = item {
                                    finish(schema, map);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                value.is_null() || omit
            }
        };
        if remove {
            object.remove(field.name);
        }
    }
}

fn zero_value(ty: Ty) -> Option<Value> {
    match ty {
        Ty::Str => Some(Value::String(String::new())),
        Ty::Bool => Some(Value::Bool(false)),
        Ty::Int => Some(Value::from(0)),
        Ty::Message(schema) => {
            let mut object = Map::new();
            finish(schema, &mut object);
            Some(Value::Object(object))
        }
        _ => None,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A body captured from kubectl v1.32 (see the fixtures' README.md).
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/protobuf/",
                $name,
                ".bin"
            ))
            .as_slice()
        };
    }

    const FIXTURES: &[(&str, &[u8])] = &[
        ("namespace", fixture!("namespace")),
        ("namespace_save_config", fixture!("namespace_save_config")),
        ("configmap", fixture!("configmap")),
        ("configmap_binary", fixture!("configmap_binary")),
        ("secret_generic", fixture!("secret_generic")),
        ("secret_typed_binary", fixture!("secret_typed_binary")),
        ("secret_docker_registry", fixture!("secret_docker_registry")),
        ("serviceaccount", fixture!("serviceaccount")),
        ("role", fixture!("role")),
        ("role_multi", fixture!("role_multi")),
        ("rolebinding", fixture!("rolebinding")),
        (
            "rolebinding_clusterrole_subjects",
            fixture!("rolebinding_clusterrole_subjects"),
        ),
        ("clusterrole", fixture!("clusterrole")),
        (
            "clusterrole_aggregation",
            fixture!("clusterrole_aggregation"),
        ),
        ("clusterrolebinding", fixture!("clusterrolebinding")),
        (
            "selfsubjectaccessreview",
            fixture!("selfsubjectaccessreview"),
        ),
        (
            "selfsubjectaccessreview_all_namespaces",
            fixture!("selfsubjectaccessreview_all_namespaces"),
        ),
        (
            "selfsubjectaccessreview_nonresource",
            fixture!("selfsubjectaccessreview_nonresource"),
        ),
        (
            "selfsubjectaccessreview_resource_name",
            fixture!("selfsubjectaccessreview_resource_name"),
        ),
        (
            "selfsubjectaccessreview_subresource",
            fixture!("selfsubjectaccessreview_subresource"),
        ),
        ("selfsubjectrulesreview", fixture!("selfsubjectrulesreview")),
        ("deployment_unsupported", fixture!("deployment_unsupported")),
    ];

    fn ok(body: &[u8]) -> Value {
        decode(body).unwrap_or_else(|e| panic!("decode failed: {e}"))
    }

    fn err(body: &[u8]) -> String {
        match decode(body) {
            Ok(v) => panic!("decoded to {v}, expected an error"),
            Err(e) => e.to_string(),
        }
    }

    // --- a minimal encoder, to build bodies kubectl does not send ----------

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn key(num: u32, wire: u8) -> Vec<u8> {
        let mut out = Vec::new();
        varint(u64::from(num) << 3 | u64::from(wire), &mut out);
        out
    }

    fn int(num: u32, v: u64) -> Vec<u8> {
        let mut out = key(num, WIRE_VARINT);
        varint(v, &mut out);
        out
    }

    fn bytes(num: u32, b: &[u8]) -> Vec<u8> {
        let mut out = key(num, WIRE_LEN);
        varint(b.len() as u64, &mut out);
        out.extend_from_slice(b);
        out
    }

    fn s(num: u32, v: &str) -> Vec<u8> {
        bytes(num, v.as_bytes())
    }

    fn msg(num: u32, parts: &[Vec<u8>]) -> Vec<u8> {
        bytes(num, &parts.concat())
    }

    fn entry(num: u32, k: &str, v: &[u8]) -> Vec<u8> {
        msg(num, &[s(1, k), bytes(2, v)])
    }

    fn body(api_version: &str, kind: &str, object: &[Vec<u8>]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(msg(1, &[s(1, api_version), s(2, kind)]));
        out.extend(msg(2, object));
        out
    }

    // --- fixtures captured from kubectl --------------------------------------

    #[test]
    fn kubectl_create_namespace() {
        assert_eq!(
            ok(fixture!("namespace")),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "demo"},
                "spec": {},
                "status": {}
            })
        );
    }

    #[test]
    fn kubectl_create_namespace_save_config() {
        let applied = "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":\
                       {\"name\":\"saved\",\"creationTimestamp\":null},\"spec\":{},\
                       \"status\":{}}\n";
        assert_eq!(
            ok(fixture!("namespace_save_config")),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "saved",
                    "annotations": {
                        "kubectl.kubernetes.io/last-applied-configuration": applied
                    }
                },
                "spec": {},
                "status": {}
            })
        );
    }

    #[test]
    fn kubectl_create_configmap() {
        assert_eq!(
            ok(fixture!("configmap")),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "x"},
                "data": {"a": "1"}
            })
        );
    }

    #[test]
    fn kubectl_create_configmap_with_binary_file() {
        // --from-file with bytes "hello\0\xff\xfebin" lands in binaryData.
        assert_eq!(
            ok(fixture!("configmap_binary")),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cb", "namespace": "x"},
                "data": {"a": "1", "b": "two"},
                "binaryData": {"blob": "aGVsbG8A//5iaW4="}
            })
        );
    }

    #[test]
    fn kubectl_create_secret_generic() {
        assert_eq!(
            ok(fixture!("secret_generic")),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "x"},
                "data": {"p": "cQ=="}
            })
        );
    }

    #[test]
    fn kubectl_create_secret_with_type_and_binary_file() {
        assert_eq!(
            ok(fixture!("secret_typed_binary")),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "st", "namespace": "x"},
                "data": {"blob": "aGVsbG8A//5iaW4=", "k": "dg=="},
                "type": "example.com/custom"
            })
        );
    }

    #[test]
    fn kubectl_create_secret_docker_registry() {
        let config =
            r#"{"auths":{"r.example.com":{"username":"u","password":"pw","auth":"dTpwdw=="}}}"#;
        assert_eq!(
            ok(fixture!("secret_docker_registry")),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "reg", "namespace": "x"},
                "data": {".dockerconfigjson": BASE64.encode(config)},
                "type": "kubernetes.io/dockerconfigjson"
            })
        );
    }

    #[test]
    fn kubectl_create_serviceaccount() {
        assert_eq!(
            ok(fixture!("serviceaccount")),
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "sa", "namespace": "x"}
            })
        );
    }

    #[test]
    fn kubectl_create_role() {
        assert_eq!(
            ok(fixture!("role")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "r", "namespace": "x"},
                "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]
            })
        );
    }

    #[test]
    fn kubectl_create_role_with_several_rules() {
        assert_eq!(
            ok(fixture!("role_multi")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "r2", "namespace": "x"},
                "rules": [
                    {
                        "verbs": ["get", "list", "watch"],
                        "apiGroups": [""],
                        "resources": ["pods"],
                        "resourceNames": ["p1"]
                    },
                    {
                        "verbs": ["get", "list", "watch"],
                        "apiGroups": ["apps"],
                        "resources": ["deployments"],
                        "resourceNames": ["p1"]
                    }
                ]
            })
        );
    }

    #[test]
    fn kubectl_create_rolebinding() {
        assert_eq!(
            ok(fixture!("rolebinding")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "rb", "namespace": "x"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "x"}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}
            })
        );
    }

    fn user_group_sa_subjects() -> Value {
        json!([
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
            {"kind": "ServiceAccount", "name": "sa", "namespace": "x"}
        ])
    }

    #[test]
    fn kubectl_create_rolebinding_to_clusterrole() {
        assert_eq!(
            ok(fixture!("rolebinding_clusterrole_subjects")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "rb2", "namespace": "x"},
                "subjects": user_group_sa_subjects(),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "view"
                }
            })
        );
    }

    #[test]
    fn kubectl_create_clusterrole() {
        assert_eq!(
            ok(fixture!("clusterrole")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "cr"},
                "rules": [
                    {
                        "verbs": ["get"],
                        "apiGroups": [""],
                        "resources": ["configmaps", "namespaces"]
                    },
                    {"verbs": ["get"], "nonResourceURLs": ["/logs/*"]}
                ]
            })
        );
    }

    #[test]
    fn kubectl_create_clusterrole_with_aggregation_rule() {
        assert_eq!(
            ok(fixture!("clusterrole_aggregation")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "agg"},
                "aggregationRule": {
                    "clusterRoleSelectors": [{
                        "matchLabels": {
                            "rbac.example.com/aggregate-to-monitoring": "true",
                            "tier": "x"
                        }
                    }]
                }
            })
        );
    }

    #[test]
    fn kubectl_create_clusterrolebinding() {
        assert_eq!(
            ok(fixture!("clusterrolebinding")),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "crb"},
                "subjects": user_group_sa_subjects(),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cr"
                }
            })
        );
    }

    fn access_review(spec: Value) -> Value {
        json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": spec,
            "status": {"allowed": false}
        })
    }

    #[test]
    fn kubectl_auth_can_i() {
        // kubectl auth can-i create deployments -n x --as=system:serviceaccount:x:sa
        assert_eq!(
            ok(fixture!("selfsubjectaccessreview")),
            access_review(json!({"resourceAttributes": {
                "namespace": "x",
                "verb": "create",
                "group": "apps",
                "resource": "deployments"
            }}))
        );
        // kubectl auth can-i list secrets --all-namespaces
        assert_eq!(
            ok(fixture!("selfsubjectaccessreview_all_namespaces")),
            access_review(json!({"resourceAttributes": {"verb": "list", "resource": "secrets"}}))
        );
        // kubectl auth can-i get /logs
        assert_eq!(
            ok(fixture!("selfsubjectaccessreview_nonresource")),
            access_review(json!({"nonResourceAttributes": {"path": "/logs", "verb": "get"}}))
        );
        // kubectl auth can-i get pods/log -n x (kubectl reads "log" as a name)
        assert_eq!(
            ok(fixture!("selfsubjectaccessreview_resource_name")),
            access_review(json!({"resourceAttributes": {
                "namespace": "x",
                "verb": "get",
                "resource": "pods",
                "name": "log"
            }}))
        );
        // kubectl auth can-i get pods --subresource=log -n x
        assert_eq!(
            ok(fixture!("selfsubjectaccessreview_subresource")),
            access_review(json!({"resourceAttributes": {
                "namespace": "x",
                "verb": "get",
                "resource": "pods",
                "subresource": "log"
            }}))
        );
    }

    #[test]
    fn kubectl_auth_can_i_list() {
        assert_eq!(
            ok(fixture!("selfsubjectrulesreview")),
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectRulesReview",
                "metadata": {},
                "spec": {"namespace": "x"},
                "status": {"incomplete": false}
            })
        );
    }

    #[test]
    fn kubectl_create_deployment_is_an_unsupported_kind() {
        let e = err(fixture!("deployment_unsupported"));
        assert!(
            e.starts_with("unsupported kind \"Deployment\" of apiVersion \"apps/v1\""),
            "{e}"
        );
        assert!(
            e.contains("this test server decodes protobuf for: v1 Namespace, "),
            "{e}"
        );
        for (api_version, kind, _) in KINDS {
            assert!(e.contains(&format!("{api_version} {kind}")), "{e}");
        }
    }

    #[test]
    fn every_fixture_but_the_deployment_decodes() {
        for (name, body) in FIXTURES {
            let result = decode(body);
            if *name == "deployment_unsupported" {
                assert!(result.is_err(), "{name}");
            } else {
                let value = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(value["apiVersion"].is_string() && value["kind"].is_string());
            }
        }
    }

    // --- hand-encoded bodies, for fields kubectl's create commands leave out --

    #[test]
    fn object_meta_in_full() {
        let body = body(
            "v1",
            "Namespace",
            &[
                msg(
                    1,
                    &[
                        s(1, "full"),
                        s(2, "full-"),
                        s(4, "/api/v1/namespaces/full"),
                        s(5, "0b6c4a4e-2f2a-4a57-9a43-5b8cf8b1b2e3"),
                        s(6, "42"),
                        int(7, 3),
                        msg(8, &[int(1, 1_700_000_000), int(2, 500)]),
                        msg(9, &[int(1, 0)]),
                        int(10, 0),
                        entry(11, "app", b"web"),
                        entry(11, "tier", b"front"),
                        entry(12, "note", b"hi"),
                        msg(
                            13,
                            &[
                                s(1, "Deployment"),
                                s(3, "web"),
                                s(4, "uid-1"),
                                s(5, "apps/v1"),
                                int(6, 1),
                                int(7, 0),
                            ],
                        ),
                        msg(13, &[s(5, "v1"), s(1, "ConfigMap")]),
                        s(14, "example.com/a"),
                        s(14, "example.com/b"),
                        msg(
                            17,
                            &[
                                s(1, "kubectl"),
                                s(2, "Update"),
                                s(3, "v1"),
                                msg(4, &[int(1, 86_400 * 365)]),
                                s(6, "FieldsV1"),
                                msg(7, &[s(1, r#"{"f:metadata":{"f:labels":{}}}"#)]),
                            ],
                        ),
                    ],
                ),
                msg(2, &[s(1, "kubernetes")]),
                msg(
                    3,
                    &[
                        s(1, "Terminating"),
                        msg(
                            2,
                            &[
                                s(1, "NamespaceDeletionContentFailure"),
                                s(2, "False"),
                                msg(4, &[int(1, 951_782_400)]),
                                s(5, "ContentDeleted"),
                            ],
                        ),
                    ],
                ),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "full",
                    "generateName": "full-",
                    "selfLink": "/api/v1/namespaces/full",
                    "uid": "0b6c4a4e-2f2a-4a57-9a43-5b8cf8b1b2e3",
                    "resourceVersion": "42",
                    "generation": 3,
                    "creationTimestamp": "2023-11-14T22:13:20Z",
                    "deletionTimestamp": "1970-01-01T00:00:00Z",
                    "deletionGracePeriodSeconds": 0,
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": "hi"},
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "web",
                            "uid": "uid-1",
                            "controller": true,
                            "blockOwnerDeletion": false
                        },
                        {"apiVersion": "v1", "kind": "ConfigMap", "name": "", "uid": ""}
                    ],
                    "finalizers": ["example.com/a", "example.com/b"],
                    "managedFields": [{
                        "manager": "kubectl",
                        "operation": "Update",
                        "apiVersion": "v1",
                        "time": "1971-01-01T00:00:00Z",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:metadata": {"f:labels": {}}}
                    }]
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {
                    "phase": "Terminating",
                    "conditions": [{
                        "type": "NamespaceDeletionContentFailure",
                        "status": "False",
                        "lastTransitionTime": "2000-02-29T00:00:00Z",
                        "reason": "ContentDeleted"
                    }]
                }
            })
        );
    }

    #[test]
    fn empty_and_zero_values_follow_omitempty() {
        // What Go's marshaler writes for an all-zero object: every non-pointer
        // scalar, a zero-length creationTimestamp, empty spec and status.
        let body = body(
            "v1",
            "Namespace",
            &[
                msg(
                    1,
                    &[
                        s(1, ""),
                        s(2, ""),
                        s(3, ""),
                        s(6, ""),
                        int(7, 0),
                        bytes(8, b""),
                    ],
                ),
                msg(2, &[]),
                msg(3, &[s(1, "")]),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}, "spec": {}, "status": {}})
        );
        // An object with no fields at all still gets Go's non-pointer structs.
        assert_eq!(
            ok(&body_raw(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                &[]
            )),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {},
                "roleRef": {"apiGroup": "", "kind": "", "name": ""}
            })
        );
    }

    fn body_raw(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(msg(1, &[s(1, api_version), s(2, kind)]));
        out.extend(bytes(2, raw));
        out
    }

    #[test]
    fn configmap_immutable_and_lossy_utf8() {
        let body = body(
            "v1",
            "ConfigMap",
            &[
                msg(1, &[s(1, "c")]),
                int(4, 0),
                entry(2, "bad", b"a\xffb"),
                entry(3, "empty", b""),
                msg(3, &[s(1, "novalue")]),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "immutable": false,
                "data": {"bad": "a\u{fffd}b"},
                "binaryData": {"empty": "", "novalue": ""}
            })
        );
    }

    #[test]
    fn secret_string_data_and_immutable() {
        let body = body(
            "v1",
            "Secret",
            &[
                msg(1, &[s(1, "s"), s(3, "x")]),
                int(5, 1),
                entry(2, "bin", &[0, 1, 2, 0xfe, 0xff]),
                entry(4, "plain", b"text"),
                s(3, "Opaque"),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "x"},
                "immutable": true,
                "data": {"bin": "AAEC/v8="},
                "stringData": {"plain": "text"},
                "type": "Opaque"
            })
        );
    }

    #[test]
    fn serviceaccount_secrets_and_pull_secrets() {
        let body = body(
            "v1",
            "ServiceAccount",
            &[
                msg(1, &[s(1, "sa"), s(3, "x")]),
                msg(2, &[s(1, "Secret"), s(3, "token"), s(7, "")]),
                msg(3, &[s(1, "regcred")]),
                msg(3, &[]),
                int(4, 0),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "sa", "namespace": "x"},
                "secrets": [{"kind": "Secret", "name": "token"}],
                "imagePullSecrets": [{"name": "regcred"}, {}],
                "automountServiceAccountToken": false
            })
        );
    }

    #[test]
    fn clusterrole_aggregation_with_match_expressions() {
        let body = body(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            &[
                msg(1, &[s(1, "agg")]),
                msg(
                    2,
                    &[s(1, "get"), s(2, ""), s(3, "pods"), s(4, "p"), s(5, "/x")],
                ),
                msg(
                    3,
                    &[msg(
                        1,
                        &[
                            entry(1, "a", b"b"),
                            msg(2, &[s(1, "env"), s(2, "In"), s(3, "prod"), s(3, "qa")]),
                            msg(2, &[s(1, "gone"), s(2, "DoesNotExist")]),
                        ],
                    )],
                ),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "agg"},
                "rules": [{
                    "verbs": ["get"],
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "resourceNames": ["p"],
                    "nonResourceURLs": ["/x"]
                }],
                "aggregationRule": {"clusterRoleSelectors": [{
                    "matchLabels": {"a": "b"},
                    "matchExpressions": [
                        {"key": "env", "operator": "In", "values": ["prod", "qa"]},
                        {"key": "gone", "operator": "DoesNotExist"}
                    ]
                }]}
            })
        );
    }

    #[test]
    fn subject_access_review_in_full() {
        let body = body(
            "authorization.k8s.io/v1",
            "SubjectAccessReview",
            &[
                msg(1, &[]),
                msg(
                    2,
                    &[
                        msg(
                            1,
                            &[
                                s(1, "x"),
                                s(2, "list"),
                                s(3, "apps"),
                                s(4, "v1"),
                                s(5, "deployments"),
                                s(6, "scale"),
                                s(7, "web"),
                                msg(
                                    8,
                                    &[
                                        s(1, "metadata.name=web"),
                                        msg(2, &[s(1, "metadata.name"), s(2, "In"), s(3, "web")]),
                                    ],
                                ),
                                msg(9, &[s(1, "app=web")]),
                            ],
                        ),
                        msg(2, &[s(1, "/healthz"), s(2, "get")]),
                        s(3, "alice"),
                        s(4, "devs"),
                        s(4, "system:authenticated"),
                        msg(5, &[s(1, "scopes"), msg(2, &[s(1, "a"), s(1, "b")])]),
                        msg(5, &[s(1, "empty"), msg(2, &[])]),
                        s(6, "uid-9"),
                    ],
                ),
                msg(3, &[int(1, 1), int(4, 0), s(2, "ok")]),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "metadata": {},
                "spec": {
                    "resourceAttributes": {
                        "namespace": "x",
                        "verb": "list",
                        "group": "apps",
                        "version": "v1",
                        "resource": "deployments",
                        "subresource": "scale",
                        "name": "web",
                        "fieldSelector": {
                            "rawSelector": "metadata.name=web",
                            "requirements": [
                                {"key": "metadata.name", "operator": "In", "values": ["web"]}
                            ]
                        },
                        "labelSelector": {"rawSelector": "app=web"}
                    },
                    "nonResourceAttributes": {"path": "/healthz", "verb": "get"},
                    "user": "alice",
                    "groups": ["devs", "system:authenticated"],
                    "extra": {"scopes": ["a", "b"], "empty": []},
                    "uid": "uid-9"
                },
                "status": {"allowed": true, "reason": "ok"}
            })
        );
    }

    #[test]
    fn local_subject_access_review_and_missing_spec() {
        let body = body(
            "authorization.k8s.io/v1",
            "LocalSubjectAccessReview",
            &[msg(1, &[s(3, "x")])],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "LocalSubjectAccessReview",
                "metadata": {"namespace": "x"},
                "spec": {},
                "status": {"allowed": false}
            })
        );
    }

    #[test]
    fn delete_options_under_any_api_version() {
        let fields = [
            int(1, 0),
            msg(2, &[s(1, "uid-1"), s(2, "")]),
            int(3, 0),
            s(4, "Foreground"),
            s(5, "All"),
            int(6, 0),
        ];
        for api_version in ["v1", "meta.k8s.io/v1", "rbac.authorization.k8s.io/v1"] {
            assert_eq!(
                ok(&body(api_version, "DeleteOptions", &fields)),
                json!({
                    "apiVersion": api_version,
                    "kind": "DeleteOptions",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": "uid-1", "resourceVersion": ""},
                    "orphanDependents": false,
                    "propagationPolicy": "Foreground",
                    "dryRun": ["All"],
                    "ignoreStoreReadErrorWithClusterBreakingPotential": false
                })
            );
        }
        // Negative int64 values are ten-byte varints.
        assert_eq!(
            ok(&body("v1", "DeleteOptions", &[int(1, (-1i64) as u64)])),
            json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": -1})
        );
        // An empty body is valid: no options at all.
        assert_eq!(
            ok(&body("v1", "DeleteOptions", &[])),
            json!({"apiVersion": "v1", "kind": "DeleteOptions"})
        );
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let mut fixed64 = key(90, WIRE_FIXED64);
        fixed64.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        let mut fixed32 = key(91, WIRE_FIXED32);
        fixed32.extend([1, 2, 3, 4]);
        let unknown = [
            int(89, 300),
            fixed64,
            fixed32,
            s(92, "ignored"),
            msg(93, &[int(1, 1)]),
        ];
        let mut object = vec![msg(1, &[s(1, "c"), unknown.concat()])];
        object.extend(unknown.iter().cloned());
        object.push(entry(2, "a", b"1"));
        let mut body = MAGIC.to_vec();
        body.extend(unknown.concat());
        body.extend(msg(1, &[s(1, "v1"), s(2, "ConfigMap"), unknown.concat()]));
        body.extend(msg(2, &object));
        body.extend(s(3, ""));
        body.extend(s(4, CONTENT_TYPE));
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {"a": "1"}
            })
        );
    }

    #[test]
    fn repeated_singular_fields_merge_like_go() {
        let body = body(
            "v1",
            "ConfigMap",
            &[
                msg(1, &[s(1, "first"), entry(11, "a", b"1"), s(14, "f1")]),
                entry(2, "k", b"old"),
                msg(1, &[s(1, "second"), entry(11, "b", b"2"), s(14, "f2")]),
                entry(2, "k", b"new"),
            ],
        );
        assert_eq!(
            ok(&body),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "second",
                    "labels": {"a": "1", "b": "2"},
                    "finalizers": ["f1", "f2"]
                },
                "data": {"k": "new"}
            })
        );
    }

    #[test]
    fn timestamps_format_like_go() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(
            rfc3339(951_825_600).as_deref(),
            Some("2000-02-29T12:00:00Z")
        );
        assert_eq!(
            rfc3339(1_735_689_599).as_deref(),
            Some("2024-12-31T23:59:59Z")
        );
        assert_eq!(
            rfc3339(-62_135_596_800).as_deref(),
            Some("0001-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(-62_167_219_200).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(253_402_300_799).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(rfc3339(253_402_300_800), None);
        assert_eq!(rfc3339(i64::MIN), None);
        assert_eq!(rfc3339(i64::MAX), None);
    }

    // --- malformed input -------------------------------------------------------

    #[test]
    fn bad_magic() {
        let e = err(br#"{"kind":"Namespace"}"#);
        assert!(e.starts_with("bad magic: "), "{e}");
        assert!(e.contains(r#"starts with "{\"ki""#), "{e}");
        assert!(err(b"").starts_with("empty body"));
        assert!(err(b"k8s").starts_with("bad magic: "));
        let e = err(b"\x00\x01\x02\x03\x04");
        assert!(e.contains(r#""\x00\x01\x02\x03""#), "{e}");
        // The magic alone is an envelope without a kind.
        assert!(err(b"k8s\0").contains("names no kind"));
    }

    #[test]
    fn truncated_varints() {
        // In the envelope's first key.
        let e = err(b"k8s\0\x80");
        assert_eq!(
            e,
            "invalid Kubernetes protobuf body: runtime.Unknown envelope: \
             truncated field key: the varint runs past the end of the data"
        );
        // In a length prefix.
        let e = err(b"k8s\0\x12\xff");
        assert!(
            e.ends_with("truncated field 2 (raw): the length varint runs past the end of the data"),
            "{e}"
        );
        // In an int64 value inside metadata.
        let mut b = body(
            "v1",
            "Namespace",
            &[msg(1, &[key(7, WIRE_VARINT), vec![0x80, 0x80]])],
        );
        let e = err(&b);
        assert_eq!(
            e,
            "invalid protobuf body for v1 Namespace: at metadata: truncated field 7 \
             (generation): the varint runs past the end of the data"
        );
        // More than ten bytes.
        b = body(
            "v1",
            "Namespace",
            &[msg(1, &[key(7, WIRE_VARINT), vec![0xff; 11]])],
        );
        assert_eq!(
            err(&b),
            "invalid protobuf body for v1 Namespace: at metadata: field 7 (generation): \
             the varint is longer than 10 bytes"
        );
        // Ten bytes is the most a varint takes: -1 as an int64.
        b = body(
            "v1",
            "Namespace",
            &[msg(1, &[key(7, WIRE_VARINT), vec![0xff; 9], vec![1]])],
        );
        assert_eq!(ok(&b)["metadata"]["generation"], json!(-1));
    }

    #[test]
    fn lengths_beyond_the_buffer() {
        let mut raw = key(2, WIRE_LEN);
        varint(300, &mut raw);
        raw.extend(b"short");
        let e = err(&body_raw("v1", "Secret", &raw));
        assert_eq!(
            e,
            "invalid protobuf body for v1 Secret: truncated field 2 (data): \
             its length is 300 bytes, but only 5 remain"
        );
        // Inside a nested message, the path names where.
        let mut labels = key(11, WIRE_LEN);
        varint(10, &mut labels);
        labels.extend(b"ab");
        let e = err(&body("v1", "Secret", &[msg(1, &[labels])]));
        assert_eq!(
            e,
            "invalid protobuf body for v1 Secret: at metadata: truncated field 11 \
             (labels): its length is 10 bytes, but only 2 remain"
        );
        let e = err(&body(
            "rbac.authorization.k8s.io/v1",
            "Role",
            &[
                msg(2, &[s(1, "get")]),
                msg(2, &[key(3, WIRE_LEN), vec![5, b'p']]),
            ],
        ));
        assert_eq!(
            e,
            "invalid protobuf body for rbac.authorization.k8s.io/v1 Role: at rules[1]: \
             truncated field 3 (resources): its length is 5 bytes, but only 1 remain"
        );
        // A huge length does not allocate or overflow.
        let mut raw = key(2, WIRE_LEN);
        varint(u64::MAX, &mut raw);
        assert!(err(&body_raw("v1", "Secret", &raw)).contains("but only 0 remain"));
        // Fixed-width values.
        let mut raw = key(50, WIRE_FIXED64);
        raw.extend([1, 2, 3]);
        assert!(
            err(&body_raw("v1", "Secret", &raw))
                .ends_with("truncated field 50: a fixed64 value needs 8 bytes, but only 3 remain")
        );
    }

    #[test]
    fn unknown_or_missing_kind() {
        let e = err(&body("v1", "Pod", &[]));
        assert!(
            e.starts_with(
                "unsupported kind \"Pod\" of apiVersion \"v1\" — this test server decodes protobuf for: "
            ),
            "{e}"
        );
        // The kind is known, but not in that group version.
        assert!(
            err(&body("v1", "Role", &[]))
                .starts_with("unsupported kind \"Role\" of apiVersion \"v1\"")
        );
        let e = err(&body("apps/v1", "", &[]));
        assert_eq!(
            e,
            "the runtime.Unknown envelope names no kind (apiVersion \"apps/v1\")"
        );
    }

    #[test]
    fn encoded_or_foreign_raw_is_refused() {
        let mut b = body("v1", "Namespace", &[]);
        b.extend(s(3, "gzip"));
        assert!(err(&b).starts_with("unsupported contentEncoding \"gzip\""));
        let mut b = body("v1", "Namespace", &[]);
        b.extend(s(4, "application/json"));
        assert!(err(&b).starts_with("unsupported contentType \"application/json\""));
    }

    #[test]
    fn wrong_wire_types_and_invalid_keys() {
        // A string field sent as a varint.
        let e = err(&body("v1", "Namespace", &[msg(1, &[int(1, 5)])]));
        assert_eq!(
            e,
            "invalid protobuf body for v1 Namespace: at metadata: field 1 (name): wire type 0 \
             (varint) where the schema has 2 (length-delimited)"
        );
        // A bool sent as a string.
        let e = err(&body("v1", "ConfigMap", &[s(4, "true")]));
        assert!(e.ends_with("field 4 (immutable): wire type 2 (length-delimited) where the schema has 0 (varint)"), "{e}");
        // Groups and invalid wire types.
        let e = err(&body_raw("v1", "ConfigMap", &key(7, 3)));
        assert!(
            e.ends_with("field 7: wire type 3 (start group) is not supported"),
            "{e}"
        );
        let e = err(&body_raw("v1", "ConfigMap", &key(7, 6)));
        assert!(e.ends_with("field 7: invalid wire type 6"), "{e}");
        // Field number 0.
        let e = err(&body_raw("v1", "ConfigMap", &[0x02, 0x00]));
        assert!(e.ends_with("invalid field number 0"), "{e}");
        // A map entry whose value has the wrong type.
        let e = err(&body("v1", "ConfigMap", &[msg(2, &[s(1, "k"), int(2, 1)])]));
        assert!(e.ends_with("at data: field 2 (value): wire type 0 (varint) where the schema has 2 (length-delimited)"), "{e}");
        // typeMeta that is not a message.
        let mut b = MAGIC.to_vec();
        b.extend(int(1, 1));
        assert!(err(&b).ends_with(
            "field 1 (typeMeta): wire type 0 (varint) where the schema has 2 (length-delimited)"
        ));
    }

    #[test]
    fn bad_timestamps_and_fields_v1() {
        let e = err(&body(
            "v1",
            "Namespace",
            &[msg(1, &[msg(8, &[int(1, 300_000_000_000)])])],
        ));
        assert_eq!(
            e,
            "invalid protobuf body for v1 Namespace: at metadata.creationTimestamp: timestamp \
             300000000000 (seconds since 1970) is outside the years 0000 to 9999"
        );
        let e = err(&body(
            "v1",
            "Namespace",
            &[msg(1, &[msg(17, &[msg(7, &[s(1, "{nope")])])])],
        ));
        assert!(
            e.starts_with(
                "invalid protobuf body for v1 Namespace: at metadata.managedFields[0].fieldsV1: \
                 field 1 (Raw) is not valid JSON: "
            ),
            "{e}"
        );
    }

    /// xorshift64*: a small deterministic generator for the fuzz loop.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn mutated_and_random_bodies_never_panic() {
        let check = |body: &[u8]| {
            if let Err(e) = decode(body) {
                assert!(!e.0.is_empty());
            }
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut decoded = 0;
        for (_, fixture) in FIXTURES {
            // Every truncation, and every byte set to a few telling values.
            for len in 0..fixture.len() {
                check(&fixture[..len]);
            }
            for i in 0..fixture.len() {
                for byte in [0x00, 0x01, 0x7f, 0x80, 0xff, rng.next() as u8] {
                    let mut body = fixture.to_vec();
                    body[i] = byte;
                    if decode(&body).is_ok() {
                        decoded += 1;
                    }
                }
            }
            // Random runs of flips, insertions and deletions.
            for _ in 0..2_000 {
                let mut body = fixture.to_vec();
                for _ in 0..1 + rng.below(6) {
                    let at = 4 + rng.below(body.len().saturating_sub(4).max(1));
                    match rng.below(3) {
                        0 if at < body.len() => body[at] ^= 1 << rng.below(8),
                        1 => body.insert(at.min(body.len()), rng.next() as u8),
                        _ if at < body.len() => {
                            body.remove(at);
                        }
                        _ => {}
                    }
                }
                check(&body);
            }
        }
        // Random bytes behind the magic.
        for _ in 0..20_000 {
            let mut body = MAGIC.to_vec();
            body.extend((0..rng.below(64)).map(|_| rng.next() as u8));
            check(&body);
        }
        // Sanity: the mutation loop did reach the decoders, not only errors.
        assert!(decoded > 0);
    }
}
