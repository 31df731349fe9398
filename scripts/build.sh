#!/bin/bash
# Build sluice into build/ (meson + ninja). Usage: scripts/build.sh [extra meson options]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build --werror "$@"
fi
ninja -C build
