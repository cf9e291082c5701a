// gradcheck and gradgradcheck themselves: they pass correct rules, catch wrong ones (naming the input and
// element), leave the inputs as they found them, and refuse to check nothing.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::message_of;

namespace
{
    using Array = xt::xarray<double>;
    using Inputs = std::vector<Tensor<double>>;

    // y = x^2 with a backward that is right except at one flat element, where it adds `error`.
    Tensor<double> square_with_wrong_element(const Tensor<double>& x, std::size_t wrong_element, double error)
    {
        return make_result<double>("bad_square", x.value() * x.value(), {x},
                                   [x, wrong_element, error](const Tensor<double>& dout) -> Grads<double> {
                                       Array local = 2. * x.value();
                                       local.data()[wrong_element] += error;
                                       return {mul(dout, constant<double>(local))};
                                   });
    }

    // y = x^3 whose backward is numerically right but uses a detached 3x^2: its second derivative is lost.
    Tensor<double> cube_with_detached_backward(const Tensor<double>& x)
    {
        return make_result<double>("detached_cube", x.value() * x.value() * x.value(), {x},
                                   [x](const Tensor<double>& dout) -> Grads<double> {
                                       return {mul(dout, constant<double>(3. * x.value() * x.value()))};
                                   });
    }

    // y = x^3 with a correct, differentiable backward.
    Tensor<double> cube(const Tensor<double>& x)
    {
        return make_result<double>("cube", x.value() * x.value() * x.value(), {x},
                                   [x](const Tensor<double>& dout) -> Grads<double> {
                                       return {mul(dout, mul(mul(x, x), 3.0))};
                                   });
    }
}

TEST_CASE("gradcheck and gradgradcheck pass correct rules")
{
    const Tensor<double> a(Array{{0.5, -1.2, 2.}, {1.1, 0.3, -0.7}}, true);
    const Tensor<double> b(Array{0.8, 1.5, -2.}, true);
    const auto f = [](const Inputs& in) { return exp(in[0]) * in[1] + in[0] / in[1]; };
    CHECK(gradcheck(f, {a, b}));
    CHECK(gradgradcheck(f, {a, b}));
    CHECK(gradcheck([](const Inputs& in) { return cube(in[0]); }, {a}));
    CHECK(gradgradcheck([](const Inputs& in) { return cube(in[0]); }, {a}));
    // A one-element output and a 0-d input.
    const Tensor<double> s(Array(0.7), true);
    CHECK(gradcheck([](const Inputs& in) { return sum(in[0] * in[1]); }, {a, s}));
    CHECK(gradgradcheck([](const Inputs& in) { return sum(in[0] * in[1]); }, {a, s}));
}

TEST_CASE("gradcheck catches a wrong backward and names the input and element")
{
    const Tensor<double> a(Array{1., 2.}, true);
    const Tensor<double> b(Array{{0.5, -1., 1.5}, {2., -0.5, 0.25}}, true);   // (2, 3)
    const auto f = [](const Inputs& in) { return sum(in[0]) + square_with_wrong_element(in[1], 4, 0.1); };

    CHECK_THROWS_AS(gradcheck(f, {a, b}), gradcheck_error);
    const std::string message = message_of<gradcheck_error>([&] { gradcheck(f, {a, b}); });
    INFO("message: " << message);
    CHECK(message.find("gradcheck") != std::string::npos);
    CHECK(message.find("input 1") != std::string::npos);
    CHECK(message.find("(2, 3)") != std::string::npos);
    CHECK(message.find("element 4") != std::string::npos);
    CHECK(message.find("analytic") != std::string::npos);
    CHECK(message.find("finite difference") != std::string::npos);

    // raise = false: a plain false.
    CHECK_FALSE(gradcheck(f, {a, b}, 1e-6, 1e-5, 1e-3, /*raise=*/false));

    // Another wrong element, another input position.
    const auto g = [](const Inputs& in) { return square_with_wrong_element(in[0], 1, -0.05) * 2.0; };
    const std::string second = message_of<gradcheck_error>([&] { gradcheck(g, {a}); });
    INFO("message: " << second);
    CHECK(second.find("input 0") != std::string::npos);
    CHECK(second.find("element 1") != std::string::npos);

    // The same op with the error removed passes.
    CHECK(gradcheck([](const Inputs& in) { return square_with_wrong_element(in[0], 0, 0.); }, {b}));
}

