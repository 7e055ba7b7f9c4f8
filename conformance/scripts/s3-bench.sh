#!/usr/bin/env bash
# 1 GiB externalized result over HTTP end to end against a local s3s-fs
# (the worker's --storage s3:// backend; presigned GETs fetched by the
# client's HttpFetcher). Prints MB/s and where the time went. Needs s3s-fs:
#   cargo install s3s-fs --version 0.14.1 --features binary --locked
set -euo pipefail
cd "$(dirname "$0")/../.."
VGI_REQUIRE_S3=1 cargo test --release -p vgi-rpc-conformance --test s3_storage -- \
  --ignored --exact bench_1_gib_externalized_over_http --nocapture
