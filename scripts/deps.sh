#!/usr/bin/env bash
# Install what building and testing ckptfs needs, on Debian/Ubuntu, as root. Installs only what
# is missing, so it is cheap to run again. With --tf it also installs the TensorFlow oracle
# (tests compare against it; the product never uses it). With --bench it also installs the
# baselines of scripts/bench/run.py (squashfs-tools, squashfuse, fio), which no test needs.
set -euo pipefail
want_tf=0 want_bench=0
for a in "$@"; do
  case "$a" in
    --tf) want_tf=1 ;;
    --bench) want_bench=1 ;;
    *) echo "deps.sh: unknown option $a (known: --tf --bench)" >&2; exit 2 ;;
  esac
done
pkgs=(cmake gcc make pkg-config libfuse3-dev fuse3 libprotobuf-c-dev protobuf-c-compiler
      libsnappy-dev check python3 python3-pip graphviz strace attr rsync man-db groff-base
      nfs-ganesha nfs-ganesha-vfs libnfs-utils clang libclang-rt-14-dev
      libcurl4-openssl-dev zlib1g-dev nginx-light curl e2fsprogs valgrind)
if [ "$want_bench" = 1 ]; then
  pkgs+=(squashfs-tools squashfuse fio)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# cmake/python3 may come from elsewhere (pip, pyenv): a working command is enough.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    cmake|python3|python3-pip|gcc|make) command -v "${p%-pip}" >/dev/null 2>&1 && continue ;;
  esac
  filtered+=("$p")
done
if [ ${#filtered[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${filtered[*]} (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
fi
if [ "$want_tf" = 1 ]; then
  if ! python3 -c "import tensorflow" >/dev/null 2>&1; then
    python3 -m pip install -q tensorflow-cpu==2.21.0 || echo "deps.sh: tensorflow not installed; the TF oracle tier will skip" >&2
  fi
fi
if ! python3 -c "import numpy" >/dev/null 2>&1; then
  python3 -m pip install -q numpy || true
fi
# The remote tier's S3 server, and a fast CRC-32C for its big test tensor. Without them those
# tests skip (or shrink) with a message; a failed install must not stop CI.
if ! python3 -c "import moto.server, boto3" >/dev/null 2>&1; then
  python3 -m pip install -q "moto[server]" || echo "deps.sh: moto not installed; tests/remote's S3 test will skip" >&2
fi
if ! python3 -c "import crc32c" >/dev/null 2>&1; then
  python3 -m pip install -q crc32c || echo "deps.sh: crc32c not installed; the remote throughput test uses a smaller tensor" >&2
fi
