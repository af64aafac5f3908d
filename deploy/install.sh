#!/bin/sh
# Berth agent installer. Served by the control plane at /install.sh:
#   curl -fsSL <control-plane-url>/install.sh | sh -s -- --url <control-plane-url> --token <token> [options]
# Options:
#   --url URL          the control plane (required unless --uninstall)
#   --token TOKEN      the one-time enrollment token from POST /servers/{serverId}/credentials
#   --ca-sha256 HEX    pin the control plane's agent CA (the install command carries it)
#   --name NAME        a name for this server
#   --prefix DIR       where the agent goes (default /opt/berth-agent)
#   --state-dir DIR    the agent's state (default /var/lib/berth-agent)
#   --no-systemd       run the agent in the foreground instead of installing a systemd unit
#   --uninstall        remove what this script installed
set -eu

URL=""; TOKEN=""; CA_SHA256=""; NAME=""; PREFIX="/opt/berth-agent"; STATE_DIR="/var/lib/berth-agent"
SYSTEMD=1; UNINSTALL=0; UNIT="/etc/systemd/system/berth-agent.service"

say() { printf 'berth-agent: %s\n' "$*" >&2; }
die() { printf 'berth-agent: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL="${2:-}"; shift 2 ;;
    --token) TOKEN="${2:-}"; shift 2 ;;
    --ca-sha256) CA_SHA256="${2:-}"; shift 2 ;;
    --name) NAME="${2:-}"; shift 2 ;;
    --prefix) PREFIX="${2:-}"; shift 2 ;;
    --state-dir) STATE_DIR="${2:-}"; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" 2>/dev/null || true; exit 0 ;;
    *) die "unknown option $1 (see the header of this script)" ;;
  esac
done

if [ "$UNINSTALL" = 1 ]; then
  if [ -f "$UNIT" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now berth-agent.service >/dev/null 2>&1 || true
    rm -f "$UNIT"; systemctl daemon-reload >/dev/null 2>&1 || true
  fi
  if [ -f "$PREFIX/.installed-by-berth" ]; then rm -rf "$PREFIX"; say "removed $PREFIX"; fi
  rm -rf "$STATE_DIR"; say "removed $STATE_DIR; the server stays registered in Berth until you delete it there"
  exit 0
fi

# Prerequisites, each with its own message.
[ "$(uname -s)" = "Linux" ] || die "Berth's agent runs on Linux only (this is $(uname -s))."
if ! (getconf GNU_LIBC_VERSION >/dev/null 2>&1 || ldd --version 2>&1 | grep -qi 'glibc\|gnu libc'); then
  die "this Linux has no glibc (Alpine/musl?): the agent's Node runtime needs glibc; use a Debian, Ubuntu or RHEL-family server."
fi
[ "$(id -u)" = 0 ] || die "run as root (sudo sh -s -- …): the agent manages Docker and installs a service."
command -v curl >/dev/null 2>&1 || die "curl is missing: apt-get install curl"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is missing: apt-get install coreutils"
[ -n "$URL" ] || die "--url <control-plane-url> is required."
[ -n "$TOKEN" ] || [ -f "$STATE_DIR/agent.json" ] || die "--token <token> is required (POST /servers/{serverId}/credentials gives one)."
URL="${URL%/}"

DOCKER_SOCKET="/var/run/docker.sock"
case "${DOCKER_HOST:-}" in unix://*) DOCKER_SOCKET="${DOCKER_HOST#unix://}" ;; esac
[ -S "$DOCKER_SOCKET" ] || die "no Docker engine socket at $DOCKER_SOCKET: install Docker (apt-get install docker.io) and start it, or set DOCKER_HOST=unix:///path/to.sock."
curl -fsS --max-time 5 --unix-socket "$DOCKER_SOCKET" http://docker/_ping >/dev/null 2>&1 \
  || die "the Docker engine at $DOCKER_SOCKET does not answer: start it (systemctl start docker)."

case "$(uname -m)" in x86_64|amd64) ARCH=x64 ;; aarch64|arm64) ARCH=arm64 ;; *) ARCH="$(uname -m)" ;; esac

TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
fetch() { curl -fsSL --retry 3 --retry-delay 1 -o "$2" "$URL$1" || die "could not download $URL$1"; }
verify() { echo "$2  $1" | sha256sum -c - >/dev/null 2>&1 || die "SHA-256 of $3 does not match the control plane's manifest; nothing was installed."; }
field() { tr -d '\n' < "$TMP/manifest.json" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }

say "reading the agent manifest from $URL"
fetch "/agent/manifest" "$TMP/manifest.json"
VERSION="$(field version)"; BUNDLE_SHA="$(field bundleSha256)"
[ -n "$VERSION" ] && [ -n "$BUNDLE_SHA" ] || die "the control plane's manifest is not readable."
fetch "/agent/bundle.mjs" "$TMP/berth-agent.mjs"
verify "$TMP/berth-agent.mjs" "$BUNDLE_SHA" "the agent bundle"

