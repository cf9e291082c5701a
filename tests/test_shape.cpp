// Ops that move elements (ops/shape.hpp and core/broadcast.hpp): reshape flatten squeeze unsqueeze permute
// transpose narrow index_select gather cat stack where masked_fill broadcast_to sum_to.  Values on small
// hand-checked cases, gradients and second derivatives against finite differences, and the errors.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xreducer.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using xgrad::Dims;
using xgrad::IndexArray;
using xgrad::Shape;
using xgrad::Tensor;
using xgrad_test::check_close;
using xgrad_test::check_error;
using xgrad_test::indices;
using xgrad_test::Inputs;
using xgrad_test::random_leaf;
using xgrad_test::shaped;

namespace
{
    xt::xarray<double> iota(const Shape& shape)
    {
        xt::xarray<double> result = xt::arange<double>(0., static_cast<double>(xgrad::detail::product(shape, 0, shape.size())));
        result.reshape(shape);
        return result;
    }

    // check_close at this file's tighter relative tolerance, 1e-14.
    void check_equal(const xt::xarray<double>& actual, const xt::xarray<double>& expected)
    {
        check_close(actual, expected, 1e-14);
    }

    // f and f squared pass gradcheck, and f squared passes gradgradcheck: squaring makes the first
    // derivative depend on x, so the second derivative runs through the backward rules' own backwards.
    void check_derivatives(const std::function<Tensor<double>(const Inputs&)>& f, const Inputs& inputs)
    {
        CHECK(xgrad::gradcheck(f, inputs));
        auto squared = [&](const Inputs& in) {
            const Tensor<double> y = f(in);
            return xgrad::mul(y, y);
        };
        CHECK(xgrad::gradcheck(squared, inputs));
        CHECK(xgrad::gradgradcheck(squared, inputs));
    }
}

TEST_CASE("reshape: explicit and inferred sizes, gradient has the input's shape")
{
    const Tensor<double> x(iota({2, 3, 4}));
    CHECK(xgrad::reshape(x, {4, 6}).shape() == Shape{4, 6});
    CHECK(xgrad::reshape(x, {-1, 2}).shape() == Shape{12, 2});
    CHECK(xgrad::reshape(x, {3, -1, 4}).shape() == Shape{3, 2, 4});
    CHECK(xgrad::reshape(x, {-1}).shape() == Shape{24});
    check_equal(xgrad::reshape(x, {6, 4}).value(), iota({6, 4}));   // row-major order kept
    CHECK(xgrad::reshape(Tensor<double>(shaped({5.}, {1, 1})), {}).shape() == Shape{});

    const Tensor<double> g = random_leaf({2, 3, 4}, 1);
    check_derivatives([](const Inputs& in) { return xgrad::reshape(in[0], {4, -1}); }, {g});
}

TEST_CASE("flatten, squeeze, unsqueeze")
{
    const Tensor<double> x(iota({2, 1, 3, 1}));
    CHECK(xgrad::flatten(x).shape() == Shape{6});
    CHECK(xgrad::flatten(x, 1).shape() == Shape{2, 3});
    CHECK(xgrad::flatten(x, 0, -2).shape() == Shape{6, 1});
    CHECK(xgrad::flatten(x, -3, 2).shape() == Shape{2, 3, 1});
    CHECK(xgrad::flatten(Tensor<double>(xt::xarray<double>(4.))).shape() == Shape{1});
    CHECK(xgrad::squeeze(x).shape() == Shape{2, 3});
    CHECK(xgrad::squeeze(x, 1).shape() == Shape{2, 3, 1});
    CHECK(xgrad::squeeze(x, -1).shape() == Shape{2, 1, 3});
    CHECK(xgrad::squeeze(x, 0).shape() == Shape{2, 1, 3, 1});   // not of size 1: unchanged, as PyTorch
    CHECK(xgrad::unsqueeze(x, 0).shape() == Shape{1, 2, 1, 3, 1});
    CHECK(xgrad::unsqueeze(x, 4).shape() == Shape{2, 1, 3, 1, 1});
    CHECK(xgrad::unsqueeze(x, -1).shape() == Shape{2, 1, 3, 1, 1});   // -1 is one past the last, as PyTorch
    CHECK(xgrad::unsqueeze(x, -2).shape() == Shape{2, 1, 3, 1, 1});
    CHECK(xgrad::unsqueeze(x, -5).shape() == Shape{1, 2, 1, 3, 1});

    const Tensor<double> g = random_leaf({2, 1, 3}, 2);
    check_derivatives([](const Inputs& in) { return xgrad::flatten(in[0]); }, {g});
    check_derivatives([](const Inputs& in) { return xgrad::squeeze(in[0], -2); }, {g});
    check_derivatives([](const Inputs& in) { return xgrad::unsqueeze(in[0], -1); }, {g});
}

