#!/usr/bin/env bash
# The file lifecycle tests that are more than `cargo test`: the 4 x 1M rotation runs (plain,
# gzip and zstd decoded by the system's programs, encrypted decoded by `alog cat`) in release,
# and tests/lifecycle/test-*.sh with Debian's logrotate and rsyslog (imfile tailing the files,
# imuxsock receiving the syslog sink), a full tmpfs and four processes sharing one rotating
# file. Installs what is missing with apt-get.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

missing=()
command -v gzip >/dev/null || missing+=(gzip)
command -v zstd >/dev/null || missing+=(zstd)
command -v logrotate >/dev/null || [ -x /usr/sbin/logrotate ] || missing+=(logrotate)
command -v rsyslogd >/dev/null || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
command -v python3 >/dev/null || missing+=(python3)
command -v cc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

cargo build --release -p alog-ffi -p alog-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -Wextra -Werror -Iinclude tests/lifecycle/logwriter.c \
  -Ltarget/release -Wl,-Bstatic -lalog -Wl,-Bdynamic -lpthread -ldl -lm -o "$work/logwriter"
cc -O2 -Wall -Wextra -Werror -Iinclude tests/lifecycle/abi.c \
  -Ltarget/release -Wl,-Bstatic -lalog -Wl,-Bdynamic -lpthread -ldl -lm -o "$work/abi"
export LOGWRITER="$work/logwriter" ALOG="$root/target/release/alog"

echo "== the lifecycle through the C ABI"
mkdir "$work/abi.d"
"$work/abi" "$work/abi.d"
if command -v valgrind >/dev/null; then
  rm -rf "$work/abi.d" && mkdir "$work/abi.d"
  # Definite leaks only, as tests/c/run.sh: the writer pool's threads live until the process
  # ends, and valgrind calls a running thread's TLS block "possibly lost".
  valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
    "$work/abi" "$work/abi.d"
fi

echo "== 4 threads x 1M records with rotation: plain, gzip, zstd, encrypted"
cargo test --release -q -p alog-core --test rotation -- --ignored
cargo test --release -q -p alog-cli --test cli -- --ignored

status=0
for t in tests/lifecycle/test-*.sh; do
  echo "== $t"
  bash "$t" || status=1
done
exit $status
