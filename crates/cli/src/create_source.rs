//! `ferroflux create source git|oci|helm|bucket|chart`: the sources' specs from
//! flags named as `flux create source ...`'s.

use serde_json::json;

use crate::create::{CommonFlags, Draft, GoDuration, local_ref, parse_duration, set};
use crate::kinds;

/// `create source ...`.
#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// How long one fetch of the source may take.
    #[arg(long, global = true, value_parser = parse_duration)]
    fetch_timeout: Option<GoDuration>,
    #[command(subcommand)]
    what: SourceWhat,
}

#[derive(clap::Subcommand, Debug)]
enum SourceWhat {
    /// A GitRepository.
    Git(GitArgs),
    /// An OCIRepository.
    Oci(OciArgs),
    /// A HelmRepository.
    Helm(HelmArgs),
    /// A Bucket.
    Bucket(BucketArgs),
    /// A HelmChart from a HelmRepository, GitRepository or Bucket.
    Chart(ChartArgs),
}

#[derive(clap::Args, Debug)]
struct ChartArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The chart's source: `<kind>/<name>`, kind HelmRepository, GitRepository or Bucket.
    #[arg(long)]
    source: Option<String>,
    /// The chart's name, or its path in a Git or Bucket source.
    #[arg(long)]
    chart: Option<String>,
    /// The chart's version or a SemVer range.
    #[arg(long)]
    chart_version: Option<String>,
    /// When the chart is rebuilt: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    reconcile_strategy: String,
    /// Not supported: signature verification is not available.
    #[arg(long, hide = true)]
    verify_provider: Option<String>,
}

/// Flux's flags for credentials typed on the command line: refused, with
/// the way that works instead.
#[derive(clap::Args, Debug)]
struct InlineCredentials {
    /// Not supported: create a Secret and pass `--secret-ref`.
    #[arg(short = 'u', long, hide = true)]
    username: Option<String>,
    /// Not supported: create a Secret and pass `--secret-ref`.
    #[arg(short = 'p', long, hide = true)]
    password: Option<String>,
    /// Not supported: put `ca.crt` in the `--secret-ref` Secret.
    #[arg(long, hide = true)]
    ca_file: Option<String>,
}

impl InlineCredentials {
    fn refuse(&self) -> anyhow::Result<()> {
        let given = [
            ("--username", self.username.is_some()),
            ("--password", self.password.is_some()),
            ("--ca-file", self.ca_file.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
            anyhow::bail!(
                "{flag} is not supported: create a Secret with the credentials \
                 (kubectl create secret generic ...) and pass --secret-ref"
            );
        }
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
struct GitArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// Git address: ssh://, http:// or https://.
    #[arg(long)]
    url: Option<String>,
    /// Git branch.
    #[arg(long)]
    branch: Option<String>,
    /// Git tag.
    #[arg(long)]
    tag: Option<String>,
    /// Git tag SemVer range.
    #[arg(long)]
    tag_semver: Option<String>,
    /// Git reference name (`refs/heads/main`, `refs/pull/1/head`).
    #[arg(long)]
    ref_name: Option<String>,
    /// Git commit SHA.
    #[arg(long)]
    commit: Option<String>,
    /// An existing Secret with the credentials.
    #[arg(long)]
    secret_ref: Option<String>,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long)]
    proxy_secret_ref: Option<String>,
    /// Git provider: generic, azure or github.
    #[arg(long)]
    provider: Option<String>,
    /// Check out submodules too.
    #[arg(long)]
    recurse_submodules: bool,
    /// Paths to leave out of the artifact (.gitignore syntax).
    #[arg(long, value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// Paths to check out (sparse checkout).
    #[arg(long, value_delimiter = ',')]
    sparse_checkout_paths: Vec<String>,
    #[command(flatten)]
    inline: InlineCredentials,
    /// Not supported: pass a Secret with `identity` via `--secret-ref`.
    #[arg(long, hide = true)]
    private_key_file: Option<String>,
}

#[derive(clap::Args, Debug)]
struct OciArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The OCI repository URL (`oci://`).
    #[arg(long)]
    url: Option<String>,
    /// The artifact's tag.
    #[arg(long)]
    tag: Option<String>,
    /// A SemVer range over the tags.
    #[arg(long)]
    tag_semver: Option<String>,
    /// The artifact's digest.
    #[arg(long)]
    digest: Option<String>,
    /// An image pull Secret (`kubernetes.io/dockerconfigjson`).
    #[arg(long)]
    secret_ref: Option<String>,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long)]
    proxy_secret_ref: Option<String>,
    /// A service account whose image pull Secrets are used.
    #[arg(long)]
    service_account: Option<String>,
    /// A Secret with TLS certificates.
    #[arg(long)]
    cert_ref: Option<String>,
    /// Registry provider: generic, aws, azure or gcp.
    #[arg(long)]
    provider: Option<String>,
    /// Paths to leave out of the artifact.
    #[arg(long, value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// Plain HTTP.
    #[arg(long)]
    insecure: bool,
    /// `<media-type>:<operation>` (extract or copy).
    #[arg(long)]
    layer_selector: Option<String>,
    /// Not supported: signature verification is not available.
    #[arg(long, hide = true)]
    verify_provider: Option<String>,
}

