// The SIMD maps, reductions, row softmaxes and fused optimizer updates held against their scalar references:
// sizes 0..257 around the vector widths, plus sizes large enough to split across threads, float and double,
// on 1 and 2 threads; and the array-level entry points the ops call, against xtensor.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include <xgrad/kernels/map.hpp>
#include <xgrad/kernels/optim.hpp>
#include <xgrad/kernels/reduce.hpp>
#include <xgrad/kernels/softmax.hpp>
#include <xgrad/parallel.hpp>

#include "test_support.hpp"

namespace kernels = xgrad::kernels;

namespace
{
    // Around every vector width (4..16 lanes), then sizes that split across 2 threads (grain 32K).
    const std::vector<std::size_t> sizes{0,  1,  2,   3,   7,   15,  16,    17,    31,
                                         33, 64, 65,  127, 255, 256, 257,   70001, 131075};
    const std::vector<std::size_t> row_counts{0, 1, 3, 17};
    const std::vector<std::size_t> col_counts{0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 255, 256, 257};

    using xgrad_test::random_values;
    using xgrad_test::thread_count;

    // Checks got[i] against want[i] to within ulps · eps · max(1, |want[i]|) (ulps · eps · |want[i]| when
    // relative), or exactly when ulps == 0 (NaN equal to NaN); reports the first few mismatches.
    template <class T>
    void check_close(const std::vector<T>& got, const std::vector<T>& want, double ulps, const std::string& what,
                     bool relative = false)
    {
        INFO(what);
        REQUIRE(got.size() == want.size());
        const T eps = std::numeric_limits<T>::epsilon();
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
        {
            const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
            const T scale = relative ? std::abs(want[i]) : std::max(T(1), std::abs(want[i]));
            const T tolerance = T(ulps) * eps * scale + std::numeric_limits<T>::min();
            const bool close = ulps == 0 ? got[i] == want[i] : std::abs(got[i] - want[i]) <= tolerance;
            if (!both_nan && !close && mismatches++ < 3)
                FAIL_CHECK("[" << i << "] = " << got[i] << ", expected " << want[i]);
        }
        CHECK(mismatches == 0);
    }

    std::string label(const char* kernel, std::size_t n, std::size_t threads)
    {
        return std::string(kernel) + " n=" + std::to_string(n) + " threads=" + std::to_string(threads);
    }

    template <class T>
    using unary_kernel = void (*)(std::size_t, const T*, T*);

    template <class T>
    struct unary_case
    {
        const char* name;
        unary_kernel<T> kernel, reference;
        T low, high;   // inputs drawn from [low, high)
        double ulps;   // 0: exact
    };

    template <class T>
    void check_unary_maps(std::size_t threads)
    {
        const std::vector<unary_case<T>> cases{
            {"relu", kernels::relu<T>, kernels::relu_reference<T>, -2, 2, 0},
            {"sigmoid", kernels::sigmoid<T>, kernels::sigmoid_reference<T>, -30, 30, 4},
            {"tanh", kernels::tanh<T>, kernels::tanh_reference<T>, -6, 6, 4},
            {"exp", kernels::exp<T>, kernels::exp_reference<T>, -20, 20, 4},
            {"log", kernels::log<T>, kernels::log_reference<T>, T(1e-3), 1000, 4},
            // xsimd 8.1's double erf is ~50 ulp (absolute) off around |x| = 3, where 1 + erf(x/√2) is small.
            {"gelu", kernels::gelu<T>, kernels::gelu_reference<T>, -8, 8, 64},
        };
        thread_count scoped(threads);
        std::mt19937 rng(7);
        for (const auto& c : cases)
            for (std::size_t n : sizes)
            {
                const std::vector<T> x = random_values<T>(n, c.low, c.high, rng);
                std::vector<T> got(n, T(-7)), want(n, T(-7));
                c.kernel(n, x.data(), got.data());
                c.reference(n, x.data(), want.data());
                check_close(got, want, c.ulps, label(c.name, n, threads));
            }
    }

