//! SigV4 request signing with `aws-sigv4`, set up as S3 wants it (path
//! taken as already encoded, no path normalisation, the payload hash sent
//! in `x-amz-content-sha256`).

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Static S3 credentials (`accesskey`, `secretkey`); `Debug` hides both.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// The headers that sign a bodiless `method` request to `url` (which must
/// be exactly the URL sent); signing errors carry no key material.
pub fn headers(
    creds: &Credentials,
    region: &str,
    method: &str,
    url: &str,
    now: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity: Identity = aws_credential_types::Credentials::new(
        creds.access_key.clone(),
        creds.secret_key.clone(),
        None,
        None,
        "bucket-secret",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let request = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| format!("signing {method} request: {e}"))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| format!("signing {method} request: {e}"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_the_s3_settings() {
        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let h = headers(
            &creds,
            "us-east-1",
            "GET",
            "http://127.0.0.1:9000/b/a%20b",
            now,
        )
        .unwrap();
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/s3/aws4_request"
            ),
            "{auth}"
        );
        assert!(
            auth.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"),
            "{auth}"
        );
        assert_eq!(
            get("x-amz-content-sha256").unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(!format!("{creds:?}").contains("EXAMPLEKEY"));
    }
}
