//! Chart loading against hostile input (archives with traversal, links, bombs,
//! too many files, cycles; directories with links out; runaway templates): each
//! a clear error, with bounded memory.

use std::io::Write;

use ferroflux_helm::chart::{LoadError, LoadLimits, load_archive, load_dir};
use ferroflux_helm::{TemplateOptions, template};

/// A tar entry written byte by byte, so names the `tar` crate would refuse
/// (`..`, absolute) can be built.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn gz(tar_bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
    e.write_all(tar_bytes).unwrap();
    e.write_all(&[0u8; 1024]).unwrap();
    e.finish().unwrap()
}

fn chart_yaml(name: &str) -> String {
    format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
}

/// A chart archive of `name` with `files` (paths under the chart directory).
fn archive(name: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = vec![];
    let cy = chart_yaml(name);
    raw_entry(
        &mut t,
        &format!("{name}/Chart.yaml"),
        tar::EntryType::Regular,
        "",
        cy.as_bytes(),
    );
    for (p, d) in files {
        raw_entry(
            &mut t,
            &format!("{name}/{p}"),
            tar::EntryType::Regular,
            "",
            d,
        );
    }
    gz(&t)
}

fn load_err(bytes: &[u8], limits: &LoadLimits) -> LoadError {
    load_archive(bytes, limits).expect_err("hostile archive must be refused")
}

#[test]
fn a_plain_archive_loads_with_subcharts() {
    let sub = archive("sub", &[("templates/cm.yaml", b"kind: ConfigMap\n")]);
    let top = archive(
        "top",
        &[
            ("values.yaml", b"a: 1\n"),
            ("templates/x.yaml", b"x: 1\n"),
            ("charts/sub-0.1.0.tgz", &sub),
            ("files/f.txt", b"hi"),
        ],
    );
    let c = load_archive(&top, &LoadLimits::default()).unwrap();
    assert_eq!(c.name(), "top");
    assert_eq!(c.templates.len(), 1);
    assert_eq!(c.dependencies.len(), 1);
    assert_eq!(c.dependencies[0].name(), "sub");
    assert_eq!(
        c.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["files/f.txt"]
    );
}

#[test]
fn traversal_and_absolute_paths_are_refused() {
    for (name, want) in [
        (
            "c/../../etc/evil",
            "chart illegally references parent directory",
        ),
        (
            "c/templates/../../../x",
            "chart illegally references parent directory",
        ),
        ("c//etc/passwd", "chart illegally contains absolute paths"),
        ("c/C:/windows", "chart contains illegally named files"),
    ] {
        let mut t = vec![];
        raw_entry(
            &mut t,
            "c/Chart.yaml",
            tar::EntryType::Regular,
            "",
            chart_yaml("c").as_bytes(),
        );
        raw_entry(&mut t, name, tar::EntryType::Regular, "", b"x");
        let e = load_err(&gz(&t), &LoadLimits::default());
        assert!(matches!(e, LoadError::Unsafe(_)), "{name}: {e:?}");
        assert_eq!(e.to_string(), want, "{name}");
    }
}

#[test]
fn links_out_of_the_chart_are_refused() {
    for (kind, target) in [
        (tar::EntryType::Symlink, "../../../../etc/passwd"),
        (tar::EntryType::Symlink, "/etc/passwd"),
        (tar::EntryType::Link, "/etc/passwd"),
        (tar::EntryType::Link, "c/../../etc/passwd"),
    ] {
        let mut t = vec![];
        raw_entry(
            &mut t,
            "c/Chart.yaml",
            tar::EntryType::Regular,
            "",
            chart_yaml("c").as_bytes(),
        );
        raw_entry(&mut t, "c/templates/x.yaml", kind, target, b"");
        let e = load_err(&gz(&t), &LoadLimits::default());
        assert!(
            e.to_string().contains("links out of the chart"),
            "{kind:?} {target}: {e}"
        );
    }
    // a link that stays inside is an empty file, as Helm reads it
    let mut t = vec![];
    raw_entry(
        &mut t,
        "c/Chart.yaml",
        tar::EntryType::Regular,
        "",
        chart_yaml("c").as_bytes(),
    );
    raw_entry(
        &mut t,
        "c/files/a",
        tar::EntryType::Symlink,
        "../values.yaml",
        b"",
    );
    let c = load_archive(&gz(&t), &LoadLimits::default()).unwrap();
    assert_eq!(c.files[0].data, b"");
}