#[derive(clap::Args, Debug)]
struct HelmArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The Helm repository's address (http, https or oci).
    #[arg(long)]
    url: Option<String>,
    /// An existing Secret with TLS, basic auth or docker-config credentials.
    #[arg(long)]
    secret_ref: Option<String>,
    /// OCI provider for authentication: generic, aws, azure or gcp.
    #[arg(long)]
    oci_provider: Option<String>,
    /// Pass the credentials to every domain.
    #[arg(long)]
    pass_credentials: bool,
    #[command(flatten)]
    inline: InlineCredentials,
}

#[derive(clap::Args, Debug)]
struct BucketArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The bucket's name.
    #[arg(long)]
    bucket_name: Option<String>,
    /// The bucket's endpoint address.
    #[arg(long)]
    endpoint: Option<String>,
    /// Provider: generic, aws, azure or gcp.
    #[arg(long, default_value = "generic")]
    provider: String,
    /// The bucket's region.
    #[arg(long)]
    region: Option<String>,
    /// Plain HTTP.
    #[arg(long)]
    insecure: bool,
    /// An existing Secret with the credentials.
    #[arg(long)]
    secret_ref: Option<String>,
    /// An existing Secret with the proxy address and credentials.
    #[arg(long)]
    proxy_secret_ref: Option<String>,
    /// Paths to leave out of the artifact.
    #[arg(long, value_delimiter = ',')]
    ignore_paths: Vec<String>,
    /// Not supported: put the keys in a Secret and pass `--secret-ref`.
    #[arg(long, hide = true)]
    access_key: Option<String>,
    /// Not supported: put the keys in a Secret and pass `--secret-ref`.
    #[arg(long, hide = true)]
    secret_key: Option<String>,
}

/// The scheme of a URL (`https` of `https://...`) and whether a host follows.
fn scheme_of(url: &str) -> Option<(&str, bool)> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    Some((
        scheme,
        !host.is_empty() && !host.contains(char::is_whitespace),
    ))
}

fn check_secret_names(pairs: &[(&str, &Option<String>)]) -> anyhow::Result<()> {
    for (flag, value) in pairs {
        if let Some(v) = value {
            crate::create::parse_object_name(v)
                .map_err(|_| anyhow::anyhow!("invalid {flag} '{v}': not a valid name"))?;
        }
    }
    Ok(())
}

fn one_of(flag: &str, value: &str, allowed: &[&str]) -> anyhow::Result<()> {
    if !allowed.contains(&value) {
        anyhow::bail!(
            "invalid {flag} '{value}': must be one of {}",
            allowed.join(", ")
        );
    }
    Ok(())
}

impl SourceArgs {
    /// The name and the spec the flags describe.
    pub fn draft(&self, common: &CommonFlags) -> anyhow::Result<(String, Draft)> {
        let (name, mut draft) = match &self.what {
            SourceWhat::Git(a) => (a.name.clone(), git(a, common)?),
            SourceWhat::Oci(a) => (a.name.clone(), oci(a, common)?),
            SourceWhat::Helm(a) => (a.name.clone(), helm(a, common)?),
            SourceWhat::Bucket(a) => (a.name.clone(), bucket(a, common)?),
            SourceWhat::Chart(a) => (a.name.clone(), chart(a, common)?),
        };
        if let Some(t) = &self.fetch_timeout {
            draft.spec["timeout"] = t.go().into();
        }
        Ok((name, draft))
    }
}

