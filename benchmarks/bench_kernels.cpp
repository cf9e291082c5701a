// Throughput of the elementwise maps, reductions, row softmaxes, the fused Adam step, permuted copies and
// pooling, in bytes moved per second of wall time beside a plain memcpy of the same bytes (the bandwidth a map
// can hope for), and the overhead of a small op through the autograd layer. Names end in /n/threads; float
// throughout.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>

#include <xgrad/kernels/map.hpp>
#include <xgrad/kernels/optim.hpp>
#include <xgrad/kernels/permute.hpp>
#include <xgrad/kernels/reduce.hpp>
#include <xgrad/kernels/softmax.hpp>
#include <xgrad/parallel.hpp>
#include <xgrad/xgrad.hpp>

namespace
{
    // Buffers aligned as xt::xarray's are (cache lines), so that kernels see the alignment the ops give them.
    using buffer = std::vector<float, xsimd::aligned_allocator<float, 64>>;

    buffer random_values(std::size_t count, float low, float high, unsigned seed)
    {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> uniform(low, high);
        buffer values(count);
        for (float& value : values)
            value = uniform(rng);
        return values;
    }

    xt::xarray<float> random_array(std::size_t count, float low, float high, unsigned seed)
    {
        const buffer values = random_values(count, low, high, seed);
        xt::xarray<float> array = xt::xarray<float>::from_shape({count});
        std::copy(values.begin(), values.end(), array.begin());
        return array;
    }

    // Sets the thread count from the benchmark's second argument.
    void use_threads(benchmark::State& state)
    {
        xgrad::set_num_threads(static_cast<std::size_t>(state.range(1)));
    }

