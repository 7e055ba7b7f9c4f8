//! TLS for the cloud stores' HTTP client: reqwest is built against rustls
//! without choosing a crypto provider (so the build needs no second crypto
//! library), and this installs ring, which the rest of the project already
//! uses, as the process default unless the application installed one.

/// Install ring as rustls's process-wide provider if none is set yet.
pub(crate) fn install_provider() {
    // Err means a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
