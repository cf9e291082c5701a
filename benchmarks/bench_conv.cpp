// conv2d forward and forward + backward on the shapes of a small MNIST CNN, and max_pool2d 2×2, in float.
// Counters: GFLOP/s of the convolution (2 flops per multiply-add; backward is twice the forward's work).
// Run: build/benchmarks/bench_conv [--benchmark_filter=...]; XGRAD_NUM_THREADS sets the threads.
#include <benchmark/benchmark.h>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace
{
    // Arguments: batch, in_channels, height (= width), out_channels; kernel 3×3, padding 1, stride 1.
    double conv_flops(const benchmark::State& state)
    {
        const double n = double(state.range(0)), c_in = double(state.range(1)), hw = double(state.range(2));
        const double c_out = double(state.range(3));
        return 2.0 * n * c_out * hw * hw * c_in * 9.0;
    }

    void conv2d_forward(benchmark::State& state)
    {
        Generator rng(1);
        const auto n = std::size_t(state.range(0)), c_in = std::size_t(state.range(1));
        const auto hw = std::size_t(state.range(2)), c_out = std::size_t(state.range(3));
        const auto x = randn<float>({n, c_in, hw, hw}, rng);
        const auto w = randn<float>({c_out, c_in, 3, 3}, rng);
        const auto b = randn<float>({c_out}, rng);
        for (auto _ : state)
        {
            auto y = conv2d(x, w, b, 1, 1);
            benchmark::DoNotOptimize(y.value().data());
        }
        state.counters["GFLOP/s"] =
            benchmark::Counter(conv_flops(state) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    }

    void conv2d_forward_backward(benchmark::State& state)
    {
        Generator rng(1);
        const auto n = std::size_t(state.range(0)), c_in = std::size_t(state.range(1));
        const auto hw = std::size_t(state.range(2)), c_out = std::size_t(state.range(3));
        // The 5th argument says whether the input needs a gradient: not for a network's first layer (the
        // images), yes for every later one.
        const auto x = randn<float>({n, c_in, hw, hw}, rng, state.range(4) != 0);
        const auto w = randn<float>({c_out, c_in, 3, 3}, rng, true);
        const auto b = randn<float>({c_out}, rng, true);
        const auto dy = randn<float>({n, c_out, hw, hw}, rng);
        for (auto _ : state)
        {
            if (x.requires_grad())
                x.zero_grad();
            w.zero_grad();
            b.zero_grad();
            conv2d(x, w, b, 1, 1).backward(dy);
            benchmark::DoNotOptimize(w.grad().data());
        }
        state.counters["GFLOP/s"] = benchmark::Counter((x.requires_grad() ? 3 : 2) * conv_flops(state) * 1e-9,
                                                       benchmark::Counter::kIsIterationInvariantRate);
    }

    // Arguments: batch, channels, height (= width).
    void max_pool2d_forward(benchmark::State& state)
    {
        Generator rng(1);
        const auto x = randn<float>({std::size_t(state.range(0)), std::size_t(state.range(1)),
                                     std::size_t(state.range(2)), std::size_t(state.range(2))},
                                    rng);
        for (auto _ : state)
        {
            auto y = max_pool2d(x, 2);
            benchmark::DoNotOptimize(y.value().data());
        }
        state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(x.numel() * sizeof(float)));
    }

    void max_pool2d_forward_backward(benchmark::State& state)
    {
        Generator rng(1);
        const auto n = std::size_t(state.range(0)), c = std::size_t(state.range(1)), hw = std::size_t(state.range(2));
        const auto x = randn<float>({n, c, hw, hw}, rng, true);
        const auto dy = randn<float>({n, c, hw / 2, hw / 2}, rng);
        for (auto _ : state)
        {
            x.zero_grad();
            max_pool2d(x, 2).backward(dy);
            benchmark::DoNotOptimize(x.grad().data());
        }
        state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(x.numel() * sizeof(float)));
    }
}

BENCHMARK(conv2d_forward)->Args({64, 1, 28, 32})->Args({64, 32, 14, 64})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(conv2d_forward_backward)
    ->Args({64, 1, 28, 32, 0})
    ->Args({64, 32, 14, 64, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(max_pool2d_forward)->Args({64, 32, 28})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(max_pool2d_forward_backward)->Args({64, 32, 28})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