# The agent runs on the one Node.js version Berth pins (the manifest's nodeVersion): a Node already here is used only
# when it is exactly that version; otherwise the control plane's copy is downloaded and checked like the bundle.
NODE_VERSION="$(tr -d '\n' < "$TMP/manifest.json" | sed 's/"runtimes": *{[^{}]*\({[^{}]*}[^{}]*\)*}//' \
  | sed -n 's/.*"nodeVersion": *"\([^"]*\)".*/\1/p')"
[ -n "$NODE_VERSION" ] || die "the control plane's manifest names no Node.js version."
NODE=""; FOUND=""
for candidate in "$PREFIX/node/bin/node" "$(command -v node 2>/dev/null || true)"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  found="$("$candidate" --version 2>/dev/null || true)"
  if [ "$found" = "$NODE_VERSION" ]; then NODE="$candidate"; break; fi
  [ -n "$FOUND" ] || FOUND="${found:-a Node.js that does not start} ($candidate)"
done
mkdir -p "$PREFIX/lib" "$PREFIX/node/bin"
touch "$PREFIX/.installed-by-berth"
if [ -z "$NODE" ]; then
  RUNTIME_SHA="$(tr -d '\n' < "$TMP/manifest.json" | sed -n "s/.*\"linux-$ARCH\": *{[^}]*\"sha256\": *\"\\([0-9a-f]*\\)\".*/\\1/p")"
  [ -n "$RUNTIME_SHA" ] || die "the agent runs on Node.js $NODE_VERSION, which this server does not have${FOUND:+ (it has ${FOUND})}, and the control plane has no Node runtime for linux-$ARCH: install Node.js $NODE_VERSION (e.g. from nodejs.org) and run this again."
  if [ -n "$FOUND" ]; then
    say "the Node.js here is $FOUND, not $NODE_VERSION: downloading Node.js $NODE_VERSION for linux-$ARCH from the control plane"
  else
    say "no Node.js found: downloading Node.js $NODE_VERSION for linux-$ARCH from the control plane"
  fi
  fetch "/agent/node/linux-$ARCH" "$TMP/node"
  verify "$TMP/node" "$RUNTIME_SHA" "the Node runtime"
  install -m 0755 "$TMP/node" "$PREFIX/node/bin/node"
  NODE="$PREFIX/node/bin/node"
  ran="$("$NODE" --version 2>&1 || true)"
  [ "$ran" = "$NODE_VERSION" ] || { rm -f "$NODE"; die "the downloaded Node.js $NODE_VERSION does not run on this server: $ran"; }
fi
install -m 0644 "$TMP/berth-agent.mjs" "$PREFIX/lib/berth-agent.mjs"
cat > "$PREFIX/berth-agent" <<WRAPPER
#!/bin/sh
BERTH_AGENT_STATE_DIR="\${BERTH_AGENT_STATE_DIR:-$STATE_DIR}" exec "$NODE" "$PREFIX/lib/berth-agent.mjs" "\$@"
WRAPPER
chmod 0755 "$PREFIX/berth-agent"
say "installed agent $VERSION in $PREFIX (Node: $NODE)"

if [ -n "$TOKEN" ]; then
  set -- enroll --url "$URL" --token "$TOKEN" --force
  [ -n "$CA_SHA256" ] && set -- "$@" --ca-sha256 "$CA_SHA256"
  [ -n "$NAME" ] && set -- "$@" --name "$NAME"
  "$PREFIX/berth-agent" "$@" || die "enrollment failed (see above); nothing else was changed."
fi

if [ "$SYSTEMD" = 1 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  cat > "$UNIT" <<UNITFILE
[Unit]
Description=Berth agent
After=network-online.target docker.service
Wants=network-online.target

[Service]
ExecStart=$PREFIX/berth-agent run
Restart=always
RestartSec=2
# The edge proxy (Caddy) and the upstream resolver the agent starts must outlive an agent restart: stop only the agent.
KillMode=process
Environment=BERTH_AGENT_STATE_DIR=$STATE_DIR

[Install]
WantedBy=multi-user.target
UNITFILE
  systemctl daemon-reload
  systemctl enable berth-agent.service >/dev/null 2>&1
  systemctl restart berth-agent.service
  say "the agent runs as the systemd service berth-agent (journalctl -u berth-agent)"
else
  [ "$SYSTEMD" = 1 ] && say "no systemd here: running the agent in the foreground"
  say "starting the agent in the foreground (Ctrl-C stops it)"
  # exec replaces this shell, so the EXIT trap would never run: remove the downloads (up to ~130 MB) first.
  rm -rf "$TMP"; trap - EXIT
  exec "$PREFIX/berth-agent" run
fi
