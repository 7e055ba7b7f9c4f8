//! HTTPS for the client: what the caller trusts (the system's roots, extra
//! PEM roots, or a whole rustls configuration of their own), an optional
//! client certificate for mutual TLS, and the handshake over a connected
//! socket. The rustls configuration is built once, on the first `https://`
//! connection, and reused for every later one.
//!
//! Without the `tls` feature this module only knows how to refuse `https://`
//! with a message naming the feature.

#[cfg(feature = "tls")]
pub(crate) use enabled::*;

#[cfg(not(feature = "tls"))]
pub(crate) use disabled::*;

#[cfg(feature = "tls")]
mod enabled {
    use std::sync::{Arc, OnceLock};

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::{AsyncRead, AsyncWrite};
    use tokio_rustls::client::TlsStream;
    use tokio_rustls::TlsConnector;
    use vgi_rpc_core::CallError;

    /// A client certificate chain and its key, presented when the server asks.
    struct ClientIdentity {
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    }

    /// What the client trusts and presents over `https://`.
    #[derive(Default)]
    pub(crate) struct TlsSettings {
        /// Trust the operating system's roots (default: yes).
        skip_system_roots: bool,
        extra_roots: Vec<CertificateDer<'static>>,
        identity: Option<ClientIdentity>,
        /// Set by the caller, or built from the fields above on first use.
        config: OnceLock<Arc<rustls::ClientConfig>>,
    }

    impl TlsSettings {
        /// Trust the certificates in `pem` as well (one or more `CERTIFICATE` blocks).
        pub(crate) fn add_roots_pem(&mut self, pem: &[u8]) -> Result<usize, CallError> {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| tls_error(format!("cannot read a root certificate: {e}")))?;
                self.extra_roots.push(cert);
                added += 1;
            }
            if added == 0 {
                return Err(tls_error("the root certificate PEM holds no CERTIFICATE block".to_owned()));
            }
            self.config = OnceLock::new();
            Ok(added)
        }

        /// Trust the operating system's roots or not (only the added ones).
        pub(crate) fn use_system_roots(&mut self, yes: bool) {
            self.skip_system_roots = !yes;
            self.config = OnceLock::new();
        }

        /// Present `chain_pem` (leaf first) with `key_pem` when the server asks for a client certificate.
        pub(crate) fn set_identity_pem(&mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), CallError> {
            let chain = CertificateDer::pem_slice_iter(chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| tls_error(format!("cannot read the client certificate chain: {e}")))?;
            if chain.is_empty() {
                return Err(tls_error("the client certificate PEM holds no CERTIFICATE block".to_owned()));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|e| tls_error(format!("cannot read the client private key: {e}")))?;
            self.identity = Some(ClientIdentity { chain, key });
            self.config = OnceLock::new();
            Ok(())
        }

        /// Use `config` as given (roots, client auth, versions); ALPN is forced to `http/1.1`.
        pub(crate) fn set_config(&mut self, config: Arc<rustls::ClientConfig>) {
            let mut config = Arc::unwrap_or_clone(config);
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            self.config = OnceLock::from(Arc::new(config));
        }

        /// The configuration, built on first use.
        fn config(&self) -> Result<Arc<rustls::ClientConfig>, CallError> {
            if let Some(config) = self.config.get() {
                return Ok(config.clone());
            }
            let built = Arc::new(self.build()?);
            Ok(self.config.get_or_init(|| built).clone())
        }

        fn build(&self) -> Result<rustls::ClientConfig, CallError> {
            let mut roots = rustls::RootCertStore::empty();
            if !self.skip_system_roots {
                // Unreadable system certificates are skipped, as browsers and
                // curl do; an empty store fails the handshake with a clear error.
                let system = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(system.certs);
            }
            for cert in &self.extra_roots {
                roots.add(cert.clone()).map_err(|e| tls_error(format!("cannot trust a root certificate: {e}")))?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| tls_error(format!("no usable TLS version: {e}")))?
                .with_root_certificates(roots);
            let mut config = match &self.identity {
                None => builder.with_no_client_auth(),
                Some(identity) => builder
                    .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                    .map_err(|e| tls_error(format!("unusable client certificate: {e}")))?,
            };
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(config)
        }

        /// The TLS handshake with `host` over the connected `stream`.
        pub(crate) async fn connect<S>(&self, host: &str, stream: S) -> Result<TlsStream<S>, CallError>
        where
            S: AsyncRead + AsyncWrite + Unpin,
        {
            let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
                .map_err(|e| tls_error(format!("{host} is not a valid TLS server name: {e}")))?;
            TlsConnector::from(self.config()?)
                .connect(name, stream)
                .await
                .map_err(|e| tls_error(format!("TLS handshake with {host} failed: {e}")))
        }
    }

    fn tls_error(message: String) -> CallError {
        CallError::Protocol(message)
    }
}

#[cfg(not(feature = "tls"))]
mod disabled {
    use vgi_rpc_core::CallError;

    /// Nothing to configure: `https://` is refused.
    #[derive(Default)]
    pub(crate) struct TlsSettings {
        _nothing: (),
    }

    /// The refusal of an `https://` URL by a client built without TLS.
    pub(crate) fn https_unsupported(url: &str) -> CallError {
        CallError::Protocol(format!("{url} needs https, which this client lacks: enable vgi-rpc-http's `tls` feature"))
    }
}
