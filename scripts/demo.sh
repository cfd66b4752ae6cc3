#!/usr/bin/env bash
# The main job on the bundled sample checkpoint: build, mount it, show what is inside, unmount.
# Run as root on a fresh Debian/Ubuntu machine: installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=build bash scripts/build.sh
mnt=$(mktemp -d /tmp/ckptfs-demo.XXXXXX)
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || true; rmdir "$mnt"; }
trap cleanup EXIT
set -x
build/mount.ckptfs tests/fixtures/sample/model.ckpt "$mnt"
grep ckptfs /proc/mounts
ls -l "$mnt" "$mnt/dense"
cat "$mnt/dense/kernel.shape" "$mnt/dense/kernel.dtype"
head -n 8 "$mnt/variables.tsv"
# dense/kernel is also a directory (it holds the Adam slots), so its bytes are kernel.raw.
python3 -c "import numpy as np, sys; print(np.fromfile(sys.argv[1], '<f4').reshape(784, 10)[:2])" "$mnt/dense/kernel.raw"
grep -n -m 3 'op: "MatMul"' "$mnt/graph.pbtxt"
fusermount3 -u "$mnt"
# A TF 2 checkpoint (Keras 3 model + Adam): the values at their object paths, and by_name/
# holding a link per variable at the name the model gave it.
build/mount.ckptfs tests/fixtures/tf2_keras_adam/ckpt "$mnt"
ls "$mnt" "$mnt/optimizer/_trainable_variables"
ls -l "$mnt/by_name/regressor/encoder"
python3 -c "import numpy as np, sys; print(np.fromfile(sys.argv[1], '<f4').reshape(4, 3))" "$mnt/by_name/regressor/encoder/kernel"
build/ckptfs ls -l tests/fixtures/tf2_keras_adam/ckpt '*encoder*'
