#!/usr/bin/env bash
# The README's first command: set up (idempotent), build, and run the main job on the embedded
# default — the SysNoise benchmark (`sysnoise bench sysnoise`): EfficientNet-Lite0 on 100 real
# photos and the Fashion-MNIST CNN on 1000 test images, every noise option against the training
# system, on ONNX Runtime (plus tract for the runtime swap). Writes ./sysnoise-bench/.
# Extra arguments go to `sysnoise bench sysnoise` (e.g. --images 500, --families resize,precision).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
echo "sysnoise: building (the first build compiles tract and takes several minutes)" >&2
export $("$root/scripts/setup_libtorch.sh" 2>/dev/null)
cargo build --quiet --features torch --bin sysnoise
exec "$root/target/debug/sysnoise" bench sysnoise "$@"
