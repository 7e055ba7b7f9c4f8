//! Storage URLs (`s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix`, `file:///dir`) and the `object_store` client
//! each one names. Credentials and endpoints come from the environment, as
//! `object_store`'s builders read it (`AWS_*`, `GOOGLE_*`, `AZURE_*`); a
//! scheme whose cargo feature is not compiled in is refused by name.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
#[cfg(feature = "cloud")]
use object_store::signer::Signer;
use object_store::ObjectStore;
use url::Url;
use vgi_rpc_core::external::StorageError;

use super::sign::Urls;

/// The kind of store a storage URL names, with its bucket (or container)
/// and the key prefix objects are written under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// Amazon S3 or an S3-compatible server (`s3://bucket/prefix`).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
    /// Google Cloud Storage (`gs://bucket/prefix`).
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
    /// Azure Blob Storage (`az://container/prefix`; the account comes from
    /// `AZURE_STORAGE_ACCOUNT_NAME`).
    Azure {
        /// Container name.
        container: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
    /// A local directory (`file:///dir`), created if missing.
    Local {
        /// The directory objects are written under.
        dir: PathBuf,
    },
}

impl StorageLocation {
    /// Parse a storage URL.
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        let url = Url::parse(text).map_err(|e| StorageError(format!("bad storage URL {text:?}: {e}")))?;
        let bucket = || match url.host_str() {
            Some(h) if !h.is_empty() => Ok(h.to_owned()),
            _ => Err(StorageError(format!("storage URL {text:?} names no bucket"))),
        };
        let prefix = || url.path().trim_matches('/').to_owned();
        match url.scheme() {
            "s3" | "s3a" => Ok(Self::S3 { bucket: bucket()?, prefix: prefix() }),
            "gs" | "gcs" => Ok(Self::Gcs { bucket: bucket()?, prefix: prefix() }),
            "az" | "azure" | "abfs" => Ok(Self::Azure { container: bucket()?, prefix: prefix() }),
            "file" => {
                let dir = url
                    .to_file_path()
                    .map_err(|()| StorageError(format!("storage URL {text:?} is not a local absolute path")))?;
                Ok(Self::Local { dir })
            }
            other => Err(StorageError(format!(
                "unsupported storage URL scheme {other:?} (expected s3://, gs://, az:// or file://)"
            ))),
        }
    }

    /// The key prefix objects go under.
    pub(crate) fn prefix(&self) -> Path {
        match self {
            Self::S3 { prefix, .. } | Self::Gcs { prefix, .. } | Self::Azure { prefix, .. } => {
                Path::from(prefix.as_str())
            }
            Self::Local { .. } => Path::default(),
        }
    }
}

/// The client a location names: the store and how its object URLs are
/// made (presigned for cloud stores, `file://` paths for local ones).
pub(crate) struct Client {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) urls: Urls,
}

fn build_error(what: &str, e: object_store::Error) -> StorageError {
    StorageError(format!("cannot configure {what} storage: {e}"))
}

#[allow(dead_code)] // unused when every cloud feature is on
fn missing(scheme: &str, feature: &str) -> StorageError {
    StorageError(format!("{scheme}:// storage needs vgi-rpc-storage built with the `{feature}` feature"))
}

/// Apply `options` to a builder through `set` (each key parsed as the
/// builder's configuration key).
#[cfg(feature = "cloud")]
fn with_options<B, K>(
    mut builder: B,
    options: &[(String, String)],
    set: impl Fn(B, K, &str) -> B,
) -> Result<B, StorageError>
where
    K: std::str::FromStr,
    K::Err: std::fmt::Display,
{
    for (key, value) in options {
        let parsed =
            key.to_ascii_lowercase().parse::<K>().map_err(|e| StorageError(format!("storage option {key:?}: {e}")))?;
        builder = set(builder, parsed, value);
    }
    Ok(builder)
}

#[cfg(feature = "cloud")]
fn signed(signer: Arc<dyn Signer>, expiry: Duration) -> Urls {
    Urls::Signed { signer, expiry }
}

