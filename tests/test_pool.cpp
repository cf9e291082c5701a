// max_pool2d, avg_pool2d and adaptive_avg_pool2d: kernels against their references, ops against the
// definitions, gradients and second derivatives against finite differences, and the error messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xgrad/kernels/pool.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::message_of;

namespace
{
    struct pool_case
    {
        Shape input;
        Size2 kernel, stride, padding;
    };

    std::string describe(const pool_case& c)
    {
        return "input " + shape_string(c.input) + " kernel " + shape_string(c.kernel) + " stride " +
               shape_string(c.stride) + " padding " + shape_string(c.padding);
    }

    const std::vector<pool_case> pool_cases{
        {{2, 3, 8, 8}, {2, 2}, {2, 2}, {0, 0}},  {{1, 2, 7, 9}, {3, 3}, {2, 2}, {1, 1}},
        {{2, 1, 9, 6}, {3, 2}, {1, 2}, {1, 0}},  {{1, 3, 5, 5}, {5, 5}, {1, 1}, {2, 2}},
        {{3, 2, 6, 11}, {2, 4}, {3, 1}, {1, 2}}, {{1, 1, 1, 1}, {1, 1}, {1, 1}, {0, 0}},
    };

    // Adaptive average pooling by its definition: bins [floor(i·H/O), ceil((i+1)·H/O)).
    xt::xarray<double> adaptive_reference(const xt::xarray<double>& x, std::size_t out_h, std::size_t out_w)
    {
        const std::size_t height = x.shape()[2], width = x.shape()[3];
        xt::xarray<double> y = xt::zeros<double>({x.shape()[0], x.shape()[1], out_h, out_w});
        for (std::size_t n = 0; n < x.shape()[0]; ++n)
            for (std::size_t c = 0; c < x.shape()[1]; ++c)
                for (std::size_t i = 0; i < out_h; ++i)
                    for (std::size_t j = 0; j < out_w; ++j)
                    {
                        const auto h0 = std::size_t(std::floor(double(i * height) / double(out_h)));
                        const auto h1 = std::size_t(std::ceil(double((i + 1) * height) / double(out_h)));
                        const auto w0 = std::size_t(std::floor(double(j * width) / double(out_w)));
                        const auto w1 = std::size_t(std::ceil(double((j + 1) * width) / double(out_w)));
                        double total = 0;
                        for (std::size_t h = h0; h < h1; ++h)
                            for (std::size_t w = w0; w < w1; ++w)
                                total += x(n, c, h, w);
                        y(n, c, i, j) = total / double((h1 - h0) * (w1 - w0));
                    }
        return y;
    }
}

TEST_CASE("max_pool2d and avg_pool2d match their reference loops")
{
    Generator rng(5);
    for (std::size_t threads : {1, 2})
    {
        set_num_threads(threads);
        for (const auto& c : pool_cases)
        {
            INFO(describe(c), " threads ", threads);
            const auto x = randn<double>(c.input, rng);
            const std::size_t planes = c.input[0] * c.input[1];
            const std::size_t out_h = (c.input[2] + 2 * c.padding[0] - c.kernel[0]) / c.stride[0] + 1;
            const std::size_t out_w = (c.input[3] + 2 * c.padding[1] - c.kernel[1]) / c.stride[1] + 1;
            const Shape out_shape{c.input[0], c.input[1], out_h, out_w};

            xt::xarray<double> expected_max = xt::empty<double>(out_shape);
            std::vector<std::size_t> expected_argmax(expected_max.size());
            kernels::max_pool2d_reference(planes, c.input[2], c.input[3], c.kernel[0], c.kernel[1], c.stride[0],
                                          c.stride[1], c.padding[0], c.padding[1], x.value().data(),
                                          expected_max.data(), expected_argmax.data());
            const auto y_max = max_pool2d(x, c.kernel, c.stride, c.padding);
            REQUIRE(y_max.shape() == out_shape);
            CHECK(y_max.value() == expected_max);

            xt::xarray<double> expected_avg = xt::empty<double>(out_shape);
            kernels::avg_pool2d_reference(planes, c.input[2], c.input[3], c.kernel[0], c.kernel[1], c.stride[0],
                                          c.stride[1], c.padding[0], c.padding[1], x.value().data(),
                                          expected_avg.data());
            const auto y_avg = avg_pool2d(x, c.kernel, c.stride, c.padding);
            REQUIRE(y_avg.shape() == out_shape);
            CHECK(xt::allclose(y_avg.value(), expected_avg, 1e-13, 1e-13));

            // The gradient of max pooling lands on the reference's arg-max positions.
            auto leaf = Tensor<double>(x.value(), true);
            sum(max_pool2d(leaf, c.kernel, c.stride, c.padding)).backward();
            xt::xarray<double> expected_grad = xt::zeros<double>(c.input);
            const std::size_t plane_size = c.input[2] * c.input[3], out_size = out_h * out_w;
            for (std::size_t p = 0; p < planes; ++p)
                for (std::size_t o = 0; o < out_size; ++o)
                    expected_grad.data()[p * plane_size + expected_argmax[p * out_size + o]] += 1;
            CHECK(leaf.grad() == expected_grad);
        }
    }
    set_num_threads(2);
}

