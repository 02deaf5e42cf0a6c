//! Helm's release records: the `sh.helm.release.v1.<name>.v<revision>` Secret,
//! its labels, and `data.release` (base64 of gzip of the release JSON).
