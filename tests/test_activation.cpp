// Activations and (log-)softmax: values against std:: formulas, stable extremes, first and second
// derivatives against finite differences, and argument errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
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

    double sigmoid_reference(double x) { return 1. / (1. + std::exp(-x)); }

    const Array points{-3., -1., -0.5, 0.25, 1., 4.};
}

TEST_CASE("relu and leaky_relu: values and gradients")
{
    const Tensor<double> x(Array{-2., -0.5, 0., 0.5, 3.}, true);
    check_close(relu(x).value(), {0., 0., 0., 0.5, 3.});
    check_close(leaky_relu(x).value(), {-0.02, -0.005, 0., 0.5, 3.});
    check_close(leaky_relu(x, 0.2).value(), {-0.4, -0.1, 0., 0.5, 3.});
    check_close(grad({sum(relu(x))}, {x})[0].value(), {0., 0., 0., 1., 1.});   // 0 at 0, as PyTorch
    check_close(grad({sum(leaky_relu(x, 0.2))}, {x})[0].value(), {0.2, 0.2, 0.2, 1., 1.});

    const Tensor<float> f(xt::xarray<float>{-1.f, 2.f});
    CHECK(leaky_relu(f, 0.1).value()(0) == doctest::Approx(-0.1f));
    CHECK(relu(f).value()(0) == 0.f);
    CHECK(relu(f).value()(1) == 2.f);
}

TEST_CASE("sigmoid and tanh: values against std::")
{
    const Tensor<double> x(points);
    const auto s = sigmoid(x).value();
    const auto t = tanh(x).value();
    for (std::size_t i = 0; i < points.size(); ++i)
    {
        CHECK(s(i) == doctest::Approx(sigmoid_reference(points(i))).epsilon(1e-14));
        CHECK(t(i) == doctest::Approx(std::tanh(points(i))).epsilon(1e-14));
    }
    CHECK(sigmoid(Tensor<double>(Array(0.))).item() == 0.5);

    const Tensor<double> p(Array{0.5}, true);
    const double sp = sigmoid_reference(0.5);
    check_close(grad({sum(sigmoid(p))}, {p})[0].value(), {sp * (1. - sp)});
    check_close(grad({sum(tanh(p))}, {p})[0].value(), {1. - std::tanh(0.5) * std::tanh(0.5)});
}

TEST_CASE_TEMPLATE("sigmoid is stable at +-1000", T, float, double)
{
    const Tensor<T> x(xt::xarray<T>{T(-1000), T(-50), T(50), T(1000)}, true);
    const auto y = sigmoid(x);
    CHECK(xt::all(xt::isfinite(y.value())));
    CHECK(y.value()(0) == T(0));
    CHECK(y.value()(1) == doctest::Approx(std::exp(-50.)).epsilon(1e-5));
    CHECK(y.value()(1) > T(0));
    CHECK(y.value()(2) == T(1));
    CHECK(y.value()(3) == T(1));
    sum(y).backward();
    CHECK(xt::all(xt::isfinite(x.grad())));
    CHECK(x.grad()(0) == T(0));
    CHECK(x.grad()(3) == T(0));
}

TEST_CASE("softplus: values, beta, threshold")
{
    const Tensor<double> x(points);
    const auto y = softplus(x).value();
    const auto y2 = softplus(x, 2.0).value();
    for (std::size_t i = 0; i < points.size(); ++i)
    {
        CHECK(y(i) == doctest::Approx(std::log1p(std::exp(points(i)))).epsilon(1e-14));
        CHECK(y2(i) == doctest::Approx(std::log1p(std::exp(2. * points(i))) / 2.).epsilon(1e-14));
    }
    // Above the threshold (beta x > 20 by default) it is the identity, as torch.nn.functional.softplus.
    CHECK(softplus(Tensor<double>(Array(25.))).item() == 25.);
    CHECK(softplus(Tensor<double>(Array(3.)), 1.0, 2.0).item() == 3.);
    CHECK(softplus(Tensor<double>(Array(1.5)), 1.0, 2.0).item() == doctest::Approx(std::log1p(std::exp(1.5))));

    const Tensor<double> p(Array{-1., 0.5, 30.}, true);
    check_close(grad({sum(softplus(p, 2.0))}, {p})[0].value(),
                {sigmoid_reference(-2.), sigmoid_reference(1.), 1.});
}

TEST_CASE_TEMPLATE("softplus is stable at +-1000", T, float, double)
{
    const Tensor<T> x(xt::xarray<T>{T(-1000), T(1000)}, true);
    const auto y = softplus(x);
    CHECK(xt::all(xt::isfinite(y.value())));
    CHECK(y.value()(0) == T(0));
    CHECK(y.value()(1) == T(1000));
    // Without the threshold the stable form still holds.
    const auto unthresholded = softplus(x, 1.0, std::numeric_limits<double>::infinity());
    CHECK(unthresholded.value()(0) == T(0));
    CHECK(unthresholded.value()(1) == T(1000));
    sum(y).backward();
    CHECK(x.grad()(0) == T(0));
    CHECK(x.grad()(1) == T(1));
}