TEST_CASE("pooling: the size_t overloads and the default stride")
{
    Generator rng(6);
    const auto x = randn<float>({2, 3, 8, 6}, rng);
    CHECK(max_pool2d(x, 2).shape() == Shape{2, 3, 4, 3});
    CHECK(max_pool2d(x, 2).value() == max_pool2d(x, Size2{2, 2}, Size2{2, 2}).value());
    CHECK(max_pool2d(x, 3, 1, 1).shape() == Shape{2, 3, 8, 6});
    CHECK(avg_pool2d(x, 2).value() == avg_pool2d(x, Size2{2, 2}).value());
    CHECK(avg_pool2d(x, 3, 2, 1).shape() == Shape{2, 3, 4, 3});
    CHECK(adaptive_avg_pool2d(x, 1).shape() == Shape{2, 3, 1, 1});
}

TEST_CASE("max_pool2d: padding never wins, NaN does")
{
    // All-negative input: a zero from the padding would win if padding counted as 0.
    Tensor<double> x(xt::xarray<double>{{{{-1., -2.}, {-3., -4.}}}});
    const auto y = max_pool2d(x, 2, 1, 1);   // (1, 1, 3, 3)
    CHECK(y.value() == xt::xarray<double>{{{{-1., -1., -2.}, {-1., -1., -2.}, {-3., -3., -4.}}}});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Tensor<double> with_nan(xt::xarray<double>{{{{1., nan}, {3., 4.}}}});
    CHECK(std::isnan(max_pool2d(with_nan, 2).item()));
}

TEST_CASE("avg_pool2d counts the padding in the divisor (count_include_pad)")
{
    Tensor<double> x(xt::xarray<double>{{{{1., 2.}, {3., 4.}}}});
    const auto y = avg_pool2d(x, 2, 2, 1);   // (1, 1, 2, 2): each window holds one real value and three zeros
    CHECK(xt::allclose(y.value(), xt::xarray<double>{{{{0.25, 0.5}, {0.75, 1.0}}}}));
}

TEST_CASE("adaptive_avg_pool2d matches PyTorch's bins")
{
    Generator rng(8);
    for (const Shape& shape : {Shape{2, 3, 7, 5}, Shape{1, 2, 4, 4}, Shape{1, 1, 3, 10}})
        for (const Size2 out : {Size2{1, 1}, Size2{2, 3}, Size2{3, 3}, Size2{4, 2}, Size2{5, 7}})
        {
            INFO("input ", shape_string(shape), " output ", shape_string(out));
            const auto x = randn<double>(shape, rng);
            const auto y = adaptive_avg_pool2d(x, out);
            CHECK(xt::allclose(y.value(), adaptive_reference(x.value(), out[0], out[1]), 1e-13, 1e-13));
        }
    const auto x = randn<double>({2, 4, 6, 5}, rng);
    CHECK(xt::allclose(adaptive_avg_pool2d(x, 1).value(), mean(x, Dims{2, 3}, true).value()));
}

TEST_CASE("pooling gradients and second derivatives match finite differences")
{
    Generator rng(9);
    for (const auto& c :
         {pool_case{{2, 2, 5, 6}, {2, 3}, {2, 1}, {1, 1}}, pool_case{{1, 2, 6, 6}, {2, 2}, {2, 2}, {0, 0}}})
    {
        INFO(describe(c));
        // Well separated values, so that finite differences never move an arg-max.
        const std::size_t count = c.input[0] * c.input[1] * c.input[2] * c.input[3];
        xt::xarray<double> values = xt::arange<double>(double(count)) * 0.1 - 1.0;
        std::shuffle(values.begin(), values.end(), rng);
        values.reshape(c.input);
        auto x = Tensor<double>(values, true);
        CHECK(gradcheck(
            [&](const std::vector<Tensor<double>>& in) { return max_pool2d(in[0], c.kernel, c.stride, c.padding); },
            {x}));
        CHECK(gradcheck(
            [&](const std::vector<Tensor<double>>& in) { return avg_pool2d(in[0], c.kernel, c.stride, c.padding); },
            {x}));
        CHECK(gradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                return adaptive_avg_pool2d(in[0], Size2{2, 4});
            },
            {x}));
        // Squares make the second derivatives non-zero: d²/dx² of pool(x)² goes through the backward ops.
        CHECK(gradgradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                const auto y = max_pool2d(in[0], c.kernel, c.stride, c.padding);
                return mul(y, y);
            },
            {x}));
        CHECK(gradgradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                const auto y = avg_pool2d(in[0], c.kernel, c.stride, c.padding);
                return mul(y, y);
            },
            {x}));
        CHECK(gradgradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                const auto y = adaptive_avg_pool2d(in[0], Size2{3, 2});
                return mul(y, y);
            },
            {x}));
    }
}

