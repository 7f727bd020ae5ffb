#!/usr/bin/env bash
# Make the mediasoup worker binary available and print its absolute path.
#
#   scripts/mediasoup-worker.sh            find it, or build it (4-10 min on 2 cores)
#   scripts/mediasoup-worker.sh --print    only print a usable path, never build; exit 1 if none
#   scripts/mediasoup-worker.sh --check    say whether a worker is usable and what a build lacks;
#                                          exit 1 if no usable worker
#   scripts/mediasoup-worker.sh --rebuild  ignore $MEDIASOUP_WORKER_BIN/cache/prebuilt; build again
# The path is the LAST line of stdout (all logs go to stderr):
#   export MEDIASOUP_WORKER_BIN="$(scripts/mediasoup-worker.sh | tail -n1)"
#
# Order of lookup:
#   1. $MEDIASOUP_WORKER_BIN, if executable.
#   2. The cache: ${XDG_CACHE_HOME:-$HOME/.cache}/flashcast/mediasoup-worker/<ver>/mediasoup-worker
#      (used only if the dynamic loader resolves all its libraries).
#   3. node_modules/mediasoup/worker/out/Release/mediasoup-worker (mediasoup's own
#      prebuilt download, on machines where it could reach GitHub).
#   4. Build from the npm tarball of mediasoup against Debian 12 system libraries
#      (apt), with the patches in scripts/mediasoup/, and store it in the cache.
#
# Why a build: mediasoup's postinstall downloads a prebuilt worker from GitHub
# and its meson wraps download sources; neither host is reachable here, and
# npm 11 does not run dependencies' install scripts anyway.
#
# Env: MEDIASOUP_VERSION (default 3.19.3), FLASHCAST_KEEP_BUILD=1 keeps the
# temporary build dir, FLASHCAST_MEDIASOUP_JOBS sets the compile parallelism.
set -euo pipefail

MEDIASOUP_VERSION="${MEDIASOUP_VERSION:-3.19.3}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PATCH_DIR="$SCRIPT_DIR/mediasoup"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:?set HOME or XDG_CACHE_HOME}/.cache}/flashcast/mediasoup-worker/$MEDIASOUP_VERSION"
CACHE_BIN="$CACHE_DIR/mediasoup-worker"
PREBUILT_BIN="$REPO_ROOT/node_modules/mediasoup/worker/out/Release/mediasoup-worker"

# Debian packages needed to build (and, through their dependencies, to run).
BUILD_PKGS=(meson ninja-build pkg-config python3 libuv1-dev libssl-dev libsrtp2-dev
            libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler)

log() { printf 'mediasoup-worker: %s\n' "$*" >&2; }
die() { printf 'mediasoup-worker: ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

MODE=ensure
case "${1:-}" in
  '') ;;
  --print) MODE=print ;;
  --check) MODE=check ;;
  --rebuild) MODE=rebuild ;;
  -h|--help) usage; exit 0 ;;
  *) usage; die "unknown argument: $1" ;;
esac

# True if $1 is an executable whose shared libraries all resolve.
runnable() {
  local bin="$1" out
  [[ -f "$bin" && -x "$bin" ]] || return 1
  out="$(ldd "$bin" 2>&1)" || return 1
  ! grep -q 'not found' <<<"$out"
}

missing_libs() { ldd "$1" 2>&1 | awk '/not found/ {print $1}' | tr '\n' ' '; }

# Only accept a node_modules worker of the version we want.
prebuilt_version_ok() {
  local pj="$REPO_ROOT/node_modules/mediasoup/package.json"
  [[ -f "$pj" ]] && grep -q "\"version\": *\"$MEDIASOUP_VERSION\"" "$pj"
}

# Prints a usable path and returns 0, or returns 1.
find_existing() {
  if [[ "$MODE" != rebuild && -n "${MEDIASOUP_WORKER_BIN:-}" ]]; then
    if [[ -x "$MEDIASOUP_WORKER_BIN" ]]; then
      echo "$MEDIASOUP_WORKER_BIN"; return 0
    fi
    log "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file; ignoring it"
  fi
  [[ "$MODE" == rebuild ]] && return 1
  if runnable "$CACHE_BIN"; then
    echo "$CACHE_BIN"; return 0
  elif [[ -e "$CACHE_BIN" ]]; then
    log "cached worker $CACHE_BIN does not load (missing: $(missing_libs "$CACHE_BIN")); will rebuild"
  fi
  if prebuilt_version_ok && runnable "$PREBUILT_BIN"; then
    echo "$PREBUILT_BIN"; return 0
  fi
  return 1
}

missing_pkgs() {
  local p status
  for p in "${BUILD_PKGS[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
    [[ "$status" == ii* ]] || printf '%s ' "$p"
  done
}

have_cxx() { command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1; }

# Debian's own python3 (meson depends on it) rather than whatever is first on PATH.
python() { if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 "$@"; else python3 "$@"; fi; }