TEST_CASE("softplus: beta must be positive")
{
    const Tensor<double> x(Array{1., 2.});
    CHECK_THROWS_AS(softplus(x, 0.0), value_error);
    CHECK_THROWS_AS(softplus(x, -1.0), value_error);
    CHECK_THROWS_AS(softplus(x, std::nan("")), value_error);
    check_error<value_error>([&] { softplus(x, -2.0); }, {"softplus", "beta"});
}

TEST_CASE("gelu: exact and tanh forms, bad approximate name")
{
    const Tensor<double> x(points);
    const auto exact = gelu(x).value();
    const auto approx = gelu(x, "tanh").value();
    for (std::size_t i = 0; i < points.size(); ++i)
    {
        const double v = points(i);
        CHECK(exact(i) == doctest::Approx(0.5 * v * (1. + std::erf(v / std::sqrt(2.)))).epsilon(1e-14));
        const double inner = std::sqrt(2. / M_PI) * (v + 0.044715 * v * v * v);
        CHECK(approx(i) == doctest::Approx(0.5 * v * (1. + std::tanh(inner))).epsilon(1e-14));
    }
    CHECK(gelu(Tensor<double>(Array(1.))).item() == doctest::Approx(0.8413447460685429).epsilon(1e-14));
    CHECK(gelu(Tensor<double>(Array(-1.))).item() == doctest::Approx(-0.15865525393145707).epsilon(1e-14));

    CHECK_THROWS_AS(gelu(x, "sigmoid"), value_error);
    check_error<value_error>([&] { gelu(x, "Tanh"); }, {"gelu", "Tanh"});

    const Tensor<float> f(xt::xarray<float>{1.f});
    CHECK(gelu(f).item() == doctest::Approx(0.8413447f));

    // The enum and PyTorch's names give the same forms; the name is parsed once, where a layer is built.
    CHECK(gelu(x, GeluApproximation::tanh).value() == approx);
    CHECK(gelu(x, GeluApproximation::none).value() == exact);
    CHECK(nn::GELU<double>(GeluApproximation::tanh)(x).value() == approx);
    CHECK(nn::GELU<double>("tanh").extra_repr() == "approximate='tanh'");
    CHECK(nn::GELU<double>().extra_repr() == "approximate='none'");
    check_error<value_error>([&] { nn::GELU<double> layer("exact"); }, {"GELU", "exact"});
}

TEST_CASE("activations: gradcheck and gradgradcheck")
{
    const std::vector<std::pair<const char*, Fn>> ops = {
        {"relu", [](const Inputs& in) { return relu(in[0]) * in[0]; }},
        {"relu alone", [](const Inputs& in) { return relu(in[0]); }},
        {"leaky_relu", [](const Inputs& in) { return leaky_relu(in[0], 0.1) * in[0]; }},
        {"leaky_relu alone", [](const Inputs& in) { return leaky_relu(in[0]); }},
        {"sigmoid", [](const Inputs& in) { return sigmoid(in[0]); }},
        {"tanh", [](const Inputs& in) { return tanh(in[0]); }},
        {"softplus", [](const Inputs& in) { return softplus(in[0]); }},
        {"softplus beta", [](const Inputs& in) { return softplus(in[0], 3.0); }},
        // beta x = 2 |x| >= 0.6 > threshold 0.5 or < -0.5: never at the switch between the two forms.
        {"softplus threshold", [](const Inputs& in) { return softplus(in[0] * in[0], 2.0, 0.5) * in[0]; }},
        {"gelu", [](const Inputs& in) { return gelu(in[0]); }},
        {"gelu tanh", [](const Inputs& in) { return gelu(in[0], "tanh"); }},
    };
    const std::vector<Shape> shapes = {{7}, {3, 4}, {}};
    std::uint64_t seed = 1;
    for (const auto& entry : ops)
    {
        const auto& name = entry.first;
        const auto& f = entry.second;
        for (const auto& shape : shapes)
        {
            CAPTURE(name);
            CAPTURE(shape_string(shape));
            check_derivatives(f, {away_from_zero(shape, seed++, 0.3, 2.5)});
        }
    }
}

TEST_CASE("softmax and log_softmax: values along each dim")
{
    const Array v{{1., 2., 3.}, {-1., 0., 4.}};
    const Tensor<double> x(v);
    for (std::ptrdiff_t dim : {0, 1, -1, -2})
    {
        CAPTURE(dim);
        const std::size_t d = dim < 0 ? static_cast<std::size_t>(dim + 2) : static_cast<std::size_t>(dim);
        const auto s = softmax(x, dim).value();
        const auto ls = log_softmax(x, dim).value();
        CHECK(s.shape() == v.shape());
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 3; ++j)
            {
                double total = 0.;
                for (std::size_t k = 0; k < v.shape(d); ++k)
                    total += std::exp(d == 0 ? v(k, j) : v(i, k));
                CHECK(s(i, j) == doctest::Approx(std::exp(v(i, j)) / total).epsilon(1e-14));
                CHECK(ls(i, j) == doctest::Approx(v(i, j) - std::log(total)).epsilon(1e-14));
            }
        const Array sums = xt::sum(s, {d});
        CHECK(xt::allclose(sums, 1.));
    }

    const Tensor<double> uniform_row(Array{5., 5., 5., 5.});
    check_close(softmax(uniform_row, 0).value(), {0.25, 0.25, 0.25, 0.25});
}