TEST_CASE("pooling: errors name the op and the shapes")
{
    const auto x = zeros<float>({1, 2, 5, 5});
    CHECK_THROWS_AS(max_pool2d(zeros<float>({28, 28}), 2), shape_error);
    CHECK(message_of<error>([] {
              max_pool2d(zeros<float>({28, 28}), 2);
          }) == "max_pool2d: input must be 4-D NCHW, got shape (28, 28)");
    CHECK_THROWS_AS(avg_pool2d(zeros<float>({2, 28, 28}), 2), shape_error);
    CHECK_THROWS_AS(adaptive_avg_pool2d(zeros<float>({28, 28}), 1), shape_error);
    CHECK_THROWS_AS(max_pool2d(x, 0), value_error);
    CHECK_THROWS_AS(max_pool2d(x, 2, 0), value_error);
    CHECK_THROWS_AS(avg_pool2d(x, 2, 0), value_error);
    CHECK_THROWS_AS(max_pool2d(x, 2, 2, 2), value_error);   // padding over half the kernel
    CHECK_THROWS_AS(max_pool2d(x, 6), shape_error);
    CHECK(message_of<error>([&] { avg_pool2d(x, 6); }).find("(1, 2, 5, 5)") != std::string::npos);
    CHECK_NOTHROW(max_pool2d(x, 6, 1, 3));   // fits once padded
    CHECK_THROWS_AS(adaptive_avg_pool2d(x, 0), value_error);
}

TEST_CASE("max_pool1d and avg_pool1d: the 2-D pools on a row, their default stride, gradients and errors")
{
    Generator rng(15);
    xt::xarray<double> values = xt::arange<double>(2.0 * 3 * 9) * 0.1 - 1.0;   // well separated for the arg-max
    std::shuffle(values.begin(), values.end(), rng);
    values.reshape({2, 3, 9});
    auto x = Tensor<double>(values, true);
    const auto as_row = unsqueeze(x, 2);
    CHECK(xt::allclose(max_pool1d(x, 3, 2, 1).value(),
                       squeeze(max_pool2d(as_row, Size2{1, 3}, Size2{1, 2}, Size2{0, 1}), 2).value()));
    CHECK(xt::allclose(avg_pool1d(x, 3, 2, 1).value(),
                       squeeze(avg_pool2d(as_row, Size2{1, 3}, Size2{1, 2}, Size2{0, 1}), 2).value()));
    CHECK(max_pool1d(x, 2).shape() == Shape{2, 3, 4});   // stride = kernel
    CHECK(avg_pool1d(x, 3).shape() == Shape{2, 3, 3});
    // count_include_pad: the first window [-1, 2) holds the padding and two values, and divides by 3.
    CHECK(avg_pool1d(x, 3, 2, 1).value()(0, 0, 0) == doctest::Approx((values(0, 0, 0) + values(0, 0, 1)) / 3));

    CHECK(gradcheck([](const std::vector<Tensor<double>>& in) { return max_pool1d(in[0], 3, 2, 1); }, {x}));
    CHECK(gradcheck([](const std::vector<Tensor<double>>& in) { return avg_pool1d(in[0], 3, 2, 1); }, {x}));
    CHECK(gradgradcheck(
        [](const std::vector<Tensor<double>>& in) {
            const auto y = avg_pool1d(in[0], 2, 1);
            return mul(y, y);
        },
        {x}));

    CHECK_THROWS_AS(max_pool1d(zeros<float>({3, 9}), 2), shape_error);
    CHECK(message_of<error>([] {
              avg_pool1d(zeros<float>({1, 2, 3, 9}), 2);
          }) == "avg_pool1d: input must be 3-D (N, C, L), got shape (1, 2, 3, 9)");
    CHECK_THROWS_AS(max_pool1d(zeros<float>({1, 3, 9}), 0), value_error);
    CHECK_THROWS_AS(avg_pool1d(zeros<float>({1, 3, 9}), 2, 2, 2), value_error);   // padding over half the kernel
    CHECK_THROWS_AS(max_pool1d(zeros<float>({1, 3, 4}), 5), shape_error);
}
