//! TLS set-up shared by every HTTP client in the controllers.

/// Selects rustls' ring provider for the process (kube, reqwest and gix
/// share rustls; with more than one provider compiled in none is chosen
/// automatically). Safe to call any number of times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