    // Bytes read plus bytes written per iteration: `arrays` arrays of n floats.
    void count_bytes(benchmark::State& state, std::size_t n, std::size_t arrays)
    {
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * arrays * sizeof(float)));
    }

    // The bandwidth a map can reach: n floats read and n written by memcpy (one thread).
    void BM_memcpy(benchmark::State& state)
    {
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer x = random_values(n, -1, 1, 1);
        buffer y(n);
        for (auto _ : state)
        {
            std::memcpy(y.data(), x.data(), n * sizeof(float));
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 2);
    }

    template <void (*Kernel)(std::size_t, const float*, float*)>
    void run_unary(benchmark::State& state, float low, float high)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer x = random_values(n, low, high, 1);
        buffer y(n);
        for (auto _ : state)
        {
            Kernel(n, x.data(), y.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 2);
    }

    void BM_add(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer a = random_values(n, -1, 1, 1), b = random_values(n, -1, 1, 2);
        buffer out(n);
        for (auto _ : state)
        {
            xgrad::kernels::add(n, a.data(), b.data(), out.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 3);
    }

    void BM_mul_scalar(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer a = random_values(n, -1, 1, 1);
        buffer out(n);
        for (auto _ : state)
        {
            xgrad::kernels::mul_scalar(n, a.data(), 0.5f, out.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 2);
    }

    void BM_axpy(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer x = random_values(n, -1, 1, 1);
        buffer y = random_values(n, -1, 1, 2);
        for (auto _ : state)
        {
            xgrad::kernels::axpy(n, 1e-7f, x.data(), y.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 3);
    }

    void BM_relu_backward(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer x = random_values(n, -1, 1, 1), dy = random_values(n, -1, 1, 2);
        buffer dx(n);
        for (auto _ : state)
        {
            xgrad::kernels::relu_backward(n, x.data(), dy.data(), dx.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 3);
    }

    void BM_sum(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const buffer x = random_values(n, -1, 1, 1);
        for (auto _ : state)
            benchmark::DoNotOptimize(xgrad::kernels::sum(n, x.data()));
        count_bytes(state, n, 1);
    }

    // Rows of 1000 (a classifier's logits, a hidden layer's width).
    template <void (*Kernel)(std::size_t, std::size_t, const float*, float*)>
    void BM_rows(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0)), cols = 1000, rows = n / cols;
        const buffer x = random_values(rows * cols, -1, 1, 1);
        buffer out(rows);
        for (auto _ : state)
        {
            Kernel(rows, cols, x.data(), out.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, rows * cols, 1);
    }

    // The xtensor expressions the ops used before the kernels, for comparison.
    void BM_xtensor_add(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const xt::xarray<float> a = random_array(n, -1, 1, 1);
        const xt::xarray<float> b = random_array(n, -1, 1, 2);
        for (auto _ : state)
        {
            xt::xarray<float> out = a + b;
            benchmark::DoNotOptimize(out.data());
        }
        count_bytes(state, n, 3);
    }

    void BM_xtensor_exp(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        const xt::xarray<float> x = random_array(n, -4, 4, 1);
        for (auto _ : state)
        {
            xt::xarray<float> out = xt::exp(x);
            benchmark::DoNotOptimize(out.data());
        }
        count_bytes(state, n, 2);
    }

    // Broadcasting over rows × cols, as a transformer's ops meet it: a bias (cols) added to every row, a
    // per-row value (rows, 1) subtracted from its row, and a bias gradient summed back over the rows (sum_to).
    // Each beside the xtensor expression it replaces.
    xt::xarray<float> random_matrix(std::size_t rows, std::size_t cols, unsigned seed)
    {
        xt::xarray<float> matrix = random_array(rows * cols, -1, 1, seed);
        matrix.reshape({rows, cols});
        return matrix;
    }

    struct broadcast_operands
    {
        std::size_t rows, cols;
        xt::xarray<float> x, bias, per_row;   // (rows, cols), (cols), (rows, 1)
        xgrad::Tensor<float> x_tensor;        // x, not requiring grad: its ops record nothing
    };

    // Times op(operands) on rows × cols (range 0 and 1) and a thread count (range 2); `arrays` as count_bytes.
    template <class Op>
    void run_broadcast(benchmark::State& state, std::size_t arrays, Op op)
    {
        xgrad::set_num_threads(static_cast<std::size_t>(state.range(2)));
        const auto rows = static_cast<std::size_t>(state.range(0)), cols = static_cast<std::size_t>(state.range(1));
        const xt::xarray<float> x = random_matrix(rows, cols, 1);
        const broadcast_operands in{rows, cols, x, random_array(cols, -1, 1, 2), random_matrix(rows, 1, 3),
                                    xgrad::Tensor<float>(x)};
        for (auto _ : state)
        {
            auto out = op(in);
            benchmark::DoNotOptimize(out);
        }
        count_bytes(state, rows * cols, arrays);
    }

    void BM_bias_add(benchmark::State& state)
    {
        run_broadcast(state, 2, [](const broadcast_operands& in) { return xgrad::kernels::add(in.x, in.bias); });
    }
    void BM_xtensor_bias_add(benchmark::State& state)
    {
        run_broadcast(state, 2, [](const broadcast_operands& in) -> xt::xarray<float> { return in.x + in.bias; });
    }
    void BM_row_sub(benchmark::State& state)
    {
        run_broadcast(state, 2, [](const broadcast_operands& in) { return xgrad::kernels::sub(in.x, in.per_row); });
    }
    void BM_xtensor_row_sub(benchmark::State& state)
    {
        run_broadcast(state, 2, [](const broadcast_operands& in) -> xt::xarray<float> { return in.x - in.per_row; });
    }
    void BM_sum_to_columns(benchmark::State& state)
    {
        run_broadcast(state, 1, [](const broadcast_operands& in) { return xgrad::sum_to(in.x_tensor, {in.cols}); });
    }
    void BM_xtensor_sum_to_columns(benchmark::State& state)
    {
        run_broadcast(state, 1, [](const broadcast_operands& in) -> xt::xarray<float> {
            return xt::sum(in.x, {0}, xt::evaluation_strategy::immediate);
        });
    }

    void broadcast_shapes(benchmark::internal::Benchmark* b)
    {
        b->Args({1024, 256, 1})->Args({1024, 256, 2})->ArgNames({"rows", "cols", "threads"});
    }

    // Softmax over rows × cols (range 0 and 1), one thread.
    template <void (*Kernel)(std::size_t, std::size_t, const float*, float*)>
    void BM_softmax(benchmark::State& state)
    {
        xgrad::set_num_threads(1);
        const std::size_t rows = static_cast<std::size_t>(state.range(0)), cols = static_cast<std::size_t>(state.range(1));
        const buffer x = random_values(rows * cols, -5, 5, 1);
        buffer y(rows * cols);
        for (auto _ : state)
        {
            Kernel(rows, cols, x.data(), y.data());
            benchmark::ClobberMemory();
        }
        state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows * cols));
        count_bytes(state, rows * cols, 2);
    }

    // One fused Adam step of n parameters: p, m, v read and written, g read (7 arrays of traffic).
    void BM_adam_step(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        buffer p = random_values(n, -1, 1, 1), m(n), v(n);
        const buffer g = random_values(n, -1, 1, 2);
        xgrad::kernels::adam_hyperparameters h;
        h.weight_decay = 1e-2;
        h.decoupled_weight_decay = true;
        for (auto _ : state)
        {
            xgrad::kernels::adam_update(n, p.data(), g.data(), m.data(), v.data(), static_cast<float*>(nullptr), h);
            h.step += 1;
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 7);
    }

    // The same step as xtensor expressions, as optim/adam.hpp computed it before the kernel.
    void BM_xtensor_adam_step(benchmark::State& state)
    {
        use_threads(state);
        const std::size_t n = static_cast<std::size_t>(state.range(0));
        xt::xarray<float> p = random_array(n, -1, 1, 1);
        const xt::xarray<float> g = random_array(n, -1, 1, 2);
        xt::xarray<float> m = xt::zeros<float>({n}), v = xt::zeros<float>({n});
        const double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
        double t = 0;
        for (auto _ : state)
        {
            t += 1;
            p *= float(1.0 - lr * weight_decay);
            m = float(beta1) * m + float(1.0 - beta1) * g;
            v = float(beta2) * v + float(1.0 - beta2) * g * g;
            const float step_size = float(lr / (1.0 - std::pow(beta1, t)));
            const float sqrt_bias_correction2 = float(std::sqrt(1.0 - std::pow(beta2, t)));
            p -= step_size * m / (xt::sqrt(v) / sqrt_bias_correction2 + float(eps));
            benchmark::ClobberMemory();
        }
        count_bytes(state, n, 7);
    }

    // The copy permute makes of an array of `shape` with its dims in `order` (range 0: threads).
    void BM_permute_copy(benchmark::State& state, std::vector<std::size_t> shape, std::vector<std::size_t> order)
    {
        xgrad::set_num_threads(static_cast<std::size_t>(state.range(0)));
        const xt::xarray<float> x = random_array(xgrad::detail::product(shape, 0, shape.size()), -1, 1, 1);
        xt::xarray<float> out = xt::xarray<float>::from_shape({x.size()});
        for (auto _ : state)
        {
            xgrad::kernels::permute_copy(shape, order, x.data(), out.data());
            benchmark::ClobberMemory();
        }
        count_bytes(state, x.size(), 2);
    }

    // The same copy as the assignment of an xt::transpose view, which permute made before the kernel.
    void BM_xtensor_permute_copy(benchmark::State& state, std::vector<std::size_t> shape,
                                 std::vector<std::size_t> order)
    {
        xgrad::set_num_threads(static_cast<std::size_t>(state.range(0)));
        xt::xarray<float> x = random_array(xgrad::detail::product(shape, 0, shape.size()), -1, 1, 1);
        x.reshape(shape);
        xt::xarray<float> out = xt::transpose(x, order);
        for (auto _ : state)
        {
            xt::noalias(out) = xt::transpose(x, order);
            benchmark::ClobberMemory();
        }
        count_bytes(state, x.size(), 2);
    }

    // A 64-element add through the autograd layer (the result records its parents and backward): what a
    // small op costs beyond its arithmetic.
    void BM_autograd_add_64(benchmark::State& state)
    {
        xgrad::set_num_threads(1);
        const xgrad::Tensor<float> a(random_array(64, -1, 1, 1), true);
        const xgrad::Tensor<float> b(random_array(64, -1, 1, 2), true);
        for (auto _ : state)
        {
            xgrad::Tensor<float> c = a + b;
            benchmark::DoNotOptimize(c);
        }
    }

    // The same add without recording (NoGradGuard): the tensor and its value are still allocated.
    void BM_no_grad_add_64(benchmark::State& state)
    {
        xgrad::set_num_threads(1);
        const xgrad::Tensor<float> a(random_array(64, -1, 1, 1), true);
        const xgrad::Tensor<float> b(random_array(64, -1, 1, 2), true);
        xgrad::NoGradGuard no_grad;
        for (auto _ : state)
        {
            xgrad::Tensor<float> c = a + b;
            benchmark::DoNotOptimize(c);
        }
    }

    // Pooling through the ops, on the demo CNN's planes. Arguments: batch, channels, height (= width), kernel,
    // threads; stride 2 and padding (kernel - 1) / 2, so kernel 2 is the CNN's pool and 3 a ResNet stem's.
    // Bytes: the input and the output in floats (the arg-max index, whose type is the kernel's, not counted).
    struct pool_arguments
    {
        std::size_t batch, channels, side, kernel, padding;
        xgrad::Shape input() const { return {batch, channels, side, side}; }
        std::size_t in_size() const { return batch * channels * side * side; }
        std::size_t out_size() const
        {
            const std::size_t out_side = (side + 2 * padding - kernel) / 2 + 1;
            return batch * channels * out_side * out_side;
        }
    };

    pool_arguments pool_setup(benchmark::State& state)
    {
        xgrad::set_num_threads(static_cast<std::size_t>(state.range(4)));
        const auto kernel = static_cast<std::size_t>(state.range(3));
        return {static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)),
                static_cast<std::size_t>(state.range(2)), kernel, (kernel - 1) / 2};
    }

    template <xgrad::Tensor<float> (*Pool)(const xgrad::Tensor<float>&, std::size_t, std::size_t, std::size_t)>
    void BM_pool_forward(benchmark::State& state)
    {
        const pool_arguments pool = pool_setup(state);
        xgrad::Generator rng(1);
        const auto x = xgrad::randn<float>(pool.input(), rng);
        for (auto _ : state)
        {
            auto y = Pool(x, pool.kernel, 2, pool.padding);
            benchmark::DoNotOptimize(y.value().data());
        }
        count_bytes(state, pool.in_size() + pool.out_size(), 1);
    }

    // The backward alone: dL/dx from dL/dy through a retained graph (dx is allocated and zeroed each time).
    template <xgrad::Tensor<float> (*Pool)(const xgrad::Tensor<float>&, std::size_t, std::size_t, std::size_t)>
    void BM_pool_backward(benchmark::State& state)
    {
        const pool_arguments pool = pool_setup(state);
        xgrad::Generator rng(1);
        const auto x = xgrad::randn<float>(pool.input(), rng, true);
        const auto y = Pool(x, pool.kernel, 2, pool.padding);
        const auto dy = xgrad::randn<float>(y.shape(), rng);
        for (auto _ : state)
        {
            auto dx = xgrad::grad<float>({y}, {x}, false, true, {dy});
            benchmark::DoNotOptimize(dx[0].value().data());
        }
        count_bytes(state, pool.in_size() + pool.out_size(), 1);
    }

    xgrad::Tensor<float> max_pool(const xgrad::Tensor<float>& x, std::size_t kernel, std::size_t stride,
                                  std::size_t padding)
    {
        return xgrad::max_pool2d(x, kernel, stride, padding);
    }

    xgrad::Tensor<float> avg_pool(const xgrad::Tensor<float>& x, std::size_t kernel, std::size_t stride,
                                  std::size_t padding)
    {
        return xgrad::avg_pool2d(x, kernel, stride, padding);
    }

    void pool_shapes(benchmark::internal::Benchmark* b)
    {
        for (int64_t threads : {1, 2})
        {
            b->Args({64, 32, 28, 2, threads});
            b->Args({64, 64, 14, 2, threads});
            b->Args({64, 32, 28, 3, threads});
        }
        b->ArgNames({"n", "c", "hw", "k", "threads"});
    }

    void BM_relu(benchmark::State& state) { run_unary<xgrad::kernels::relu<float>>(state, -1.f, 1.f); }
    void BM_exp(benchmark::State& state) { run_unary<xgrad::kernels::exp<float>>(state, -4.f, 4.f); }
    void BM_log(benchmark::State& state) { run_unary<xgrad::kernels::log<float>>(state, 0.01f, 10.f); }
    void BM_sigmoid(benchmark::State& state) { run_unary<xgrad::kernels::sigmoid<float>>(state, -8.f, 8.f); }
    void BM_tanh(benchmark::State& state) { run_unary<xgrad::kernels::tanh<float>>(state, -4.f, 4.f); }
    void BM_gelu(benchmark::State& state) { run_unary<xgrad::kernels::gelu<float>>(state, -4.f, 4.f); }

    void map_sizes(benchmark::internal::Benchmark* b)
    {
        for (int64_t n : {1 << 10, 1 << 16, 1 << 22})
            b->Args({n, 1});
        b->Args({1 << 22, 2});
        b->ArgNames({"n", "threads"});
    }
}

