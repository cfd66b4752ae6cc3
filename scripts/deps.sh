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
      libcurl4-openssl-dev zlib1g-dev nginx-light curl e2fsprogs valgrind
      debootstrap clang-format)
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
# The oracles the tests compare ckptfs with (tests/README.md "Skips"). Outside CI a failed
# install is reported and the tests needing that oracle skip, saying so; in CI (CI=true, set by
# .ci/run) it fails here, naming what is missing, so a run cannot pass without its oracles.
case "${CI:-}" in true|TRUE|True|1|yes) in_ci=1 ;; *) in_ci=0 ;; esac
not_installed=()
# need_py MODULE PIP-SPEC...: MODULE importable, else pip-install PIP-SPEC and import again.
need_py() {
  local mod=$1
  shift
  python3 -c "import $mod" >/dev/null 2>&1 && return 0
  if python3 -m pip install -q "$@" && python3 -c "import $mod" >/dev/null 2>&1; then
    return 0
  fi
  echo "deps.sh: python module $mod is not installed (pip install $*)" >&2
  not_installed+=("$mod")
}
if [ "$want_tf" = 1 ]; then
  need_py tensorflow tensorflow-cpu==2.21.0
  need_py tf_keras tf-keras
fi
need_py numpy numpy
need_py safetensors safetensors
# The remote tier's S3 server (boto3 comes with it).
need_py moto.server "moto[server]"
need_py boto3 boto3
# A fast CRC-32C, so that the remote tests can write their full-size tensor.
need_py crc32c crc32c
if [ ${#not_installed[@]} -gt 0 ]; then
  if [ "$in_ci" = 1 ]; then
    echo "deps.sh: FAIL: CI requires every oracle; not installed: ${not_installed[*]}" >&2
    exit 1
  fi
  echo "deps.sh: not installed: ${not_installed[*]}; the tests needing them will skip (SKIP lines)" >&2
fi
