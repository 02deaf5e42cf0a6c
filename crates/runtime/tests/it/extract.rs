//! Extraction: a good archive extracts exactly; every hostile archive is refused with the
//! right error and leaves the destination untouched.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ferroflux_runtime::artifact::{ArtifactError, ExtractSummary, Limits, extract};
use tar::EntryType;

use crate::support::{RawTar, Scratch, gzip, gzip_zeros, header};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Extracts `archive` into a fresh scratch destination, expecting failure, and checks
/// that nothing was left behind.
fn refused(archive: &[u8], limits: &Limits) -> ArtifactError {
    let scratch = Scratch::new();
    let err = extract(archive, &scratch.dest, limits).expect_err("archive must be refused");
    scratch.assert_untouched();
    err
}

fn assert_unsafe_path(err: &ArtifactError, want_entry: &str, reason_part: &str) {
    match err {
        ArtifactError::UnsafePath { entry, reason } => {
            assert_eq!(entry, want_entry, "{err}");
            assert!(reason.contains(reason_part), "{err}");
        }
        other => panic!("expected UnsafePath for {want_entry}, got {other:?}"),
    }
}

fn assert_unsafe_link(err: &ArtifactError, want_entry: &str, want_target: &str) {
    match err {
        ArtifactError::UnsafeLink { entry, target, .. } => {
            assert_eq!(entry, want_entry, "{err}");
            assert_eq!(target, want_target, "{err}");
        }
        other => panic!("expected UnsafeLink for {want_entry}, got {other:?}"),
    }
}

#[test]
fn good_archive_extracts_exactly() {
    let mut t = RawTar::new();
    t.dir("./", 0o777)
        .dir("app/", 0o777)
        .file(
            "app/config/base/kustomization.yaml",
            0o600,
            b"resources: []\n",
        )
        .file("app/bin/run.sh", 0o755, b"#!/bin/sh\necho hi\n")
        .file("app/bin/suid", 0o6755, b"setuid bits must go")
        .file("app/sticky", 0o1644, b"sticky bit must go")
        .symlink("app/link.yaml", "config/base/kustomization.yaml")
        .symlink("app/config/run", "../bin/run.sh")
        .symlink("app/here", ".")
        .hardlink("app/hard.yaml", "app/config/base/kustomization.yaml")
        .dir("app/empty/", 0o700)
        .dir("app/", 0o755); // repeating a directory is harmless
    // A path longer than the 100-byte header field, written the standard way (GNU
    // long-name record), as real archivers do.
    let long = format!("app/{}/deep.txt", "d".repeat(120));
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    builder.append_data(&mut h, &long, &b"long"[..]).unwrap();
    let long_part = builder.into_inner().unwrap();
    let mut stream = t.tar();
    stream.truncate(stream.len() - 1024);
    stream.extend_from_slice(&long_part);

    let scratch = Scratch::new();
    let summary = extract(&gzip(&stream)[..], &scratch.dest, &Limits::default()).unwrap();

    let d = &scratch.dest;
    assert_eq!(
        summary,
        ExtractSummary {
            files: 5,
            // app, app/config, app/config/base, app/bin, app/empty, app/ddd…
            directories: 6,
            symlinks: 3,
            hardlinks: 1,
            bytes: 14 + 18 + 19 + 18 + 4,
        }
    );
    assert_eq!(
        fs::read_to_string(d.join("app/config/base/kustomization.yaml")).unwrap(),
        "resources: []\n"
    );
    assert_eq!(
        fs::read(d.join(&long)).unwrap(),
        b"long",
        "GNU long-name entry"
    );
    // Modes: normalised, never setuid/setgid/sticky, umask-independent.
    assert_eq!(mode(d), 0o755);
    assert_eq!(mode(&d.join("app")), 0o755);
    assert_eq!(mode(&d.join("app/empty")), 0o755);
    assert_eq!(mode(&d.join("app/config/base")), 0o755);
    assert_eq!(mode(&d.join("app/config/base/kustomization.yaml")), 0o644);
    assert_eq!(mode(&d.join("app/bin/run.sh")), 0o755);
    assert_eq!(mode(&d.join("app/bin/suid")), 0o755);
    assert_eq!(mode(&d.join("app/sticky")), 0o644);
    // Links.
    assert_eq!(
        fs::read_link(d.join("app/link.yaml")).unwrap(),
        PathBuf::from("config/base/kustomization.yaml")
    );
    assert_eq!(
        fs::read_to_string(d.join("app/link.yaml")).unwrap(),
        "resources: []\n"
    );
    assert_eq!(
        fs::read_to_string(d.join("app/config/run")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        fs::read_link(d.join("app/here")).unwrap(),
        PathBuf::from(".")
    );
    let a = fs::metadata(d.join("app/hard.yaml")).unwrap();
    let b = fs::metadata(d.join("app/config/base/kustomization.yaml")).unwrap();
    assert_eq!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "hardlink shares inode"
    );
    // Exactly these entries at the top, and the parent has only dest + sentinel.
    assert_eq!(crate::support::listing(d), vec!["app"]);
    assert_eq!(scratch.parent_listing(), vec!["dest", "sentinel"]);
}

