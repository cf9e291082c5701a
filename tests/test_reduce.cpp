// Reductions (ops/reduce.hpp): sum mean max min var logsumexp over chosen dims, with and without keepdims.
// Forward values on hand-checked cases, first and second derivatives against finite differences, ties of
// max/min sharing the gradient, and the errors bad dims raise.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using xgrad::Dims;
using xgrad::Shape;
using xgrad::Tensor;
using namespace xgrad_test;

namespace
{
    const xt::xarray<double> x23 = {{1., 2., 3.}, {4., 5., 6.}};
}

TEST_CASE("sum: all, one dim, several dims, negative dims, keepdims")
{
    const Tensor<double> x(x23);
    CHECK(xgrad::sum(x).item() == 21.);
    CHECK(xgrad::sum(x).ndim() == 0);
    check_close(xgrad::sum(x, 0).value(), {5., 7., 9.});
    check_close(xgrad::sum(x, -1).value(), {6., 15.});
    check_close(xgrad::sum(x, 1, true).value(), shaped({6., 15.}, {2, 1}));
    check_close(xgrad::sum(x, Dims{0, 1}, true).value(), shaped({21.}, {1, 1}));
    CHECK(xgrad::sum(x, Dims{-1, 0}).shape() == Shape{});

    const Tensor<double> y(xt::xarray<double>(xt::arange<double>(24.).reshape({2, 3, 4})));
    check_close(xgrad::sum(y, Dims{0, 2}).value(), {1. * 0 + 1 + 2 + 3 + 12 + 13 + 14 + 15,
                                                     4. + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                                                     8. + 9 + 10 + 11 + 20 + 21 + 22 + 23});
    CHECK(xgrad::sum(y, Dims{-3, -1}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("sum: gradient is dL/dy broadcast back")
{
    Tensor<double> x(x23, true);
    xgrad::backward(xgrad::sum(xgrad::mul(xgrad::sum(x, 0), Tensor<double>(xt::xarray<double>{1., 2., 3.}))));
    check_close(x.grad(), {{1., 2., 3.}, {1., 2., 3.}});
}

TEST_CASE("mean: values and count")
{
    const Tensor<double> x(x23);
    CHECK(xgrad::mean(x).item() == 3.5);
    check_close(xgrad::mean(x, 0).value(), {2.5, 3.5, 4.5});
    check_close(xgrad::mean(x, -1, true).value(), shaped({2., 5.}, {2, 1}));
    Tensor<double> g(x23, true);
    xgrad::backward(xgrad::mean(g));
    check_close(g.grad(), xt::xarray<double>(xt::ones<double>({2, 3}) / 6.));
}

TEST_CASE("max and min: values along dims")
{
    const Tensor<double> x(xt::xarray<double>{{1., 7., 3.}, {9., -5., 6.}});
    CHECK(xgrad::max(x).item() == 9.);
    CHECK(xgrad::min(x).item() == -5.);
    check_close(xgrad::max(x, 0).value(), {9., 7., 6.});
    check_close(xgrad::max(x, -1).value(), {7., 9.});
    check_close(xgrad::min(x, 1, true).value(), shaped({1., -5.}, {2, 1}));
    check_close(xgrad::min(x, Dims{0, 1}, true).value(), shaped({-5.}, {1, 1}));
}

TEST_CASE("max and min: the gradient goes to the extreme element, ties share it evenly")
{
    SUBCASE("unique maximum")
    {
        Tensor<double> x(xt::xarray<double>{{1., 7., 3.}, {9., -5., 6.}}, true);
        xgrad::backward(xgrad::sum(xgrad::max(x, 1)));
        check_close(x.grad(), {{0., 1., 0.}, {1., 0., 0.}});
    }
    SUBCASE("ties along a dim")
    {
        Tensor<double> x(xt::xarray<double>{{1., 3., 3.}, {2., 2., 2.}}, true);
        xgrad::backward(xgrad::sum(xgrad::max(x, -1)));
        check_close(x.grad(), {{0., 0.5, 0.5}, {1. / 3, 1. / 3, 1. / 3}});
    }
    SUBCASE("ties in a full min, with a weighted output gradient")
    {
        Tensor<double> x(xt::xarray<double>{{0., 4.}, {0., 0.}}, true);
        xgrad::backward(xgrad::mul(xgrad::min(x), 6.));
        check_close(x.grad(), {{2., 0.}, {2., 2.}});
    }
    SUBCASE("ties over several dims with keepdims")
    {
        Tensor<double> x(xt::xarray<double>{{{5., 1.}, {5., 2.}}, {{3., 3.}, {0., 3.}}}, true);   // (2, 2, 2)
        xgrad::backward(xgrad::sum(xgrad::mul(xgrad::max(x, Dims{-1, 1}, true),
                                              Tensor<double>(shaped({2., 3.}, {2, 1, 1})))));
        check_close(x.grad(), {{{1., 0.}, {1., 0.}}, {{1., 1.}, {0., 1.}}});
    }
}

TEST_CASE("var: Bessel's correction by default, correction 0 on request")
{
    const Tensor<double> x(xt::xarray<double>{{1., 2., 3., 4.}, {2., 2., 2., 2.}});
    check_close(xgrad::var(x, 1).value(), {5. / 3., 0.});
    check_close(xgrad::var(x, 1, true, 0).value(), shaped({1.25, 0.}, {2, 1}));
    // all eight: mean 2.25, squared deviations 1.5625+.0625+.5625+3.0625+4*.0625 = 5.5
    CHECK(xgrad::var(x).item() == doctest::Approx(5.5 / 7.));
    CHECK(xgrad::var(x, Dims{0, 1}, false, 0).item() == doctest::Approx(5.5 / 8.));
}

TEST_CASE("logsumexp: values, stability, infinities")
{
    const Tensor<double> x(xt::xarray<double>{{0., std::log(3.)}, {1000., 1000.}});
    check_close(xgrad::logsumexp(x, 1).value(), {std::log(4.), 1000. + std::log(2.)});
    CHECK(xgrad::logsumexp(x, -1, true).shape() == Shape{2, 1});
    CHECK(xgrad::logsumexp(x, Dims{}).shape() == Shape{});
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor<double> all_minus_inf(xt::xarray<double>{-inf, -inf});
    CHECK(xgrad::logsumexp(all_minus_inf, 0).item() == -inf);
    // gradient is softmax
    Tensor<double> g(xt::xarray<double>{0., std::log(3.)}, true);
    xgrad::backward(xgrad::logsumexp(g, 0));
    check_close(g.grad(), {0.25, 0.75});
}

TEST_CASE("reductions: gradcheck and gradgradcheck over dims and keepdims")
{
    struct Case
    {
        const char* name;
        std::function<Tensor<double>(const Tensor<double>&, const Dims&, bool)> op;
        bool smooth;   // max/min have piecewise-constant first derivatives: their second derivative is 0
    };
    const std::vector<Case> cases = {
        {"sum", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::sum(x, d, k); }, true},
        {"mean", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::mean(x, d, k); }, true},
        {"max", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::max(x, d, k); }, false},
        {"min", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::min(x, d, k); }, false},
        {"var", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::var(x, d, k); }, true},
        {"logsumexp", [](const Tensor<double>& x, const Dims& d, bool k) { return xgrad::logsumexp(x, d, k); }, true},
    };
    const std::vector<Dims> dim_sets = {{}, {0}, {-1}, {1}, {0, 2}, {-1, -3}, {0, 1, 2}};
    std::uint64_t seed = 1;
    for (const auto& c : cases)
        for (const auto& dims : dim_sets)
            for (bool keepdims : {false, true})
            {
                CAPTURE(c.name);
                CAPTURE(dims.size());
                CAPTURE(keepdims);
                const Tensor<double> x = random_leaf({2, 3, 4}, seed++);   // distinct values: no ties
                // squared afterwards so that the outer function is not linear
                auto f = [&](const Inputs& in) {
                    const Tensor<double> y = c.op(in[0], dims, keepdims);
                    return xgrad::mul(y, y);
                };
                CHECK(xgrad::gradcheck(f, Inputs{x}));
                CHECK(xgrad::gradgradcheck(f, Inputs{x}));
                if (c.smooth)
                {
                    auto g = [&](const Inputs& in) { return c.op(in[0], dims, keepdims); };
                    CHECK(xgrad::gradgradcheck(g, Inputs{x}));
                }
            }
}

