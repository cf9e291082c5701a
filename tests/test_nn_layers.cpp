// Layers and their ops: gradients of layer_norm, batch_norm and embedding against finite differences,
// dropout, batch norm's running statistics, nn::init, the L1/L2 penalties, and the shape errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <xgrad/xgrad.hpp>
#include <xtensor/xview.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;

namespace
{
    template <class T>
    double mean_of(const xt::xarray<T>& a) { return static_cast<double>(xt::mean(a)()); }
    template <class T>
    double std_of(const xt::xarray<T>& a)
    {
        const double m = mean_of(a);
        double s = 0;
        for (auto v : a)
            s += (v - m) * (v - m);
        return std::sqrt(s / static_cast<double>(a.size()));
    }
}

TEST_CASE("layer_norm: gradients and second derivatives match finite differences")
{
    const auto x = normal_leaf({2, 3, 4}, 1, 2.0, 0.5);
    const auto weight = normal_leaf({4}, 2, 0.5, 1.0), bias = normal_leaf({4}, 3);
    const auto f = [](const Inputs& in) { return layer_norm(in[0], {4}, in[1], in[2]); };
    check_derivatives(f, Inputs{x, weight, bias});
    // Over the two trailing dims, without affine parameters; with only a weight; with a row of one value.
    const auto g = [](const Inputs& in) { return layer_norm(in[0], {3, 4}); };
    check_derivatives(g, Inputs{x});
    const auto h = [](const Inputs& in) { return layer_norm(in[0], {4}, in[1]); };
    check_derivatives(h, Inputs{x, weight});
    const auto one_wide = [](const Inputs& in) { return layer_norm(in[0], {1}, Tensor<double>(), in[1]); };
    check_derivatives(one_wide, Inputs{normal_leaf({5, 1}, 4), normal_leaf({1}, 5)});
    // A weight that needs no gradient gets none; the others still do.
    const Tensor<double> frozen = weight.detach();
    const auto grads = grad({sum(mul(layer_norm(x, {4}, frozen, bias), x))}, {x, bias});
    CHECK(grads[0].shape() == x.shape());
    CHECK(grads[1].shape() == Shape{4});

    // The values: each row has mean 0 and (biased) variance 1 before the affine step.
    const auto y = layer_norm(x, {4}).value();
    const xt::xarray<double> row_mean = xt::mean(y, {2});
    const xt::xarray<double> row_var = xt::mean(y * y, {2});
    CHECK(xt::allclose(row_mean, 0.0, 1e-12, 1e-12));
    CHECK(xt::allclose(row_var, 1.0, 1e-4));
}

TEST_CASE("batch_norm in training: gradients match finite differences, (N, C), (N, C, L) and (N, C, H, W)")
{
    for (const Shape& shape : {Shape{5, 3}, Shape{2, 3, 4}, Shape{2, 3, 2, 3}})
    {
        INFO(shape_string(shape));
        const auto x = normal_leaf(shape, 4, 1.5, 0.3);
        const auto weight = normal_leaf({3}, 5, 0.5, 1.0), bias = normal_leaf({3}, 6);
        const auto f = [](const Inputs& in) {
            return batch_norm(in[0], Tensor<double>(), Tensor<double>(), in[1], in[2], true);
        };
        CHECK(gradcheck(f, Inputs{x, weight, bias}));
    }
    const auto x = normal_leaf({4, 2, 3}, 7);
    CHECK(gradgradcheck([](const Inputs& in) { return batch_norm(in[0], Tensor<double>(), Tensor<double>()); },
                        Inputs{x}));
}

