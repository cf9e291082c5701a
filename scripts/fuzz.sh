#!/usr/bin/env bash
# A long run of one fuzz target (tests/fuzz/fuzz_TARGET.cpp) under libFuzzer, ASan and UBSan:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
# TARGET: safetensors, checkpoint, idx, idx_gzip, csv, bpe_vocabulary, model_store or predict_request.  Builds the target with clang in
# build-fuzz/ (needs clang and libclang-rt-14-dev, which it installs when missing), starts from the committed
# corpus and the regression inputs, and keeps what it discovers in build-fuzz/corpus/TARGET (the committed
# corpus is not touched).  A finding is written as build-fuzz/crash-* (or leak-*, oom-*, timeout-*) and the script fails;
# make it a regression input with `cp build-fuzz/crash-<hash> tests/fuzz/regressions/TARGET/<what it is>`.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 2)); then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
[[ -f tests/fuzz/fuzz_$target.cpp ]] || { echo "fuzz.sh: no target tests/fuzz/fuzz_$target.cpp" >&2; exit 2; }

scripts/install-deps.sh clang libclang-rt-14-dev
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_BUILD_FUZZERS=ON \
    -DXGRAD_BUILD_EXAMPLES=OFF -DXGRAD_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz --target "fuzz_$target" -j "${XGRAD_JOBS:-2}"

corpus=build-fuzz/corpus/$target
mkdir -p "$corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# -rss_limit_mb: a parser that allocates what the input cannot justify is an out-of-memory finding.
cd build-fuzz
exec "./tests/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    "$@" "corpus/$target" "../tests/fuzz/corpus/$target" "../tests/fuzz/regressions/$target"
