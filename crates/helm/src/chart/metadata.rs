//! `Chart.yaml` (Helm's `chart.Metadata`), as Helm reads and validates it.

use serde::{Deserialize, Serialize};

use ferroflux_gotemplate::Value;

/// A maintainer entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Email address.
    #[serde(default)]
    pub email: String,
    /// URL.
    #[serde(default)]
    pub url: String,
}

/// One `import-values` entry: `name` (the child's `exports.<name>`) or
/// `{child, parent}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImportValue {
    /// The child's `exports.<name>` table, merged into the parent's root.
    Export(String),
    /// A child path copied to a parent path.
    Map {
        /// Path in the child's values.
        child: serde_json::Value,
        /// Path in the parent's values.
        parent: serde_json::Value,
    },
}

/// A dependency declared in `Chart.yaml` (or `requirements.yaml` for v1 charts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Version constraint.
    #[serde(default)]
    pub version: String,
    /// Repository URL.
    #[serde(default)]
    pub repository: String,
    /// Comma-separated value paths; the first that holds a bool decides.
    #[serde(default)]
    pub condition: String,
    /// Tags: the dependency is off when all of its tags are false.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether it was enabled (set during processing).
    #[serde(default)]
    pub enabled: bool,
    /// Values imported from the child into the parent.
    #[serde(default, rename = "import-values")]
    pub import_values: Vec<ImportValue>,
    /// Alias: the name the dependency is used under.
    #[serde(default)]
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Home page.
    #[serde(default)]
    pub home: String,
    /// Source URLs.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// SemVer 2 version.
    #[serde(default)]
    pub version: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// Keywords.
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    /// Maintainers.
    #[serde(default)]
    pub maintainers: Option<Vec<Maintainer>>,
    /// Icon URL.
    #[serde(default)]
    pub icon: String,
    /// `v1` or `v2`.
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    /// Condition (v1 charts, unused by Helm 3+).
    #[serde(default)]
    pub condition: String,
    /// Tags (v1 charts, unused by Helm 3+).
    #[serde(default)]
    pub tags: String,
    /// Version of the application.
    #[serde(default)]
    pub app_version: String,
    /// Whether the chart is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Annotations.
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Constraint on the Kubernetes version.
    #[serde(default)]
    pub kube_version: String,
    /// Dependencies.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// `application` or `library`.
    #[serde(default, rename = "type")]
    pub chart_type: String,
}

impl Metadata {
    /// Helm's `Metadata.Validate`, with its messages.
    pub fn validate(&self) -> Result<(), String> {
        let v = |m: String| Err(format!("validation: {m}"));
        if self.api_version.is_empty() {
            return v("chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return v("chart.metadata.name is required".into());
        }
        if self.name.contains('/') || self.name == "." || self.name == ".." {
            return v(format!("chart.metadata.name {:?} is invalid", self.name));
        }
        if self.version.is_empty() {
            return v("chart.metadata.version is required".into());
        }
        if ferroflux_gocompat::semver::Version::parse(&self.version).is_err() {
            return v(format!(
                "chart.metadata.version {:?} is invalid",
                self.version
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return v("chart.metadata.type must be application or library".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.dependencies {
            if !d.alias.is_empty()
                && !d
                    .alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return v(format!(
                    "dependency {:?} has disallowed characters in the alias",
                    d.name
                ));
            }
            let key = if d.alias.is_empty() {
                &d.name
            } else {
                &d.alias
            };
            if !seen.insert(key.clone()) {
                return v(format!(
                    "more than one dependency with name or alias {key:?}"
                ));
            }
        }
        Ok(())
    }

    /// `.Chart` as templates see it: Go's field names, and `IsRoot`.
    pub fn template_value(&self, is_root: bool) -> Value {
        use std::collections::BTreeMap;
        let s = Value::str;
        let strs = |l: &Option<Vec<String>>| match l {
            Some(l) => Value::list(l.iter().map(Value::str).collect()),
            None => Value::Nil,
        };
        let mut m = BTreeMap::new();
        m.insert("Name".into(), s(&self.name));
        m.insert("Home".into(), s(&self.home));
        m.insert("Sources".into(), strs(&self.sources));
        m.insert("Version".into(), s(&self.version));
        m.insert("Description".into(), s(&self.description));
        m.insert("Keywords".into(), strs(&self.keywords));
        m.insert(
            "Maintainers".into(),
            match &self.maintainers {
                Some(l) => Value::list(
                    l.iter()
                        .map(|x| {
                            let mut mm = BTreeMap::new();
                            mm.insert("Name".into(), s(&x.name));
                            mm.insert("Email".into(), s(&x.email));
                            mm.insert("URL".into(), s(&x.url));
                            Value::map(mm)
                        })
                        .collect(),
                ),
                None => Value::Nil,
            },
        );
        m.insert("Icon".into(), s(&self.icon));
        m.insert("APIVersion".into(), s(&self.api_version));
        m.insert("Condition".into(), s(&self.condition));
        m.insert("Tags".into(), s(&self.tags));
        m.insert("AppVersion".into(), s(&self.app_version));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        m.insert(
            "Annotations".into(),
            match &self.annotations {
                Some(a) => Value::map(a.iter().map(|(k, v)| (k.clone(), s(v))).collect()),
                None => Value::Nil,
            },
        );
        m.insert("KubeVersion".into(), s(&self.kube_version));
        m.insert(
            "Dependencies".into(),
            Value::list(self.dependencies.iter().map(dependency_value).collect()),
        );
        m.insert("Type".into(), s(&self.chart_type));
        m.insert("IsRoot".into(), Value::Bool(is_root));
        Value::map(m)
    }
}

fn dependency_value(d: &Dependency) -> Value {
    use std::collections::BTreeMap;
    let s = Value::str;
    let mut m = BTreeMap::new();
    m.insert("Name".into(), s(&d.name));
    m.insert("Version".into(), s(&d.version));
    m.insert("Repository".into(), s(&d.repository));
    m.insert("Condition".into(), s(&d.condition));
    m.insert(
        "Tags".into(),
        Value::list(d.tags.iter().map(Value::str).collect()),
    );
    m.insert("Enabled".into(), Value::Bool(d.enabled));
    m.insert(
        "ImportValues".into(),
        Value::list(
            d.import_values
                .iter()
                .map(|iv| match iv {
                    ImportValue::Export(e) => Value::str(e),
                    ImportValue::Map { child, parent } => {
                        let mut mm = BTreeMap::new();
                        mm.insert("child".into(), crate::values::to_template(child));
                        mm.insert("parent".into(), crate::values::to_template(parent));
                        Value::map(mm)
                    }
                })
                .collect(),
        ),
    );
    m.insert("Alias".into(), s(&d.alias));
    Value::map(m)
}
