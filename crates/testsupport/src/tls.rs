//! Throw-away TLS material made in-process with rcgen (no `openssl` CLI): a
//! CA, a server certificate for 127.0.0.1 and localhost, and a client
//! certificate, all signed by the CA; rustls server configurations from
//! them; and an axum listener that serves TLS.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA and the server and client certificates it signed, as PEM.
#[derive(Clone)]
pub struct TestCerts {
    /// The CA certificate (what a client trusts: `ca.crt`).
    pub ca_pem: Vec<u8>,
    /// The server certificate, valid for 127.0.0.1 and localhost.
    pub server_cert_pem: Vec<u8>,
    /// The server certificate's private key (PKCS#8).
    pub server_key_pem: Vec<u8>,
    /// A client certificate for mutual TLS (`tls.crt`).
    pub client_cert_pem: Vec<u8>,
    /// The client certificate's private key (`tls.key`, PKCS#8).
    pub client_key_pem: Vec<u8>,
}

fn leaf(
    common_name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().expect("generate a key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("certificate names");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).expect("sign a certificate");
    (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
}

impl TestCerts {
    /// Fresh material (ECDSA P-256), unique to this call.
    pub fn new() -> TestCerts {
        let ca_key = KeyPair::generate().expect("generate the CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.distinguished_name
            .push(DnType::CommonName, "ferroflux test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca, ca_key);
        let (server_cert_pem, server_key_pem) = leaf(
            "127.0.0.1",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
        );
        let (client_cert_pem, client_key_pem) = leaf(
            "ferroflux test client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        );
        TestCerts {
            ca_pem: ca_cert.pem().into_bytes(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        }
    }

    /// `ca.crt` as text.
    pub fn ca(&self) -> String {
        String::from_utf8_lossy(&self.ca_pem).into_owned()
    }

    /// `tls.crt` of the client as text.
    pub fn client_cert(&self) -> String {
        String::from_utf8_lossy(&self.client_cert_pem).into_owned()
    }

    /// `tls.key` of the client as text.
    pub fn client_key(&self) -> String {
        String::from_utf8_lossy(&self.client_key_pem).into_owned()
    }

    /// A rustls server configuration presenting the server certificate;
    /// with `require_client_cert` it accepts only clients with a
    /// certificate signed by the CA.
    pub fn server_config(&self, require_client_cert: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = CertificateDer::pem_slice_iter(&self.server_cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .expect("server certificate");
        let key = PrivateKeyDer::from_pem_slice(&self.server_key_pem).expect("server key");
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&self.ca_pem) {
                roots.add(c.expect("CA certificate")).expect("CA as root");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder
            .with_single_cert(certs, key)
            .expect("server configuration")
    }
}

impl Default for TestCerts {
    fn default() -> Self {
        Self::new()
    }
}

/// TLS in front of a TCP listener, for `axum::serve`; failed handshakes (a
/// client that does not trust the server) are dropped.
pub struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl TlsListener {
    /// Serves TLS with `config` on `tcp`.
    pub fn new(tcp: tokio::net::TcpListener, config: rustls::ServerConfig) -> TlsListener {
        TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_load_into_rustls() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = TestCerts::new();
        assert!(certs.ca().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(certs.client_key().contains("PRIVATE KEY"));
        certs.server_config(false);
        certs.server_config(true);
        assert_ne!(TestCerts::new().ca_pem, certs.ca_pem);
    }
}
