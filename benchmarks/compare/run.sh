#!/usr/bin/env bash
# xgrad against PyTorch at its best on the same three training workloads, at 1 and 2 threads: the two
# frameworks alternate, three runs each (--rounds), and the table gives medians of samples/s with min-max,
# the ratio of the medians, the quality figure and peak memory.  PyTorch runs twice per round: in its best
# configuration (glibc keeps freed memory as xgrad's does, OpenBLAS chooses its own kernels) and as the
# machine's environment sets it; compare.py says exactly what each means.
#   benchmarks/compare/run.sh [build-dir] [compare.py options: --rounds R --batches K --json FILE ...]
# Needs python3-torch and the target xgrad_compare built in build-dir.  Run it on an otherwise idle machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
shift || true
exec /usr/bin/python3 "$here/compare.py" --build "$build" "$@"