fn git(a: &GitArgs, common: &CommonFlags) -> anyhow::Result<Draft> {
    a.inline.refuse()?;
    if a.private_key_file.is_some() {
        anyhow::bail!(
            "--private-key-file is not supported: create a Secret with 'identity' and \
             'known_hosts' and pass --secret-ref"
        );
    }
    let Some(url) = a.url.as_deref().filter(|u| !u.is_empty()) else {
        anyhow::bail!("url is required");
    };
    match scheme_of(url) {
        Some(("ssh" | "http" | "https", true)) => {}
        Some((scheme @ ("ssh" | "http" | "https"), false)) => {
            anyhow::bail!("git URL parse failed: '{url}' names no host after {scheme}://")
        }
        Some((scheme, _)) => {
            anyhow::bail!("git URL scheme '{scheme}' not supported, can be: ssh, http and https")
        }
        None => anyhow::bail!("git URL parse failed: '{url}' is not a URL"),
    }
    let mut reference = json!({});
    if let Some(commit) = &a.commit {
        reference["commit"] = commit.clone().into();
        set(
            &mut reference,
            "branch",
            a.branch.clone().unwrap_or_default(),
        );
    } else if let Some(r) = &a.ref_name {
        reference["name"] = r.clone().into();
    } else if let Some(s) = &a.tag_semver {
        reference["semver"] = s.clone().into();
    } else if let Some(t) = &a.tag {
        reference["tag"] = t.clone().into();
    } else if let Some(b) = &a.branch {
        reference["branch"] = b.clone().into();
    } else {
        anyhow::bail!(
            "a Git ref is required, use one of the following: --branch, --tag, --commit, \
             --ref-name or --tag-semver"
        );
    }
    check_secret_names(&[
        ("--secret-ref", &a.secret_ref),
        ("--proxy-secret-ref", &a.proxy_secret_ref),
    ])?;
    let mut spec = json!({"url": url, "interval": common.interval.go(), "ref": reference});
    set(&mut spec, "secretRef", local_ref(&a.secret_ref));
    set(&mut spec, "proxySecretRef", local_ref(&a.proxy_secret_ref));
    if let Some(p) = &a.provider {
        one_of("--provider", p, &["generic", "azure", "github"])?;
        if p == "github" && a.secret_ref.is_none() {
            anyhow::bail!("--provider github needs --secret-ref naming the GitHub App's Secret");
        }
        spec["provider"] = p.clone().into();
    }
    set(&mut spec, "recurseSubmodules", a.recurse_submodules);
    set(&mut spec, "ignore", a.ignore_paths.join("\n"));
    set(&mut spec, "sparseCheckout", a.sparse_checkout_paths.clone());
    Ok(Draft {
        kind: kinds::GIT_REPOSITORY,
        noun: "GitRepository source",
        spec,
    })
}

fn oci(a: &OciArgs, common: &CommonFlags) -> anyhow::Result<Draft> {
    if a.verify_provider.is_some() {
        anyhow::bail!("--verify-provider is not supported: Ferroflux does not verify signatures");
    }
    let Some(url) = a.url.as_deref().filter(|u| !u.is_empty()) else {
        anyhow::bail!("url is required");
    };
    if !matches!(scheme_of(url), Some(("oci", true))) {
        anyhow::bail!("invalid --url '{url}': must start with oci:// and name a registry");
    }
    let mut reference = json!({});
    set(&mut reference, "tag", a.tag.clone().unwrap_or_default());
    set(
        &mut reference,
        "semver",
        a.tag_semver.clone().unwrap_or_default(),
    );
    set(
        &mut reference,
        "digest",
        a.digest.clone().unwrap_or_default(),
    );
    if reference.as_object().is_some_and(|m| m.is_empty()) {
        anyhow::bail!("--tag, --tag-semver or --digest is required");
    }
    check_secret_names(&[
        ("--secret-ref", &a.secret_ref),
        ("--proxy-secret-ref", &a.proxy_secret_ref),
        ("--service-account", &a.service_account),
        ("--cert-ref", &a.cert_ref),
    ])?;
    let mut spec = json!({"url": url, "interval": common.interval.go(), "ref": reference});
    if let Some(p) = &a.provider {
        one_of("--provider", p, &["generic", "aws", "azure", "gcp"])?;
        if p != "generic" {
            spec["provider"] = p.clone().into();
        }
    }
    set(&mut spec, "secretRef", local_ref(&a.secret_ref));
    set(&mut spec, "proxySecretRef", local_ref(&a.proxy_secret_ref));
    set(
        &mut spec,
        "serviceAccountName",
        a.service_account.clone().unwrap_or_default(),
    );
    set(&mut spec, "certSecretRef", local_ref(&a.cert_ref));
    set(&mut spec, "ignore", a.ignore_paths.join("\n"));
    set(&mut spec, "insecure", a.insecure);
    if let Some(sel) = &a.layer_selector {
        let Some((media_type, operation)) = sel.rsplit_once(':').filter(|(m, _)| !m.is_empty())
        else {
            anyhow::bail!(
                "invalid --layer-selector '{sel}': must be in the format '<media-type>:<operation>'"
            );
        };
        if !matches!(operation, "extract" | "copy") {
            anyhow::bail!(
                "invalid --layer-selector '{sel}': operation must be 'extract' or 'copy'"
            );
        }
        spec["layerSelector"] = json!({"mediaType": media_type, "operation": operation});
    }
    Ok(Draft {
        kind: kinds::OCI_REPOSITORY,
        noun: "OCIRepository",
        spec,
    })
}

