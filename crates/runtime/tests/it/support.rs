//! Helpers for building archives by hand, hostile ones included.
//!
//! `tar::Builder`'s path setters refuse `..` and absolute paths (rightly), so hostile
//! entries are written straight into the header fields and the archive is assembled
//! block by block.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// A tar stream under construction, with full control over every header field.
#[derive(Default)]
pub struct RawTar {
    blocks: Vec<u8>,
}

impl RawTar {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry whose declared size matches `data`.
    pub fn entry(
        &mut self,
        kind: EntryType,
        name: &str,
        link: &str,
        mode: u32,
        data: &[u8],
    ) -> &mut Self {
        self.declared(kind, name, link, mode, data.len() as u64, data)
    }

    /// Appends a header declaring `size` bytes followed by `data` (which may be shorter:
    /// a lie the extractor must not trust).
    pub fn declared(
        &mut self,
        kind: EntryType,
        name: &str,
        link: &str,
        mode: u32,
        size: u64,
        data: &[u8],
    ) -> &mut Self {
        self.blocks
            .extend_from_slice(header(kind, name, link, mode, size).as_bytes());
        self.raw_data(data);
        self
    }

    /// Appends raw data padded to a block boundary.
    pub fn raw_data(&mut self, data: &[u8]) -> &mut Self {
        self.blocks.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.blocks.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Self {
        self.entry(EntryType::Regular, name, "", mode, data)
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.entry(EntryType::Directory, name, "", mode, b"")
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(EntryType::Symlink, name, target, 0o777, b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(EntryType::Link, name, target, 0o644, b"")
    }

    /// The uncompressed tar stream, with the two zero blocks that end it.
    pub fn tar(&self) -> Vec<u8> {
        let mut out = self.blocks.clone();
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }

    /// The gzip-compressed tar stream, as source-controller serves it.
    pub fn gz(&self) -> Vec<u8> {
        gzip(&self.tar())
    }
}

/// A raw GNU header with the name and link fields written verbatim.
pub fn header(kind: EntryType, name: &str, link: &str, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    {
        let old = h.as_old_mut();
        assert!(name.len() <= old.name.len(), "name too long for raw header");
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// `n` bytes of zeros as a gzip stream, built from concatenated gzip members so that
/// gigabytes cost only a few megabytes and no time to build (a decoder that handles
/// multi-member streams, as Go's and ours do, sees one continuous stream).
pub fn gzip_zeros(n: u64) -> Vec<u8> {
    const CHUNK: u64 = 1024 * 1024;
    let member = gzip(&vec![0u8; CHUNK as usize]);
    let mut out = Vec::new();
    for _ in 0..n / CHUNK {
        out.extend_from_slice(&member);
    }
    let rest = (n % CHUNK) as usize;
    if rest > 0 {
        out.extend_from_slice(&gzip(&vec![0u8; rest]));
    }
    out
}

/// A scratch directory with a `parent` folder holding a sentinel file; the destination
/// is `parent/dest`. Lets tests assert that a failed extraction left the parent exactly
/// as it was (no destination, no staging leftovers).
pub struct Scratch {
    _tmp: tempfile::TempDir,
    pub parent: PathBuf,
    pub dest: PathBuf,
}

impl Scratch {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("parent");
        fs::create_dir(&parent).unwrap();
        fs::write(parent.join("sentinel"), b"keep me").unwrap();
        let dest = parent.join("dest");
        Scratch {
            _tmp: tmp,
            parent,
            dest,
        }
    }

    /// Names in the parent directory, sorted.
    pub fn parent_listing(&self) -> Vec<String> {
        listing(&self.parent)
    }

    /// The parent holds only the sentinel: no destination and no staging directory.
    pub fn assert_untouched(&self) {
        assert_eq!(self.parent_listing(), vec!["sentinel".to_string()]);
        assert_eq!(fs::read(self.parent.join("sentinel")).unwrap(), b"keep me");
    }
}

pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
