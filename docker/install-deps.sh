#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages of tools/deps/<list>.txt inside an image
# with the very code the native scripts use (tools/lib/deps.sh), then drops apt's caches.
#   bash docker/install-deps.sh build|runtime ...   (run from the folder holding tools/)
set -euo pipefail
ROOT=${ROOT:-$(pwd)}
source "$ROOT/tools/lib/common.sh"
source "$ROOT/tools/lib/deps.sh"
deps_install "$@"
apt-get clean
rm -rf /var/lib/apt/lists/*
