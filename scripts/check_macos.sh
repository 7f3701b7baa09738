#!/usr/bin/env bash
# Type-checks the SDK and the daemon for macOS (aarch64-apple-darwin) from Linux: the Unix-socket
# paths on macOS and the login-keychain store. Nothing is linked or run — there is no macOS SDK
# here — so the C parts of dependencies (SQLite, meshoptimizer, ring) are "compiled" by a stand-in
# that writes empty objects. Not part of scripts/test.sh (it proves only that the code compiles);
# run it after changing macOS code. Uses the same Debian toolchain as scripts/test_windows.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
dpkg -s rustc-web cargo-web >/dev/null 2>&1 || missing+=(rustc-web cargo-web)
[ -f /usr/lib/rustlib/src/rust/library/std/Cargo.toml ] || missing+=(rust-web-src)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

out="$PWD/target/macos"
mkdir -p "$out"
cat > "$out/no-cc" <<'SCRIPT'
#!/bin/sh
# Writes an empty object wherever the compiler was asked to (-o FILE, -oFILE or -FoFILE).
out="" prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && out="$arg"
  case "$arg" in -Fo?*) out="${arg#-Fo}" ;; -o?*) out="${arg#-o}" ;; esac
  prev="$arg"
done
[ -z "$out" ] || : > "$out"
SCRIPT
chmod +x "$out/no-cc"

RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$out" SDKROOT="$out" MACOSX_DEPLOYMENT_TARGET=11.0 \
  CC_aarch64_apple_darwin="$out/no-cc" CXX_aarch64_apple_darwin="$out/no-cc" AR_aarch64_apple_darwin=ar \
  /usr/bin/cargo check --locked -Zbuild-std=std,panic_abort --target aarch64-apple-darwin \
  -p threedgpt-sdk -p threedgpt-daemon
