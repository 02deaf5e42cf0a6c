//! Reading a chart from a directory or from `.tgz` bytes. Archives are untrusted:
//! every entry's path is checked (no `..`, no absolute path, no link leaving the
//! chart) and sizes are bounded (per file, in total across nested archives, and in
//! entry count) before anything is kept.

use ferroflux_gocompat::path::clean;
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

use super::ignore::Rules;
use super::metadata::Metadata;
use super::{Chart, File};

/// Bounds on what loading a chart may read.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// Compressed size of one archive.
    pub max_archive_bytes: u64,
    /// Decompressed bytes of a chart, its files and nested archives together
    /// (Helm's `MaxDecompressedChartSize`, 100 MiB).
    pub max_total_bytes: u64,
    /// Bytes of one file (Helm's `MaxDecompressedFileSize`, 5 MiB).
    pub max_file_bytes: u64,
    /// Files of a chart and its subcharts together.
    pub max_files: usize,
    /// Nesting of subcharts.
    pub max_depth: usize,
}

impl Default for LoadLimits {
    fn default() -> LoadLimits {
        LoadLimits {
            max_archive_bytes: 100 << 20,
            max_total_bytes: 100 << 20,
            max_file_bytes: 5 << 20,
            max_files: 20_000,
            max_depth: 16,
        }
    }
}

/// Why a chart could not be loaded; the texts are Helm's where Helm has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The chart (or a file of it) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A limit was exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// An archive entry or a directory entry is not allowed.
    #[error("{0}")]
    Unsafe(String),
    /// Reading a directory failed.
    #[error("{0}")]
    Io(String),
}

struct Ctx<'a> {
    limits: &'a LoadLimits,
    total: Cell<u64>,
    files: Cell<usize>,
    ancestors: std::cell::RefCell<Vec<String>>,
}

impl Ctx<'_> {
    fn new(limits: &LoadLimits) -> Ctx<'_> {
        Ctx {
            limits,
            total: Cell::new(0),
            files: Cell::new(0),
            ancestors: Default::default(),
        }
    }

    fn account(&self, name: &str, size: u64) -> Result<(), LoadError> {
        if size > self.limits.max_file_bytes {
            return Err(LoadError::TooLarge(format!(
                "decompressed chart file {name:?} is larger than the maximum file size {}",
                self.limits.max_file_bytes
            )));
        }
        let t = self.total.get() + size;
        if t > self.limits.max_total_bytes {
            return Err(LoadError::TooLarge(format!(
                "decompressed chart is larger than the maximum size {}",
                self.limits.max_total_bytes
            )));
        }
        self.total.set(t);
        let n = self.files.get() + 1;
        if n > self.limits.max_files {
            return Err(LoadError::TooLarge(format!(
                "chart has more than the maximum of {} files",
                self.limits.max_files
            )));
        }
        self.files.set(n);
        Ok(())
    }
}

/// Loads a chart from a directory, applying its `.helmignore`. Symbolic links are
/// followed only when they stay inside the chart.
pub fn load_dir(dir: &Path, limits: &LoadLimits) -> Result<Chart, LoadError> {
    let ctx = Ctx::new(limits);
    let root = dir
        .canonicalize()
        .map_err(|e| LoadError::Io(format!("{}: {e}", dir.display())))?;
    let rules = match std::fs::read_to_string(root.join(".helmignore")) {
        Ok(t) => Rules::parse(&t).map_err(LoadError::Invalid)?,
        Err(_) => Rules::defaults(),
    };
    let mut files = vec![];
    walk(&ctx, &root, &root, "", &rules, &mut files, 0)?;
    load_files_ctx(&ctx, files)
}

