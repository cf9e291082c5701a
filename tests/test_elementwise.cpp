// Elementwise ops: forward values against std::, first and second derivatives against finite
// differences (same shapes, broadcasting, 0-d), scalar overloads and operators, shape and value errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;

namespace
{
    using Array = xt::xarray<double>;
    using Fn = std::function<Tensor<double>(const Inputs&)>;

    struct ShapePair
    {
        Shape a, b;
    };

    // Same shapes, row broadcast both ways, outer broadcast, 0-d with 0-d and with a matrix, a block with
    // leading 1s, a value per row both ways (the last three: the kernels' row-by-row broadcasts).
    const std::vector<ShapePair> broadcast_cases = {
        {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{4}, {3, 4}}, {{3, 1}, {1, 4}}, {{}, {}}, {{}, {2, 3}}, {{2, 3}, {}},
        {{2, 3, 4}, {3, 1}}, {{2, 3, 4}, {1, 3, 4}}, {{2, 3, 4}, {2, 3, 1}}, {{2, 1, 1}, {2, 3, 4}}};
}

TEST_CASE("binary ops: forward values with broadcasting")
{
    const Array a{{1., 2., 3.}, {4., 5., 6.}};   // (2, 3)
    const Array row{10., 20., 30.};                // (3,)
    const Tensor<double> ta(a), trow(row);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
        {
            CHECK(add(ta, trow).value()(i, j) == a(i, j) + row(j));
            CHECK(sub(ta, trow).value()(i, j) == a(i, j) - row(j));
            CHECK(mul(ta, trow).value()(i, j) == a(i, j) * row(j));
            CHECK(div(ta, trow).value()(i, j) == a(i, j) / row(j));
            CHECK(pow(ta, trow / 10.0).value()(i, j) == doctest::Approx(std::pow(a(i, j), row(j) / 10.)));
        }
    CHECK(add(trow, ta).shape() == Shape{2, 3});

    Array column_value{1., 2., 3.};   // nested one-element lists are ambiguous for xtensor
    column_value.reshape({3, 1});
    const Tensor<double> column(column_value);
    Array line_value{1., 10.};
    line_value.reshape({1, 2});
    const Tensor<double> line(line_value);
    const auto outer = mul(column, line);
    CHECK(outer.shape() == Shape{3, 2});
    CHECK(outer.value() == Array{{1., 10.}, {2., 20.}, {3., 30.}});

    const Tensor<double> s(Array(2.));
    CHECK(add(s, s).shape() == Shape{});
    CHECK(add(s, s).item() == 4.);
    CHECK(mul(s, ta).value() == a * 2.);
}

TEST_CASE("scalar overloads and operators")
{
    const Tensor<double> x(Array{1., 2., 4.});
    check_close(add(x, 1.0).value(), {2., 3., 5.});
    check_close(add(1.0, x).value(), {2., 3., 5.});
    check_close(sub(x, 1.0).value(), {0., 1., 3.});
    check_close(sub(1.0, x).value(), {0., -1., -3.});
    check_close(mul(x, 3).value(), {3., 6., 12.});   // an int scalar
    check_close(mul(3, x).value(), {3., 6., 12.});
    check_close(div(x, 2.0).value(), {0.5, 1., 2.});
    check_close(div(2.0, x).value(), {2., 1., 0.5});

    check_close((x + x).value(), {2., 4., 8.});
    check_close((x - 1.0).value(), {0., 1., 3.});
    check_close((10.0 - x).value(), {9., 8., 6.});
    check_close((x * x).value(), {1., 4., 16.});
    check_close((2.0 * x).value(), {2., 4., 8.});
    check_close((x / x).value(), {1., 1., 1.});
    check_close((1.0 / x).value(), {1., 0.5, 0.25});
    check_close((-x).value(), {-1., -2., -4.});

    Tensor<double> y(Array{1., 1., 1.}, true);
    const auto y0 = y;
    y += x;
    y *= 2.0;
    y -= 1.0;
    y /= x;
    check_close(y.value(), {3., 2.5, 2.25});
    CHECK(y.requires_grad());
    CHECK_FALSE(y.is_leaf());   // compound assignment rebinds the handle to a new node
    sum(y).backward();
    check_close(y0.grad(), {2., 1., 0.5});   // y = (2 (y0 + x) - 1) / x

    // float, with double and int scalars.
    const Tensor<float> f(xt::xarray<float>{1.f, 2.f});
    const auto g = (f * 2.0 + 1) / 4.f;
    CHECK(g.value()(0) == doctest::Approx(0.75f));
    CHECK(g.value()(1) == doctest::Approx(1.25f));
}