#[test]
fn extracts_into_existing_empty_directory() {
    let scratch = Scratch::new();
    fs::create_dir(&scratch.dest).unwrap();
    let mut t = RawTar::new();
    t.file("a.txt", 0o644, b"a");
    extract(&t.gz()[..], &scratch.dest, &Limits::default()).unwrap();
    assert_eq!(fs::read(scratch.dest.join("a.txt")).unwrap(), b"a");
}

#[test]
fn refuses_non_empty_destination_and_keeps_it() {
    let scratch = Scratch::new();
    fs::create_dir(&scratch.dest).unwrap();
    fs::write(scratch.dest.join("old"), b"old").unwrap();
    let mut t = RawTar::new();
    t.file("a.txt", 0o644, b"a");
    let err = extract(&t.gz()[..], &scratch.dest, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, ArtifactError::InvalidDestination { .. }),
        "{err:?}"
    );
    assert_eq!(crate::support::listing(&scratch.dest), vec!["old"]);
    assert_eq!(scratch.parent_listing(), vec!["dest", "sentinel"]);
}

#[test]
fn failure_keeps_existing_empty_destination_empty() {
    let scratch = Scratch::new();
    fs::create_dir(&scratch.dest).unwrap();
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine")
        .file("../evil", 0o644, b"x");
    let err = extract(&t.gz()[..], &scratch.dest, &Limits::default()).unwrap_err();
    assert_unsafe_path(&err, "../evil", "..");
    assert!(crate::support::listing(&scratch.dest).is_empty());
    assert_eq!(scratch.parent_listing(), vec!["dest", "sentinel"]);
}

#[test]
fn refuses_parent_dir_traversal() {
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine")
        .file("../evil", 0o644, b"x");
    let err = refused(&t.gz(), &Limits::default());
    assert_unsafe_path(&err, "../evil", "`..`");
    assert!(
        err.to_string().contains("../evil"),
        "message names the entry"
    );

    // `..` that would stay inside after normalisation is refused too: there is no
    // legitimate reason for it and it is how traversal payloads are disguised.
    let mut t = RawTar::new();
    t.file("a/../b", 0o644, b"x");
    assert_unsafe_path(&refused(&t.gz(), &Limits::default()), "a/../b", "`..`");
}

#[test]
fn refuses_absolute_path() {
    let before = fs::read("/etc/passwd").ok();
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine")
        .file("/etc/passwd", 0o644, b"root::0:0::/:/bin/sh\n");
    let err = refused(&t.gz(), &Limits::default());
    assert_unsafe_path(&err, "/etc/passwd", "absolute");
    assert_eq!(fs::read("/etc/passwd").ok(), before);
}

#[test]
fn refuses_absolute_symlink_then_write_through_it() {
    let before = fs::read("/etc/passwd").ok();
    let mut t = RawTar::new();
    t.symlink("link", "/etc")
        .file("link/passwd", 0o644, b"root::0:0::/:/bin/sh\n");
    let err = refused(&t.gz(), &Limits::default());
    assert_unsafe_link(&err, "link", "/etc");
    assert_eq!(fs::read("/etc/passwd").ok(), before);
}

#[test]
fn refuses_writing_through_an_inside_symlink() {
    // Even a symlink that stays inside the root is never written through: the entry's
    // parent must be a real directory.
    let mut t = RawTar::new();
    t.dir("sub/", 0o755)
        .symlink("link", "sub")
        .file("link/file", 0o644, b"x");
    let err = refused(&t.gz(), &Limits::default());
    assert_unsafe_path(&err, "link/file", "symlink");

    // Same for a directory entry and a symlink placed under the link.
    let mut t = RawTar::new();
    t.dir("sub/", 0o755)
        .symlink("link", "sub")
        .symlink("link/l2", "x");
    assert_unsafe_path(&refused(&t.gz(), &Limits::default()), "link/l2", "symlink");
}

