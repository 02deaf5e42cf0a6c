//! The objects templates see beside values: `.Files` (with `Get`, `GetBytes`,
//! `Glob`, `Lines`, `AsConfig`, `AsSecrets`), `.Capabilities` (`KubeVersion`,
//! `APIVersions.Has`, `HelmVersion`). Their methods are answered through
//! gotemplate's method hook, recognising the receivers by identity.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use base64::Engine as _;
use ferroflux_gotemplate::{Methods, Value};

use crate::chart::File;

/// Helm v4.2.3's default `.Capabilities.APIVersions`.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The Kubernetes version Helm v4.2.3 assumes without `--kube-version` (its
/// client-go's).
pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// `.Capabilities.HelmVersion.Version`. Helm's own default, which only a release
/// build of the helm binary overwrites with the full version (through linker flags):
/// Helm used as a library (the SDK, Flux's helm-controller) reports `vMAJOR.MINOR`.
pub const HELM_VERSION: &str = "v4.2";

/// `.Capabilities.HelmVersion.GoVersion`: the Go release Helm v4.2.3's SDK was built
/// with, so templates see what they see under that engine.
pub const HELM_GO_VERSION: &str = "go1.26.6";

/// `.Capabilities.HelmVersion.KubeClientVersion`: Helm v4.2.3's client-go, as
/// `vMAJOR.MINOR`.
pub const HELM_KUBE_CLIENT_VERSION: &str = "v1.36";

/// A parsed Kubernetes version (`.Capabilities.KubeVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// As given, with a `v` (`v1.33.4-gke.1245000`).
    pub version: String,
    /// `vMAJOR.MINOR.PATCH` (`v1.33.4`): what constraints are checked against.
    pub normalized: String,
    /// Major.
    pub major: String,
    /// Minor.
    pub minor: String,
}

impl KubeVersion {
    /// Parses as Kubernetes' `ParseGeneric`: `v?MAJOR.MINOR[.PATCH]` then anything.
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let t = s.trim();
        let body = t.strip_prefix('v').unwrap_or(t);
        let end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let nums: Vec<&str> = body[..end].split('.').collect();
        let bad = || format!("could not parse {s:?} as version");
        if nums.len() < 2 || nums.iter().any(|n| n.is_empty()) {
            return Err(bad());
        }
        let n: Vec<u64> = nums
            .iter()
            .map(|x| x.parse::<u64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let patch = n.get(2).copied().unwrap_or(0);
        Ok(KubeVersion {
            version: if s.starts_with('v') {
                s.to_string()
            } else {
                format!("v{s}")
            },
            normalized: format!("v{}.{}.{patch}", n[0], n[1]),
            major: n[0].to_string(),
            minor: n[1].to_string(),
        })
    }
}

/// Identity of a value shared by reference (maps, lists and strings are `Rc`s).
fn identity(v: &Value) -> Option<usize> {
    match v {
        Value::Map(m) => Some(Rc::as_ptr(m) as *const u8 as usize),
        Value::List(l) => Some(Rc::as_ptr(l) as *const u8 as usize),
        Value::Str(s) => Some(Rc::as_ptr(s) as *const u8 as usize),
        _ => None,
    }
}

enum Kind {
    Files(Rc<BTreeMap<String, Rc<[u8]>>>),
    ApiVersions(Rc<Vec<String>>),
    Kube(Rc<KubeVersion>),
    HelmVersion,
}

/// Globs made during one render are kept alive (and bounded) so their
/// identity stays unique.
const MAX_OBJECTS: usize = 100_000;

#[derive(Default)]
struct Registry {
    by_id: HashMap<usize, (Value, Kind)>,
}

/// The host objects of one render and the method hook that answers for them.
#[derive(Clone, Default)]
pub struct Objects {
    reg: Rc<RefCell<Registry>>,
}

impl Objects {
    /// A new, empty set of objects.
    pub fn new() -> Objects {
        Objects::default()
    }

    fn register(&self, v: Value, k: Kind) -> Result<Value, String> {
        let mut r = self.reg.borrow_mut();
        if r.by_id.len() >= MAX_OBJECTS {
            return Err("too many .Files objects in one render".into());
        }
        if let Some(id) = identity(&v) {
            r.by_id.insert(id, (v.clone(), k));
        }
        Ok(v)
    }