    template <class T>
    using binary_kernel = void (*)(std::size_t, const T*, const T*, T*);
    template <class T>
    using scalar_kernel = void (*)(std::size_t, const T*, T, T*);
    template <class T>
    using reversed_kernel = void (*)(std::size_t, T, const T*, T*);

    template <class T>
    void check_arithmetic(std::size_t threads)
    {
        struct binary_case
        {
            const char* name;
            binary_kernel<T> kernel, reference;
        };
        const std::vector<binary_case> binary{{"add", kernels::add<T>, kernels::add_reference<T>},
                                              {"sub", kernels::sub<T>, kernels::sub_reference<T>},
                                              {"mul", kernels::mul<T>, kernels::mul_reference<T>},
                                              {"div", kernels::div<T>, kernels::div_reference<T>}};
        struct scalar_case
        {
            const char* name;
            scalar_kernel<T> kernel, reference;
        };
        const std::vector<scalar_case> with_scalar{{"add_scalar", kernels::add_scalar<T>, kernels::add_scalar_reference<T>},
                                                   {"sub_scalar", kernels::sub_scalar<T>, kernels::sub_scalar_reference<T>},
                                                   {"mul_scalar", kernels::mul_scalar<T>, kernels::mul_scalar_reference<T>},
                                                   {"div_scalar", kernels::div_scalar<T>, kernels::div_scalar_reference<T>}};
        struct reversed_case
        {
            const char* name;
            reversed_kernel<T> kernel, reference;
        };
        const std::vector<reversed_case> reversed{{"scalar_sub", kernels::scalar_sub<T>, kernels::scalar_sub_reference<T>},
                                                  {"scalar_div", kernels::scalar_div<T>, kernels::scalar_div_reference<T>}};
        thread_count scoped(threads);
        std::mt19937 rng(11);
        const T s = T(-1.375);
        for (std::size_t n : sizes)
        {
            const std::vector<T> a = random_values<T>(n, -4, 4, rng);
            const std::vector<T> b = random_values<T>(n, T(0.5), 4, rng);   // away from 0: b divides
            for (const auto& c : binary)
            {
                std::vector<T> got(n), want(n);
                c.kernel(n, a.data(), b.data(), got.data());
                c.reference(n, a.data(), b.data(), want.data());
                check_close(got, want, 0, label(c.name, n, threads));
            }
            for (const auto& c : with_scalar)
            {
                std::vector<T> got(n), want(n);
                c.kernel(n, a.data(), s, got.data());
                c.reference(n, a.data(), s, want.data());
                check_close(got, want, 0, label(c.name, n, threads));
            }
            for (const auto& c : reversed)
            {
                std::vector<T> got(n), want(n);
                c.kernel(n, s, b.data(), got.data());
                c.reference(n, s, b.data(), want.data());
                check_close(got, want, 0, label(c.name, n, threads));
            }
            {
                std::vector<T> got = b, want = b;
                kernels::axpy(n, T(0.75), a.data(), got.data());
                kernels::axpy_reference(n, T(0.75), a.data(), want.data());
                check_close(got, want, 2, label("axpy", n, threads));   // fused multiply-add: one rounding fewer
            }
            {
                std::vector<T> x = a;
                if (n > 2)
                    x[n / 2] = 0;   // the mask is x > 0: 0 itself masks
                std::vector<T> got(n), want(n);
                kernels::relu_backward(n, x.data(), b.data(), got.data());
                kernels::relu_backward_reference(n, x.data(), b.data(), want.data());
                check_close(got, want, 0, label("relu_backward", n, threads));
            }
        }
    }

