// The pooling kernels held against their references: every vector path (kernel 2 and 3, stride 1 and 2, with
// and without padding, on each register width a row's interior selects) and the scalar fallback, on odd
// plane counts and sizes, with ties and NaN, in float and double; average pooling's direct adjoints against
// the adjoint loop over windows; the scatter and gather of the arg-max; and the ops on 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xgrad/kernels/pool.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

namespace
{
    using xgrad::kernels::pool2d_shape;
    using xgrad::kernels::pool_index;

    std::string describe(const pool2d_shape& s, std::size_t planes)
    {
        return std::to_string(planes) + " planes " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) +
               " kernel " + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " stride " +
               std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) + " padding " +
               std::to_string(s.padding_h) + "," + std::to_string(s.padding_w);
    }

    // Kernel, stride, padding: the vector paths' cases, then stride 3 and kernel 1, which run the scalar rows.
    struct pool_params
    {
        std::size_t kernel, stride, padding;
    };
    const std::vector<pool_params> params{{2, 2, 0}, {2, 2, 1}, {3, 2, 0}, {3, 2, 1}, {3, 1, 0},
                                          {3, 1, 1}, {2, 1, 0}, {2, 1, 1}, {3, 3, 1}, {1, 1, 0}};

    // Every case whose kernel fits the padded plane; rectangular planes pair each height with a width.
    std::vector<pool2d_shape> shapes()
    {
        std::vector<pool2d_shape> result;
        const std::vector<std::size_t> sides{1, 2, 5, 7, 13, 28, 31};
        for (std::size_t i = 0; i < sides.size(); ++i)
            for (std::size_t in_w : {sides[i], sides[(i + 3) % sides.size()]})
                for (const auto& p : params)
                {
                    const std::size_t in_h = sides[i];
                    if (p.kernel > in_h + 2 * p.padding || p.kernel > in_w + 2 * p.padding)
                        continue;
                    result.push_back({in_h, in_w, p.kernel, p.kernel, p.stride, p.stride, p.padding, p.padding});
                }
        return result;
    }

    // Small integers, so windows tie often; NaN and -inf now and then when `specials`.
    template <class T>
    std::vector<T> pool_input(std::size_t count, bool specials, std::mt19937& rng)
    {
        std::uniform_int_distribution<int> level(-3, 3), special(0, 19);
        std::vector<T> values(count);
        for (T& v : values)
        {
            v = T(level(rng));
            const int draw = special(rng);
            if (specials && draw == 0)
                v = std::numeric_limits<T>::quiet_NaN();
            else if (specials && draw == 1)
                v = -std::numeric_limits<T>::infinity();
        }
        return values;
    }

    template <class T>
    bool same(T a, T b)
    {
        return a == b || (a != a && b != b);
    }

    template <class T>
    void check_same(const std::vector<T>& got, const std::vector<T>& expected)
    {
        REQUIRE(got.size() == expected.size());
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
            mismatches += same(got[i], expected[i]) ? 0 : 1;
        CHECK(mismatches == 0);
    }
}

TEST_CASE_TEMPLATE("max_pool2d and avg_pool2d kernels match their references", T, float, double)
{
    std::mt19937 rng(3);
    const auto all = shapes();
    REQUIRE(all.size() > 100);
    for (const bool specials : {false, true})
        for (std::size_t planes : {1, 3, 7})
            for (const auto& s : all)
            {
                INFO(describe(s, planes), (specials ? " with NaN and -inf" : ""));
                const auto x = pool_input<T>(planes * s.in_size(), specials, rng);
                const std::size_t out = planes * s.out_size();

                std::vector<T> y(out, T(-7)), expected(out, T(-9));
                std::vector<pool_index> argmax(out, 12345);
                std::vector<std::size_t> expected_argmax(out, 54321);
                xgrad::kernels::max_pool2d(s, planes, x.data(), y.data(), argmax.data());
                xgrad::kernels::max_pool2d_reference(planes, s.in_h, s.in_w, s.kernel_h, s.kernel_w, s.stride_h,
                                                     s.stride_w, s.padding_h, s.padding_w, x.data(), expected.data(),
                                                     expected_argmax.data());
                check_same(y, expected);
                CHECK(std::vector<std::size_t>(argmax.begin(), argmax.end()) == expected_argmax);

                std::vector<T> mean(out, T(-7)), expected_mean(out, T(-9));
                xgrad::kernels::avg_pool2d(s, planes, x.data(), mean.data());
                xgrad::kernels::avg_pool2d_reference(planes, s.in_h, s.in_w, s.kernel_h, s.kernel_w, s.stride_h,
                                                     s.stride_w, s.padding_h, s.padding_w, x.data(),
                                                     expected_mean.data());
                check_same(mean, expected_mean);

                // The adjoint through the windows, the sliding description dropped to force the plain loop.
                xgrad::kernels::pool_windows windows;
                windows.in_h = s.in_h;
                windows.in_w = s.in_w;
                windows.rows = xgrad::kernels::sliding_windows(s.in_h, s.kernel_h, s.stride_h, s.padding_h);
                windows.cols = xgrad::kernels::sliding_windows(s.in_w, s.kernel_w, s.stride_w, s.padding_w);
                windows.divisor = s.kernel_h * s.kernel_w;
                const auto dy = xgrad_test::random_values<T>(out, -1, 1, rng);
                std::vector<T> dx(x.size(), T(-7)), expected_dx(x.size(), T(-9));
                xgrad::kernels::avg_pool2d_backward(windows, planes, dy.data(), expected_dx.data());
                windows.sliding = s;
                xgrad::kernels::avg_pool2d_backward(windows, planes, dy.data(), dx.data());
                std::size_t far = 0;   // sums in another order: equal to rounding
                for (std::size_t i = 0; i < dx.size(); ++i)
                    far += std::abs(dx[i] - expected_dx[i]) <= T(1e-5) * (T(1) + std::abs(expected_dx[i])) ? 0 : 1;
                CHECK(far == 0);
            }
}