TEST_CASE("unary ops: forward values against std::")
{
    const Array x{-2.5, -1., -0.3, 0.2, 0.7, 3.};
    const Array positive{0.1, 0.5, 1., 2., 10., 1e-3};
    const Tensor<double> tx(x), tp(positive);
    const auto e = exp(tx).value();
    const auto l = log(tp).value();
    const auto r = sqrt(tp).value();
    const auto ab = abs(tx).value();
    const auto er = erf(tx).value();
    const auto ng = neg(tx).value();
    const auto p3 = pow(tx, 3).value();
    const auto p_half = pow(tp, 0.5).value();
    const auto two_to = pow(2.0, tx).value();
    for (std::size_t i = 0; i < x.size(); ++i)
    {
        CHECK(e(i) == doctest::Approx(std::exp(x(i))).epsilon(1e-14));
        CHECK(l(i) == doctest::Approx(std::log(positive(i))).epsilon(1e-14));
        CHECK(r(i) == doctest::Approx(std::sqrt(positive(i))).epsilon(1e-14));
        CHECK(ab(i) == std::abs(x(i)));
        CHECK(er(i) == doctest::Approx(std::erf(x(i))).epsilon(1e-14));
        CHECK(ng(i) == -x(i));
        CHECK(p3(i) == doctest::Approx(x(i) * x(i) * x(i)).epsilon(1e-14));
        CHECK(p_half(i) == doctest::Approx(std::sqrt(positive(i))).epsilon(1e-14));
        CHECK(two_to(i) == doctest::Approx(std::exp2(x(i))).epsilon(1e-14));
    }
    CHECK(xt::all(xt::equal(pow(tx, 0).value(), 1.)));

    const Tensor<float> f(xt::xarray<float>{-1.f, 0.5f, 2.f});
    const auto ef = exp(f).value();
    const auto erf_f = erf(f).value();
    for (std::size_t i = 0; i < 3; ++i)
    {
        CHECK(ef(i) == doctest::Approx(std::exp(f.value()(i))).epsilon(1e-6));
        CHECK(erf_f(i) == doctest::Approx(std::erf(f.value()(i))).epsilon(1e-6));
    }
}

TEST_CASE("clamp: bounds, optional bounds, gradient only inside, min > max is a value_error")
{
    const Tensor<double> x(Array{-3., -0.5, 0.25, 0.75, 2.}, true);
    check_close(clamp(x, -1.0, 1.0).value(), {-1., -0.5, 0.25, 0.75, 1.});
    check_close(clamp(x, 0.0).value(), {0., 0., 0.25, 0.75, 2.});
    check_close(clamp(x, std::nullopt, 0.5).value(), {-3., -0.5, 0.25, 0.5, 0.5});
    check_close(clamp(x, std::nullopt, std::nullopt).value(), x.value());
    check_close(clamp(x, 0.5, 0.5).value(), {0.5, 0.5, 0.5, 0.5, 0.5});

    sum(clamp(x, -1.0, 1.0) * 3.0).backward();
    check_close(x.grad(), {0., 3., 3., 3., 0.});

    CHECK_THROWS_AS(clamp(x, 1.0, -1.0), value_error);
    check_error<value_error>([&] { clamp(x, 2.0, 1.0); }, {"clamp", "2", "1"});

    const Tensor<float> f(xt::xarray<float>{-2.f, 0.f, 2.f});
    check_close(xt::cast<double>(clamp(f, 0, 1).value()), {0., 0., 1.});
}

