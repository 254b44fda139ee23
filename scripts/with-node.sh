#!/usr/bin/env bash
# Runs its arguments on the project's Node.js: .tools/node (Node.js 24 LTS, which scripts/install-node.mjs puts
# there when the machine's Node is older than 22) when it is installed, the machine's Node otherwise.
# `npm test` and `npm run demo` are started by the machine's npm; everything after scripts/setup.sh runs through
# this, so `node`, and npm itself (`#!/usr/bin/env node`), resolve to the same Node that `npm ci` built the
# native modules for. Sourced (`. scripts/with-node.sh`), it only sets the environment.
#
#   bash scripts/with-node.sh node dist/cli/main.js --help
tools_node="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node"
if [ -x "$tools_node/bin/node" ]; then
  export PATH="$tools_node/bin:$PATH"
  # node-gyp builds against these headers instead of fetching them from nodejs.org.
  export npm_config_nodedir="$tools_node"
fi
unset tools_node
if [ "${BASH_SOURCE[0]}" = "$0" ]; then exec "$@"; fi