#[test]
fn refuses_symlink_climbing_out() {
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine").symlink("a", "../..");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "a", "../..");

    let mut t = RawTar::new();
    t.symlink("x/y/z", "../../../etc/passwd");
    assert_unsafe_link(
        &refused(&t.gz(), &Limits::default()),
        "x/y/z",
        "../../../etc/passwd",
    );
}

#[test]
fn refuses_symlink_chain_escape() {
    // `d/l -> ..` is the root (fine on its own); `d/m -> l/../..` is lexically inside
    // but really resolves to the root's parent.
    let mut t = RawTar::new();
    t.symlink("d/l", "..").symlink("d/m", "l/../..");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "d/m", "l/../..");
}

#[test]
fn refuses_hardlink_outside() {
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine")
        .hardlink("h", "/etc/shadow");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "h", "/etc/shadow");

    let mut t = RawTar::new();
    t.hardlink("h", "../x");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "h", "../x");
}

#[test]
fn refuses_hardlink_to_anything_but_an_earlier_regular_file() {
    // To a symlink.
    let mut t = RawTar::new();
    t.symlink("s", "ok.txt")
        .file("ok.txt", 0o644, b"x")
        .hardlink("h", "s");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "h", "s");
    // To a directory.
    let mut t = RawTar::new();
    t.dir("d/", 0o755).hardlink("h", "d");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "h", "d");
    // To a file that comes later (or never).
    let mut t = RawTar::new();
    t.hardlink("h", "later.txt").file("later.txt", 0o644, b"x");
    assert_unsafe_link(&refused(&t.gz(), &Limits::default()), "h", "later.txt");
}

#[test]
fn refuses_devices_and_fifos() {
    for (kind, name) in [
        (EntryType::Char, "character device"),
        (EntryType::Block, "block device"),
        (EntryType::Fifo, "fifo"),
    ] {
        let mut t = RawTar::new();
        t.file("ok.txt", 0o644, b"fine")
            .entry(kind, "dev/thing", "", 0o666, b"");
        match refused(&t.gz(), &Limits::default()) {
            ArtifactError::UnsupportedEntryType { entry, kind } => {
                assert_eq!(entry, "dev/thing");
                assert_eq!(kind, name);
            }
            other => panic!("expected UnsupportedEntryType, got {other:?}"),
        }
    }
}

#[test]
fn refuses_duplicates_and_files_used_as_directories() {
    let mut t = RawTar::new();
    t.file("f", 0o644, b"first").symlink("f", "g");
    assert_unsafe_path(&refused(&t.gz(), &Limits::default()), "f", "repeats");

    let mut t = RawTar::new();
    t.file("f", 0o644, b"first").file("f", 0o644, b"second");
    assert_unsafe_path(&refused(&t.gz(), &Limits::default()), "f", "repeats");

    let mut t = RawTar::new();
    t.file("f", 0o644, b"first").file("f/x", 0o644, b"x");
    assert_unsafe_path(
        &refused(&t.gz(), &Limits::default()),
        "f/x",
        "not a directory",
    );
}

#[test]
fn refuses_huge_declared_entry_without_reading_it() {
    // Declares 2 GiB but carries 10 bytes: refused on the declared size alone.
    let mut t = RawTar::new();
    t.file("ok.txt", 0o644, b"fine").declared(
        EntryType::Regular,
        "huge.bin",
        "",
        0o644,
        2 << 30,
        b"0123456789",
    );
    let limits = Limits {
        max_unpacked_bytes: 1024 * 1024,
        ..Limits::default()
    };
    match refused(&t.gz(), &limits) {
        ArtifactError::UnpackedSizeLimit { entry, limit } => {
            assert_eq!(entry, "huge.bin");
            assert_eq!(limit, 1024 * 1024);
        }
        other => panic!("expected UnpackedSizeLimit, got {other:?}"),
    }
}