BENCHMARK(BM_memcpy)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 22)->Arg(64 * 32 * 28 * 28)->Arg(64 * 64 * 14 * 14)
    ->ArgName("n")->UseRealTime();
BENCHMARK(BM_add)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_xtensor_add)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_mul_scalar)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_axpy)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_relu)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_relu_backward)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_sum)->Apply(map_sizes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_rows, xgrad::kernels::sum_rows<float>)->Name("BM_sum_rows")->Apply(map_sizes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_rows, xgrad::kernels::max_rows<float>)->Name("BM_max_rows")->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_exp)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_xtensor_exp)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_log)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_sigmoid)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_tanh)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_gelu)->Apply(map_sizes)->UseRealTime();
BENCHMARK(BM_bias_add)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK(BM_xtensor_bias_add)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK(BM_row_sub)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK(BM_xtensor_row_sub)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK(BM_sum_to_columns)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK(BM_xtensor_sum_to_columns)->Apply(broadcast_shapes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_softmax, xgrad::kernels::softmax_rows<float>)->Name("BM_softmax_rows")
    ->Args({64, 10})->Args({256, 1000})->ArgNames({"rows", "cols"})->UseRealTime();
BENCHMARK_TEMPLATE(BM_softmax, xgrad::kernels::log_softmax_rows<float>)->Name("BM_log_softmax_rows")
    ->Args({64, 10})->Args({256, 1000})->ArgNames({"rows", "cols"})->UseRealTime();