TEST_CASE_TEMPLATE("softmax and log_softmax are stable for [1000, 0, -1000]", T, float, double)
{
    const Tensor<T> x(xt::xarray<T>{T(1000), T(0), T(-1000)}, true);
    const auto s = softmax(x, 0);
    const auto ls = log_softmax(x, -1);
    CHECK(xt::all(xt::isfinite(s.value())));
    CHECK(xt::all(xt::isfinite(ls.value())));
    CHECK(s.value()(0) == T(1));
    CHECK(s.value()(1) == T(0));   // e^-1000 underflows
    CHECK(s.value()(2) == T(0));
    CHECK(ls.value()(0) == T(0));
    CHECK(ls.value()(1) == T(-1000));
    CHECK(ls.value()(2) == T(-2000));

    const auto g = grad({sum(ls * constant<T>(xt::xarray<T>{T(1), T(2), T(3)}))}, {x});
    CHECK(xt::all(xt::isfinite(g[0].value())));
    // dL/dx = w - softmax(x) sum(w) = (1 - 6, 2, 3)
    CHECK(g[0].value()(0) == doctest::Approx(-5.));
    CHECK(g[0].value()(1) == doctest::Approx(2.));
    CHECK(g[0].value()(2) == doctest::Approx(3.));

    // A row of all-large values: shifting keeps it exact.
    const Tensor<T> big(xt::xarray<T>{T(1000), T(1000)});
    CHECK(softmax(big, 0).value()(0) == doctest::Approx(0.5));
    CHECK(log_softmax(big, 0).value()(1) == doctest::Approx(-std::log(2.)));
}

TEST_CASE("softmax and log_softmax: gradcheck and gradgradcheck along each dim")
{
    std::uint64_t seed = 500;
    const std::vector<std::pair<Shape, std::vector<std::ptrdiff_t>>> cases = {
        {{5}, {0, -1}}, {{3, 4}, {0, 1, -1}}, {{2, 3, 4}, {0, 1, 2, -2}}};
    for (const auto& entry : cases)
    {
        const auto& shape = entry.first;
        const auto& dims = entry.second;
        for (const auto dim : dims)
        {
            CAPTURE(shape_string(shape));
            CAPTURE(dim);
            Generator rng(seed++);
            const auto x = randn<double>(shape, rng, true);
            check_derivatives([dim = dim](const Inputs& in) { return softmax(in[0], dim); }, {x});
            check_derivatives([dim = dim](const Inputs& in) { return log_softmax(in[0], dim); }, {x});
        }
    }
}

TEST_CASE("log_softmax equals log(softmax) and softmax equals exp(log_softmax)")
{
    Generator rng(9);
    const auto x = randn<double>({4, 6}, rng, false, 0., 3.);
    const auto s = softmax(x, 1);
    const auto ls = log_softmax(x, 1);
    CHECK(xt::allclose(xt::log(s.value()), ls.value(), 1e-12, 1e-12));
    CHECK(xt::allclose(xt::exp(ls.value()), s.value(), 1e-12, 1e-12));
}

TEST_CASE("softmax and log_softmax: dim out of range is a value_error")
{
    const Tensor<double> x(Array{{1., 2.}, {3., 4.}});
    CHECK_THROWS_AS(softmax(x, 2), value_error);
    CHECK_THROWS_AS(softmax(x, -3), value_error);
    CHECK_THROWS_AS(log_softmax(x, 2), value_error);
    CHECK_THROWS_AS(log_softmax(x, -3), value_error);
    check_error<value_error>([&] { softmax(x, 5); }, {"softmax", "5"});
    check_error<value_error>([&] { log_softmax(x, -7); }, {"log_softmax", "-7"});
}

TEST_CASE("activations keep shapes, including 0-d")
{
    const Tensor<double> scalar(Array(0.5));
    CHECK(relu(scalar).shape() == Shape{});
    CHECK(sigmoid(scalar).shape() == Shape{});
    CHECK(gelu(scalar).shape() == Shape{});
    CHECK(softplus(scalar).shape() == Shape{});
    const Tensor<double> cube(xt::ones<double>({2, 3, 4}));
    CHECK(tanh(cube).shape() == Shape{2, 3, 4});
    CHECK(leaky_relu(cube).shape() == Shape{2, 3, 4});
    CHECK(softmax(cube, 1).shape() == Shape{2, 3, 4});
}