fn helm(a: &HelmArgs, common: &CommonFlags) -> anyhow::Result<Draft> {
    a.inline.refuse()?;
    let Some(url) = a.url.as_deref().filter(|u| !u.is_empty()) else {
        anyhow::bail!("url is required");
    };
    let oci = match scheme_of(url) {
        None => anyhow::bail!("url parse failed: '{url}' is not a URL"),
        Some(("oci" | "http" | "https", false)) => anyhow::bail!("url host is required: '{url}'"),
        Some(("oci", true)) => true,
        Some(("http" | "https", true)) => false,
        Some((scheme, _)) => {
            anyhow::bail!("url scheme '{scheme}' not supported, can be: http, https and oci")
        }
    };
    check_secret_names(&[("--secret-ref", &a.secret_ref)])?;
    let mut spec = json!({"url": url, "interval": common.interval.go()});
    if oci {
        spec["type"] = "oci".into();
    }
    if let Some(p) = &a.oci_provider {
        one_of("--oci-provider", p, &["generic", "aws", "azure", "gcp"])?;
        if !oci {
            anyhow::bail!("--oci-provider needs an oci:// URL");
        }
        spec["provider"] = p.clone().into();
    }
    set(&mut spec, "secretRef", local_ref(&a.secret_ref));
    set(&mut spec, "passCredentials", a.pass_credentials);
    Ok(Draft {
        kind: kinds::HELM_REPOSITORY,
        noun: "HelmRepository source",
        spec,
    })
}

fn bucket(a: &BucketArgs, common: &CommonFlags) -> anyhow::Result<Draft> {
    if a.access_key.is_some() || a.secret_key.is_some() {
        anyhow::bail!(
            "--access-key/--secret-key are not supported: create a Secret with accesskey and \
             secretkey and pass --secret-ref"
        );
    }
    let Some(bucket_name) = a.bucket_name.as_deref().filter(|b| !b.is_empty()) else {
        anyhow::bail!("bucket-name is required");
    };
    let Some(endpoint) = a.endpoint.as_deref().filter(|b| !b.is_empty()) else {
        anyhow::bail!("endpoint is required");
    };
    if endpoint.contains(char::is_whitespace) || endpoint.contains("://") {
        anyhow::bail!(
            "invalid --endpoint '{endpoint}': expected host[:port] without a scheme (use --insecure for plain HTTP)"
        );
    }
    one_of(
        "--provider",
        &a.provider,
        &["generic", "aws", "azure", "gcp"],
    )?;
    check_secret_names(&[
        ("--secret-ref", &a.secret_ref),
        ("--proxy-secret-ref", &a.proxy_secret_ref),
    ])?;
    let mut spec = json!({
        "bucketName": bucket_name,
        "endpoint": endpoint,
        "interval": common.interval.go(),
        "provider": a.provider,
    });
    set(&mut spec, "region", a.region.clone().unwrap_or_default());
    set(&mut spec, "insecure", a.insecure);
    set(&mut spec, "secretRef", local_ref(&a.secret_ref));
    set(&mut spec, "proxySecretRef", local_ref(&a.proxy_secret_ref));
    set(&mut spec, "ignore", a.ignore_paths.join("\n"));
    Ok(Draft {
        kind: kinds::BUCKET,
        noun: "Bucket source",
        spec,
    })
}

fn chart(a: &ChartArgs, common: &CommonFlags) -> anyhow::Result<Draft> {
    if a.verify_provider.is_some() {
        anyhow::bail!("--verify-provider is not supported: Ferroflux does not verify signatures");
    }
    let Some(source) = a.source.as_deref().filter(|s| !s.is_empty()) else {
        anyhow::bail!("chart source is required");
    };
    let Some(chart) = a.chart.as_deref().filter(|c| !c.is_empty()) else {
        anyhow::bail!("chart name or path is required");
    };
    // A HelmChart's source is in its own namespace: no `.namespace` part.
    let (kind, name, ns) = crate::create::parse_ref(
        "--source",
        source,
        None,
        &["HelmRepository", "GitRepository", "Bucket"],
    )?;
    if ns.is_some() {
        anyhow::bail!("invalid --source '{source}': a HelmChart's source is in its own namespace");
    }
    if !matches!(a.reconcile_strategy.as_str(), "ChartVersion" | "Revision") {
        anyhow::bail!(
            "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
            a.reconcile_strategy
        );
    }
    let mut spec = json!({
        "chart": chart,
        "interval": common.interval.go(),
        "reconcileStrategy": a.reconcile_strategy,
        "sourceRef": {"kind": kind, "name": name},
    });
    set(
        &mut spec,
        "version",
        a.chart_version.clone().unwrap_or_default(),
    );
    Ok(Draft {
        kind: kinds::HELM_CHART,
        noun: "HelmChart source",
        spec,
    })
}
