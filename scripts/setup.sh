#!/usr/bin/env bash
# Everything the test suite needs on a Debian machine, installed only where missing:
#   - Redis 7 and PostgreSQL (scripts/setup-services.sh), and a local Redis Cluster on ports
#     7001-7006 for `npm run test:cluster` (scripts/redis-cluster.sh)
#   - Chromium (browser tests) and GStreamer (a real RTP source for SFU tests)
#   - HAProxy and nginx (gateways behind a load balancer)
#   - the mediasoup worker binary (scripts/mediasoup-worker.sh; cached after the first build)
# Idempotent. Prints the MEDIASOUP_WORKER_BIN path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

bash scripts/setup-services.sh
bash scripts/redis-cluster.sh >/dev/null

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v gst-launch-1.0 >/dev/null 2>&1 || packages+=(gstreamer1.0-tools)
# Thai and Chinese glyphs for the viewer's screenshots (test/web/).
dpkg -s fonts-tlwg-loma-otf >/dev/null 2>&1 || packages+=(fonts-tlwg-loma-otf)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || packages+=(fonts-wqy-microhei)
# Load balancers in front of several gateways (test/scale/, docs/deploy.md).
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || packages+=(haproxy)
[ -x /usr/sbin/nginx ] || packages+=(nginx-light)
dpkg -s gstreamer1.0-plugins-good >/dev/null 2>&1 || packages+=(gstreamer1.0-plugins-good)
dpkg -s gstreamer1.0-plugins-base >/dev/null 2>&1 || packages+=(gstreamer1.0-plugins-base)
if [ "${#packages[@]}" -gt 0 ]; then
  log "installing ${packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

bash scripts/mediasoup-worker.sh | tail -n1