TEST_CASE("abs: gradient is sign(x), 0 at 0 as in PyTorch")
{
    const Tensor<double> x(Array{-2., 0., 3.}, true);
    sum(abs(x)).backward();
    check_close(x.grad(), {-1., 0., 1.});
}

TEST_CASE("binary ops: known gradients")
{
    const Tensor<double> a(Array{1., 2.}, true);
    const Tensor<double> b(Array{4., -0.5}, true);
    const auto g_div = grad({sum(div(a, b))}, {a, b});
    check_close(g_div[0].value(), {0.25, -2.});
    check_close(g_div[1].value(), {-1. / 16., -2. / 0.25});

    const auto g_sub = grad({sum(sub(a, b))}, {a, b});
    check_close(g_sub[0].value(), {1., 1.});
    check_close(g_sub[1].value(), {-1., -1.});

    const Tensor<double> base(Array{2., 3.}, true);
    const Tensor<double> exponent(Array{3., 0.5}, true);
    const auto g_pow = grad({sum(pow(base, exponent))}, {base, exponent});
    check_close(g_pow[0].value(), {3. * 4., 0.5 / std::sqrt(3.)});
    check_close(g_pow[1].value(), {8. * std::log(2.), std::sqrt(3.) * std::log(3.)});

    // Broadcasting: the gradient of the broadcast operand is summed back to its shape.
    const Tensor<double> m(Array{{1., 2.}, {3., 4.}, {5., 6.}}, true);   // (3, 2)
    const Tensor<double> v(Array{10., 100.}, true);                      // (2,)
    const auto g_mul = grad({sum(mul(m, v))}, {m, v});
    CHECK(g_mul[1].shape() == Shape{2});
    check_close(g_mul[1].value(), {9., 12.});
    check_close(g_mul[0].value(), {{10., 100.}, {10., 100.}, {10., 100.}});
}

TEST_CASE("add sub mul div: gradcheck and gradgradcheck, same shapes and broadcasting")
{
    const std::vector<std::pair<const char*, Fn>> ops = {
        {"add", [](const Inputs& in) { return add(in[0], in[1]); }},
        {"sub", [](const Inputs& in) { return sub(in[0], in[1]); }},
        {"mul", [](const Inputs& in) { return mul(in[0], in[1]); }},
        {"div", [](const Inputs& in) { return div(in[0], in[1]); }},
        {"pow", [](const Inputs& in) { return pow(abs(in[0]), in[1]); }},
    };
    std::uint64_t seed = 1;
    for (const auto& entry : ops)
    {
        const auto& name = entry.first;
        const auto& f = entry.second;
        for (const auto& shapes : broadcast_cases)
        {
            CAPTURE(name);
            CAPTURE(shape_string(shapes.a));
            CAPTURE(shape_string(shapes.b));
            const auto a = away_from_zero(shapes.a, seed++, 0.3, 1.5);
            const auto b = away_from_zero(shapes.b, seed++, 0.3, 1.5);
            check_derivatives(f, {a, b});
            // Only one operand requires grad: the other gets none, and the checks still hold.
            const Tensor<double> b_constant(b.value());
            check_derivatives(f, {a, b_constant});
            CHECK_FALSE(b_constant.has_grad());
        }
    }
}

TEST_CASE("scalar overloads: gradcheck and gradgradcheck")
{
    const auto x = away_from_zero({2, 3}, 17, 0.3, 1.5);
    check_derivatives([](const Inputs& in) { return in[0] + 2.0; }, {x});
    check_derivatives([](const Inputs& in) { return 2.0 - in[0]; }, {x});
    check_derivatives([](const Inputs& in) { return in[0] * -3.0; }, {x});
    check_derivatives([](const Inputs& in) { return 2.0 / in[0]; }, {x});
    check_derivatives([](const Inputs& in) { return in[0] / 4.0; }, {x});
    check_derivatives([](const Inputs& in) { return -in[0]; }, {x});
    check_derivatives([](const Inputs& in) { return neg(in[0] * in[0]); }, {x});
}