    template <class T>
    void check_sums(std::size_t threads)
    {
        thread_count scoped(threads);
        std::mt19937 rng(13);
        const T eps = std::numeric_limits<T>::epsilon();
        for (std::size_t n : sizes)
        {
            INFO(label("sum", n, threads));
            const std::vector<T> x = random_values<T>(n, -1, 1, rng);
            T magnitude = 0;
            for (T value : x)
                magnitude += std::abs(value);
            // Both summation orders are within n · eps · sum|x| of the exact sum.
            const T got = kernels::sum(n, x.data()), want = kernels::sum_reference(n, x.data());
            CHECK(std::abs(got - want) <= T(2 * n) * eps * magnitude);
        }
    }

    template <class T>
    void check_row_kernels(std::size_t threads)
    {
        thread_count scoped(threads);
        std::mt19937 rng(17);
        const T eps = std::numeric_limits<T>::epsilon();
        std::vector<std::pair<std::size_t, std::size_t>> shapes;
        for (std::size_t rows : row_counts)
            for (std::size_t cols : col_counts)
                shapes.emplace_back(rows, cols);
        shapes.emplace_back(300, 1000);   // splits across 2 threads
        shapes.emplace_back(4, 40000);    // rows longer than the grain
        shapes.emplace_back(20000, 5);    // sum_columns: 5 columns split across 2 threads
        for (const auto& entry : shapes)
        {
            const auto& rows = entry.first;
            const auto& cols = entry.second;
            const std::string shape = " " + std::to_string(rows) + "x" + std::to_string(cols);
            const std::vector<T> x = random_values<T>(rows * cols, -10, 10, rng);
            {
                std::vector<T> got(rows), want(rows);
                kernels::sum_rows(rows, cols, x.data(), got.data());
                kernels::sum_rows_reference(rows, cols, x.data(), want.data());
                INFO(label("sum_rows", rows * cols, threads) << shape);
                for (std::size_t r = 0; r < rows; ++r)
                    CHECK(std::abs(got[r] - want[r]) <= T(2 * cols) * eps * T(10 * cols));
            }
            {
                std::vector<T> got(cols, T(-7)), want(cols, T(-7));
                kernels::sum_columns(rows, cols, x.data(), got.data());
                kernels::sum_columns_reference(rows, cols, x.data(), want.data());
                // Each column adds its rows in order, as the reference: the same additions, the same result.
                check_close(got, want, 0, label("sum_columns", rows * cols, threads) + shape);
            }
            {
                std::vector<T> got(rows), want(rows);
                kernels::max_rows(rows, cols, x.data(), got.data());
                kernels::max_rows_reference(rows, cols, x.data(), want.data());
                check_close(got, want, 0, label("max_rows", rows * cols, threads) + shape);
            }
            {
                std::vector<T> got(rows * cols), want(rows * cols);
                kernels::softmax_rows(rows, cols, x.data(), got.data());
                kernels::softmax_rows_reference(rows, cols, x.data(), want.data());
                // Both sum cols exponentials, in different orders: up to cols · eps apart, relative.
                check_close(got, want, double(8 + cols), label("softmax_rows", rows * cols, threads) + shape, true);
            }
            {
                std::vector<T> got(rows * cols), want(rows * cols);
                kernels::log_softmax_rows(rows, cols, x.data(), got.data());
                kernels::log_softmax_rows_reference(rows, cols, x.data(), want.data());
                check_close(got, want, double(8 + cols), label("log_softmax_rows", rows * cols, threads) + shape);
            }
            if (cols > 0)
            {
                // The cross-entropy backward from log-probabilities, with and without smoothing, and with rows of
                // weight 0 (ignored targets); each target a different class.
                std::vector<T> log_probs(rows * cols), weight(rows);
                kernels::log_softmax_rows_reference(rows, cols, x.data(), log_probs.data());
                std::vector<std::int64_t> target(rows);
                for (std::size_t r = 0; r < rows; ++r)
                {
                    target[r] = static_cast<std::int64_t>((r * 7) % cols);
                    weight[r] = r % 5 == 3 ? T(0) : T(0.25) + T(r % 3);
                }
                for (const T smoothing : {T(0), T(0.1)})
                {
                    std::vector<T> got(rows * cols, T(-7)), want(rows * cols, T(-7));
                    kernels::cross_entropy_backward_rows(rows, cols, log_probs.data(), target.data(), weight.data(),
                                                         smoothing, got.data());
                    kernels::cross_entropy_backward_rows_reference(rows, cols, log_probs.data(), target.data(),
                                                                   weight.data(), smoothing, want.data());
                    // xsimd's exp and std::exp differ by an ulp or two; the subtraction of the target is exact.
                    check_close(got, want, 16, label("cross_entropy_backward_rows", rows * cols, threads) + shape);
                }
            }
        }
    }

