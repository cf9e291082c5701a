#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing xgrad needs, only those that are missing.
# Idempotent: when everything is there it changes nothing and needs no network.  Uses sudo only when not
# root.  Extra package names given as arguments are installed too.
set -euo pipefail

packages=(
    build-essential cmake pkg-config           # compiler, build system; pkg-config for xgrad.pc users
    xtensor-dev xtl-dev libxsimd-dev           # the library's own dependencies
    doctest-dev                                # tests
    libbenchmark-dev                           # benchmarks
    nlohmann-json3-dev zlib1g-dev libcli11-dev # safetensors io, gzip IDX data, example command lines
    dataset-fashion-mnist wamerican            # the examples' data: Fashion-MNIST, /usr/share/dict/words
    libxtensor-blas-dev liblapack-dev libblas-dev  # xgrad::linalg: PCA's eigensolver (LAPACK through xtensor-blas)
    libopenmpi-dev openmpi-bin                 # data-parallel training (xgrad::distributed): Open MPI, mpirun
    libcpp-httplib-dev                         # the inference server example (13) and its test (optional)
    libonnx-dev libprotobuf-dev                # ONNX export (xgrad::onnx): the ONNX project's protobuf messages
    python3-onnx nodejs                        # its checks: onnx.checker, and node for ONNX Runtime (below)
    chromium                                   # the HTML pages' checks in a headless browser (tests/browser)
    "$@"
)
command -v npm >/dev/null || packages+=(npm)   # a nodejs from elsewhere may bring its own npm

# The npm packages of the tests, each into tests/<dir>/node_modules (the versions package-lock.json pins):
# ONNX Runtime for the ONNX export's check (its CPU binaries ship in the package; its install script only
# fetches GPU parts) and puppeteer-core, which drives Debian's chromium for the browser checks (it downloads no
# browser). --ignore-scripts: neither needs its install script.
install_node_package() {
    local dir="$1" package="$2"
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/$dir"
    [[ -f "$dir/node_modules/$package/package.json" ]] && return 0
    echo "install-deps: installing $package into tests/$1/node_modules"
    npm ci --ignore-scripts --no-audit --no-fund --prefix "$dir"
}
install_node_packages() {
    install_node_package onnx onnxruntime-node
    install_node_package browser puppeteer-core
}

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    install_node_packages
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "install-deps: missing ${missing[*]}; run this as root or install sudo" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
install_node_packages