TEST_CASE_TEMPLATE("scatter_planes and gather_planes follow the arg-max", T, float, double)
{
    std::mt19937 rng(4);
    const pool2d_shape s{13, 7, 3, 3, 1, 1, 1, 1};   // overlapping windows: a position can win several times
    const std::size_t planes = 3, out = planes * s.out_size();
    const auto x = pool_input<T>(planes * s.in_size(), false, rng);
    std::vector<T> y(out);
    std::vector<pool_index> argmax(out);
    xgrad::kernels::max_pool2d(s, planes, x.data(), y.data(), argmax.data());

    const auto dy = xgrad_test::random_values<T>(out, -1, 1, rng);
    std::vector<T> dx(planes * s.in_size(), T(5)), expected_dx(dx.size(), T(0));
    xgrad::kernels::scatter_planes(planes, s.in_size(), s.out_size(), argmax.data(), dy.data(), dx.data());
    for (std::size_t o = 0; o < out; ++o)
        expected_dx[o / s.out_size() * s.in_size() + argmax[o]] += dy[o];
    check_same(dx, expected_dx);

    std::vector<T> picked(out);
    xgrad::kernels::gather_planes(planes, s.in_size(), s.out_size(), argmax.data(), x.data(), picked.data());
    check_same(picked, y);
}

TEST_CASE_TEMPLATE("the pooling ops match the references on 1 and 2 threads", T, float, double)
{
    std::mt19937 rng(5);
    for (std::size_t threads : {1, 2})
    {
        xgrad_test::thread_count use(threads);
        for (const auto& p : params)
        {
            const pool2d_shape s{28, 28, p.kernel, p.kernel, p.stride, p.stride, p.padding, p.padding};
            const xgrad::Shape shape{7, 9, s.in_h, s.in_w};   // 63 planes: split unevenly between threads
            const std::size_t planes = 63, out = planes * s.out_size();
            INFO(describe(s, planes), " threads ", threads);
            const auto values = pool_input<T>(planes * s.in_size(), true, rng);
            const xgrad::Tensor<T> x(xt::xarray<T>(xt::adapt(values, shape)), true);

            std::vector<T> expected(out);
            std::vector<std::size_t> expected_argmax(out);
            xgrad::kernels::max_pool2d_reference(planes, s.in_h, s.in_w, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                                                 s.padding_h, s.padding_w, values.data(), expected.data(),
                                                 expected_argmax.data());
            const auto y = xgrad::max_pool2d(x, p.kernel, p.stride, p.padding);
            check_same(std::vector<T>(y.value().begin(), y.value().end()), expected);

            const auto dy = xgrad_test::random_values<T>(out, -1, 1, rng);
            const auto dx =
                xgrad::grad<T>({y}, {x}, false, true, {xgrad::Tensor<T>(xt::xarray<T>(xt::adapt(dy, y.shape())))})[0];
            std::vector<T> expected_dx(values.size(), T(0));
            for (std::size_t o = 0; o < out; ++o)
                expected_dx[o / s.out_size() * s.in_size() + expected_argmax[o]] += dy[o];
            check_same(std::vector<T>(dx.value().begin(), dx.value().end()), expected_dx);

            std::vector<T> expected_mean(out);
            xgrad::kernels::avg_pool2d_reference(planes, s.in_h, s.in_w, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                                                 s.padding_h, s.padding_w, values.data(), expected_mean.data());
            const auto mean = xgrad::avg_pool2d(x, p.kernel, p.stride, p.padding);
            check_same(std::vector<T>(mean.value().begin(), mean.value().end()), expected_mean);
        }
    }
}