fn walk(
    ctx: &Ctx,
    root: &Path,
    dir: &Path,
    prefix: &str,
    rules: &Rules,
    out: &mut Vec<File>,
    depth: usize,
) -> Result<(), LoadError> {
    if depth > 64 {
        return Err(LoadError::TooLarge(format!(
            "directory tree too deep at {}",
            dir.display()
        )));
    }
    let io = |e: std::io::Error| LoadError::Io(format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let mut path = e.path();
        let mut ft = e.file_type().map_err(io)?;
        if ft.is_symlink() {
            let target = path.canonicalize().map_err(|err| {
                LoadError::Unsafe(format!("cannot follow symbolic link {rel}: {err}"))
            })?;
            if !target.starts_with(root) {
                return Err(LoadError::Unsafe(format!(
                    "chart file {rel} is a symbolic link out of the chart"
                )));
            }
            ft = std::fs::metadata(&target).map_err(io)?.file_type();
            path = target;
        }
        if ft.is_dir() {
            if rules.ignored(&rel, true) {
                continue;
            }
            walk(ctx, root, &path, &rel, rules, out, depth + 1)?;
            continue;
        }
        if rules.ignored(&rel, false) {
            continue;
        }
        if !ft.is_file() {
            return Err(LoadError::Unsafe(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                path.display()
            )));
        }
        // the size from the open file (one path lookup), the buffer sized once;
        // the read stays bounded should the file grow meanwhile
        let file = std::fs::File::open(&path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > ctx.limits.max_file_bytes {
            return Err(LoadError::TooLarge(format!(
                "chart file {rel:?} is larger than the maximum file size {}",
                ctx.limits.max_file_bytes
            )));
        }
        let mut data = Vec::with_capacity(size as usize + 1);
        file.take(ctx.limits.max_file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(io)?;
        ctx.account(&rel, data.len() as u64)?;
        out.push(File {
            name: rel,
            data: strip_bom(data),
        });
    }
    Ok(())
}

fn strip_bom(mut d: Vec<u8>) -> Vec<u8> {
    if d.starts_with(b"\xEF\xBB\xBF") {
        d.drain(..3);
    }
    d
}

/// Loads a chart from `.tgz` bytes.
pub fn load_archive(bytes: &[u8], limits: &LoadLimits) -> Result<Chart, LoadError> {
    let ctx = Ctx::new(limits);
    load_archive_ctx(&ctx, bytes)
}

fn load_archive_ctx(ctx: &Ctx, bytes: &[u8]) -> Result<Chart, LoadError> {
    let files = archive_files(ctx, bytes)?;
    load_files_ctx(ctx, files)
}

/// A reader that fails once more than `left` bytes came through: a gzip bomb
/// stops here, whatever the archive claims.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other("decompressed archive too large"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn archive_files(ctx: &Ctx, bytes: &[u8]) -> Result<Vec<File>, LoadError> {
    let limits = ctx.limits;
    if bytes.len() as u64 > limits.max_archive_bytes {
        return Err(LoadError::TooLarge(format!(
            "chart archive is larger than the maximum size {}",
            limits.max_archive_bytes
        )));
    }
    // room for the tar headers and padding around the data the limits allow
    let left = limits.max_total_bytes.saturating_sub(ctx.total.get())
        + (limits.max_files as u64 + 16) * 1536;
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(Bounded { inner: gz, left });
    let bad = |e: std::io::Error| {
        if e.to_string().contains("decompressed archive too large") {
            LoadError::TooLarge(format!(
                "decompressed chart is larger than the maximum size {}",
                limits.max_total_bytes
            ))
        } else {
            LoadError::Invalid(format!("chart archive is not a gzipped tar: {e}"))
        }
    };
    let mut files = vec![];
    for entry in ar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = entry_name(&raw)?;
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let dir = match name.rfind('/') {
                Some(i) => &name[..i],
                None => "",
            };
            let joined = if kind.is_hard_link() {
                // hard links name their target from the archive root
                target
                    .split_once('/')
                    .map(|x| x.1)
                    .unwrap_or("")
                    .to_string()
            } else {
                format!("{dir}/{target}")
            };
            if target.starts_with('/') || clean(&joined).starts_with("..") {
                return Err(LoadError::Unsafe(format!(
                    "chart archive entry {raw:?} links out of the chart (to {target:?})"
                )));
            }
        }
        let size = entry.header().size().unwrap_or(0);
        if size > limits.max_file_bytes {
            return Err(LoadError::TooLarge(format!(
                "decompressed chart file {name:?} is larger than the maximum file size {}",
                limits.max_file_bytes
            )));
        }
        let mut data = vec![];
        if kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse() {
            (&mut entry)
                .take(limits.max_file_bytes + 1)
                .read_to_end(&mut data)
                .map_err(bad)?;
        }
        ctx.account(&name, data.len() as u64)?;
        files.push(File {
            name,
            data: strip_bom(data),
        });
    }
    if files.is_empty() {
        return Err(LoadError::Invalid("no files in chart archive".into()));
    }
    Ok(files)
}

/// Helm's name of an archive entry: the first path element (the chart's
/// directory) dropped, cleaned, and refused when it leaves the chart.
fn entry_name(raw: &str) -> Result<String, LoadError> {
    let delim = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delim).collect();
    let n = parts[1..].join("/");
    if n.starts_with('/') {
        return Err(LoadError::Unsafe(
            "chart illegally contains absolute paths".into(),
        ));
    }
    let n = clean(&n);
    if n == "." {
        return Err(LoadError::Unsafe(format!(
            "chart illegally contains content outside the base directory: {raw:?}"
        )));
    }
    if n.starts_with("..") {
        return Err(LoadError::Unsafe(
            "chart illegally references parent directory".into(),
        ));
    }
    let b = n.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        return Err(LoadError::Unsafe(
            "chart contains illegally named files".into(),
        ));
    }
    if parts[0] == "Chart.yaml" {
        return Err(LoadError::Invalid(
            "chart yaml not in base directory".into(),
        ));
    }
    Ok(n)
}

/// Builds a chart from its files (names relative to the chart root), as Helm's
/// `LoadFiles` does: subcharts under `charts/` (directories or `.tgz`) included.
pub fn load_files(files: Vec<File>, limits: &LoadLimits) -> Result<Chart, LoadError> {
    let ctx = Ctx::new(limits);
    load_files_ctx(&ctx, files)
}