/// Build the client for `location` from the environment, then `options`
/// (the builders' configuration keys, e.g. `aws_endpoint`); presigned URLs
/// last `expiry`.
#[cfg_attr(not(feature = "cloud"), allow(unused_variables))]
pub(crate) fn connect(
    location: &StorageLocation,
    expiry: Duration,
    options: &[(String, String)],
) -> Result<Client, StorageError> {
    match location {
        StorageLocation::Local { dir } => {
            if !options.is_empty() {
                return Err(StorageError("local file storage takes no options".into()));
            }
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError(format!("cannot create storage directory {}: {e}", dir.display())))?;
            let root = dir
                .canonicalize()
                .map_err(|e| StorageError(format!("cannot resolve storage directory {}: {e}", dir.display())))?;
            let store =
                object_store::local::LocalFileSystem::new_with_prefix(&root).map_err(|e| build_error("local", e))?;
            Ok(Client { store: Arc::new(store), urls: Urls::Local { root } })
        }
        #[cfg(feature = "s3")]
        StorageLocation::S3 { bucket, .. } => {
            crate::object::tls::install_provider();
            let s3 = with_options(
                object_store::aws::AmazonS3Builder::from_env(),
                options,
                |b, k: object_store::aws::AmazonS3ConfigKey, v| b.with_config(k, v),
            )?
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| build_error("S3", e))?;
            let s3 = Arc::new(s3);
            Ok(Client { store: s3.clone(), urls: signed(s3, expiry) })
        }
        #[cfg(not(feature = "s3"))]
        StorageLocation::S3 { .. } => Err(missing("s3", "s3")),
        #[cfg(feature = "gcs")]
        StorageLocation::Gcs { bucket, .. } => {
            crate::object::tls::install_provider();
            let gcs = with_options(
                object_store::gcp::GoogleCloudStorageBuilder::from_env(),
                options,
                |b, k: object_store::gcp::GoogleConfigKey, v| b.with_config(k, v),
            )?
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| build_error("GCS", e))?;
            let gcs = Arc::new(gcs);
            Ok(Client { store: gcs.clone(), urls: signed(gcs, expiry) })
        }
        #[cfg(not(feature = "gcs"))]
        StorageLocation::Gcs { .. } => Err(missing("gs", "gcs")),
        #[cfg(feature = "azure")]
        StorageLocation::Azure { container, .. } => {
            crate::object::tls::install_provider();
            let azure = with_options(
                object_store::azure::MicrosoftAzureBuilder::from_env(),
                options,
                |b, k: object_store::azure::AzureConfigKey, v| b.with_config(k, v),
            )?
            .with_container_name(container)
            .build()
            .map_err(|e| build_error("Azure", e))?;
            let azure = Arc::new(azure);
            Ok(Client { store: azure.clone(), urls: signed(azure, expiry) })
        }
        #[cfg(not(feature = "azure"))]
        StorageLocation::Azure { .. } => Err(missing("az", "azure")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        assert_eq!(
            StorageLocation::parse("s3://bucket/a/b/").unwrap(),
            StorageLocation::S3 { bucket: "bucket".into(), prefix: "a/b".into() }
        );
        assert_eq!(
            StorageLocation::parse("gs://b").unwrap(),
            StorageLocation::Gcs { bucket: "b".into(), prefix: String::new() }
        );
        assert_eq!(
            StorageLocation::parse("az://c/p").unwrap(),
            StorageLocation::Azure { container: "c".into(), prefix: "p".into() }
        );
        assert_eq!(
            StorageLocation::parse("file:///tmp/x").unwrap(),
            StorageLocation::Local { dir: PathBuf::from("/tmp/x") }
        );
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        assert!(StorageLocation::parse("ftp://x/y").unwrap_err().0.contains("unsupported storage URL scheme"));
        assert!(StorageLocation::parse("s3:///nobucket").unwrap_err().0.contains("names no bucket"));
        assert!(StorageLocation::parse("not a url").is_err());
    }

    #[cfg(not(feature = "gcs"))]
    #[test]
    fn a_scheme_without_its_feature_says_which_feature() {
        let err = connect(&StorageLocation::parse("gs://b").unwrap(), Duration::from_secs(1), &[]).err().unwrap();
        assert!(err.0.contains("`gcs` feature"), "{err}");
    }
}
