// GEMM throughput: xgrad's kernels::gemm on square sizes and a small network's training shapes, on 1 and 2
// threads, beside OpenBLAS's cblas_sgemm in the same run when it is found; `of_peak` is the fraction of the
// FMA peak measured at start-up (per core, times the threads used).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <xgrad/kernels/gemm.hpp>
#include <xgrad/parallel.hpp>

#ifdef XGRAD_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace
{
    // FLOP/s of one core running independent vector FMAs back to back (enough chains to cover the
    // latency of every FMA pipe): the best of many short runs, so that a run the OS did not interrupt counts.
    template <class T>
    double measure_fma_peak_flops()
    {
        using batch = xsimd::batch<T>;
        constexpr std::size_t chains = 16;
        constexpr std::size_t steps = std::size_t(1) << 16;
        const batch scale(T(0.999999)), shift(T(1e-6));   // keeps every chain near 1: no overflow, no denormals
        double best = 0;
        for (int run = 0; run < 200; ++run)
        {
            batch acc[chains];
            for (std::size_t c = 0; c < chains; ++c)
                acc[c] = batch(T(1) + T(c) * T(1e-3));
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t step = 0; step < steps; ++step)
                for (std::size_t c = 0; c < chains; ++c)
                    acc[c] = xsimd::fma(acc[c], scale, shift);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            batch total(T(0));
            for (std::size_t c = 0; c < chains; ++c)
                total += acc[c];
            benchmark::DoNotOptimize(total);
            best = std::max(best, 2.0 * chains * batch::size * steps / seconds);
        }
        return best;
    }

    double fma_peak_flops_float = 0;
    double fma_peak_flops_double = 0;

    enum class library
    {
        xgrad,
        openblas
    };

    struct gemm_shape
    {
        std::string name;   // what the product is in a training step
        bool trans_a, trans_b;
        std::size_t m, n, k;
    };

    // C (m×n) = op(A) op(B), beta = 0, with operands stored densely (lda, ldb, ldc = stored widths).
    template <class T>
    void run_gemm(benchmark::State& state, library lib, const gemm_shape& shape, std::size_t threads)
    {
        // Plain copies, not a structured binding: C++17 lets no lambda capture a binding (clang enforces it).
        const bool trans_a = shape.trans_a, trans_b = shape.trans_b;
        const std::size_t m = shape.m, n = shape.n, k = shape.k;
        std::mt19937 rng(1);
        std::uniform_real_distribution<T> uniform(-1, 1);
        std::vector<T> a(m * k), b(k * n), c(m * n);
        for (T& value : a)
            value = uniform(rng);
        for (T& value : b)
            value = uniform(rng);
        const std::size_t lda = trans_a ? m : k, ldb = trans_b ? k : n;

        auto multiply = [&] {
            if (lib == library::xgrad)
                xgrad::kernels::gemm<T>(trans_a, trans_b, m, n, k, 1, a.data(), lda, b.data(), ldb, 0, c.data(), n);
#ifdef XGRAD_HAVE_OPENBLAS
            else if constexpr (std::is_same_v<T, float>)
                cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                            int(m), int(n), int(k), 1.0f, a.data(), int(lda), b.data(), int(ldb), 0.0f, c.data(),
                            int(n));
            else
                cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                            int(m), int(n), int(k), 1.0, a.data(), int(lda), b.data(), int(ldb), 0.0, c.data(),
                            int(n));
#endif
        };

        xgrad::set_num_threads(threads);
#ifdef XGRAD_HAVE_OPENBLAS
        openblas_set_num_threads(int(threads));
#endif
        multiply();   // warm up: threads started, packing buffers allocated
        for (auto _ : state)
        {
            multiply();
            benchmark::DoNotOptimize(c.data());
            benchmark::ClobberMemory();
        }
        const double flops = 2.0 * double(m) * double(n) * double(k);
        const double peak = (std::is_same_v<T, float> ? fma_peak_flops_float : fma_peak_flops_double) * threads;
        state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
        state.counters["of_peak"] = benchmark::Counter(flops / peak, benchmark::Counter::kIsIterationInvariantRate);
        state.SetLabel(shape.name);
    }

    std::vector<gemm_shape> benchmark_shapes()
    {
        std::vector<gemm_shape> shapes;
        for (std::size_t size : {64, 128, 256, 512, 1024})
            shapes.push_back({"square", false, false, size, size, size});
        // A dense layer's step with x: (batch, in), W: (in, out), y = x W: (batch, out). The three products:
        //   y  = x · W        (batch × in × out)
        //   dx = dy · Wᵀ      (batch × out × in)
        //   dW = xᵀ · dy      (in × batch × out)
        struct layer
        {
            std::size_t batch, in, out;
        };
        for (const layer l : {layer{64, 784, 256}, layer{64, 256, 128}, layer{256, 64, 64}})
        {
            const std::string dims = std::to_string(l.batch) + "x" + std::to_string(l.in) + "x" + std::to_string(l.out);
            shapes.push_back({"y=xW " + dims, false, false, l.batch, l.out, l.in});
            shapes.push_back({"dx=dyWt " + dims, false, true, l.batch, l.in, l.out});
            shapes.push_back({"dW=xtdy " + dims, true, false, l.in, l.out, l.batch});
        }
        return shapes;
    }

    void register_benchmarks()
    {
        std::vector<std::pair<std::string, library>> libraries{{"xgrad", library::xgrad}};
#ifdef XGRAD_HAVE_OPENBLAS
        libraries.push_back({"openblas", library::openblas});
#endif
        for (std::size_t threads : {1, 2})
            for (const gemm_shape& shape : benchmark_shapes())
                for (const auto& [lib_name, lib] : libraries)
                {
                    const std::string name = lib_name + "_sgemm/m:" + std::to_string(shape.m) + "/n:" +
                                             std::to_string(shape.n) + "/k:" + std::to_string(shape.k) +
                                             "/ta:" + std::to_string(shape.trans_a) +
                                             "/tb:" + std::to_string(shape.trans_b) +
                                             "/threads:" + std::to_string(threads);
                    benchmark::RegisterBenchmark(name.c_str(), [=, lib = lib](benchmark::State& state) {
                        run_gemm<float>(state, lib, shape, threads);
                    })->Unit(benchmark::kMicrosecond)->UseRealTime();
                }
        for (const auto& [lib_name, lib] : libraries)
        {
            const std::string name = lib_name + "_dgemm/m:1024/n:1024/k:1024/ta:0/tb:0/threads:1";
            benchmark::RegisterBenchmark(name.c_str(), [lib = lib](benchmark::State& state) {
                run_gemm<double>(state, lib, {"square", false, false, 1024, 1024, 1024}, 1);
            })->Unit(benchmark::kMicrosecond)->UseRealTime();
        }
    }
}

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    fma_peak_flops_float = measure_fma_peak_flops<float>();
    fma_peak_flops_double = measure_fma_peak_flops<double>();
    std::printf("measured FMA peak, one core (%s): %.1f GFLOP/s float, %.1f GFLOP/s double\n",
                xsimd::default_arch::name(), fma_peak_flops_float * 1e-9, fma_peak_flops_double * 1e-9);
    benchmark::AddCustomContext("fma_peak_gflops_per_core_float", std::to_string(fma_peak_flops_float * 1e-9));
    benchmark::AddCustomContext("fma_peak_gflops_per_core_double", std::to_string(fma_peak_flops_double * 1e-9));
#ifdef XGRAD_HAVE_OPENBLAS
    std::printf("OpenBLAS core: %s\n", openblas_get_corename());
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
    std::fflush(stdout);
    register_benchmarks();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
