#!/usr/bin/env bash
# Installs what the tests need and a fresh Debian machine may lack: Debian packages
# (C toolchain, pkg-config, CMake, Clang for the header checks, valgrind, spdlog for the benchmark,
# rsyslog: the network syslog tests of `cargo test` start private rsyslogd instances, with
# rsyslog-openssl for its TLS input and the openssl program that makes the tests' certificates;
# the sqlite3 program that reads back the SQLite sink's rows in the Go tests) and cargo tools
# (cbindgen, cargo-fuzz, clippy, rustfmt). Does nothing for what is already there.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
for pkg in build-essential pkg-config cmake clang valgrind libspdlog-dev rsyslog rsyslog-openssl openssl sqlite3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

export PATH="$HOME/.cargo/bin:$PATH"
command -v cbindgen >/dev/null || cargo install cbindgen --version 0.29.4 --locked
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