TEST_CASE("batch_norm: running statistics update with momentum and unbiased variance; eval uses them")
{
    const auto x = normal_leaf({6, 2, 3}, 8, 2.0, 1.0);
    Tensor<double> running_mean(xt::xarray<double>{0.5, -0.5}), running_var(xt::xarray<double>{2.0, 0.5});
    const auto weight = normal_leaf({2}, 9, 0.3, 1.0), bias = normal_leaf({2}, 10);
    const double momentum = 0.2, eps = 1e-5;

    const xt::xarray<double> batch_mean = xt::mean(x.value(), {0, 2});
    xt::xarray<double> unbiased_var = xt::zeros<double>({2});
    for (std::size_t c = 0; c < 2; ++c)
    {
        double s = 0;
        for (std::size_t n = 0; n < 6; ++n)
            for (std::size_t l = 0; l < 3; ++l)
                s += std::pow(x.value()(n, c, l) - batch_mean(c), 2);
        unbiased_var(c) = s / 17.0;
    }
    const xt::xarray<double> expected_mean = 0.8 * xt::xarray<double>{0.5, -0.5} + 0.2 * batch_mean;
    const xt::xarray<double> expected_var = 0.8 * xt::xarray<double>{2.0, 0.5} + 0.2 * unbiased_var;

    const auto y = batch_norm(x, running_mean, running_var, weight, bias, true, momentum, eps);
    CHECK(xt::allclose(running_mean.value(), expected_mean, 1e-12));
    CHECK(xt::allclose(running_var.value(), expected_var, 1e-12));
    const xt::xarray<double> trained_mean = running_mean.value(), trained_var = running_var.value();
    // Training normalises with the batch's own (biased) statistics.
    for (std::size_t c = 0; c < 2; ++c)
    {
        const xt::xarray<double> channel = xt::view(y.value(), xt::all(), c, xt::all());
        CHECK(mean_of(channel) == doctest::Approx(bias.value()(c)).epsilon(1e-9));
        CHECK(std_of(channel) == doctest::Approx(std::abs(weight.value()(c))).epsilon(1e-4));
    }

    // Eval: (x - running_mean) / sqrt(running_var + eps) * weight + bias, statistics untouched.
    const auto z = batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps);
    CHECK(running_mean.value() == trained_mean);
    CHECK(running_var.value() == trained_var);
    for (std::size_t n = 0; n < 6; ++n)
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t l = 0; l < 3; ++l)
                CHECK(z.value()(n, c, l) ==
                      doctest::Approx((x.value()(n, c, l) - expected_mean(c)) / std::sqrt(expected_var(c) + eps) *
                                          weight.value()(c) + bias.value()(c)).epsilon(1e-12));
    // Eval is per-sample: gradcheck through the running statistics' normalisation.
    CHECK(gradcheck([&](const Inputs& in) { return batch_norm(in[0], running_mean, running_var, in[1], in[2], false); },
                    Inputs{x, weight, bias}));
    CHECK_THROWS_AS(batch_norm(x, Tensor<double>(), Tensor<double>(), weight, bias, false), value_error);
    CHECK_THROWS_AS(batch_norm(normal_leaf({1, 2}, 1), running_mean, running_var), value_error);   // one value per channel
}

TEST_CASE("BatchNorm2d module: training updates the buffers, eval freezes them")
{
    nn::BatchNorm2d<double> norm(3, 1e-5, 0.1);
    const auto x = normal_leaf({4, 3, 2, 2}, 11, 3.0, 2.0);
    norm(x);
    const xt::xarray<double> batch_mean = xt::mean(x.value(), {0, 2, 3});
    CHECK(xt::allclose(norm.running_mean.value(), 0.1 * batch_mean, 1e-12));
    const auto mean_after_training = norm.running_mean.value();
    const auto var_after_training = norm.running_var.value();
    norm.eval();
    const auto y1 = norm(x).value();
    const auto y2 = norm(x).value();
    CHECK(y1 == y2);
    CHECK(norm.running_mean.value() == mean_after_training);
    CHECK(norm.running_var.value() == var_after_training);
}

TEST_CASE("embedding: rows picked by index, gradient w.r.t. weight accumulates over repeats")
{
    const auto weight = normal_leaf({5, 3}, 12);
    const IndexArray ids{{0, 4, 4}, {2, 0, 1}};
    const auto y = embedding(ids, weight);
    CHECK(y.shape() == Shape{2, 3, 3});
    CHECK(xt::view(y.value(), 0, 1, xt::all()) == xt::view(weight.value(), 4, xt::all()));
    CHECK(gradcheck([&](const Inputs& in) { return embedding(ids, in[0]); }, Inputs{weight}));

    sum(y).backward();
    const xt::xarray<double> counts = {2, 1, 1, 0, 2};
    for (std::size_t row = 0; row < 5; ++row)
        for (std::size_t d = 0; d < 3; ++d)
            CHECK(weight.grad()(row, d) == counts(row));

    nn::Embedding<double> layer(5, 3);
    CHECK(layer(ids).shape() == Shape{2, 3, 3});
    CHECK(layer(Tensor<double>(xt::xarray<double>{1, 3})).value() == layer(IndexArray{1, 3}).value());
    CHECK_THROWS_AS(layer(IndexArray{0, 5}), value_error);
    CHECK_THROWS_AS(layer(IndexArray{-1}), value_error);
    CHECK_THROWS_AS(embedding(ids, normal_leaf({5}, 1)), shape_error);
}