# Exit 0 when a usable worker exists; otherwise list what a build still needs and exit 1.
do_check() {
  local found pkgs problems=()
  pkgs="$(missing_pkgs)"
  have_cxx || problems+=("no C++ compiler (g++ will be installed)")
  command -v npm >/dev/null 2>&1 || problems+=("npm not found (needed to fetch the mediasoup tarball)")
  [[ -f "$PATCH_DIR/patch-worker.py" && -f "$PATCH_DIR/srtp_compat.h" ]] || problems+=("patch files missing in $PATCH_DIR")
  [[ -n "$pkgs" ]] && problems+=("Debian packages missing (the build installs them): $pkgs")
  if found="$(MODE=print find_existing)"; then
    log "ok: mediasoup $MEDIASOUP_VERSION worker at $found"
    (( ${#problems[@]} == 0 )) || log "note: a rebuild would need: ${problems[*]}"
    return 0
  fi
  log "missing: mediasoup $MEDIASOUP_VERSION worker (not in \$MEDIASOUP_WORKER_BIN, $CACHE_BIN or node_modules)"
  local p; for p in "${problems[@]}"; do log "missing: $p"; done
  log "run scripts/mediasoup-worker.sh to build it (~4-10 min on 2 cores)"
  return 1
}

install_build_deps() {
  local pkgs; pkgs="$(missing_pkgs)"
  have_cxx || pkgs+="g++ "
  [[ -z "$pkgs" ]] && { log "build packages present"; return 0; }
  command -v apt-get >/dev/null 2>&1 || die "missing packages ($pkgs) and no apt-get to install them"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages ($pkgs); run as root or install them"
    sudo=(sudo)
  fi
  log "installing build packages: $pkgs"
  # shellcheck disable=SC2086
  { "${sudo[@]}" apt-get update -q \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs
  } >&2 || die "apt-get install failed for: $pkgs"
}

build() {
  command -v npm >/dev/null 2>&1 || die "npm not found"
  install_build_deps
  have_cxx || die "no C++ compiler found (install g++)"

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/flashcast-mediasoup-worker.XXXXXX")"
  if [[ "${FLASHCAST_KEEP_BUILD:-}" == 1 ]]; then
    log "keeping build dir $work"
  else
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
  fi

  log "fetching mediasoup@$MEDIASOUP_VERSION from the npm registry"
  ( cd "$work" && npm pack --silent --ignore-scripts "mediasoup@$MEDIASOUP_VERSION" ) >&2 \
    || die "npm pack mediasoup@$MEDIASOUP_VERSION failed"
  local tgz="$work/mediasoup-$MEDIASOUP_VERSION.tgz"
  [[ -f "$tgz" ]] || die "npm pack did not produce $tgz"
  tar -xzf "$tgz" -C "$work" || die "cannot extract $tgz"
  local src="$work/package/worker"
  [[ -f "$src/meson.build" ]] || die "no worker/meson.build in the tarball"

  log "patching worker sources for Debian system libraries"
  python "$PATCH_DIR/patch-worker.py" "$src" || die "patching failed (see above); mediasoup $MEDIASOUP_VERSION may need updated patches"

  local jobs="${FLASHCAST_MEDIASOUP_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  local t0=$SECONDS
  log "configuring (meson $(meson --version))"
  ( cd "$src" && meson setup build --buildtype release -Db_ndebug=true \
      -Dms_disable_liburing=true --wrap-mode=nodownload ) >&2 || die "meson setup failed"
  log "generating flatbuffers headers"
  meson compile -C "$src/build" flatbuffers-generator >&2 || die "flatbuffers generation failed"
  log "compiling mediasoup-worker with $jobs jobs (takes a few minutes)"
  meson compile -C "$src/build" -j "$jobs" mediasoup-worker >&2 || die "compiling mediasoup-worker failed"
  log "compiled in $((SECONDS - t0)) s"

  local out="$src/build/mediasoup-worker"
  [[ -x "$out" ]] || die "build finished but $out is missing"
  runnable "$out" || die "built worker does not load: missing $(missing_libs "$out")"
  # Smoke test: without the channel fds the worker must start and exit on its own.
  # (It exits 41 "missing MEDIASOUP_VERSION" quickly; any crash signal is a failure.)
  local rc=0
  timeout 10 "$out" >/dev/null 2>&1 </dev/null || rc=$?
  (( rc < 124 )) || die "built worker failed its smoke run (exit $rc)"

  mkdir -p "$CACHE_DIR"
  # Install atomically so concurrent readers never see a half-copied file.
  local tmp_bin="$CACHE_DIR/.mediasoup-worker.$$"
  if ! { cp "$out" "$tmp_bin" && chmod 755 "$tmp_bin" && mv -f "$tmp_bin" "$CACHE_BIN"; }; then
    rm -f "$tmp_bin"
    die "cannot install worker into $CACHE_DIR"
  fi
  {
    echo "mediasoup $MEDIASOUP_VERSION worker built $(date -u +%FT%TZ) on $(uname -srm)"
    echo "by scripts/mediasoup-worker.sh (patches: scripts/mediasoup/)"
    echo "compile seconds: $((SECONDS - t0))"
  } >"$CACHE_DIR/BUILD-INFO"
  log "installed $CACHE_BIN"
  echo "$CACHE_BIN"
}

case "$MODE" in
  check) do_check ;;
  print) find_existing || { log "no usable mediasoup worker (run scripts/mediasoup-worker.sh to build it)"; exit 1; } ;;
  ensure|rebuild)
    if path="$(find_existing)"; then
      echo "$path"
    else
      # One build at a time per cache dir; a waiter re-uses the finished result.
      mkdir -p "$CACHE_DIR"
      exec 9>"$CACHE_DIR/.lock"
      if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
        log "another build is running; waiting for it"
        flock 9
        if [[ "$MODE" == ensure ]] && path="$(find_existing)"; then echo "$path"; exit 0; fi
      fi
      build
    fi
    ;;
esac