    template <class T>
    void check_optimizer_updates(std::size_t threads)
    {
        thread_count scoped(threads);
        std::mt19937 rng(19);
        std::vector<kernels::sgd_hyperparameters> sgd_cases;
        for (double momentum : {0.0, 0.9})
            for (double weight_decay : {0.0, 0.01})
                for (bool nesterov : {false, true})
                    if (!nesterov || momentum > 0)
                        sgd_cases.push_back({0.1, momentum, nesterov ? 0.0 : 0.25, weight_decay, nesterov, false});
        std::vector<kernels::adam_hyperparameters> adam_cases;
        for (bool decoupled : {false, true})
            for (double weight_decay : {0.0, 0.05})
                for (bool amsgrad : {false, true})
                    adam_cases.push_back({0.01, 0.9, 0.999, 1e-8, weight_decay, decoupled, amsgrad, 1});
        for (std::size_t n : sizes)
        {
            const std::vector<T> param = random_values<T>(n, -1, 1, rng);
            for (const auto& hyper : sgd_cases)
            {
                std::vector<T> p = param, p_want = param, b(n), b_want(n);
                for (int step = 1; step <= 3; ++step)
                {
                    const std::vector<T> grad = random_values<T>(n, -1, 1, rng);
                    kernels::sgd_hyperparameters h = hyper;
                    h.first_step = step == 1;
                    kernels::sgd_update(n, p.data(), grad.data(), h.momentum != 0 ? b.data() : nullptr, h);
                    kernels::sgd_update_reference(n, p_want.data(), grad.data(), b_want.data(), h);
                }
                const std::string what = label("sgd_update", n, threads) + " momentum=" + std::to_string(hyper.momentum) +
                                         " weight_decay=" + std::to_string(hyper.weight_decay) +
                                         " nesterov=" + std::to_string(hyper.nesterov);
                check_close(p, p_want, 8, what);
                if (hyper.momentum != 0)
                    check_close(b, b_want, 8, what + " (momentum buffer)");
            }
            for (const auto& hyper : adam_cases)
            {
                std::vector<T> p = param, p_want = param, m(n), m_want(n), v(n), v_want(n), v_max(n), v_max_want(n);
                for (int step = 1; step <= 3; ++step)
                {
                    const std::vector<T> grad = random_values<T>(n, -1, 1, rng);
                    kernels::adam_hyperparameters h = hyper;
                    h.step = step;
                    kernels::adam_update(n, p.data(), grad.data(), m.data(), v.data(),
                                         h.amsgrad ? v_max.data() : nullptr, h);
                    kernels::adam_update_reference(n, p_want.data(), grad.data(), m_want.data(), v_want.data(),
                                                   v_max_want.data(), h);
                }
                const std::string what = label("adam_update", n, threads) + " decoupled=" +
                                         std::to_string(hyper.decoupled_weight_decay) + " weight_decay=" +
                                         std::to_string(hyper.weight_decay) + " amsgrad=" + std::to_string(hyper.amsgrad);
                check_close(p, p_want, 16, what);
                check_close(m, m_want, 8, what + " (exp_avg)");
                check_close(v, v_want, 8, what + " (exp_avg_sq)");
                if (hyper.amsgrad)
                    check_close(v_max, v_max_want, 8, what + " (max_exp_avg_sq)");
            }
        }
    }