TEST_CASE("embedding with padding_idx: the padding row keeps its value and gets no gradient, as PyTorch's")
{
    const auto weight = normal_leaf({5, 3}, 13);
    const IndexArray ids{{0, 4, 4}, {2, 0, 1}};
    const auto y = embedding(ids, weight, 4);
    CHECK(y.value() == embedding(ids, weight).value());   // the same rows
    // The masked gradient is not the derivative where the padding id occurs (on purpose); with a padding id
    // the batch does not use, it must be the derivative exactly, to first and second order.
    CHECK(gradcheck([&](const Inputs& in) { return embedding(ids, in[0], 3); }, Inputs{weight}));
    CHECK(gradgradcheck([&](const Inputs& in) {
        const auto rows = embedding(ids, in[0], -2);
        return mul(rows, rows);   // its gradient depends on the weight: a second derivative to check
    }, Inputs{weight}));

    sum(y).backward();
    const xt::xarray<double> counts = {2, 1, 1, 0, 0};   // row 4 appears twice but is the padding row
    for (std::size_t row = 0; row < 5; ++row)
        for (std::size_t d = 0; d < 3; ++d)
            CHECK(weight.grad()(row, d) == counts(row));
    CHECK_THROWS_AS(embedding(ids, weight, 5), value_error);
    CHECK_THROWS_AS(embedding(ids, weight, -6), value_error);

    nn::Embedding<double> layer(5, 3, -2);   // row 3
    REQUIRE(layer.padding_idx() == std::int64_t(3));
    CHECK(xt::all(xt::equal(xt::view(layer.weight.value(), 3, xt::all()), 0.0)));
    CHECK(xt::any(xt::not_equal(xt::view(layer.weight.value(), 2, xt::all()), 0.0)));
    CHECK(layer.extra_repr() == "5, 3, padding_idx=3");
    sum(layer(IndexArray{3, 3, 1})).backward();
    CHECK(xt::all(xt::equal(xt::view(layer.weight.grad(), 3, xt::all()), 0.0)));
    CHECK(xt::all(xt::equal(xt::view(layer.weight.grad(), 1, xt::all()), 1.0)));
    CHECK_THROWS_AS(nn::Embedding<double>(5, 3, 5), value_error);
}

TEST_CASE("dropout: identity in eval, zeros a fraction p in training and scales survivors by 1/(1-p)")
{
    const Tensor<float> x(xt::ones<float>({200, 500}), true);
    CHECK(dropout(x, 0.3, false).value() == x.value());
    CHECK(dropout(x, 0.0, true).value() == x.value());
    CHECK(xt::all(xt::equal(dropout(x, 1.0, true).value(), 0.f)));

    for (double p : {0.1, 0.5, 0.8})
    {
        INFO("p = " << p);
        Generator rng(42);
        const auto y = dropout(x, p, true, rng);
        std::size_t zeros = 0;
        bool survivors_scaled = true;
        for (auto v : y.value())
        {
            if (v == 0.f)
                ++zeros;
            else
                survivors_scaled = survivors_scaled && std::abs(v - float(1.0 / (1.0 - p))) < 1e-6f;
        }
        CHECK(survivors_scaled);
        CHECK(static_cast<double>(zeros) / static_cast<double>(x.numel()) == doctest::Approx(p).epsilon(0.02 / p));
        // The gradient is the same mask: dy/dx = m / (1 - p).
        x.zero_grad();
        sum(y).backward();
        CHECK(x.grad() == y.value());
    }

    // Seeded: the same seed gives the same mask, another seed another.
    Generator a(7), b(7), c(8);
    const auto ya = dropout(x, 0.5, true, a).value();
    CHECK(ya == dropout(x, 0.5, true, b).value());
    CHECK(ya != dropout(x, 0.5, true, c).value());
    manual_seed(123);
    const auto d1 = dropout(x, 0.5).value();
    manual_seed(123);
    CHECK(d1 == dropout(x, 0.5).value());

    CHECK_THROWS_AS(dropout(x, 1.5), value_error);
    CHECK_THROWS_AS(dropout(x, -0.1), value_error);
    CHECK_THROWS_AS(nn::Dropout<float>(2.0), value_error);

    nn::Dropout<float> layer(0.5);
    CHECK(layer(x).value() != x.value());
    layer.eval();
    CHECK(layer(x).value() == x.value());
}

