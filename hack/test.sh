#!/usr/bin/env bash
# The test command (README "Test"): formatting, lints, generated files, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== real peers (installed once: git, kubectl, docker-registry, age, gnupg; the Helm SDK, oras, moto and boto3 from PyPI)"
hack/install-peers

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== crds/ is current"
cargo run -q --locked -p ferroflux-api --bin crdgen -- --check

echo "== cargo build --bins (the end-to-end tests and the demo run the binaries)"
cargo build --workspace --bins --locked

echo "== cargo test"
cargo test --workspace --locked