    /// `.Files` of a chart's files.
    pub fn files(&self, files: &[File]) -> Value {
        let m: BTreeMap<String, Rc<[u8]>> = files
            .iter()
            .map(|f| (f.name.clone(), Rc::from(f.data.as_slice())))
            .collect();
        self.files_value(Rc::new(m)).unwrap_or(Value::Nil)
    }

    fn files_value(&self, m: Rc<BTreeMap<String, Rc<[u8]>>>) -> Result<Value, String> {
        let v = Value::map(
            m.iter()
                .map(|(k, d)| (k.clone(), Value::str(String::from_utf8_lossy(d))))
                .collect(),
        );
        self.register(v, Kind::Files(m))
    }

    /// `.Capabilities`.
    pub fn capabilities(&self, kube: &KubeVersion, extra_api_versions: &[String]) -> Value {
        let mut list: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        list.extend(extra_api_versions.iter().cloned());
        let api = Value::list(list.iter().map(Value::str).collect());
        let api = self
            .register(api, Kind::ApiVersions(Rc::new(list)))
            .unwrap_or(Value::Nil);
        // printed as Go prints the struct value; its String method gives the
        // normalised version
        let kv = Value::str(format!(
            "{{{} {} {} {}}}",
            kube.version, kube.normalized, kube.major, kube.minor
        ));
        let kv = self
            .register(kv, Kind::Kube(Rc::new(kube.clone())))
            .unwrap_or(Value::Nil);
        // Helm's BuildInfo struct: its JSON names as the map's keys (toJson, toYaml),
        // its Go field names answered by the method hook. Known difference: toJson
        // writes the keys sorted where Go writes them in field order.
        let mut helm = BTreeMap::new();
        helm.insert("version".into(), Value::str(HELM_VERSION));
        helm.insert("go_version".into(), Value::str(HELM_GO_VERSION));
        helm.insert(
            "kube_client_version".into(),
            Value::str(HELM_KUBE_CLIENT_VERSION),
        );
        let helm = self
            .register(Value::map(helm), Kind::HelmVersion)
            .unwrap_or(Value::Nil);
        let mut caps = BTreeMap::new();
        caps.insert("APIVersions".into(), api);
        caps.insert("KubeVersion".into(), kv);
        caps.insert("HelmVersion".into(), helm);
        Value::map(caps)
    }

    /// The method hook for a template set.
    pub fn methods(&self) -> Methods {
        let this = self.clone();
        Methods(Rc::new(move |recv: &Value, name: &str, args: &[Value]| {
            let id = identity(recv)?;
            let kind = {
                let r = this.reg.borrow();
                match &r.by_id.get(&id)?.1 {
                    Kind::Files(m) => Kind::Files(m.clone()),
                    Kind::ApiVersions(l) => Kind::ApiVersions(l.clone()),
                    Kind::Kube(k) => Kind::Kube(k.clone()),
                    Kind::HelmVersion => Kind::HelmVersion,
                }
            };
            this.call(kind, name, args)
        }))
    }