fn load_files_ctx(ctx: &Ctx, files: Vec<File>) -> Result<Chart, LoadError> {
    let inv = LoadError::Invalid;
    let mut metadata: Option<Metadata> = None;
    let mut requirements = None;
    let mut chart = Chart {
        metadata: Metadata::default(),
        templates: vec![],
        files: vec![],
        values: serde_json::Map::new(),
        raw_values: None,
        schema: None,
        dependencies: vec![],
    };
    let mut subcharts: std::collections::BTreeMap<String, Vec<File>> = Default::default();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {
                let v = crate::yaml::typed_document(&String::from_utf8_lossy(&f.data))
                    .map_err(|e| inv(format!("cannot load Chart.yaml: {e}")))?;
                let mut md: Metadata = serde_json::from_value(v)
                    .map_err(|e| inv(format!("cannot load Chart.yaml: {e}")))?;
                if md.api_version.is_empty() {
                    md.api_version = "v1".into();
                }
                metadata = Some(md);
            }
            "requirements.yaml" => requirements = Some(f),
            "Chart.lock" | "requirements.lock" => {}
            "values.yaml" => {
                chart.values = crate::yaml::values(&String::from_utf8_lossy(&f.data))
                    .map_err(|e| inv(format!("cannot load values.yaml: {e}")))?;
                chart.raw_values = Some(f.data);
            }
            "values.schema.json" => chart.schema = Some(f.data),
            n if n.starts_with("templates/") => chart.templates.push(f),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    chart.files.push(f);
                    continue;
                }
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or(rest).to_string();
                subcharts.entry(cname).or_default().push(File {
                    name: rest.to_string(),
                    data: f.data,
                });
            }
            _ => chart.files.push(f),
        }
    }
    let Some(mut md) = metadata else {
        return Err(inv("Chart.yaml file is missing".into()));
    };
    if let Some(req) = requirements {
        #[derive(serde::Deserialize)]
        struct Req {
            #[serde(default)]
            dependencies: Vec<super::Dependency>,
        }
        let v = crate::yaml::typed_document(&String::from_utf8_lossy(&req.data))
            .map_err(|e| inv(format!("cannot load requirements.yaml: {e}")))?;
        let r: Req = serde_json::from_value(v)
            .map_err(|e| inv(format!("cannot load requirements.yaml: {e}")))?;
        if !r.dependencies.is_empty() {
            md.dependencies = r.dependencies;
        }
        if md.api_version == "v1" {
            chart.files.push(req);
        }
    }
    md.validate().map_err(inv)?;
    chart.metadata = md;
    chart.templates.sort_by(|a, b| a.name.cmp(&b.name));

    let me = format!("{}-{}", chart.metadata.name, chart.metadata.version);
    {
        let anc = ctx.ancestors.borrow();
        if anc.contains(&me) {
            let mut chain: Vec<&str> = anc.iter().map(String::as_str).collect();
            chain.push(&me);
            return Err(LoadError::Invalid(format!(
                "dependency cycle: {}",
                chain.join(" -> ")
            )));
        }
        if anc.len() >= ctx.limits.max_depth {
            return Err(LoadError::TooLarge(format!(
                "subcharts nested deeper than {} levels",
                ctx.limits.max_depth
            )));
        }
    }
    ctx.ancestors.borrow_mut().push(me);
    let result = load_subcharts(ctx, &mut chart, subcharts);
    ctx.ancestors.borrow_mut().pop();
    result?;
    Ok(chart)
}

fn load_subcharts(
    ctx: &Ctx,
    chart: &mut Chart,
    subcharts: std::collections::BTreeMap<String, Vec<File>>,
) -> Result<(), LoadError> {
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if n.ends_with(".tgz") {
            let f = &files[0];
            if f.name != n {
                return Err(LoadError::Invalid(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    chart.name(),
                    f.name
                )));
            }
            load_archive_ctx(ctx, &f.data)
        } else {
            let buf = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(File {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files_ctx(ctx, buf)
        };
        match sc {
            Ok(sc) => chart.dependencies.push(sc),
            Err(LoadError::TooLarge(m)) => return Err(LoadError::TooLarge(m)),
            Err(e) if e.to_string().starts_with("dependency cycle") => return Err(e),
            Err(e) => {
                return Err(LoadError::Invalid(format!(
                    "error unpacking subchart {n} in {}: {e}",
                    chart.name()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_is_go_path_clean() {
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("a/./b/"), "a/b");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/../x"), "/x");
    }

    #[test]
    fn entry_names_are_checked() {
        assert_eq!(
            entry_name("c/templates/x.yaml").unwrap(),
            "templates/x.yaml"
        );
        assert!(entry_name("c/../../etc/passwd").is_err());
        assert!(entry_name("c//etc/passwd").is_err());
        assert!(entry_name("c/C:/x").is_err());
        assert!(entry_name("c").is_err());
    }
}
