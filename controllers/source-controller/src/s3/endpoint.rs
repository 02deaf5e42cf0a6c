//! Where S3 requests go: `spec.endpoint` (a host, `host:port` or URL) made
//! into a base URL, and the addressing style minio-go's automatic lookup
//! picks (virtual-host for Amazon S3, Google Cloud Storage and Alibaba OSS,
//! path-style for everything else).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

use super::S3Error;

/// Bytes SigV4 leaves as they are (RFC 3986 unreserved); everything else is
/// percent-encoded, so the signed URL is the URL sent.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one query value or path segment as SigV4 expects.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// An object key as a URL path: each segment encoded, `/` kept.
pub fn encode_key(key: &str) -> String {
    key.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// How the bucket is named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `https://host/bucket/key`.
    Path,
    /// `https://bucket.host/key`.
    VirtualHost,
}

/// The bucket's base address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Host and port as given (`minio.example.com:9000`).
    pub authority: String,
    /// How the bucket is addressed.
    pub style: Style,
    /// The region requests are signed for.
    pub region: String,
}

impl Endpoint {
    /// Parses `endpoint` for `bucket`: without a scheme HTTPS is used unless
    /// `insecure`; an explicit `http://` needs `insecure`. `region` is the
    /// spec's, else the one an Amazon host names, else `us-east-1`.
    pub fn parse(
        endpoint: &str,
        bucket: &str,
        insecure: bool,
        region: Option<&str>,
    ) -> Result<Self, S3Error> {
        let invalid = |reason: &str| S3Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = endpoint.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => {
                if !insecure {
                    return Err(S3Error::InsecureDisallowed(endpoint.to_string()));
                }
                ("http", rest)
            }
            Some((s, _)) => return Err(invalid(&format!("scheme '{s}' is not http or https"))),
            None if insecure => ("http", trimmed),
            None => ("https", trimmed),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(invalid(
                "it must be a host or host:port, without path, query or user",
            ));
        }
        let url =
            Url::parse(&format!("{scheme}://{rest}/")).map_err(|e| invalid(&e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("it has no host"))?
            .to_ascii_lowercase();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let virtual_host = (is_amazon(&host) || is_google(&host) || is_aliyun(&host))
            && dns_compatible(bucket)
            && !(scheme == "https" && bucket.contains('.'));
        let region = region
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .or_else(|| amazon_region(&host))
            .unwrap_or_else(|| "us-east-1".to_string());
        Ok(Self {
            scheme,
            authority,
            style: if virtual_host {
                Style::VirtualHost
            } else {
                Style::Path
            },
            region,
        })
    }

    /// The URL of `bucket` (with a trailing `/`), plus `query` (already
    /// encoded pairs).
    pub fn bucket_url(&self, bucket: &str, query: &[(&str, String)]) -> String {
        let mut url = match self.style {
            Style::Path => format!("{}://{}/{}/", self.scheme, self.authority, encode(bucket)),
            Style::VirtualHost => format!("{}://{}.{}/", self.scheme, bucket, self.authority),
        };
        append_query(&mut url, query);
        url
    }

    /// The URL of object `key` in `bucket`.
    pub fn object_url(&self, bucket: &str, key: &str) -> String {
        match self.style {
            Style::Path => format!(
                "{}://{}/{}/{}",
                self.scheme,
                self.authority,
                encode(bucket),
                encode_key(key)
            ),
            Style::VirtualHost => format!(
                "{}://{}.{}/{}",
                self.scheme,
                bucket,
                self.authority,
                encode_key(key)
            ),
        }
    }
}

fn append_query(url: &mut String, query: &[(&str, String)]) {
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
    }
}

fn is_amazon(host: &str) -> bool {
    (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
        && (host.starts_with("s3.") || host.starts_with("s3-") || host.contains(".s3."))
}

fn is_google(host: &str) -> bool {
    host == "storage.googleapis.com"
}

fn is_aliyun(host: &str) -> bool {
    host.ends_with(".aliyuncs.com")
}

/// The region in an Amazon S3 host name (`s3.eu-west-1.amazonaws.com`,
/// `s3-eu-west-1.amazonaws.com`), if any.
fn amazon_region(host: &str) -> Option<String> {
    if !is_amazon(host) {
        return None;
    }
    let first = host.split(".amazonaws.com").next()?;
    let labels: Vec<&str> = first.split('.').collect();
    let candidate = match labels.as_slice() {
        [one] => one.strip_prefix("s3-")?,
        [.., "s3", region] | [.., "s3", "dualstack", region] => region,
        [.., region] => region,
        [] => return None,
    };
    let plausible = candidate.contains('-')
        && candidate
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plausible.then(|| candidate.to_string())
}

/// Whether `bucket` can be a DNS label sequence (3 to 63 lower-case
/// letters, digits, `-` and `.`, starting and ending alphanumeric, not an
/// IP address).
fn dns_compatible(bucket: &str) -> bool {
    let ok_len = (3..=63).contains(&bucket.len());
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ok_ends = bucket
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    ok_len
        && ok_chars
        && ok_ends
        && !bucket.contains("..")
        && bucket.parse::<std::net::Ipv4Addr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_host_is_https_unless_insecure() {
        let e = Endpoint::parse("minio.example.com:9000", "b", false, None).unwrap();
        assert_eq!(e.scheme, "https");
        assert_eq!(e.authority, "minio.example.com:9000");
        assert_eq!(e.style, Style::Path);
        assert_eq!(e.region, "us-east-1");
        let e = Endpoint::parse("127.0.0.1:9000", "b", true, Some("eu-west-1")).unwrap();
        assert_eq!(e.scheme, "http");
        assert_eq!(e.region, "eu-west-1");
        assert_eq!(
            e.object_url("bkt", "dir/a b+c.yaml"),
            "http://127.0.0.1:9000/bkt/dir/a%20b%2Bc.yaml"
        );
    }

    #[test]
    fn plain_http_needs_insecure() {
        assert!(matches!(
            Endpoint::parse("http://minio:9000", "b", false, None),
            Err(S3Error::InsecureDisallowed(_))
        ));
        let e = Endpoint::parse("https://minio:9000/", "b", false, None).unwrap();
        assert_eq!(e.authority, "minio:9000");
        for bad in ["", "ftp://x", "host/path", "user@host", "host?x=1"] {
            assert!(
                matches!(
                    Endpoint::parse(bad, "b", true, None),
                    Err(S3Error::InvalidEndpoint { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn amazon_gets_virtual_hosts_and_its_region() {
        let e = Endpoint::parse("s3.eu-central-1.amazonaws.com", "podinfo", false, None).unwrap();
        assert_eq!(e.style, Style::VirtualHost);
        assert_eq!(e.region, "eu-central-1");
        assert_eq!(
            e.bucket_url(
                "podinfo",
                &[("list-type", "2".into()), ("prefix", "a/b".into())]
            ),
            "https://podinfo.s3.eu-central-1.amazonaws.com/?list-type=2&prefix=a%2Fb"
        );
        // A dotted bucket cannot be a virtual host under HTTPS (the
        // wildcard certificate does not cover it).
        let e = Endpoint::parse("s3.amazonaws.com", "my.bucket", false, None).unwrap();
        assert_eq!(e.style, Style::Path);
        assert_eq!(e.region, "us-east-1");
    }
}