TEST_CASE("permute and transpose: values and gradients")
{
    const Tensor<double> x(iota({2, 3, 4}));
    const Tensor<double> p = xgrad::permute(x, {2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 4; ++k)
                CHECK(p.value()(k, i, j) == x.value()(i, j, k));
    CHECK(xgrad::permute(x, {-1, -3, -2}).value() == p.value());
    const Tensor<double> t = xgrad::transpose(x, 0, -1);
    CHECK(t.shape() == Shape{4, 3, 2});
    CHECK(t.value()(3, 1, 0) == x.value()(0, 1, 3));
    check_equal(xgrad::transpose(Tensor<double>(xt::xarray<double>{{1., 2.}, {3., 4.}}), 0, 1).value(),
                xt::xarray<double>{{1., 3.}, {2., 4.}});

    const Tensor<double> g = random_leaf({2, 3, 4}, 3);
    check_derivatives([](const Inputs& in) { return xgrad::permute(in[0], {1, 2, 0}); }, {g});
    check_derivatives([](const Inputs& in) { return xgrad::transpose(in[0], -1, 1); }, {g});
}

TEST_CASE_TEMPLATE("permute equals xt::transpose, empty and size-1 dims included", T, float, double)
{
    const std::vector<std::pair<Shape, Dims>> cases{
        {{3, 4}, {1, 0}},          {{2, 3, 4}, {2, 0, 1}},          {{2, 3, 4}, {0, 2, 1}},
        {{4, 0, 3}, {2, 1, 0}},    {{1, 5, 1}, {2, 0, 1}},          {{32, 8, 4, 16}, {0, 2, 1, 3}},
        {{3, 17, 33}, {1, 2, 0}},  {{2, 3, 1, 7, 16}, {4, 1, 3, 0, 2}}, {{64, 300}, {1, 0}}};
    for (const auto& entry : cases)
    {
        const auto& shape = entry.first;
        const auto& dims = entry.second;
        INFO("shape " << xgrad::shape_string(shape) << " dims " << xgrad::shape_string(dims));
        const Tensor<T> x(xt::xarray<T>(xt::cast<T>(iota(shape))));
        const std::vector<std::size_t> order(dims.begin(), dims.end());
        const xt::xarray<T> expected = xt::transpose(x.value(), order);
        CHECK(xgrad::permute(x, dims).value() == expected);
    }
}

TEST_CASE("narrow: values, gradient placed back into zeros")
{
    const Tensor<double> x(iota({3, 4}));
    check_equal(xgrad::narrow(x, 1, 1, 2).value(), xt::xarray<double>{{1., 2.}, {5., 6.}, {9., 10.}});
    check_equal(xgrad::narrow(x, -2, 2, 1).value(), xt::xarray<double>{{8., 9., 10., 11.}});
    CHECK(xgrad::narrow(x, 0, 3, 0).shape() == Shape{0, 4});

    Tensor<double> g(iota({3, 4}), true);
    xgrad::backward(xgrad::sum(xgrad::narrow(g, 1, 1, 2)));
    check_equal(g.grad(), xt::xarray<double>{{0., 1., 1., 0.}, {0., 1., 1., 0.}, {0., 1., 1., 0.}});

    const Tensor<double> r = random_leaf({3, 4, 2}, 4);
    check_derivatives([](const Inputs& in) { return xgrad::narrow(in[0], -2, 1, 2); }, {r});
}

TEST_CASE("index_select: repeated indices accumulate their gradients")
{
    const Tensor<double> x(iota({3, 2}));
    check_equal(xgrad::index_select(x, 0, IndexArray{2, 0, 2}).value(),
                xt::xarray<double>{{4., 5.}, {0., 1.}, {4., 5.}});
    check_equal(xgrad::index_select(x, -1, IndexArray{1}).value(), shaped({1., 3., 5.}, {3, 1}));

    Tensor<double> g(iota({3, 2}), true);
    xgrad::backward(xgrad::sum(xgrad::index_select(g, 0, IndexArray{2, 0, 2})));
    check_equal(g.grad(), xt::xarray<double>{{1., 1.}, {0., 0.}, {2., 2.}});

    const Tensor<double> r = random_leaf({4, 3, 2}, 5);
    check_derivatives([](const Inputs& in) { return xgrad::index_select(in[0], 1, IndexArray{2, 2, 0, 1}); }, {r});
}

TEST_CASE("gather: values, an index smaller than the input, repeated positions")
{
    const Tensor<double> x(xt::xarray<double>{{1., 2., 3.}, {4., 5., 6.}, {7., 8., 9.}});
    // y[i][j] = x[i][index[i][j]]
    check_equal(xgrad::gather(x, 1, IndexArray{{2, 0}, {1, 1}}).value(), xt::xarray<double>{{3., 1.}, {5., 5.}});
    // y[i][j] = x[index[i][j]][j]
    check_equal(xgrad::gather(x, 0, IndexArray{{2, 1, 0}}).value(), xt::xarray<double>{{7., 5., 3.}});
    check_equal(xgrad::gather(x, -1, indices({0, 2, 1}, {3, 1})).value(), shaped({1., 6., 8.}, {3, 1}));

    Tensor<double> g(xt::xarray<double>{{1., 2., 3.}, {4., 5., 6.}, {7., 8., 9.}}, true);
    xgrad::backward(xgrad::sum(xgrad::gather(g, 1, IndexArray{{2, 0}, {1, 1}})));
    check_equal(g.grad(), xt::xarray<double>{{1., 0., 1.}, {0., 2., 0.}, {0., 0., 0.}});

    const Tensor<double> r = random_leaf({3, 4, 5}, 6);
    const IndexArray smaller{{{4, 0, 4}, {1, 1, 2}}, {{3, 3, 3}, {0, 2, 4}}};   // (2, 2, 3) into (3, 4, 5)
    check_derivatives([&](const Inputs& in) { return xgrad::gather(in[0], -1, smaller); }, {r});
    const IndexArray along0{{{2, 0}, {1, 1}, {0, 2}}};   // (1, 3, 2)
    check_derivatives([&](const Inputs& in) { return xgrad::gather(in[0], 0, along0); }, {r});
}

TEST_CASE("cat and stack")
{
    const Tensor<double> a(xt::xarray<double>{{1., 2.}}), b(xt::xarray<double>{{3., 4.}, {5., 6.}});
    check_equal(xgrad::cat({a, b}).value(), xt::xarray<double>{{1., 2.}, {3., 4.}, {5., 6.}});
    check_equal(xgrad::cat({b, b}, -1).value(), xt::xarray<double>{{3., 4., 3., 4.}, {5., 6., 5., 6.}});
    check_equal(xgrad::stack({b, b}, 0).value(), xt::xarray<double>{{{3., 4.}, {5., 6.}}, {{3., 4.}, {5., 6.}}});
    CHECK(xgrad::stack({b, b, b}, -1).shape() == Shape{2, 2, 3});
    CHECK(xgrad::stack({b, b, b}, 1).value()(1, 2, 0) == 5.);

    const Tensor<double> x = random_leaf({2, 1, 3}, 7), y = random_leaf({2, 4, 3}, 8), z = random_leaf({2, 2, 3}, 9);
    check_derivatives([](const Inputs& in) { return xgrad::cat(in, 1); }, {x, y, z});
    check_derivatives([](const Inputs& in) { return xgrad::cat(in, -2); }, {x, y, z});
    // the same tensor twice: both slabs' gradients add up
    Tensor<double> twice(xt::xarray<double>{1., 2.}, true);
    xgrad::backward(xgrad::sum(xgrad::mul(xgrad::cat({twice, twice}),
                                          Tensor<double>(xt::xarray<double>{1., 2., 3., 4.}))));
    check_equal(twice.grad(), xt::xarray<double>{4., 6.});
    // an input that needs no gradient is skipped
    const Tensor<double> constant(xt::xarray<double>(xt::ones<double>({2, 2, 3})));
    check_derivatives([&](const Inputs& in) { return xgrad::cat({in[0], constant, in[1]}, 1); }, {x, z});

    const Tensor<double> s = random_leaf({2, 3}, 10), t = random_leaf({2, 3}, 11), u = random_leaf({2, 3}, 12);
    check_derivatives([](const Inputs& in) { return xgrad::stack(in, 1); }, {s, t, u});
    check_derivatives([](const Inputs& in) { return xgrad::stack(in, -1); }, {s, t, u});
}

TEST_CASE("where: broadcasting condition and operands")
{
    const xt::xarray<bool> condition = shaped<bool>({true, false}, {2, 1});   // (2, 1)
    const Tensor<double> a(xt::xarray<double>{1., 2., 3.});   // (3)
    const Tensor<double> b(xt::xarray<double>(-1.));         // ()
    check_equal(xgrad::where(condition, a, b).value(), xt::xarray<double>{{1., 2., 3.}, {-1., -1., -1.}});
    check_equal(xgrad::where(xt::xarray<bool>{true, false, true}, a, 0.).value(), xt::xarray<double>{1., 0., 3.});
    check_equal(xgrad::where(xt::xarray<bool>{true, false, true}, 7., a).value(), xt::xarray<double>{7., 2., 7.});

    Tensor<double> ga(xt::xarray<double>{1., 2., 3.}, true), gb(xt::xarray<double>(-1.), true);
    xgrad::backward(xgrad::sum(xgrad::where(condition, ga, gb)));
    check_equal(ga.grad(), xt::xarray<double>{1., 1., 1.});
    CHECK(gb.grad()() == 3.);

    const Tensor<double> x = random_leaf({2, 1, 4}, 13), y = random_leaf({3, 1}, 14);
    const xt::xarray<bool> mask = xt::xarray<bool>{{true, false, false, true}, {false, true, true, true},
                                                   {false, false, true, false}};   // (3, 4)
    check_derivatives([&](const Inputs& in) { return xgrad::where(mask, in[0], in[1]); }, {x, y});
}

TEST_CASE("masked_fill: filled positions get no gradient")
{
    Tensor<double> x(xt::xarray<double>{{1., 2., 3.}, {4., 5., 6.}}, true);
    const xt::xarray<bool> mask{false, true, false};   // broadcast over rows
    const Tensor<double> y = xgrad::masked_fill(x, mask, -9.);
    check_equal(y.value(), xt::xarray<double>{{1., -9., 3.}, {4., -9., 6.}});
    CHECK(y.shape() == x.shape());
    xgrad::backward(xgrad::sum(y));
    check_equal(x.grad(), xt::xarray<double>{{1., 0., 1.}, {1., 0., 1.}});

    const Tensor<double> r = random_leaf({2, 3}, 15);
    check_derivatives([&](const Inputs& in) { return xgrad::masked_fill(in[0], mask, 0.5); }, {r});
}

TEST_CASE("broadcast_to and sum_to undo each other")
{
    const Tensor<double> x(shaped({1., 2.}, {2, 1}));   // (2, 1)
    check_equal(xgrad::broadcast_to(x, {3, 2, 2}).value(),
                xt::xarray<double>{{{1., 1.}, {2., 2.}}, {{1., 1.}, {2., 2.}}, {{1., 1.}, {2., 2.}}});
    check_equal(xgrad::sum_to(Tensor<double>(iota({3, 2, 2})), {2, 1}).value(), shaped({1. + 4 + 5 + 8 + 9, 0.}, {2, 1}) +
                                                                                      shaped({0., 2. + 3 + 6 + 7 + 10 + 11}, {2, 1}));
    CHECK(xgrad::sum_to(Tensor<double>(iota({2, 3})), {}).item() == 15.);

    const Tensor<double> r = random_leaf({3, 1}, 16);
    check_derivatives([](const Inputs& in) { return xgrad::broadcast_to(in[0], {2, 3, 4}); }, {r});
    const Tensor<double> s = random_leaf({2, 3, 4}, 17);
    check_derivatives([](const Inputs& in) { return xgrad::sum_to(in[0], {3, 1}); }, {s});
}

TEST_CASE_TEMPLATE("sum_to over leading dims (column sums) and trailing dims (row sums) agrees with xt::sum", T, float,
                   double)
{
    struct Case
    {
        Shape from, to;
        std::vector<std::size_t> axes;   // what xt::sum reduces
    };
    const std::vector<Case> cases{
        {{32, 16, 64}, {64}, {0, 1}},          {{32, 16, 64}, {16, 64}, {0}},        {{32, 16, 64}, {1, 16, 64}, {0}},
        {{32, 16, 64}, {1, 1, 64}, {0, 1}},    {{1024, 257}, {257}, {0}},            {{300, 3}, {1, 3}, {0}},
        {{32, 16, 64}, {32, 16, 1}, {2}},      {{32, 16, 64}, {32, 1, 1}, {1, 2}},   {{1000, 33}, {1000, 1}, {1}},
        {{32, 16, 64}, {1, 16, 1}, {0, 2}},    {{32, 16, 64}, {32, 1, 64}, {1}}};   // the last two: xtensor
    xgrad::Generator rng(19);
    for (std::size_t threads : {1, 2})
    {
        const std::size_t previous = xgrad::get_num_threads();
        xgrad::set_num_threads(threads);
        for (const auto& c : cases)
        {
            CAPTURE(threads);
            CAPTURE(xgrad::shape_string(c.from));
            CAPTURE(xgrad::shape_string(c.to));
            const Tensor<T> x = xgrad::rand<T>(c.from, rng, false, -1.0, 1.0);
            xt::xarray<T> want = xt::sum(x.value(), c.axes, xt::evaluation_strategy::immediate);
            want.reshape(c.to);
            // Sums of up to 512 terms in [-1, 1), in different orders: a few hundred eps apart at most.
            xgrad_test::check_close<T>(xgrad::sum_to(x, c.to).value(), want, std::is_same_v<T, float> ? 1e-4 : 1e-12);
        }
        xgrad::set_num_threads(previous);
    }
}

TEST_CASE("a chain of shape ops in float agrees with double")
{
    const Tensor<double> xd = random_leaf({2, 3, 4}, 18);
    const Tensor<float> xf(xt::xarray<float>(xt::cast<float>(xd.value())));
    auto chain = [](auto x) {
        using T = typename decltype(x)::value_type;
        auto y = xgrad::permute(xgrad::reshape(x, {3, 2, -1}), {2, 0, 1});
        y = xgrad::gather(xgrad::narrow(y, 0, 1, 3), 1, IndexArray{{{0, 1}, {2, 0}}, {{1, 1}, {0, 2}}, {{2, 2}, {1, 0}}});
        return xgrad::cat({xgrad::flatten(y), xgrad::masked_fill(xgrad::flatten(x), xt::xarray<bool>(xt::ones<bool>({1})), T(2))});
    };
    const auto yd = chain(xd).value();
    const auto yf = chain(xf).value();
    REQUIRE(yd.size() == yf.size());
    for (std::size_t i = 0; i < yd.size(); ++i)
        CHECK(static_cast<double>(yf.data()[i]) == doctest::Approx(yd.data()[i]).epsilon(1e-6));
}

TEST_CASE("shape ops: bad arguments throw shape_error or value_error naming the op and the shapes")
{
    const Tensor<double> x(iota({2, 3}));
    check_error<xgrad::shape_error>([&] { xgrad::reshape(x, {4, 2}); }, {"reshape", "(2, 3)", "(4, 2)", "6 elements"});
    check_error<xgrad::shape_error>([&] { xgrad::reshape(x, {4, -1}); }, {"reshape", "(2, 3)", "-1"});
    check_error<xgrad::value_error>([&] { xgrad::reshape(x, {-1, -1}); }, {"reshape", "-1"});
    check_error<xgrad::value_error>([&] { xgrad::reshape(x, {-2, 3}); }, {"reshape", "-2"});
    check_error<xgrad::value_error>([&] { xgrad::flatten(x, 1, 0); }, {"flatten", "start_dim"});
    check_error<xgrad::value_error>([&] { xgrad::flatten(x, 2); }, {"flatten", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::squeeze(x, 2); }, {"squeeze", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::unsqueeze(x, 3); }, {"unsqueeze", "dim 3"});
    check_error<xgrad::value_error>([&] { xgrad::unsqueeze(x, -4); }, {"unsqueeze", "dim -4"});
    check_error<xgrad::value_error>([&] { xgrad::permute(x, {0, 0}); }, {"permute", "dim 0", "twice", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::permute(x, {1, -1}); }, {"permute", "twice"});
    check_error<xgrad::shape_error>([&] { xgrad::permute(x, {0, 1, 2}); }, {"permute", "3 dims", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::permute(x, {0, 2}); }, {"permute", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::transpose(x, 0, 2); }, {"transpose", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::narrow(x, 1, 2, 2); }, {"narrow", "[2, 4)", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::narrow(x, 1, 4, 0); }, {"narrow", "(2, 3)"});
    // a "negative" start wraps around to a huge size_t: must not wrap back into range
    check_error<xgrad::value_error>([&] { xgrad::narrow(x, 1, static_cast<std::size_t>(-1), 1); }, {"narrow", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::narrow(x, 2, 0, 1); }, {"narrow", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::index_select(x, 1, IndexArray{0, 3}); }, {"index_select", "index 3", "size 3"});
    check_error<xgrad::value_error>([&] { xgrad::index_select(x, 0, IndexArray{-1}); }, {"index_select", "index -1"});
    check_error<xgrad::shape_error>([&] { xgrad::index_select(x, 0, indices({0}, {1, 1})); }, {"index_select", "1-D", "(1, 1)"});
    check_error<xgrad::value_error>([&] { xgrad::gather(x, 1, IndexArray{{0, 3}}); }, {"gather", "index 3", "size 3"});
    check_error<xgrad::value_error>([&] { xgrad::gather(x, 0, IndexArray{{-1, 0}}); }, {"gather", "index -1"});
    check_error<xgrad::shape_error>([&] { xgrad::gather(x, 1, IndexArray{0, 1}); }, {"gather", "(2,)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::gather(x, 1, indices({0, 0, 0}, {3, 1})); }, {"gather", "(3, 1)", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::gather(x, -3, indices({0}, {1, 1})); }, {"gather", "dim -3"});
    const Tensor<double> y(iota({3, 2}));
    check_error<xgrad::shape_error>([&] { xgrad::cat({x, y}); }, {"cat", "(2, 3)", "(3, 2)"});
    check_error<xgrad::shape_error>([&] { xgrad::cat({x, x, y}, 1); }, {"cat", "(2, 3)", "(3, 2)"});
    check_error<xgrad::shape_error>([&] { xgrad::cat({x, Tensor<double>(iota({2, 3, 1}))}, 1); }, {"cat", "(2, 3)", "(2, 3, 1)"});
    check_error<xgrad::value_error>([&] { xgrad::cat({x, x}, 2); }, {"cat", "dim 2"});
    check_error<xgrad::value_error>([&] { xgrad::cat(std::vector<Tensor<double>>{}); }, {"cat", "at least one"});
    check_error<xgrad::shape_error>([&] { xgrad::stack({x, y}); }, {"stack", "(2, 3)", "(3, 2)"});
    check_error<xgrad::value_error>([&] { xgrad::stack({x, x}, 3); }, {"stack", "dim 3"});
    check_error<xgrad::value_error>([&] { xgrad::stack(std::vector<Tensor<double>>{}); }, {"stack", "at least one"});
    check_error<xgrad::shape_error>([&] { xgrad::where(xt::xarray<bool>{true, false}, x, y); }, {"where", "(2,)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::where(xt::xarray<bool>{true}, x, y); }, {"where", "(2, 3)", "(3, 2)"});
    check_error<xgrad::shape_error>([&] { xgrad::masked_fill(x, xt::xarray<bool>{true, false}, 0.); }, {"masked_fill", "(2,)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::masked_fill(x, xt::xarray<bool>(xt::ones<bool>({2, 2, 3})), 0.); },
                                    {"masked_fill", "(2, 2, 3)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::broadcast_to(x, {3, 3}); }, {"broadcast_to", "(2, 3)", "(3, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::broadcast_to(x, {3}); }, {"broadcast_to", "(2, 3)", "(3,)"});
    check_error<xgrad::shape_error>([&] { xgrad::sum_to(x, {2}); }, {"sum_to", "(2, 3)", "(2,)"});
    check_error<xgrad::shape_error>([&] { xgrad::sum_to(x, {1, 2, 3}); }, {"sum_to", "(2, 3)", "(1, 2, 3)"});
}
