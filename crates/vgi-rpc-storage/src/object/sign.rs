//! The URLs a reader or a client is handed for one object: presigned
//! `GET` (and `PUT`, for vended upload pairs) URLs from a cloud store's
//! signer, or a `file://` URL for a local store (readable only by a
//! resolver that admits that directory, see
//! [`LocalFileResolver`](super::LocalFileResolver)).

#[cfg(feature = "cloud")]
use std::sync::Arc;
#[cfg(feature = "cloud")]
use std::time::Duration;

use object_store::path::Path;
#[cfg(feature = "cloud")]
use object_store::signer::{Method, Signer};
use url::Url;
use vgi_rpc_core::external::StorageError;

use super::runtime::Background;

/// How one store's object URLs are made.
#[derive(Debug, Clone)]
pub(crate) enum Urls {
    /// Presigned URLs valid for `expiry`.
    #[cfg(feature = "cloud")]
    Signed { signer: Arc<dyn Signer>, expiry: Duration },
    /// `file://` URLs under `root` (never signed; no upload URLs).
    Local { root: std::path::PathBuf },
}

impl Urls {
    /// The URL a reader fetches `path` from.
    #[cfg_attr(not(feature = "cloud"), allow(unused_variables))]
    pub(crate) fn download(&self, runtime: &Background, path: &Path) -> Result<String, StorageError> {
        match self {
            #[cfg(feature = "cloud")]
            Urls::Signed { signer, expiry } => sign(runtime, signer, Method::GET, path, *expiry),
            Urls::Local { root } => file_url(root, path),
        }
    }

    /// The URL a client `PUT`s `path` to; local stores have none.
    #[cfg_attr(not(feature = "cloud"), allow(unused_variables))]
    pub(crate) fn upload(&self, runtime: &Background, path: &Path) -> Result<String, StorageError> {
        match self {
            #[cfg(feature = "cloud")]
            Urls::Signed { signer, expiry } => sign(runtime, signer, Method::PUT, path, *expiry),
            Urls::Local { .. } => Err(StorageError("local file storage does not vend upload URLs".into())),
        }
    }
}

/// A presigned URL for `method` on `path`.
#[cfg(feature = "cloud")]
fn sign(
    runtime: &Background,
    signer: &Arc<dyn Signer>,
    method: Method,
    path: &Path,
    expiry: Duration,
) -> Result<String, StorageError> {
    let (signer, path) = (signer.clone(), path.clone());
    let signed = runtime
        .run(async move { signer.signed_url(method, &path, expiry).await })?
        .map_err(|e| StorageError(format!("cannot presign an object URL: {e}")))?;
    Ok(signed.to_string())
}

/// The `file://` URL of `path` under `root`.
fn file_url(root: &std::path::Path, path: &Path) -> Result<String, StorageError> {
    let file = path.parts().fold(root.to_path_buf(), |dir, part| dir.join(part.as_ref()));
    Url::from_file_path(&file)
        .map(String::from)
        .map_err(|()| StorageError(format!("cannot name {} as a file URL", file.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls_are_file_urls_under_the_root() {
        let runtime = Background::new().unwrap();
        let urls = Urls::Local { root: "/srv/blobs".into() };
        let path = Path::from("a/b.arrows");
        assert_eq!(urls.download(&runtime, &path).unwrap(), "file:///srv/blobs/a/b.arrows");
        assert!(urls.upload(&runtime, &path).is_err());
    }
}