TEST_CASE("reductions: composed with each other, through a shared input")
{
    const Tensor<double> x = random_leaf({3, 4}, 99);
    auto f = [](const Inputs& in) {
        const auto& x = in[0];
        return xgrad::add(xgrad::mul(xgrad::logsumexp(x, 1), xgrad::mean(x, -1)),
                          xgrad::mul(xgrad::var(x, -1), xgrad::max(x, 1)));
    };
    CHECK(xgrad::gradcheck(f, Inputs{x}));
    CHECK(xgrad::gradgradcheck(f, Inputs{x}));
}

TEST_CASE("reductions: float values agree with double")
{
    const Tensor<double> xd = random_leaf({3, 5}, 7);
    const Tensor<float> xf(xt::xarray<float>(xt::cast<float>(xd.value())));
    for (auto pair : std::vector<std::pair<xt::xarray<double>, xt::xarray<float>>>{
             {xgrad::sum(xd, 1).value(), xgrad::sum(xf, 1).value()},
             {xgrad::var(xd, 0).value(), xgrad::var(xf, 0).value()},
             {xgrad::logsumexp(xd, -1).value(), xgrad::logsumexp(xf, -1).value()},
             {xgrad::max(xd, 0).value(), xgrad::max(xf, 0).value()}})
        for (std::size_t i = 0; i < pair.first.size(); ++i)
            CHECK(pair.second.data()[i] == doctest::Approx(pair.first.data()[i]).epsilon(1e-5));
}

TEST_CASE("reductions: bad dims throw value_error naming the op")
{
    const Tensor<double> x(x23);
    check_error<xgrad::value_error>([&] { xgrad::sum(x, 2); }, {"sum", "dim 2", "2-d"});
    check_error<xgrad::value_error>([&] { xgrad::sum(x, -3); }, {"sum", "-3"});
    check_error<xgrad::value_error>([&] { xgrad::mean(x, Dims{0, -2}); }, {"mean", "twice"});
    check_error<xgrad::value_error>([&] { xgrad::max(x, 5); }, {"max", "5"});
    check_error<xgrad::value_error>([&] { xgrad::min(x, Dims{1, 1}); }, {"min", "twice"});
    check_error<xgrad::value_error>([&] { xgrad::var(x, 3); }, {"var", "3"});
    check_error<xgrad::value_error>([&] { xgrad::logsumexp(x, Dims{7}); }, {"logsumexp", "7"});

    const Tensor<double> empty(xt::xarray<double>(xt::zeros<double>({2, 0})));
    check_error<xgrad::value_error>([&] { xgrad::max(empty, 1); }, {"max", "(2, 0)"});
    check_error<xgrad::value_error>([&] { xgrad::min(empty); }, {"min", "(2, 0)"});
    check_error<xgrad::value_error>([&] { xgrad::mean(empty, 1); }, {"mean", "(2, 0)"});
    CHECK(xgrad::sum(empty, 1).shape() == Shape{2});   // an empty sum is 0, as in NumPy
    CHECK(xgrad::sum(empty).item() == 0.);
}
