#!/usr/bin/env bash
# The daemon on Windows, from Linux: builds the SDK's and the daemon's tests for
# x86_64-pc-windows-gnu and runs them under Wine, in a fresh Wine prefix of their own.
#
# rustup cannot fetch another target's standard library here, so the standard library is built
# from source (-Zbuild-std) with Debian's Rust 1.96 (rustc-web, rust-web-src), linked with
# MinGW-w64. Wine 8 lacks bcryptprimitives.dll (ProcessPrng, which Rust's std uses for randomness),
# so a stand-in is built from scripts/wine/ for the prefix. All of it from Debian's packages.
#
# What runs: the SDK's unit tests (the pipe name), the Godot plugin's (its worker without a
# daemon, on the pipe), the daemon's unit tests (history store,
# queue, keys, services), and daemon/tests/windows.rs (the real 3dgpt.exe on its named pipe,
# auto-start, the history key in the Credential Manager, cancel, the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64

missing=()
dpkg -s rustc-web cargo-web >/dev/null 2>&1 || missing+=(rustc-web cargo-web)
[ -f /usr/lib/rustlib/src/rust/library/std/Cargo.toml ] || missing+=(rust-web-src)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(mingw-w64)
[ -x "$wine" ] || missing+=(wine64)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's toolchain, not rustup's (which has no Windows std); its own target folder, so the two
# compilers never invalidate each other's builds.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$PWD/target/windows"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"
# No optimisation (std included) and no debug info, but for the engine and meshoptimizer, whose
# work the tests wait for: a cold build in well under half the time of the workspace's profile
# (opt-level 3 for every dependency), since this is about the Windows code paths, not speed.
build=(--locked -Zbuild-std=std,panic_abort --target "$target"
  --config 'profile.dev.opt-level=0' --config 'profile.dev.package."*".opt-level=0' --config 'profile.dev.debug=false'
  --config 'profile.dev.package.threedgpt-engine.opt-level=1' --config 'profile.dev.package.meshopt.opt-level=1')
packages=(-p threedgpt-paths -p threedgpt-sdk -p threedgpt-godot -p threedgpt-daemon)
cargo=(/usr/bin/cargo test --no-fail-fast "${build[@]}" "${packages[@]}" --lib --bins --test windows)
# One build of what the tests run and of the Godot plugin's Windows library (the addon's
# threedgpt_godot.windows.x86_64.dll), with one feature set: a plain build of the library after the
# tests' rebuilt all that the tests' dev-dependencies change (a minute). The daemon's Unix-only
# test targets come with `--tests`; they compile to nothing here.
/usr/bin/cargo build "${build[@]}" "${packages[@]}" --lib --bins --tests
# The library must link and export the entry point Godot looks for.
dll="$CARGO_TARGET_DIR/$target/debug/threedgpt_godot.dll"
exports=$(x86_64-w64-mingw32-objdump -p "$dll")
grep -qw gdext_rust_init <<<"$exports" || {
  echo "$dll does not export gdext_rust_init" >&2
  exit 1
}
echo "built $dll ($(du -h "$dll" | cut -f1))"

# A fresh prefix per run: the Credential Manager and %LOCALAPPDATA% start empty, as on a new account.
export WINEPREFIX="$PWD/target/windows/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
rm -rf "$WINEPREFIX"
"$wine" wineboot --init >/dev/null 2>&1 || true
system32="$WINEPREFIX/drive_c/windows/system32"
x86_64-w64-mingw32-gcc -O2 -shared -o "$system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32
# The C++ runtime meshoptimizer links against.
for dll in libstdc++-6.dll libgcc_s_seh-1.dll; do
  cp "$(x86_64-w64-mingw32-g++ -print-file-name="$dll")" "$system32/"
done
cp /usr/x86_64-w64-mingw32/lib/libwinpthread-1.dll "$system32/" 2>/dev/null || true

status=0
log="$CARGO_TARGET_DIR/test-output.log"
"${cargo[@]}" -- --test-threads=2 2>&1 | tee "$log" || status=$?
# Wine's own server has died under these tests once in twenty-odd runs ("wine client error: …
# Connection reset by peer": the test process lost Wine, not a test its assertion). That, and only
# that, is Wine's fault: say so, start a fresh server and run the daemon's Windows tests once more.
# A test that fails on its own is never rerun.
failed=$(grep -E '^ +`-p ' "$log" || true)
if ((status)) && grep -q "wine client error" "$log" && [ -n "$failed" ] && ! grep -qv -- "--test windows" <<<"$failed"; then
  echo "== Wine's server died during the run (see 'wine client error' above); rerunning the Windows tests once"
  "$wineserver" -k 2>/dev/null || true
  status=0
  "${cargo[@]:0:2}" --no-fail-fast "${build[@]}" -p threedgpt-daemon --test windows -- --test-threads=2 || status=$?
fi
# Daemons the tests left (a failed test's) and Wine's own server go with the run.
"$wineserver" -k 2>/dev/null || true
exit "$status"
