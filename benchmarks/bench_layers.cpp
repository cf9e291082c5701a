// Layers through the whole autograd path, forward + backward, on the shapes of the example models:
// MultiheadAttention (batch 32, sequence 32, d_model 64, 4 heads, causal), a TransformerEncoderLayer, and a
// Linear layer of the Fashion-MNIST MLP, an LSTM (batch 32, sequence 32, 64 -> 128) and one LSTMCell step.
// Time per call; items/s counts sequences (or rows).
// Run: build/benchmarks/bench_layers [--benchmark_filter=...]; XGRAD_NUM_THREADS sets the threads.
#include <benchmark/benchmark.h>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace
{
    // Forward and backward of `layer` on x, with a fixed output gradient.
    template <class Forward>
    void forward_backward(benchmark::State& state, const Tensor<float>& x, Forward&& forward, std::size_t items)
    {
        Generator rng(2);
        const Tensor<float> dy = randn<float>(forward(x).shape(), rng);
        for (auto _ : state)
        {
            x.zero_grad();
            const Tensor<float> y = forward(x);
            y.backward(dy);
            benchmark::DoNotOptimize(x.grad().data());
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
    }

    void multihead_attention(benchmark::State& state)
    {
        manual_seed(1);
        Generator rng(1);
        nn::MultiheadAttention<float> attention(64, 4);
        const Tensor<float> x = randn<float>({32, 32, 64}, rng, true);   // (batch, sequence, d_model)
        forward_backward(state, x, [&](const Tensor<float>& in) {
            return attention.forward(in, in, in, std::nullopt, std::nullopt, /*is_causal=*/true);
        }, 32);
    }

    void transformer_encoder_layer(benchmark::State& state)
    {
        manual_seed(1);
        Generator rng(1);
        nn::TransformerEncoderLayer<float> layer(64, 4, 256, /*dropout=*/0.0, "gelu", /*norm_first=*/true);
        const Tensor<float> x = randn<float>({32, 32, 64}, rng, true);
        forward_backward(state, x, [&](const Tensor<float>& in) { return layer.forward(in, std::nullopt, std::nullopt, true); }, 32);
    }

    void linear_784_256(benchmark::State& state)
    {
        manual_seed(1);
        Generator rng(1);
        nn::Linear<float> linear(784, 256);
        const Tensor<float> x = randn<float>({64, 784}, rng, true);
        forward_backward(state, x, [&](const Tensor<float>& in) { return relu(linear(in)); }, 64);
    }

    void lstm_64_128(benchmark::State& state)
    {
        manual_seed(1);
        Generator rng(1);
        nn::LSTM<float> lstm(64, 128);
        const Tensor<float> x = randn<float>({32, 32, 64}, rng, true);   // (sequence, batch, features)
        forward_backward(state, x, [&](const Tensor<float>& in) { return lstm(in); }, 32);
    }

    void lstm_cell_step(benchmark::State& state)
    {
        manual_seed(1);
        Generator rng(1);
        nn::LSTMCell<float> cell(64, 128);
        const Tensor<float> x = randn<float>({32, 64}, rng, true);
        const nn::LSTMState<float> start{randn<float>({32, 128}, rng), randn<float>({32, 128}, rng)};
        forward_backward(state, x, [&](const Tensor<float>& in) { return cell.forward(in, start).h; }, 32);
    }
}

BENCHMARK(multihead_attention)->Unit(benchmark::kMicrosecond);
BENCHMARK(transformer_encoder_layer)->Unit(benchmark::kMicrosecond);
BENCHMARK(linear_784_256)->Unit(benchmark::kMicrosecond);
BENCHMARK(lstm_64_128)->Unit(benchmark::kMicrosecond);
BENCHMARK(lstm_cell_step)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
