// conv2d against a direct convolution loop (strides, padding, dilation, groups, non-square kernels, odd
// sizes), its gradients and second derivatives against finite differences, and its error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace
{
    struct conv_case
    {
        Shape input, weight;
        Size2 stride, padding, dilation;
        std::size_t groups;
        bool bias;
    };

    std::string describe(const conv_case& c)
    {
        return "input " + shape_string(c.input) + " weight " + shape_string(c.weight) + " stride " +
               shape_string(c.stride) + " padding " + shape_string(c.padding) + " dilation " +
               shape_string(c.dilation) + " groups " + std::to_string(c.groups);
    }

    // The definition: y[n, o, i, j] = b[o] + Σ_{c, ki, kj} W[o, c, ki, kj] · x[n, g·Cg + c, i·s - p + ki·d, j·s - p + kj·d]
    template <class T>
    xt::xarray<T> direct_conv2d(const xt::xarray<T>& x, const xt::xarray<T>& w, const xt::xarray<T>* b,
                                const conv_case& c)
    {
        const std::size_t n_batch = x.shape()[0], height = x.shape()[2], width = x.shape()[3];
        const std::size_t c_out = w.shape()[0], c_group = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
        const std::size_t out_per_group = c_out / c.groups;
        const std::size_t oh = (height + 2 * c.padding[0] - c.dilation[0] * (kh - 1) - 1) / c.stride[0] + 1;
        const std::size_t ow = (width + 2 * c.padding[1] - c.dilation[1] * (kw - 1) - 1) / c.stride[1] + 1;
        xt::xarray<T> y = xt::zeros<T>({n_batch, c_out, oh, ow});
        for (std::size_t n = 0; n < n_batch; ++n)
            for (std::size_t o = 0; o < c_out; ++o)
                for (std::size_t i = 0; i < oh; ++i)
                    for (std::size_t j = 0; j < ow; ++j)
                    {
                        T total = b ? (*b)(o) : T(0);
                        const std::size_t group = o / out_per_group;
                        for (std::size_t ci = 0; ci < c_group; ++ci)
                            for (std::size_t ki = 0; ki < kh; ++ki)
                                for (std::size_t kj = 0; kj < kw; ++kj)
                                {
                                    const long ih = long(i * c.stride[0] + ki * c.dilation[0]) - long(c.padding[0]);
                                    const long iw = long(j * c.stride[1] + kj * c.dilation[1]) - long(c.padding[1]);
                                    if (ih < 0 || iw < 0 || ih >= long(height) || iw >= long(width))
                                        continue;
                                    total +=
                                        w(o, ci, ki, kj) * x(n, group * c_group + ci, std::size_t(ih), std::size_t(iw));
                                }
                        y(n, o, i, j) = total;
                    }
        return y;
    }

    // x, w and, when the case has a bias, b: N(0, 1) leaves drawn from rng in that order.
    std::vector<Tensor<double>> random_inputs(const conv_case& c, Generator& rng)
    {
        std::vector<Tensor<double>> inputs{randn<double>(c.input, rng, true), randn<double>(c.weight, rng, true)};
        if (c.bias)
            inputs.push_back(randn<double>({c.weight[0]}, rng, true));
        return inputs;
    }

    // The case's conv2d of random_inputs(c, ...).
    Tensor<double> conv_of(const std::vector<Tensor<double>>& in, const conv_case& c)
    {
        return conv2d(in[0], in[1], c.bias ? in[2] : Tensor<double>(), c.stride, c.padding, c.dilation, c.groups);
    }

    const std::vector<conv_case> forward_cases{
        {{2, 3, 7, 9}, {4, 3, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true},
        {{2, 3, 7, 9}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, false},
        {{3, 2, 11, 10}, {5, 2, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, true},
        {{1, 4, 9, 13}, {6, 2, 2, 3}, {1, 2}, {1, 0}, {2, 1}, 2, true},
        {{2, 3, 12, 12}, {2, 3, 3, 3}, {1, 1}, {2, 2}, {2, 2}, 1, true},
        {{4, 6, 5, 5}, {6, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 6, true},   // depthwise
        {{3, 8, 6, 7}, {5, 8, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, true},   // pointwise: no im2col
        {{2, 4, 6, 7}, {6, 2, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 2, false},
        {{2, 4, 7, 7}, {4, 4, 1, 1}, {2, 2}, {0, 0}, {1, 1}, 1, true},   // strided 1×1
        {{5, 1, 8, 8}, {3, 1, 5, 1}, {3, 1}, {2, 0}, {1, 1}, 1, true},   // tall kernel
        {{1, 2, 3, 3}, {2, 2, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true},   // output 1×1
        {{2, 2, 4, 5}, {3, 2, 4, 5}, {1, 1}, {3, 3}, {1, 1}, 1, true},   // padding larger than half the kernel
    };
}

TEST_CASE_TEMPLATE("conv2d: forward matches the direct convolution", T, float, double)
{
    Generator rng(7);
    for (std::size_t threads : {1, 2})
    {
        set_num_threads(threads);
        for (const auto& c : forward_cases)
        {
            INFO(describe(c), " threads ", threads);
            const auto x = randn<T>(c.input, rng);
            const auto w = randn<T>(c.weight, rng);
            const auto b = c.bias ? randn<T>({c.weight[0]}, rng) : Tensor<T>();
            const auto y = conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
            const xt::xarray<T> expected = direct_conv2d(x.value(), w.value(), c.bias ? &b.value() : nullptr, c);
            REQUIRE(y.shape() == Shape(expected.shape().begin(), expected.shape().end()));
            const T tolerance = std::is_same<T, float>::value ? T(1e-4) : T(1e-12);
            CHECK(xt::allclose(y.value(), expected, tolerance, tolerance));
        }
    }
    set_num_threads(2);
}

TEST_CASE("conv2d: the size_t overload means the same stride, padding and dilation on both dims")
{
    Generator rng(3);
    const auto x = randn<double>({2, 2, 9, 9}, rng);
    const auto w = randn<double>({3, 2, 3, 3}, rng);
    const auto b = randn<double>({3}, rng);
    const auto y = conv2d(x, w, b, 2, 1, 2);
    const auto expected = conv2d(x, w, b, Size2{2, 2}, Size2{1, 1}, Size2{2, 2});
    CHECK(y.shape() == Shape{2, 3, 4, 4});
    CHECK(xt::allclose(y.value(), expected.value()));
    CHECK(conv2d(x, w).shape() == Shape{2, 3, 7, 7});
}

TEST_CASE("conv2d: gradients of input, weight and bias match finite differences")
{
    Generator rng(11);
    const std::vector<conv_case> cases{
        {{2, 2, 5, 6}, {3, 2, 3, 2}, {1, 1}, {1, 0}, {1, 1}, 1, true},
        {{1, 4, 7, 6}, {4, 2, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 2, true},
        {{2, 2, 7, 7}, {2, 2, 2, 3}, {1, 2}, {2, 1}, {2, 2}, 1, true},
        {{2, 3, 4, 4}, {2, 3, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, false},
    };
    for (std::size_t threads : {1, 2})
    {
        set_num_threads(threads);
        for (const auto& c : cases)
        {
            INFO(describe(c), " threads ", threads);
            CHECK(gradcheck([&](const std::vector<Tensor<double>>& in) { return conv_of(in, c); },
                            random_inputs(c, rng)));
        }
    }
    set_num_threads(2);
}

TEST_CASE("conv2d: second derivatives match finite differences")
{
    Generator rng(13);
    const std::vector<conv_case> cases{
        {{1, 2, 5, 5}, {2, 2, 3, 3}, {2, 1}, {1, 1}, {1, 1}, 1, true},
        {{2, 4, 4, 5}, {2, 2, 2, 2}, {1, 1}, {0, 1}, {2, 1}, 2, false},
    };
    for (const auto& c : cases)
    {
        INFO(describe(c));
        // A square makes the second derivatives depend on the values, not only on the structure.
        CHECK(gradgradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                auto y = conv_of(in, c);
                return mul(y, y);
            },
            random_inputs(c, rng)));
    }
}

TEST_CASE("conv2d_input_grad and conv2d_weight_grad are differentiable in both arguments")
{
    Generator rng(17);
    const Shape input_shape{2, 2, 6, 5};
    const Shape weight_shape{3, 2, 3, 2};
    auto dy = randn<double>({2, 3, 3, 3}, rng, true);
    auto w = randn<double>(weight_shape, rng, true);
    auto x = randn<double>(input_shape, rng, true);
    CHECK(gradcheck(
        [&](const std::vector<Tensor<double>>& in) {
            return conv2d_input_grad(in[0], in[1], input_shape, Size2{2, 2}, Size2{1, 1});
        },
        {dy, w}));
    CHECK(gradcheck(
        [&](const std::vector<Tensor<double>>& in) {
            return conv2d_weight_grad(in[0], in[1], weight_shape, Size2{2, 2}, Size2{1, 1});
        },
        {x, dy}));
}

TEST_CASE("conv2d: a Hessian-vector product of a small convolutional net")
{
    // Two convolutions with a square between them: the second derivatives mix every input.
    Generator rng(19);
    auto x = randn<double>({1, 1, 6, 6}, rng, true);
    auto w1 = randn<double>({2, 1, 3, 3}, rng, true);
    auto w2 = randn<double>({1, 2, 2, 2}, rng, true);
    CHECK(gradgradcheck(
        [&](const std::vector<Tensor<double>>& in) {
            const auto hidden = conv2d(in[0], in[1], Tensor<double>(), 1, 1);
            return conv2d(mul(hidden, hidden), in[2], Tensor<double>(), 2);
        },
        {x, w1, w2}));
}

TEST_CASE("conv2d: errors name the op and the shapes")
{
    const auto x = zeros<float>({1, 4, 8, 8});
    const auto w = zeros<float>({6, 2, 3, 3});
    auto message = [](auto&& call) {
        try
        {
            call();
        }
        catch (const error& e)
        {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THROWS_AS(conv2d(zeros<float>({28, 28}), w), shape_error);
    CHECK(message([&] { conv2d(zeros<float>({28, 28}), w); }) == "conv2d: input must be 4-D NCHW, got shape (28, 28)");
    CHECK_THROWS_AS(conv2d(x, zeros<float>({6, 2, 3})), shape_error);
    CHECK_THROWS_AS(conv2d(x, w), shape_error);   // 4 channels, weight expects 2 × 1
    CHECK(message([&] { conv2d(x, w); }).find("(1, 4, 8, 8)") != std::string::npos);
    CHECK_NOTHROW(conv2d(x, w, Tensor<float>(), 1, 0, 1, 2));
    CHECK_THROWS_AS(conv2d(x, w, Tensor<float>(), 1, 0, 1, 3), value_error);   // 3 divides neither
    CHECK_THROWS_AS(conv2d(x, zeros<float>({5, 2, 3, 3}), Tensor<float>(), 1, 0, 1, 2), value_error);
    CHECK_THROWS_AS(conv2d(x, w, Tensor<float>(), 1, 0, 1, 0), value_error);
    CHECK_THROWS_AS(conv2d(x, w, Tensor<float>(), 0, 0, 1, 2), value_error);   // zero stride
    CHECK_THROWS_AS(conv2d(x, w, Tensor<float>(), 1, 0, 0, 2), value_error);   // zero dilation
    CHECK_THROWS_AS(conv2d(x, zeros<float>({6, 2, 9, 3}), Tensor<float>(), 1, 0, 1, 2), shape_error);
    CHECK_NOTHROW(conv2d(x, zeros<float>({6, 2, 9, 3}), Tensor<float>(), 1, 1, 1, 2));   // fits once padded
    CHECK_THROWS_AS(conv2d(x, zeros<float>({6, 2, 3, 3}), Tensor<float>(), 1, 0, 4, 2), shape_error);
    CHECK(message([&] {
              conv2d(x, zeros<float>({6, 2, 9, 3}), Tensor<float>(), 1, 0, 1, 2);
          }).find("larger than the padded input") != std::string::npos);
    CHECK_THROWS_AS(conv2d(x, w, zeros<float>({5}), 1, 0, 1, 2), shape_error);   // bias size
    CHECK_THROWS_AS(
        conv2d_input_grad(zeros<float>({1, 6, 5, 5}), w, Shape{1, 4, 8, 8}, Size2{1, 1}, Size2{0, 0}, Size2{1, 1}, 2),
        shape_error);   // grad_output should be (1, 6, 6, 6)
}

namespace
{
    // A transposed convolution: x (N, C_in, H, W), weight (C_in, C_out / groups, kh, kw), and its settings.
    struct transposed_case
    {
        Shape input, weight;
        Size2 stride, padding, output_padding;
        std::size_t groups;
        Size2 dilation;
        bool bias;
    };

    std::vector<Tensor<double>> random_inputs(const transposed_case& c, Generator& rng)
    {
        std::vector<Tensor<double>> inputs{randn<double>(c.input, rng, true), randn<double>(c.weight, rng, true)};
        if (c.bias)
            inputs.push_back(randn<double>({c.weight[1] * c.groups}, rng, true));
        return inputs;
    }

    Tensor<double> conv_transpose_of(const std::vector<Tensor<double>>& in, const transposed_case& c)
    {
        return conv_transpose2d(in[0], in[1], c.bias ? in[2] : Tensor<double>(), c.stride, c.padding,
                                c.output_padding, c.groups, c.dilation);
    }

    const std::vector<transposed_case> transposed_cases{
        {{2, 2, 3, 4}, {2, 3, 3, 2}, {1, 1}, {0, 0}, {0, 0}, 1, {1, 1}, true},
        {{1, 4, 3, 3}, {4, 2, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 2, {1, 1}, true},    // stride, padding, groups
        {{2, 2, 3, 3}, {2, 2, 2, 3}, {1, 2}, {1, 0}, {1, 1}, 1, {2, 1}, true},    // output_padding = stride < dilation
        {{1, 2, 4, 3}, {2, 1, 2, 2}, {2, 1}, {1, 0}, {1, 1}, 2, {2, 2}, false},   // the last column reached by no input
    };
}

TEST_CASE("conv_transpose2d is conv2d's input gradient: <conv_transpose2d(x, W), y> = <x, conv2d(y, W)>")
{
    Generator rng(23);
    // stride 2, padding 1, output_padding 1, groups 2: y (1, 6, 6, 6) convolves back to x's (1, 4, 3, 3)
    const auto x = randn<double>({1, 4, 3, 3}, rng);
    const auto w = randn<double>({4, 3, 3, 3}, rng);
    const auto y = randn<double>({1, 6, 6, 6}, rng);
    const auto transposed = conv_transpose2d(x, w, Tensor<double>(), 2, 1, 1, 2);
    REQUIRE(transposed.shape() == Shape{1, 6, 6, 6});
    const double lhs = sum(mul(transposed, y)).item();
    const double rhs = sum(mul(x, conv2d(y, w, Tensor<double>(), 2, 1, 1, 2))).item();
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
    const auto b = randn<double>({6}, rng);
    CHECK(xt::allclose(conv_transpose2d(x, w, b, 2, 1, 1, 2).value(),
                       add(transposed, reshape(b, Dims{1, 6, 1, 1})).value()));
}

TEST_CASE("conv_transpose2d: output sizes follow PyTorch's formula")
{
    const auto w = zeros<double>({2, 3, 3, 3});
    // (H - 1)·s - 2p + d·(k - 1) + output_padding + 1
    CHECK(conv_transpose2d(zeros<double>({1, 2, 4, 5}), w).shape() == Shape{1, 3, 6, 7});
    CHECK(conv_transpose2d(zeros<double>({1, 2, 4, 5}), w, Tensor<double>(), 2, 1, 1).shape() == Shape{1, 3, 8, 10});
    CHECK(conv_transpose2d(zeros<double>({1, 2, 4, 5}), w, Tensor<double>(), 1, 0, 1, 1, 2).shape() ==
          Shape{1, 3, 9, 10});
    CHECK(conv_transpose2d(zeros<double>({1, 2, 4, 5}), w, Tensor<double>(), Size2{3, 1}, Size2{0, 1}, Size2{2, 0})
              .shape() == Shape{1, 3, 14, 5});
}

TEST_CASE("conv_transpose2d: gradients and second derivatives of input, weight and bias match finite differences")
{
    Generator rng(29);
    for (const auto& c : transposed_cases)
    {
        INFO("input " << shape_string(c.input) << " weight " << shape_string(c.weight) << " stride "
                      << shape_string(c.stride) << " output_padding " << shape_string(c.output_padding)
                      << " dilation " << shape_string(c.dilation) << " groups " << c.groups);
        CHECK(gradcheck([&](const std::vector<Tensor<double>>& in) { return conv_transpose_of(in, c); },
                        random_inputs(c, rng)));
        CHECK(gradgradcheck(
            [&](const std::vector<Tensor<double>>& in) {
                auto y = conv_transpose_of(in, c);
                return mul(y, y);
            },
            random_inputs(c, rng)));
    }
}

TEST_CASE("conv1d and conv_transpose1d: gradients match finite differences (stride 2, padding, dilation 2, groups 2)")
{
    Generator rng(31);
    auto x = randn<double>({2, 4, 9}, rng, true);
    auto w = randn<double>({6, 2, 3}, rng, true);
    auto b = randn<double>({6}, rng, true);
    CHECK(conv1d(x, w, b, 2, 1, 2, 2).shape() == Shape{2, 6, 4});
    CHECK(gradcheck([](const std::vector<Tensor<double>>& in) { return conv1d(in[0], in[1], in[2], 2, 1, 2, 2); },
                    {x, w, b}));
    CHECK(gradgradcheck(
        [](const std::vector<Tensor<double>>& in) {
            auto y = conv1d(in[0], in[1], in[2], 1, 1);
            return mul(y, y);
        },
        {x, randn<double>({3, 4, 2}, rng, true), randn<double>({3}, rng, true)}));

    auto s = randn<double>({2, 4, 5}, rng, true);
    auto wt = randn<double>({4, 1, 3}, rng, true);
    auto bt = randn<double>({2}, rng, true);
    // (5 - 1)·2 - 2 + 2·2 + 1 + 1
    CHECK(conv_transpose1d(s, wt, bt, 2, 1, 1, 2, 2).shape() == Shape{2, 2, 12});
    CHECK(gradcheck(
        [](const std::vector<Tensor<double>>& in) { return conv_transpose1d(in[0], in[1], in[2], 2, 1, 1, 2, 2); },
        {s, wt, bt}));
    CHECK(gradcheck(
        [](const std::vector<Tensor<double>>& in) { return conv_transpose1d(in[0], in[1], in[2], 1, 1, 1, 2, 2); },
        {s, wt, bt}));   // output_padding 1 reaches the stride 1, below the dilation 2
}

TEST_CASE("conv1d is conv2d on a row of height 1")
{
    Generator rng(37);
    const auto x = randn<double>({2, 3, 8}, rng);
    const auto w = randn<double>({4, 3, 3}, rng);
    const auto b = randn<double>({4}, rng);
    const auto expected = conv2d(unsqueeze(x, 2), unsqueeze(w, 2), b, Size2{1, 2}, Size2{0, 1}, Size2{1, 1});
    CHECK(xt::allclose(conv1d(x, w, b, 2, 1).value(), squeeze(expected, 2).value()));
}

TEST_CASE("conv_transpose2d, conv1d, conv_transpose1d: errors with the exception PyTorch's checks map to")
{
    const auto x = zeros<float>({1, 4, 5, 5});
    const auto w = zeros<float>({4, 3, 3, 3});
    CHECK_NOTHROW(conv_transpose2d(x, w, Tensor<float>(), 2, 1, 1, 2));
    CHECK_THROWS_AS(conv_transpose2d(zeros<float>({4, 5, 5}), w), shape_error);            // rank
    CHECK_THROWS_AS(conv_transpose2d(x, zeros<float>({4, 3, 3})), shape_error);            // weight rank
    CHECK_THROWS_AS(conv_transpose2d(zeros<float>({1, 3, 5, 5}), w), shape_error);         // channels
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 1, 0, 0, 3), value_error);     // 3 does not divide 4
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 1, 0, 0, 0), value_error);     // groups 0
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 2, 1, 2), value_error);        // output_padding = stride
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 1, 0, 1), value_error);        // and not below dilation
    CHECK_NOTHROW(conv_transpose2d(x, w, Tensor<float>(), 1, 0, 1, 1, 2));                 // below dilation 2
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 0), value_error);              // stride 0
    CHECK_THROWS_AS(conv_transpose2d(x, w, Tensor<float>(), 1, 0, 0, 1, 0), value_error);  // dilation 0
    CHECK_THROWS_AS(conv_transpose2d(x, w, zeros<float>({6})), shape_error);               // bias size
    CHECK_THROWS_AS(conv_transpose2d(zeros<float>({1, 4, 1, 1}), w, Tensor<float>(), 1, 2), shape_error);   // no output
    CHECK_THROWS_AS(conv1d(zeros<float>({4, 9}), zeros<float>({2, 4, 3})), shape_error);
    CHECK_THROWS_AS(conv1d(zeros<float>({1, 4, 9}), zeros<float>({2, 4, 1, 3})), shape_error);
    CHECK_THROWS_AS(conv1d(zeros<float>({1, 4, 9}), zeros<float>({2, 3, 3})), shape_error);            // channels
    CHECK_THROWS_AS(conv1d(zeros<float>({1, 4, 9}), zeros<float>({3, 2, 3}), Tensor<float>(), 1, 0, 1, 2),
                    value_error);   // 2 groups do not divide 3 output channels
    CHECK_THROWS_AS(conv_transpose1d(zeros<float>({1, 4, 9}), zeros<float>({4, 2, 3}), Tensor<float>(), 2, 0, 2),
                    value_error);
    CHECK_THROWS_AS(conv_transpose1d(zeros<float>({4, 9}), zeros<float>({4, 2, 3})), shape_error);
}
