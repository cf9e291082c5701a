#!/usr/bin/env bash
# Installs what is missing, configures, builds everything and runs the test suite:
#   scripts/build-and-test.sh [build-dir] [extra cmake arguments...]
# The README's test command and CI (.ci/run) both run this script.  XGRAD_JOBS sets the parallelism
# (default 2); XGRAD_CTEST_ARGS adds arguments to ctest (e.g. "-LE consumer" or "-R gemm").
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true
jobs=${XGRAD_JOBS:-2}

scripts/install-deps.sh
cmake -S . -B "$build_dir" "$@"
cmake --build "$build_dir" -j "$jobs"
# shellcheck disable=SC2086  # XGRAD_CTEST_ARGS is a list of words
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" ${XGRAD_CTEST_ARGS:-}