#[test]
fn decompression_bombs_stop_at_the_limits() {
    let limits = LoadLimits {
        max_file_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        ..LoadLimits::default()
    };
    // one 64 MiB file of zeros, streamed (about 64 KiB compressed)
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::best());
    let mut t = vec![];
    raw_entry(
        &mut t,
        "c/Chart.yaml",
        tar::EntryType::Regular,
        "",
        chart_yaml("c").as_bytes(),
    );
    let size = 64u64 << 20;
    let mut h = tar::Header::new_old();
    h.set_path("c/big.bin").unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    t.extend_from_slice(h.as_bytes());
    e.write_all(&t).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    e.write_all(&[0u8; 1024]).unwrap();
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < (1 << 20), "the bomb is small: {}", bomb.len());
    let err = load_err(&bomb, &limits);
    assert!(matches!(err, LoadError::TooLarge(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("larger than the maximum file size 1048576"),
        "{err}"
    );

    // many files each under the file limit, over the total
    let half = vec![b'a'; 512 << 10];
    let files: Vec<(String, &[u8])> = (0..12)
        .map(|i| (format!("f{i}"), half.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let err = load_err(&archive("c", &refs), &limits);
    assert_eq!(
        err.to_string(),
        "decompressed chart is larger than the maximum size 4194304"
    );

    // too many entries
    let few = LoadLimits {
        max_files: 10,
        ..LoadLimits::default()
    };
    let names: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let refs: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let err = load_err(&archive("c", &refs), &few);
    assert!(
        err.to_string()
            .contains("more than the maximum of 10 files"),
        "{err}"
    );

    // not gzip at all
    let err = load_err(b"not a chart", &LoadLimits::default());
    assert!(err.to_string().contains("not a gzipped tar"), "{err}");
}

#[test]
fn dependency_cycles_and_deep_nesting_are_refused() {
    // a contains b which contains a again (a chart that packs itself)
    let inner_a = archive("a", &[]);
    let b = archive("b", &[("charts/a-0.1.0.tgz", &inner_a)]);
    let a = archive("a", &[("charts/b-0.1.0.tgz", &b)]);
    let err = load_err(&a, &LoadLimits::default());
    assert_eq!(
        err.to_string(),
        "dependency cycle: a-0.1.0 -> b-0.1.0 -> a-0.1.0"
    );

    // distinct names nested deeper than the limit
    let mut cur = archive("n0", &[]);
    for i in 1..10 {
        let name = format!("n{i}");
        let dep = format!("charts/n{}-0.1.0.tgz", i - 1);
        cur = archive(&name, &[(dep.as_str(), &cur)]);
    }
    let shallow = LoadLimits {
        max_depth: 5,
        ..LoadLimits::default()
    };
    let err = load_err(&cur, &shallow);
    assert!(err.to_string().contains("nested deeper than 5"), "{err}");
    assert!(load_archive(&cur, &LoadLimits::default()).is_ok());
}

#[test]
fn directory_links_out_of_the_chart_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("secret.txt");
    std::fs::write(&outside, "secret").unwrap();
    let c = tmp.path().join("c");
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(c.join("Chart.yaml"), chart_yaml("c")).unwrap();
    std::os::unix::fs::symlink(&outside, c.join("stolen.txt")).unwrap();
    let err = load_dir(&c, &LoadLimits::default()).unwrap_err();
    assert!(
        err.to_string().contains("symbolic link out of the chart"),
        "{err}"
    );
    // inside the chart a link is followed
    std::fs::remove_file(c.join("stolen.txt")).unwrap();
    std::fs::write(c.join("real.txt"), "ok").unwrap();
    std::os::unix::fs::symlink(c.join("real.txt"), c.join("alias.txt")).unwrap();
    let chart = load_dir(&c, &LoadLimits::default()).unwrap();
    let alias = chart.files.iter().find(|f| f.name == "alias.txt").unwrap();
    assert_eq!(alias.data, b"ok");
}

#[test]
fn runaway_template_recursion_is_an_error() {
    let c = archive(
        "loop",
        &[
            (
                "templates/_h.tpl",
                br#"{{ define "r" }}{{ include "r" . }}{{ end }}"#,
            ),
            ("templates/cm.yaml", br#"{{ include "r" . }}"#),
        ],
    );
    let chart = load_archive(&c, &LoadLimits::default()).unwrap();
    let err = template(&chart, &Default::default(), &TemplateOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("loop/templates/cm.yaml"), "{msg}");
    assert!(msg.contains("exceeded maximum template depth"), "{msg}");
}