BENCHMARK(BM_adam_step)->Args({1 << 20, 1})->Args({1 << 20, 2})->ArgNames({"n", "threads"})->UseRealTime();
BENCHMARK(BM_xtensor_adam_step)->Args({1 << 20, 1})->ArgNames({"n", "threads"})->UseRealTime();
// Attention's split into heads, (B, T, H, Dh) -> (B, H, T, Dh), and a matrix transpose.
using shape_list = std::vector<std::size_t>;
BENCHMARK_CAPTURE(BM_permute_copy, heads_32x32x4x16, shape_list{32, 32, 4, 16}, shape_list{0, 2, 1, 3})
    ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();
BENCHMARK_CAPTURE(BM_xtensor_permute_copy, heads_32x32x4x16, shape_list{32, 32, 4, 16}, shape_list{0, 2, 1, 3})
    ->Arg(1)->ArgName("threads")->UseRealTime();
BENCHMARK_CAPTURE(BM_permute_copy, transpose_256x1024, shape_list{256, 1024}, shape_list{1, 0})
    ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();
BENCHMARK_CAPTURE(BM_xtensor_permute_copy, transpose_256x1024, shape_list{256, 1024}, shape_list{1, 0})
    ->Arg(1)->ArgName("threads")->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_forward, max_pool)->Name("BM_max_pool2d")->Apply(pool_shapes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_backward, max_pool)->Name("BM_max_pool2d_backward")->Apply(pool_shapes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_forward, avg_pool)->Name("BM_avg_pool2d")->Apply(pool_shapes)->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_backward, avg_pool)->Name("BM_avg_pool2d_backward")->Apply(pool_shapes)->UseRealTime();
BENCHMARK(BM_autograd_add_64)->UseRealTime();
BENCHMARK(BM_no_grad_add_64)->UseRealTime();

BENCHMARK_MAIN();