#[test]
fn refuses_gzip_bomb_with_default_limits() {
    // 4 GiB of zeros in a ~4 MB archive, honestly declared: the default 1 GiB limit
    // refuses it from the header, before any of it is inflated or written.
    let size: u64 = 4 << 30;
    let mut archive = gzip(header(EntryType::Regular, "bomb.bin", "", 0o644, size).as_bytes());
    archive.extend_from_slice(&gzip_zeros(size));
    archive.extend_from_slice(&gzip(&[0u8; 1024]));
    assert!(archive.len() < 8 << 20, "the bomb is small on the wire");
    match refused(&archive, &Limits::default()) {
        ArtifactError::UnpackedSizeLimit { entry, .. } => assert_eq!(entry, "bomb.bin"),
        other => panic!("expected UnpackedSizeLimit, got {other:?}"),
    }
}

#[test]
fn refuses_bomb_spread_over_many_entries() {
    // Sixteen honest 1 MiB entries against an 8 MiB limit: the ninth is refused, so
    // extraction stops before the rest is even inflated.
    let mut archive = Vec::new();
    for i in 0..16 {
        let h = header(EntryType::Regular, &format!("f{i:02}"), "", 0o644, 1 << 20);
        archive.extend_from_slice(&gzip(h.as_bytes()));
        archive.extend_from_slice(&gzip_zeros(1 << 20));
    }
    archive.extend_from_slice(&gzip(&[0u8; 1024]));
    let limits = Limits {
        max_unpacked_bytes: 8 << 20,
        ..Limits::default()
    };
    match refused(&archive, &limits) {
        ArtifactError::UnpackedSizeLimit { entry, limit } => {
            assert_eq!(entry, "f08");
            assert_eq!(limit, 8 << 20);
        }
        other => panic!("expected UnpackedSizeLimit, got {other:?}"),
    }
}

#[test]
fn refuses_bomb_hidden_in_pax_metadata() {
    // A PAX extended header claiming 512 MiB: the tar crate would buffer it in memory.
    // The cap on the decompressed stream stops it after a few MiB.
    let size: u64 = 512 << 20;
    let mut archive = gzip(header(EntryType::XHeader, "pax", "", 0o644, size).as_bytes());
    archive.extend_from_slice(&gzip_zeros(size));
    let limits = Limits {
        max_unpacked_bytes: 1 << 20,
        max_entries: 16,
    };
    let err = refused(&archive, &limits);
    assert!(
        matches!(err, ArtifactError::UnpackedSizeLimit { .. }),
        "{err:?}"
    );
}

#[test]
fn refuses_too_many_entries() {
    // 2,000 tiny files against a limit of 1,000 (the default is 100,000; a lower limit
    // keeps the test fast and exercises the same check).
    let mut t = RawTar::new();
    for i in 0..2000 {
        t.file(&format!("f{i:05}"), 0o644, b"x");
    }
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    match refused(&t.gz(), &limits) {
        ArtifactError::EntryCountLimit { entry, limit } => {
            assert_eq!(entry, "f01000");
            assert_eq!(limit, 1000);
        }
        other => panic!("expected EntryCountLimit, got {other:?}"),
    }
}

#[test]
fn implied_directories_count_towards_the_entry_limit() {
    // One entry that would create 40 directories: an inode bomb in a single header.
    let deep = format!("{}f", "d/".repeat(40));
    let mut t = RawTar::new();
    t.file(&deep, 0o644, b"x");
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert!(matches!(
        refused(&t.gz(), &limits),
        ArtifactError::EntryCountLimit { .. }
    ));
}

#[test]
fn refuses_truncated_and_corrupt_archives() {
    // Declared 100 bytes, stream ends after 10.
    let mut stream = header(EntryType::Regular, "short.txt", "", 0o644, 100)
        .as_bytes()
        .to_vec();
    stream.extend_from_slice(b"0123456789");
    let err = refused(&gzip(&stream), &Limits::default());
    assert!(
        matches!(err, ArtifactError::CorruptArchive { ref entry, .. } if entry == "short.txt"),
        "{err:?}"
    );

    // Not gzip at all.
    let err = refused(b"this is not a gzip stream", &Limits::default());
    assert!(
        matches!(err, ArtifactError::CorruptArchive { .. }),
        "{err:?}"
    );

    // Gzip cut in half.
    let mut t = RawTar::new();
    t.file("a.txt", 0o644, &vec![7u8; 100_000]);
    let gz = t.gz();
    let err = refused(&gz[..gz.len() / 2], &Limits::default());
    assert!(
        matches!(err, ArtifactError::CorruptArchive { .. }),
        "{err:?}"
    );
}
