//! Local-directory round trips of [`ObjectStorage`]: streamed multipart
//! uploads, zstd, abandoned uploads, and the resolver's directory rule.

use std::io::Write;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use vgi_rpc_core::external::{ExternalStorage, PointerResolver};

use super::*;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vgi-rpc-object-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn schema() -> SchemaRef {
    Arc::new(Schema::empty())
}

/// 20 MiB of a non-repeating pattern: three 8 MiB parts, the last short.
fn payload() -> Vec<u8> {
    (0..20 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn storage(dir: &std::path::Path, zstd_level: Option<i32>) -> ObjectStorage {
    let url = Url::from_directory_path(dir).unwrap();
    ObjectStorage::from_url(url.as_str(), ObjectConfig { zstd_level, ..ObjectConfig::default() }).unwrap()
}

use url::Url;

#[test]
fn a_streamed_multipart_upload_reads_back_through_the_resolver() {
    let dir = scratch("plain");
    let storage = storage(&dir, None);
    let data = payload();
    let mut sink = storage.begin_upload(&schema()).unwrap();
    for chunk in data.chunks(1_000_003) {
        sink.write_all(chunk).unwrap();
    }
    let url = sink.finish().unwrap();
    assert!(url.starts_with("file://"), "{url}");
    let resolver = LocalFileResolver::new(&dir, 1 << 30).unwrap();
    assert_eq!(resolver.fetch(&url).unwrap(), data);
    assert!(!storage.vends_upload_urls());
    assert!(storage.upload_url().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zstd_objects_are_compressed_at_rest_and_decoded_on_read() {
    let dir = scratch("zstd");
    let storage = storage(&dir, Some(1));
    let data = vec![7u8; 12 * 1024 * 1024];
    let url = storage.upload(&data, &schema()).unwrap();
    assert!(url.ends_with(".zst"), "{url}");
    let on_disk = std::fs::metadata(Url::parse(&url).unwrap().to_file_path().unwrap()).unwrap().len();
    assert!(on_disk < 1024 * 1024, "compressed at rest: {on_disk}");
    let resolver = LocalFileResolver::new(&dir, 1 << 30).unwrap();
    assert_eq!(resolver.fetch(&url).unwrap(), data);
    let small_cap = LocalFileResolver::new(&dir, 1 << 30).unwrap().with_max_decoded_bytes(1024);
    assert!(small_cap.fetch(&url).unwrap_err().0.contains("max_decompressed_bytes"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_abandoned_upload_leaves_no_object() {
    let dir = scratch("abandon");
    let storage = storage(&dir, None);
    let mut sink = storage.begin_upload(&schema()).unwrap();
    sink.write_all(&payload()).unwrap();
    drop(sink);
    let objects: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".arrows"))
        .collect();
    assert!(objects.is_empty(), "{objects:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_resolver_admits_only_its_own_directory() {
    let dir = scratch("outside");
    let other = scratch("outside-other");
    std::fs::write(other.join("secret"), b"x").unwrap();
    let resolver = LocalFileResolver::new(&dir, 1024).unwrap();
    let outside = Url::from_file_path(other.join("secret")).unwrap();
    assert!(resolver.fetch(outside.as_str()).unwrap_err().0.contains("outside the storage directory"));
    let dotdot = format!(
        "{}../{}/secret",
        Url::from_directory_path(&dir).unwrap(),
        other.file_name().unwrap().to_string_lossy()
    );
    assert!(resolver.fetch(&dotdot).unwrap_err().0.contains("URL rejected"));
    assert!(resolver.fetch("http://127.0.0.1/x").unwrap_err().0.contains("only file URLs"));
    std::fs::write(dir.join("big"), vec![0u8; 2048]).unwrap();
    let big = Url::from_file_path(dir.join("big")).unwrap();
    assert!(resolver.fetch(big.as_str()).unwrap_err().0.contains("max_fetch_bytes"));
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

#[test]
fn a_part_size_under_the_minimum_is_refused() {
    let dir = scratch("parts");
    let url = Url::from_directory_path(&dir).unwrap();
    let err =
        ObjectStorage::from_url(url.as_str(), ObjectConfig { part_size: 1024, ..ObjectConfig::default() }).unwrap_err();
    assert!(err.0.contains("minimum"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