    template <class T>
    std::vector<T> values_of(const xt::xarray<T>& a)
    {
        return std::vector<T>(a.begin(), a.end());
    }

    template <class T>
    void check_same_array(const xt::xarray<T>& got, const xt::xarray<T>& want, double ulps, const std::string& what)
    {
        INFO(what);
        REQUIRE(got.dimension() == want.dimension());
        CHECK(std::equal(got.shape().begin(), got.shape().end(), want.shape().begin()));
        check_close(values_of(got), values_of(want), ulps, what);
    }
}

TEST_CASE_TEMPLATE("kernels: unary maps agree with their references", T, float, double)
{
    for (std::size_t threads : {1, 2})
        check_unary_maps<T>(threads);
}

TEST_CASE_TEMPLATE("kernels: arithmetic, axpy and relu_backward agree with their references", T, float, double)
{
    for (std::size_t threads : {1, 2})
        check_arithmetic<T>(threads);
}

TEST_CASE_TEMPLATE("kernels: sum agrees with its reference, whatever the threads", T, float, double)
{
    for (std::size_t threads : {1, 2})
        check_sums<T>(threads);
    std::mt19937 rng(23);
    const std::vector<T> x = random_values<T>(200003, -1, 1, rng);
    T one_thread = 0, two_threads = 0;
    {
        thread_count scoped(1);
        one_thread = kernels::sum(x.size(), x.data());
    }
    {
        thread_count scoped(2);
        two_threads = kernels::sum(x.size(), x.data());
    }
    CHECK(one_thread == two_threads);   // fixed blocks: the same additions in the same order
}

TEST_CASE_TEMPLATE("kernels: row sum, column sum, max, softmax and log_softmax agree with their references", T, float,
                   double)
{
    for (std::size_t threads : {1, 2})
        check_row_kernels<T>(threads);
}

TEST_CASE_TEMPLATE("kernels: softmax rows are stable for large inputs", T, float, double)
{
    const std::vector<T> x{T(1000), T(1001), T(-1000), T(1002)};
    std::vector<T> y(4), log_y(4);
    kernels::softmax_rows(1, 4, x.data(), y.data());
    kernels::log_softmax_rows(1, 4, x.data(), log_y.data());
    for (std::size_t i = 0; i < 4; ++i)
    {
        CHECK(std::isfinite(y[i]));
        CHECK(std::isfinite(log_y[i]));
    }
    CHECK(y[3] == doctest::Approx(0.66524096));
    CHECK(log_y[2] == doctest::Approx(-2002.40760596));
}

TEST_CASE_TEMPLATE("kernels: fused SGD and Adam updates agree with their references", T, float, double)
{
    for (std::size_t threads : {1, 2})
        check_optimizer_updates<T>(threads);
}

