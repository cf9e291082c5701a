#!/usr/bin/env bash
# xgrad against PyTorch on the same three training workloads, one after the other on this machine, at 1
# and 2 threads: samples/s, the ratio xgrad/PyTorch, the quality figure and peak memory.
#   benchmarks/compare/run.sh [build-dir] [--batches K]       (needs python3-torch and the build of
#                                                               target xgrad_compare in build-dir)
# PyTorch runs with OPENBLAS_NUM_THREADS=1 so that only torch.set_num_threads' pool is used.  Run it
# twice, once as the machine is set and once with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`, when
# those are set (they hold OpenBLAS, and so PyTorch, to AVX2 kernels).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
shift || true
extra=("$@")
xgrad_bin=$build/benchmarks/xgrad_compare
[[ -x $xgrad_bin ]] || { echo "run.sh: build the target first: cmake --build $build --target xgrad_compare" >&2; exit 1; }

printf '%-12s %7s %14s %14s %7s %12s %12s %10s %10s\n' workload threads "xgrad samp/s" "torch samp/s" ratio \
    "xgrad qual." "torch qual." "xgrad MiB" "torch MiB"
for workload in mlp cnn transformer; do
    for threads in 1 2; do
        x=$("$xgrad_bin" --workload "$workload" --threads "$threads" "${extra[@]}")
        t=$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_compare.py" --workload "$workload" \
            --threads "$threads" "${extra[@]}")
        /usr/bin/python3 - "$x" "$t" <<'PY'
import json, sys
x, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{x['workload']:<12} {x['threads']:>7} {x['samples_per_s']:>14.1f} {t['samples_per_s']:>14.1f} "
      f"{x['samples_per_s'] / t['samples_per_s']:>7.2f} {x['quality']:>12.4f} {t['quality']:>12.4f} "
      f"{x['peak_rss_mib']:>10.0f} {t['peak_rss_mib']:>10.0f}")
PY
    done
done