    fn call(&self, kind: Kind, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                ))
            }
        };
        let str_arg = |i: usize| -> Result<String, String> {
            match args.get(i) {
                Some(Value::Str(s)) => Ok(s.to_string()),
                Some(other) => Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
                None => Err(format!("wrong number of args for {name}")),
            }
        };
        match kind {
            Kind::Files(m) => {
                let r = match name {
                    "Get" | "GetBytes" => arity(1).and_then(|_| str_arg(0)).map(|p| {
                        Value::str(
                            m.get(&p)
                                .map(|d| String::from_utf8_lossy(d).into_owned())
                                .unwrap_or_default(),
                        )
                    }),
                    "Lines" => arity(1).and_then(|_| str_arg(0)).map(|p| match m.get(&p) {
                        None => Value::list(vec![]),
                        Some(d) => {
                            let s = String::from_utf8_lossy(d);
                            let s = s.strip_suffix('\n').unwrap_or(&s);
                            Value::list(s.split('\n').map(Value::str).collect())
                        }
                    }),
                    "Glob" => arity(1).and_then(|_| str_arg(0)).and_then(|p| {
                        let g = glob(&p);
                        let sub: BTreeMap<String, Rc<[u8]>> = m
                            .iter()
                            .filter(|(k, _)| g.is_match(k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        self.files_value(Rc::new(sub))
                    }),
                    "AsConfig" => arity(0).map(|_| {
                        let mm: BTreeMap<String, Value> = m
                            .iter()
                            .map(|(k, v)| (base(k), Value::str(String::from_utf8_lossy(v))))
                            .collect();
                        as_yaml(mm)
                    }),
                    "AsSecrets" => arity(0).map(|_| {
                        let mm: BTreeMap<String, Value> = m
                            .iter()
                            .map(|(k, v)| {
                                (
                                    base(k),
                                    Value::str(base64::engine::general_purpose::STANDARD.encode(v)),
                                )
                            })
                            .collect();
                        as_yaml(mm)
                    }),
                    _ => return None,
                };
                Some(r)
            }
            Kind::ApiVersions(l) => match name {
                "Has" => Some(
                    arity(1)
                        .and_then(|_| str_arg(0))
                        .map(|v| Value::Bool(l.contains(&v))),
                ),
                _ => None,
            },
            Kind::Kube(k) => {
                let v = match name {
                    "Version" => &k.version,
                    "Major" => &k.major,
                    "Minor" => &k.minor,
                    "GitVersion" | "String" => &k.normalized,
                    _ => return None,
                };
                Some(Ok(Value::str(v)))
            }
            Kind::HelmVersion => {
                let v = match name {
                    "Version" => HELM_VERSION,
                    "GitCommit" | "GitTreeState" => "",
                    "GoVersion" => HELM_GO_VERSION,
                    "KubeClientVersion" => HELM_KUBE_CLIENT_VERSION,
                    // printed as Go prints the struct (it has no String method)
                    "String" => {
                        return Some(Ok(Value::str(format!(
                            "{{{HELM_VERSION}   {HELM_GO_VERSION} {HELM_KUBE_CLIENT_VERSION}}}"
                        ))));
                    }
                    _ => return None,
                };
                Some(Ok(Value::str(v)))
            }
        }
    }
}

fn base(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

fn as_yaml(m: BTreeMap<String, Value>) -> Value {
    if m.is_empty() {
        return Value::str("");
    }
    let y = ferroflux_gotemplate::yaml::to_yaml(&Value::map(m));
    Value::str(y.strip_suffix('\n').unwrap_or(&y))
}

/// gobwas/glob with `/` as separator, as `.Files.Glob` compiles its pattern:
/// `*` stops at `/`, `**` crosses it anywhere (`files/**.conf`), `?` one
/// character but `/`, `[a-z]`/`[!a-z]` classes, `{a,b}` alternatives, `\`
/// escapes; a bad pattern means `**`. Translated to a regular expression
/// (globset treats `**` inside a path segment as `*`, gobwas does not).
fn glob(p: &str) -> regex::Regex {
    glob_regex(p)
        .and_then(|r| regex::Regex::new(&r).ok())
        .unwrap_or_else(|| regex::Regex::new("^(?s:.*)$").expect("match-all regex"))
}

fn glob_regex(p: &str) -> Option<String> {
    let mut out = String::from("^");
    let mut chars = p.chars().peekable();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    out.push_str("(?s:.*)");
                } else {
                    out.push_str("[^/]*");
                }
            }
            '?' => out.push_str("[^/]"),
            '\\' => out.push_str(&regex::escape(&chars.next()?.to_string())),
            '{' => {
                depth += 1;
                out.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                out.push(')');
            }
            ',' if depth > 0 => out.push('|'),
            '[' => {
                out.push('[');
                if matches!(chars.peek(), Some('!')) {
                    chars.next();
                    out.push('^');
                }
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    if c == '\\' || c == '[' || c == '&' || c == '~' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                if !closed {
                    return None;
                }
                out.push(']');
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    if depth > 0 {
        return None;
    }
    out.push('$');
    Some(out)
}