TEST_CASE_TEMPLATE("kernels: array-level entry points match xtensor, broadcasting included", T, float, double)
{
    std::mt19937 rng(29);
    auto random_array = [&](std::vector<std::size_t> shape, T low, T high) {
        xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
        std::uniform_real_distribution<T> uniform(low, high);
        for (T& value : a)
            value = uniform(rng);
        return a;
    };
    const xt::xarray<T> a = random_array({3, 5}, -2, 2), b = random_array({3, 5}, T(0.5), 2);
    const xt::xarray<T> scalar = xt::xarray<T>(T(1.5)), one_element = random_array({1, 1}, T(0.5), 2);
    const xt::xarray<T> row = random_array({5}, T(0.5), 2), column = random_array({3, 1}, T(0.5), 2);
    const xt::xarray<T> wide_one = random_array({1, 1, 1}, T(0.5), 2);   // one element, but more dims than a
    for (const xt::xarray<T>* other : {&b, &scalar, &one_element, &row, &column, &wide_one})
    {
        const std::string shape = " against shape " + std::to_string(other->dimension()) + "-d size " +
                                  std::to_string(other->size());
        check_same_array<T>(kernels::add(a, *other), a + *other, 0, "add" + shape);
        check_same_array<T>(kernels::add(*other, a), *other + a, 0, "add reversed" + shape);
        check_same_array<T>(kernels::sub(a, *other), a - *other, 0, "sub" + shape);
        check_same_array<T>(kernels::sub(*other, a), *other - a, 0, "sub reversed" + shape);
        check_same_array<T>(kernels::mul(a, *other), a * *other, 0, "mul" + shape);
        check_same_array<T>(kernels::mul(*other, a), *other * a, 0, "mul reversed" + shape);
        check_same_array<T>(kernels::div(a, *other), a / *other, 0, "div" + shape);
        check_same_array<T>(kernels::div(*other, a), *other / a, 0, "div reversed" + shape);
    }
    check_same_array<T>(kernels::exp(a), xt::exp(a), 4, "exp");
    check_same_array<T>(kernels::log(b), xt::log(b), 4, "log");
    check_same_array<T>(kernels::tanh(a), xt::tanh(a), 4, "tanh");
    check_same_array<T>(kernels::relu(a), xt::maximum(a, T(0)), 0, "relu");

    const xt::xarray<T> x = random_array({2, 3, 4}, -3, 3);
    for (const std::vector<std::size_t>& axes :
         std::vector<std::vector<std::size_t>>{{0, 1, 2}, {2}, {1}, {0, 2}, {1, 2}, {0}, {0, 1}})
        check_same_array<T>(kernels::sum(x, axes), xt::xarray<T>(xt::sum(x, axes, xt::evaluation_strategy::immediate)),
                            16, "sum over " + std::to_string(axes.size()) + " axes from " + std::to_string(axes[0]));
    // Unit dims do not stop the kernels: summing {0, 3} of (5, 1, 7, 1) is a column sum, {2, 3} a row sum.
    const xt::xarray<T> with_units = random_array({5, 1, 7, 1}, -3, 3);
    for (const std::vector<std::size_t>& axes :
         std::vector<std::vector<std::size_t>>{{0}, {0, 1}, {0, 3}, {1, 3}, {2, 3}, {0, 2}, {}, {0, 1, 2, 3}})
    {
        std::string what = "sum of (5, 1, 7, 1) over {";
        for (std::size_t axis : axes)
            what += std::to_string(axis) + ",";
        const xt::xarray<T> want = xt::sum(with_units, axes, xt::evaluation_strategy::immediate);
        check_same_array<T>(kernels::sum(with_units, axes), want, 16, what + "}");
    }
    check_same_array<T>(kernels::sum(xt::xarray<T>(T(2.5)), {}), xt::xarray<T>(T(2.5)), 0, "sum of a 0-d array");
    const xt::xarray<T> empty = xt::xarray<T>::from_shape({2, 0});
    check_same_array<T>(kernels::sum(empty, {1}), xt::xarray<T>(xt::zeros<T>({2})), 0, "sum of empty rows");
    const xt::xarray<T> no_rows = xt::xarray<T>::from_shape({0, 3});
    check_same_array<T>(kernels::sum(no_rows, {0}), xt::xarray<T>(xt::zeros<T>({3})), 0, "column sums of no rows");

    for (std::size_t axis : {0, 1, 2})
    {
        xt::xarray<T> shifted = x - xt::amax(x, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
        xt::xarray<T> e = xt::exp(shifted);
        xt::xarray<T> softmax = e / xt::sum(e, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
        xt::xarray<T> log_softmax =
            shifted - xt::log(xt::sum(e, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate));
        check_same_array<T>(kernels::softmax(x, axis), softmax, 8, "softmax axis " + std::to_string(axis));
        check_same_array<T>(kernels::log_softmax(x, axis), log_softmax, 8, "log_softmax axis " + std::to_string(axis));
    }
}

namespace
{
    std::string shape_text(const std::vector<std::size_t>& shape)
    {
        std::string text = "(";
        for (std::size_t extent : shape)
            text += std::to_string(extent) + ",";
        return text + ")";
    }

    // add, sub, mul and div of (a, b) and of (b, a) against xtensor's broadcast, bit for bit: the kernels do
    // the same one operation per element.
    template <class T>
    void check_broadcast_pair(const xt::xarray<T>& a, const xt::xarray<T>& b, std::size_t threads)
    {
        const std::string shapes = " " + shape_text(std::vector<std::size_t>(a.shape().begin(), a.shape().end())) +
                                   " with " + shape_text(std::vector<std::size_t>(b.shape().begin(), b.shape().end())) +
                                   " threads=" + std::to_string(threads);
        check_same_array<T>(kernels::add(a, b), a + b, 0, "add" + shapes);
        check_same_array<T>(kernels::add(b, a), b + a, 0, "add reversed" + shapes);
        check_same_array<T>(kernels::sub(a, b), a - b, 0, "sub" + shapes);
        check_same_array<T>(kernels::sub(b, a), b - a, 0, "sub reversed" + shapes);
        check_same_array<T>(kernels::mul(a, b), a * b, 0, "mul" + shapes);
        check_same_array<T>(kernels::mul(b, a), b * a, 0, "mul reversed" + shapes);
        check_same_array<T>(kernels::div(a, b), a / b, 0, "div" + shapes);
        check_same_array<T>(kernels::div(b, a), b / a, 0, "div reversed" + shapes);
    }
}

TEST_CASE_TEMPLATE("kernels: broadcasting by rows (a repeated block, a value per row) matches xtensor", T, float,
                   double)
{
    std::mt19937 rng(31);
    auto random_array = [&](std::vector<std::size_t> shape) {
        xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
        std::uniform_real_distribution<T> uniform(T(0.5), T(2));   // away from 0: either side divides
        for (T& value : a)
            value = uniform(rng);
        return a;
    };
    using Shape = std::vector<std::size_t>;
    struct shape_pair
    {
        Shape big, small;
    };
    const std::vector<shape_pair> cases{
        // repeated block: small is big's trailing dims, with or without leading 1s
        {{4, 3, 17}, {17}}, {{4, 3, 17}, {3, 17}}, {{4, 3, 17}, {1, 3, 17}}, {{4, 3, 17}, {1, 1, 17}},
        {{2, 3, 4, 5}, {4, 5}}, {{1, 5}, {5}}, {{600, 130}, {130}}, {{2, 70001}, {70001}},
        // per-row scalar: big's leading dims, then 1s
        {{4, 3, 17}, {4, 3, 1}}, {{4, 3, 17}, {4, 1, 1}}, {{2, 3, 4, 5}, {2, 3, 1, 1}}, {{600, 130}, {600, 1}},
        {{3, 40000}, {3, 1}}, {{1, 4, 3, 17}, {4, 3, 1}},
        // neither: xtensor broadcasts these
        {{4, 3, 17}, {3, 1}}, {{4, 3, 17}, {4, 1, 17}}, {{4, 3, 1}, {1, 1, 17}}, {{4, 3, 17}, {1, 4, 3, 1}},
        {{0, 3}, {3}}, {{4, 0}, {4, 1}}};
    for (std::size_t threads : {1, 2})
    {
        thread_count scoped(threads);
        for (const auto& c : cases)
            check_broadcast_pair<T>(random_array(c.big), random_array(c.small), threads);
        for (std::size_t cols : col_counts)   // every row length around the vector widths
        {
            check_broadcast_pair<T>(random_array({3, cols}), random_array({cols}), threads);
            check_broadcast_pair<T>(random_array({3, cols}), random_array({3, 1}), threads);
        }
    }
}