TEST_CASE("unary ops: gradcheck and gradgradcheck")
{
    const std::vector<Shape> shapes = {{5}, {2, 3}, {}};
    std::uint64_t seed = 100;
    for (const auto& shape : shapes)
    {
        CAPTURE(shape_string(shape));
        const auto any = away_from_zero(shape, seed++, 0.3, 1.5);
        const auto positive = random_leaf(shape, seed++, 0.3, 2.0);
        check_derivatives([](const Inputs& in) { return exp(in[0]); }, {any});
        check_derivatives([](const Inputs& in) { return log(in[0]); }, {positive});
        check_derivatives([](const Inputs& in) { return sqrt(in[0]); }, {positive});
        check_derivatives([](const Inputs& in) { return abs(in[0]); }, {any});
        check_derivatives([](const Inputs& in) { return erf(in[0]); }, {any});
        check_derivatives([](const Inputs& in) { return neg(in[0]); }, {any});
        check_derivatives([](const Inputs& in) { return pow(in[0], 3); }, {any});
        check_derivatives([](const Inputs& in) { return pow(in[0], 2); }, {any});
        check_derivatives([](const Inputs& in) { return pow(in[0], 1); }, {any});
        check_derivatives([](const Inputs& in) { return pow(in[0], 0); }, {any});
        check_derivatives([](const Inputs& in) { return pow(in[0], -1.5); }, {positive});
        check_derivatives([](const Inputs& in) { return pow(in[0], 0.5); }, {positive});
        check_derivatives([](const Inputs& in) { return pow(2.5, in[0]); }, {any});
        // Bounds well away from every point (|x| >= 0.3), both sides and one side.
        check_derivatives([](const Inputs& in) { return clamp(in[0], -0.25, 0.25) + in[0] * in[0]; }, {any});
        check_derivatives([](const Inputs& in) { return clamp(in[0] * in[0], 0.0, 1.0); }, {any});
        check_derivatives([](const Inputs& in) { return clamp(in[0], std::nullopt, 0.0) * in[0]; }, {any});
        check_derivatives([](const Inputs& in) { return exp(sqrt(in[0]) * log(in[0])); }, {positive});
    }
}

TEST_CASE("pow(x, 0) has a zero gradient and pow(x, 1) a unit one")
{
    const Tensor<double> x(Array{-2., 0.5, 3.}, true);
    check_close(grad({sum(pow(x, 0))}, {x})[0].value(), {0., 0., 0.});
    check_close(grad({sum(pow(x, 1))}, {x})[0].value(), {1., 1., 1.});
    check_close(grad({sum(pow(x, 2))}, {x})[0].value(), {-4., 1., 6.});
}

TEST_CASE("non-broadcastable shapes are a shape_error naming the op and both shapes")
{
    const Tensor<double> a(Array{{1., 2., 3., 4.}, {5., 6., 7., 8.}, {9., 10., 11., 12.}});   // (3, 4)
    const Tensor<double> b(Array{1., 2., 3.});                                              // (3,)
    const Tensor<double> c(Array{{1., 2., 3.}, {4., 5., 6.}, {7., 8., 9.}, {1., 2., 3.}});   // (4, 3)
    const std::vector<std::pair<const char*, std::function<Tensor<double>(const Tensor<double>&, const Tensor<double>&)>>>
        ops = {{"add", [](const auto& x, const auto& y) { return add(x, y); }},
               {"sub", [](const auto& x, const auto& y) { return sub(x, y); }},
               {"mul", [](const auto& x, const auto& y) { return mul(x, y); }},
               {"div", [](const auto& x, const auto& y) { return div(x, y); }},
               {"pow", [](const auto& x, const auto& y) { return pow(x, y); }}};
    for (const auto& entry : ops)
    {
        const auto& name = entry.first;
        const auto& op = entry.second;
        CAPTURE(name);
        check_error<shape_error>([&] { op(a, b); }, {name, "(3, 4)", "(3,)"});
        check_error<shape_error>([&] { op(b, a); }, {name, "(3, 4)", "(3,)"});
        check_error<shape_error>([&] { op(a, c); }, {name, "(3, 4)", "(4, 3)"});
    }
    CHECK_THROWS_AS(a + b, shape_error);
    CHECK_THROWS_AS(a * c, shape_error);
}