TEST_CASE("nn::init: bounds and statistics of the PyTorch initialisers")
{
    Generator rng(2024);
    Tensor<double> w = zeros<double>({300, 200});   // fan_in 200, fan_out 300
    const double n = static_cast<double>(w.numel());

    SUBCASE("uniform and normal")
    {
        nn::init::uniform_(w, -0.5, 1.5, rng);
        CHECK(xt::amin(w.value())() >= -0.5);
        CHECK(xt::amax(w.value())() < 1.5);
        CHECK(mean_of(w.value()) == doctest::Approx(0.5).epsilon(0.02));
        nn::init::normal_(w, 3.0, 0.5, rng);
        CHECK(std::abs(mean_of(w.value()) - 3.0) < 5 * 0.5 / std::sqrt(n));
        CHECK(std_of(w.value()) == doctest::Approx(0.5).epsilon(0.02));
    }
    SUBCASE("zeros, ones, constant")
    {
        nn::init::ones_(w);
        CHECK(xt::all(xt::equal(w.value(), 1.0)));
        nn::init::zeros_(w);
        CHECK(xt::all(xt::equal(w.value(), 0.0)));
        nn::init::constant_(w, 0.25);
        CHECK(xt::all(xt::equal(w.value(), 0.25)));
    }
    SUBCASE("xavier: bound sqrt(6 / (fan_in + fan_out)), std sqrt(2 / (fan_in + fan_out))")
    {
        const double bound = std::sqrt(6.0 / 500.0);
        nn::init::xavier_uniform_(w, 1.0, rng);
        CHECK(xt::amax(xt::abs(w.value()))() <= bound);
        CHECK(xt::amax(xt::abs(w.value()))() > 0.99 * bound);
        CHECK(std_of(w.value()) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.02));
        nn::init::xavier_normal_(w, 2.0, rng);
        CHECK(std_of(w.value()) == doctest::Approx(2.0 * std::sqrt(2.0 / 500.0)).epsilon(0.02));
        CHECK(std::abs(mean_of(w.value())) < 5 * std_of(w.value()) / std::sqrt(n));
    }
    SUBCASE("kaiming: gain / sqrt(fan), fan_in or fan_out")
    {
        nn::init::kaiming_uniform_(w, 0.0, "fan_in", "relu", rng);
        const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 200.0);
        CHECK(xt::amax(xt::abs(w.value()))() <= bound);
        CHECK(xt::amax(xt::abs(w.value()))() > 0.99 * bound);
        nn::init::kaiming_normal_(w, 0.0, "fan_out", "relu", rng);
        CHECK(std_of(w.value()) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.02));
        nn::init::kaiming_normal_(w, 0.0, "fan_in", "relu", rng);
        CHECK(std_of(w.value()) == doctest::Approx(std::sqrt(2.0 / 200.0)).epsilon(0.02));
        CHECK_THROWS_AS(nn::init::kaiming_normal_(w, 0.0, "fan_sideways", "relu", rng), value_error);
    }
    SUBCASE("fans of a convolution weight and the gains")
    {
        const auto conv = zeros<double>({8, 4, 3, 3});
        CHECK(nn::init::fans(conv) == std::pair<std::size_t, std::size_t>{36, 72});
        CHECK_THROWS_AS(nn::init::fans(zeros<double>({5})), shape_error);
        CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
        CHECK(nn::init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
        CHECK(nn::init::calculate_gain("leaky_relu", 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
        CHECK_THROWS_AS(nn::init::calculate_gain("swish"), value_error);
    }
    SUBCASE("Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias")
    {
        nn::Linear<double> layer(400, 50);
        const double bound = 1.0 / 20.0;
        CHECK(xt::amax(xt::abs(layer.weight.value()))() <= bound);
        CHECK(xt::amax(xt::abs(layer.weight.value()))() > 0.99 * bound);
        CHECK(xt::amax(xt::abs(layer.bias.value()))() <= bound);
        CHECK(std_of(layer.weight.value()) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.03));
    }
}

TEST_CASE("l1_penalty and l2_penalty: values and gradients")
{
    const Tensor<double> a(xt::xarray<double>{{1.0, -2.0}, {0.5, -0.25}}, true);
    const Tensor<double> b(xt::xarray<double>{3.0}, true);
    const auto l1 = nn::l1_penalty(std::vector<Tensor<double>>{a, b}, 0.1);
    CHECK(l1.item() == doctest::Approx(0.1 * (1 + 2 + 0.5 + 0.25 + 3)));
    l1.backward();
    CHECK(xt::allclose(a.grad(), 0.1 * xt::sign(a.value())));
    CHECK(xt::allclose(b.grad(), xt::xarray<double>{0.1}));

    a.zero_grad();
    b.zero_grad();
    const auto l2 = nn::l2_penalty(std::vector<Tensor<double>>{a, b}, 0.1);
    CHECK(l2.item() == doctest::Approx(0.1 * (1 + 4 + 0.25 + 0.0625 + 9)));
    l2.backward();
    CHECK(xt::allclose(a.grad(), 0.2 * a.value()));
    CHECK(xt::allclose(b.grad(), 0.2 * b.value()));
    CHECK(gradcheck([](const Inputs& in) { return nn::l2_penalty(in, 0.3); }, Inputs{a, b}));

    CHECK(nn::l2_penalty(std::vector<Tensor<double>>{}, 1.0).item() == 0.0);
    CHECK_THROWS_AS(nn::l1_penalty(std::vector<Tensor<double>>{a}, -1.0), value_error);

    // weights(): the parameters named "...weight".
    nn::Sequential<double> model(nn::Linear<double>(3, 4), nn::ReLU<double>(), nn::Linear<double>(4, 2));
    const auto selected = nn::weights(model);
    REQUIRE(selected.size() == 2);
    CHECK(selected[0].node() == static_cast<nn::Linear<double>&>(model[0]).weight.node());
    CHECK(selected[1].node() == static_cast<nn::Linear<double>&>(model[2]).weight.node());
    const auto penalty = nn::l2_penalty(selected, 0.5);
    penalty.backward();
    CHECK(xt::allclose(selected[0].grad(), selected[0].value()));
    CHECK(!static_cast<nn::Linear<double>&>(model[0]).bias.has_grad());
}

TEST_CASE("layers reject wrong input ranks and feature counts with a shape_error naming the layer and shapes")
{
    nn::Linear<float> linear(4, 3);
    check_error<shape_error>([&] { linear(ones<float>({2, 5})); }, {"Linear", "(2, 5)", "4"});
    check_error<shape_error>([&] { linear(ones<float>({})); }, {"Linear", "()"});

    nn::LayerNorm<float> norm(5);
    check_error<shape_error>([&] { norm(ones<float>({2, 4})); }, {"LayerNorm", "(2, 4)", "(5,)"});
    check_error<shape_error>([&] { layer_norm(ones<float>({2, 4}), {5}); }, {"layer_norm", "(2, 4)"});

    nn::BatchNorm1d<float> bn1(3);
    check_error<shape_error>([&] { bn1(ones<float>({2, 4})); }, {"BatchNorm1d", "(2, 4)"});
    check_error<shape_error>([&] { bn1(ones<float>({2, 3, 4, 5})); }, {"BatchNorm1d", "(2, 3, 4, 5)"});
    check_error<shape_error>([&] { bn1(ones<float>({3})); }, {"BatchNorm1d", "(3,)"});
    nn::BatchNorm2d<float> bn2(3);
    check_error<shape_error>([&] { bn2(ones<float>({2, 3, 4})); }, {"BatchNorm2d", "(2, 3, 4)"});
    check_error<shape_error>([&] { bn2(ones<float>({2, 2, 4, 4})); }, {"BatchNorm2d", "(2, 2, 4, 4)"});
    check_error<shape_error>([&] { batch_norm(ones<float>({3}), Tensor<float>(), Tensor<float>()); },
                             {"batch_norm", "(3,)"});
    check_error<shape_error>([&] { batch_norm(ones<float>({2, 3}), zeros<float>({4}), ones<float>({4})); },
                             {"batch_norm", "(2, 3)", "(4,)"});

    nn::Sequential<float> model(nn::Linear<float>(4, 8), nn::ReLU<float>(), nn::Linear<float>(8, 2));
    check_error<shape_error>([&] { model(ones<float>({2, 3})); }, {"Linear", "(2, 3)"});

    CHECK_THROWS_AS(nn::Linear<float>(0, 3), value_error);
    CHECK_THROWS_AS(nn::Embedding<float>(0, 3), value_error);
}

TEST_CASE("Conv2dOptions chain on a temporary, straight into Conv2d, and every setting reaches the layer")
{
    static_assert(std::is_same_v<decltype(nn::Conv2dOptions().bias(false)), nn::Conv2dOptions&>);
    static_assert(std::is_same_v<decltype(nn::Conv2dOptions().stride(2)), nn::Conv2dOptions&>);
    nn::Conv2d<float> conv(2, 4, 3, nn::Conv2dOptions().stride(2).padding(1).dilation(2).groups(2).bias(false));
    CHECK(conv.extra_repr() == "2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2, bias=false");
    CHECK(conv.weight.shape() == Shape{4, 1, 3, 3});
    CHECK_FALSE(conv.bias.defined());
    CHECK(conv(zeros<float>({1, 2, 7, 7})).shape() == Shape{1, 4, 3, 3});

    nn::Conv2d<float> pairs(1, 1, Size2{1, 2}, nn::Conv2dOptions().stride(Size2{1, 2}).padding(Size2{0, 1}).dilation(Size2{1, 1}));
    CHECK(pairs.extra_repr() == "1, 1, kernel_size=(1, 2), stride=(1, 2), padding=(0, 1)");
    CHECK(pairs.bias.defined());
}

TEST_CASE("group_norm: gradients and second derivatives match finite differences; groups have mean 0, variance 1")
{
    const auto x = normal_leaf({2, 6, 3}, 6, 2.0, 0.5);
    const auto weight = normal_leaf({6}, 7, 0.5, 1.0), bias = normal_leaf({6}, 8);
    check_derivatives([](const Inputs& in) { return group_norm(in[0], 3, in[1], in[2]); }, Inputs{x, weight, bias});
    check_derivatives([](const Inputs& in) { return group_norm(in[0], 2); }, Inputs{normal_leaf({2, 4, 2, 3}, 9)});
    check_derivatives([](const Inputs& in) { return group_norm(in[0], 1, in[1]); }, Inputs{x, weight});

    // Groups of two channels: each sample's (2, 3) block has mean 0 and biased variance 1.
    const auto y = group_norm(x, 3).value();
    xt::xarray<double> grouped = y;
    grouped.reshape({2, 3, 6});
    CHECK(xt::allclose(xt::mean(grouped, {2}), 0.0, 1e-12, 1e-12));
    CHECK(xt::allclose(xt::mean(grouped * grouped, {2}), 1.0, 1e-4));
    // One group per channel on (N, C, L) is instance normalisation; all channels in one group is layer_norm.
    CHECK(xt::allclose(group_norm(x, 1).value(), layer_norm(x, {6, 3}).value()));
    check_error<value_error>([&] { group_norm(x, 4); }, {"group_norm", "4", "6"});
    check_error<shape_error>([&] { group_norm(x, 3, ones<double>({3})); }, {"group_norm", "(3,)"});
    check_error<shape_error>([&] { group_norm(ones<double>({6}), 3); }, {"group_norm", "(6,)"});
}

TEST_CASE("GroupNorm, ConvTranspose2d, Conv1d, ConvTranspose1d, MaxPool1d, AvgPool1d: PyTorch's parameters and "
          "checks")
{
    nn::GroupNorm<float> norm(2, 4);
    CHECK(norm.extra_repr() == "2, 4, eps=1e-05, affine=true");
    CHECK(xt::all(xt::equal(norm.weight.value(), 1.0f)));
    CHECK(xt::all(xt::equal(norm.bias.value(), 0.0f)));
    CHECK(norm(ones<float>({2, 4, 3})).shape() == Shape{2, 4, 3});
    CHECK(nn::GroupNorm<float>(2, 4, 1e-5, false).named_parameters().empty());
    CHECK_THROWS_AS(nn::GroupNorm<float>(3, 4), value_error);
    check_error<shape_error>([&] { norm(ones<float>({2, 3, 5})); }, {"GroupNorm", "(2, 3, 5)"});

    // Transposed weights are (in, out / groups, k...), and torch's fan_in is weight.size(1) · k...
    nn::ConvTranspose2d<float> up(4, 6, 3, nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1).groups(2));
    CHECK(up.weight.shape() == Shape{4, 3, 3, 3});
    CHECK(up.extra_repr() ==
          "4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2");
    const float bound = 1.0f / std::sqrt(27.0f);
    CHECK(xt::amax(xt::abs(up.weight.value()))() <= bound);
    CHECK(xt::amax(xt::abs(up.bias.value()))() <= bound);
    CHECK(up(zeros<float>({1, 4, 5, 5})).shape() == Shape{1, 6, 10, 10});
    check_error<shape_error>([&] { up(zeros<float>({1, 3, 5, 5})); }, {"ConvTranspose2d", "(1, 3, 5, 5)"});
    CHECK_THROWS_AS(nn::ConvTranspose2d<float>(4, 6, 3, nn::ConvTranspose2dOptions().groups(4)), value_error);
    nn::ConvTranspose2d<float> bad_padding(2, 2, 3, nn::ConvTranspose2dOptions().output_padding(1));
    CHECK_THROWS_AS(bad_padding(zeros<float>({1, 2, 4, 4})), value_error);   // output_padding ≥ stride and dilation

    nn::Conv1d<float> conv(4, 6, 3, nn::Conv1dOptions().stride(2).padding(1).dilation(2).groups(2).bias(false));
    CHECK(conv.weight.shape() == Shape{6, 2, 3});
    CHECK_FALSE(conv.bias.defined());
    CHECK(conv.extra_repr() == "4, 6, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, bias=false");
    CHECK(conv(zeros<float>({2, 4, 9})).shape() == Shape{2, 6, 4});
    check_error<shape_error>([&] { conv(zeros<float>({4, 9})); }, {"Conv1d", "(4, 9)"});
    check_error<shape_error>([&] { conv(zeros<float>({1, 5, 9})); }, {"Conv1d", "(1, 5, 9)"});
    CHECK_THROWS_AS(nn::Conv1d<float>(4, 6, 0), value_error);

    nn::ConvTranspose1d<float> up1(4, 2, 3, nn::ConvTranspose1dOptions().stride(2).output_padding(1).groups(2));
    CHECK(up1.weight.shape() == Shape{4, 1, 3});
    CHECK(up1.bias.shape() == Shape{2});
    CHECK(xt::amax(xt::abs(up1.weight.value()))() <= 1.0f / std::sqrt(3.0f));
    CHECK(up1(zeros<float>({2, 4, 5})).shape() == Shape{2, 2, 12});
    CHECK(up1.extra_repr() == "4, 2, kernel_size=(3,), stride=(2,), output_padding=(1,), groups=2");
    CHECK_THROWS_AS(nn::ConvTranspose1d<float>(3, 2, 3, nn::ConvTranspose1dOptions().groups(2)), value_error);

    nn::MaxPool1d<float> max_pool(3);
    CHECK(max_pool.extra_repr() == "kernel_size=3, stride=3, padding=0");
    CHECK(max_pool(zeros<float>({2, 3, 9})).shape() == Shape{2, 3, 3});
    nn::AvgPool1d<float> avg_pool(3, 2, 1);
    CHECK(avg_pool.extra_repr() == "kernel_size=3, stride=2, padding=1");
    CHECK(avg_pool(zeros<float>({2, 3, 9})).shape() == Shape{2, 3, 5});
    check_error<shape_error>([&] { avg_pool(zeros<float>({3, 9})); }, {"AvgPool1d", "(3, 9)"});
}
