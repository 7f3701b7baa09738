#!/usr/bin/env bash
# Installs a real Godot 4 editor for the Godot plugin's tests: Debian's `godot` package from the
# unstable suite, which needs a newer glibc than this machine's Debian 12, so it lives in its own
# minimal Debian root (debootstrap) and runs there through `scripts/godot`.
#
#   scripts/install_godot.sh [ROOT]
#
# ROOT defaults to target/godot-root. Needs root (debootstrap, chroot) and reaches only Debian's
# package mirror. Prints the installed editor's version. Running it again reuses a finished root.
set -euo pipefail
cd "$(dirname "$0")/.."

root="${1:-target/godot-root}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
done_marker="$root/.threedgpt-godot-installed"

if [ ! -f "$done_marker" ]; then
  [ "$(id -u)" = 0 ] || {
    echo "installing Godot needs root (debootstrap and chroot); run the tests as root or install it first" >&2
    exit 1
  }
  command -v debootstrap >/dev/null || {
    echo "installing debootstrap with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  }
  # A half-made root from an interrupted run is started again from nothing; never while something
  # is mounted in it (a folder bound there by scripts/godot would be deleted with it).
  if [ -d "$root" ] && findmnt -rn -o TARGET | grep -q "^$(realpath "$root")/"; then
    echo "$root has folders mounted in it (from an interrupted scripts/godot): unmount them first:" >&2
    findmnt -rn -o TARGET | grep "^$(realpath "$root")/" >&2
    exit 1
  fi
  rm -rf "$root"
  mkdir -p "$(dirname "$root")"
  echo "debootstrap sid into $root (from $mirror)"
  debootstrap --variant=minbase sid "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
    tail -20 "$root.debootstrap.log" >&2
    echo "debootstrap failed: see $root.debootstrap.log" >&2
    exit 1
  }
  mount -t proc proc "$root/proc"
  trap 'umount "$root/proc" 2>/dev/null || true' EXIT
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get -qq -o Acquire::Check-Valid-Until=false update &&
     apt-get install -y -qq --no-install-recommends godot ca-certificates xvfb xauth libgl1-mesa-dri libglx-mesa0 >/dev/null &&
     apt-get clean'
  umount "$root/proc"
  trap - EXIT
  touch "$done_marker"
fi
scripts/godot "$root" --version