TEST_CASE("gradcheck's tolerance is atol + rtol |numeric|")
{
    // d(x^2)/dx = 10 at x = 5; the default tolerance there is 1e-5 + 1e-3 * 10 ~ 0.01.
    const Tensor<double> x(Array{3., 4., 5.}, true);
    const auto off_by_0_05 = [](const Inputs& in) { return square_with_wrong_element(in[0], 2, 0.05); };
    const auto off_by_0_005 = [](const Inputs& in) { return square_with_wrong_element(in[0], 2, 0.005); };
    CHECK_THROWS_AS(gradcheck(off_by_0_05, {x}), gradcheck_error);
    CHECK(gradcheck(off_by_0_005, {x}));
    // Tighter tolerances catch the smaller error; looser ones let the larger through.
    CHECK_THROWS_AS(gradcheck(off_by_0_005, {x}, 1e-6, 1e-5, 1e-5), gradcheck_error);
    CHECK(gradcheck(off_by_0_05, {x}, 1e-6, 0.1, 1e-3));
}

TEST_CASE("gradgradcheck catches a backward that is right but not differentiable")
{
    const Tensor<double> x(Array{0.5, -1., 2.}, true);
    const auto f = [](const Inputs& in) { return cube_with_detached_backward(in[0]) + in[0] * in[0]; };
    CHECK(gradcheck(f, {x}));   // first derivatives are right
    CHECK_THROWS_AS(gradgradcheck(f, {x}), gradcheck_error);
    const std::string message = message_of<gradcheck_error>([&] { gradgradcheck(f, {x}); });
    INFO("message: " << message);
    CHECK(message.find("gradgradcheck") != std::string::npos);
    CHECK(message.find("input 0") != std::string::npos);
    CHECK(message.find("element 0") != std::string::npos);
    CHECK_FALSE(gradgradcheck(f, {x}, 1e-6, 1e-5, 1e-3, false));

    // A wrong first derivative is a wrong second one too.
    const auto g = [](const Inputs& in) { return square_with_wrong_element(in[0], 0, 0.1) * in[0]; };
    CHECK_THROWS_AS(gradcheck(g, {x}), gradcheck_error);
}

TEST_CASE("gradcheck leaves the inputs' values and gradients alone")
{
    const Array value{{0.5, -1.2}, {2., 0.25}};
    const Tensor<double> a(value, true);
    const Tensor<double> constant_input(Array{1., 2.});
    const auto f = [](const Inputs& in) { return tanh(in[0]) * in[1]; };
    CHECK(gradcheck(f, {a, constant_input}));
    CHECK(gradgradcheck(f, {a, constant_input}));
    CHECK(a.value() == value);
    CHECK(constant_input.value() == Array{1., 2.});
    CHECK_FALSE(a.has_grad());
    CHECK_FALSE(constant_input.has_grad());

    // After a failure too.
    const auto bad = [](const Inputs& in) { return square_with_wrong_element(in[0], 3, 1.); };
    CHECK_THROWS_AS(gradcheck(bad, {a}), gradcheck_error);
    CHECK(a.value() == value);
    CHECK(is_grad_enabled());
}

TEST_CASE("inputs without requires_grad are not checked; none at all is a value_error")
{
    // The wrong rule sits on an input that needs no gradient, so nothing is compared there.
    const Tensor<double> checked(Array{1., 2.}, true);
    const Tensor<double> unchecked(Array{3., 4.});
    const auto f = [](const Inputs& in) { return in[0] * in[1] + square_with_wrong_element(in[1], 0, 5.); };
    CHECK(gradcheck(f, {checked, unchecked}));

    CHECK_THROWS_AS(gradcheck([](const Inputs& in) { return in[0] * 2.0; }, {unchecked}), value_error);
    CHECK_THROWS_AS(gradgradcheck([](const Inputs& in) { return in[0] * 2.0; }, {unchecked}), value_error);
}

TEST_CASE("gradgradcheck of an op with constant first derivatives passes")
{
    const Tensor<double> a(Array{1., 2.}, true);
    const Tensor<double> b(Array{3., 4.}, true);
    CHECK(gradgradcheck([](const Inputs& in) { return in[0] + in[1] * 2.0; }, {a, b}));
    CHECK(gradgradcheck([](const Inputs& in) { return relu(in[0]); }, {a}));
}

TEST_CASE("gradcheck_error is an xgrad::error")
{
    const Tensor<double> x(Array{1.}, true);
    CHECK_THROWS_AS(gradcheck([](const Inputs& in) { return square_with_wrong_element(in[0], 0, 1.); }, {x}),
                    xgrad::error);
}
