#!/usr/bin/python3
"""xgrad against PyTorch at its best, side by side: the driver behind benchmarks/compare/run.sh.

For each workload and thread count it runs xgrad_compare and torch_compare.py alternately (A B A B ...),
`--rounds` times each, and prints medians of samples/s with their min-max and the ratio of the medians.

PyTorch is given what xgrad gives itself, so that the ratio measures the frameworks and not their settings:
  best      glibc keeps freed memory (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ as core/memory.hpp
            sets them for xgrad) and OpenBLAS picks its own kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
            removed from the environment, so AVX-512 where the CPU has it);
  as-set    the environment as it is (also reported, never the headline).
Both run with OPENBLAS_NUM_THREADS=1, so that torch.set_num_threads' pool is the only one (OpenBLAS's own
pool on top of it made PyTorch several times slower at 2 threads: that would be no baseline either).

Needs python3-torch and libopenblas0-pthread (scripts/install-deps.sh python3-torch libopenblas0-pthread).

    benchmarks/compare/compare.py --build BUILD [--rounds 3] [--batches K] [--workloads mlp,cnn,transformer,lstm,decoder]
                                  [--threads 1,2] [--configs best,as-set] [--json FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# What xgrad's core/memory.hpp does for its own process, given to PyTorch's through glibc's variables.
KEEP_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296"}
# Settings that hold OpenBLAS to older kernels on some machines; unset, it chooses for the CPU it runs on.
OPENBLAS_LIMITS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def torch_environment(config):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if config == "best":
        env.update(KEEP_FREED_MEMORY)
        for name in OPENBLAS_LIMITS:
            env.pop(name, None)
    return env


def run_json(command, env):
    done = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="build directory holding benchmarks/xgrad_compare")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each framework per cell (at least 3)")
    parser.add_argument("--batches", type=int, default=0, help="batches per run (0: the full workload)")
    parser.add_argument("--workloads", default="mlp,cnn,transformer,lstm,decoder")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--configs", default="best,as-set", help="PyTorch configurations: best, as-set")
    parser.add_argument("--json", help="also write every run and summary to this file")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: a median of fewer runs is not a measurement here")
    xgrad_bin = os.path.join(args.build, "benchmarks", "xgrad_compare")
    if not os.access(xgrad_bin, os.X_OK):
        sys.exit(f"compare.py: build the target first: cmake --build {args.build} --target xgrad_compare")
    configs = args.configs.split(",")
    for config in configs:
        if config not in ("best", "as-set"):
            parser.error(f"unknown configuration {config!r}")
    extra = ["--batches", str(args.batches)] if args.batches else []

    print(f"{'workload':<12} {'thr':>3} {'torch config, BLAS':<20} {'xgrad samples/s':>26} {'torch samples/s':>26} "
          f"{'ratio':>6} {'xgrad qual.':>12} {'torch qual.':>12} {'xgrad MiB':>10} {'torch MiB':>10}", flush=True)
    results = []
    for workload in args.workloads.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            common = ["--workload", workload, "--threads", str(threads)] + extra
            runs = {"xgrad": []}
            runs.update({config: [] for config in configs})
            for _ in range(args.rounds):   # A B (B') A B (B') ...: drift of the machine hits every side alike
                runs["xgrad"].append(run_json([xgrad_bin] + common, dict(os.environ)))
                for config in configs:
                    runs[config].append(run_json([sys.executable, os.path.join(HERE, "torch_compare.py")] + common,
                                                 torch_environment(config)))
            if "best" in configs and not runs["best"][0].get("blas_core"):
                sys.exit("compare.py: PyTorch is not running on OpenBLAS (Debian's reference BLAS is no baseline): "
                         "apt-get install libopenblas0-pthread")
            xgrad_rate = summary([r["samples_per_s"] for r in runs["xgrad"]])
            for config in configs:
                torch_rate = summary([r["samples_per_s"] for r in runs[config]])
                row = {"workload": workload, "threads": threads, "torch_config": config, "xgrad": xgrad_rate,
                       "torch": torch_rate, "ratio": xgrad_rate["median"] / torch_rate["median"],
                       "xgrad_quality": statistics.median(r["quality"] for r in runs["xgrad"]),
                       "torch_quality": statistics.median(r["quality"] for r in runs[config]),
                       "xgrad_peak_mib": max(r["peak_rss_mib"] for r in runs["xgrad"]),
                       "torch_peak_mib": max(r["peak_rss_mib"] for r in runs[config]),
                       "torch_blas_core": runs[config][0].get("blas_core", ""),
                       "runs": {"xgrad": runs["xgrad"], "torch": runs[config]}}
                results.append(row)

                def cell(s):
                    return f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f})"
                core = row["torch_blas_core"] or "-"   # which OpenBLAS kernels PyTorch really ran
                print(f"{workload:<12} {threads:>3} {config + ' ' + core:<20} {cell(xgrad_rate):>26} {cell(torch_rate):>26} "
                      f"{row['ratio']:>6.2f} {row['xgrad_quality']:>12.4f} {row['torch_quality']:>12.4f} "
                      f"{row['xgrad_peak_mib']:>10.0f} {row['torch_peak_mib']:>10.0f}", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
