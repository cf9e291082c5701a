// Anomaly mode: the first NaN or Inf an op returns, forward or backward, raises anomaly_error naming the op,
// the pass, the input shapes and the ops behind the inputs; off by default, and restored by its guard.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::message_of;

namespace
{
    using Array = xt::xarray<double>;

    Tensor<double> leaf(Array value, const std::string& name)
    {
        Tensor<double> tensor(std::move(value), true);
        tensor.set_name(name);
        return tensor;
    }

    bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}

TEST_CASE("anomaly mode is off by default: NaN and Inf pass silently and results are unchanged")
{
    REQUIRE_FALSE(is_anomaly_enabled());
    auto x = leaf({-1., 0., 4.}, "x");
    Tensor<double> y;
    CHECK_NOTHROW(y = log(x));
    CHECK(std::isnan(y.value()(0)));
    CHECK(std::isinf(y.value()(1)));
    auto root = sqrt(x);
    CHECK_NOTHROW(sum(root).backward());
    CHECK(std::isinf(x.grad()(1)));   // 1 / (2 sqrt(0))

    // A finite computation gives the same values and gradients, bit for bit, with the mode on.
    auto run = [](Array& value, Array& gradient) {
        auto a = leaf({0.5, -1.5, 2.}, "a");
        auto loss = sum(tanh(a * a) * exp(a));
        loss.backward();
        value = loss.value();
        gradient = a.grad();
    };
    Array value_off, grad_off, value_on, grad_on;
    run(value_off, grad_off);
    {
        detect_anomaly anomaly;
        run(value_on, grad_on);
    }
    CHECK(value_on == value_off);
    CHECK(grad_on == grad_off);
}

TEST_CASE("a NaN in a forward output raises, naming the op, the pass and the input shapes")
{
    detect_anomaly anomaly;
    auto x = leaf({1., -1., 2.}, "x");
    const std::string message = message_of<anomaly_error>([&] { log(x); });
    CHECK(contains(message, "'log' returned NaN in 1 of 3 elements of its output, in the forward pass"));
    CHECK(contains(message, "op: log('x')"));
    CHECK(contains(message, "input shapes: (3,)"));

    // 0 / 0, with a constant: the message says which input is which.
    const Tensor<double> zeros_numerator(Array{0., 1.}, true);
    const auto denominator = constant<double>(Array{0., 2.});
    const std::string quotient = message_of<anomaly_error>([&] { div(zeros_numerator, denominator); });
    CHECK(contains(quotient, "'div' returned NaN in 1 of 2 elements"));
    CHECK(contains(quotient, "op: div(leaf (2,), constant (2,))"));
    CHECK(contains(quotient, "input shapes: (2,), (2,)"));

    // Whether or not a graph is recorded: inference is checked too.
    NoGradGuard no_grad;
    CHECK_THROWS_AS(sqrt(x), anomaly_error);
}

TEST_CASE("an Inf in a forward output raises unless an input already held one")
{
    detect_anomaly anomaly;
    auto x = leaf({1., 1000.}, "x");
    const std::string message = message_of<anomaly_error>([&] { exp(x); });
    CHECK(contains(message, "'exp' returned Inf in 1 of 2 elements of its output, in the forward pass"));
    auto zero = leaf({0., 1.}, "zero");
    CHECK(contains(message_of<anomaly_error>([&] { log(zero); }), "'log' returned Inf in 1 of 2 elements"));

    // An additive mask's -inf is passed on, not produced: causal attention runs, forward and backward.
    const double inf = std::numeric_limits<double>::infinity();
    auto scores = add(x, constant<double>(Array{0., -inf}));
    CHECK(std::isinf(scores.value()(1)));
    auto q = leaf(xt::ones<double>({1, 3, 2}), "q");
    auto attended = scaled_dot_product_attention(q, q, q, Tensor<double>(), /*is_causal=*/true);
    CHECK_NOTHROW(sum(attended).backward());
    CHECK(q.has_grad());

    // A NaN is reported even when an input held one: the first op to see it names it.
    auto nan_input = leaf({std::nan(""), 1.}, "nan_input");
    CHECK(contains(message_of<anomaly_error>([&] { mul(nan_input, 2.0); }), "'mul' returned NaN"));
}

TEST_CASE("a NaN or Inf in a gradient raises, naming the op whose backward returned it")
{
    detect_anomaly anomaly;
    auto x = leaf({0., 4.}, "x");
    auto root = sqrt(x);   // forward finite: (0, 2)
    root.set_name("root");
    const std::string message = message_of<anomaly_error>([&] { sum(root).backward(); });
    CHECK(contains(message,
                   "'sqrt' returned Inf in 1 of 2 elements of the gradient for its input 0, in the backward pass"));
    CHECK(contains(message, "op: sqrt('x') as 'root'"));
    CHECK(contains(message, "input shapes: (2,)"));
    CHECK_FALSE(x.has_grad());   // raised before anything reached the leaf

    // 0 / (2 sqrt(0)) = NaN: a zero gradient flowing into sqrt at 0.
    auto y = leaf({0., 1.}, "y");
    const std::string nan_message = message_of<anomaly_error>([&] { sum(sqrt(y) * 0.0).backward(); });
    CHECK(contains(nan_message,
                   "'sqrt' returned NaN in 1 of 2 elements of the gradient for its input 0, in the backward pass"));
}

TEST_CASE("under create_graph, the rule's own op is named, and gradients of gradients are checked")
{
    detect_anomaly anomaly;
    // The backward of sqrt is recorded as ops (div, mul); the anomaly is still the backward of sqrt.
    auto x = leaf({0., 4.}, "x");
    const std::string first = message_of<anomaly_error>([&] { grad({sum(sqrt(x))}, {x}, /*create_graph=*/true); });
    CHECK(contains(first,
                   "'sqrt' returned Inf in 1 of 2 elements of the gradient for its input 0, in the backward pass"));

    // y = x^1.5: dy/dx = 1.5 x^0.5 is finite at 0, d2y/dx2 = 0.75 x^-0.5 is not.
    auto z = leaf({0., 1.}, "z");
    const auto dz = grad({sum(pow(z, 1.5))}, {z}, /*create_graph=*/true);
    xgrad_test::check_close(dz[0].value(), {0., 1.5});
    const std::string second = message_of<anomaly_error>([&] { grad({sum(dz[0])}, {z}); });
    CHECK(contains(second,
                   "'pow' returned Inf in 1 of 2 elements of the gradient for its input 0, in the backward pass"));
    CHECK(contains(second, "op: pow('z')"));
}

TEST_CASE("the message follows the inputs back a few ops, with the tensors' names")
{
    detect_anomaly anomaly;
    auto x = leaf({{1., -2., 0.5}, {0., 1., -1.}}, "x");   // (2, 3)
    auto w = leaf({{1., 0.}, {0., 1.}, {1., 1.}}, "w");    // (3, 2)
    auto hidden = relu(matmul(x, w));                      // (2, 2)
    hidden.set_name("h");
    auto shifted = sub(hidden, constant<double>(xt::ones<double>({2, 2})));
    const std::string message = message_of<anomaly_error>([&] { log(shifted); });
    CHECK(message == "detect_anomaly: 'log' returned NaN in 3 of 4 elements of its output, in the forward pass\n"
                     "  op: log(sub(relu(matmul('x', 'w')) as 'h', constant (2, 2)))\n"
                     "  input shapes: (2, 2)");

    // Past a few ops the chain is cut short.
    auto deep = leaf({1.}, "deep");
    Tensor<double> chain = deep;
    for (int i = 0; i < 8; ++i)
        chain = chain * 1.0;
    const std::string cut = message_of<anomaly_error>([&] { log(sub(chain, 2.0)); });
    CHECK(contains(cut, "(...)"));
    CHECK_FALSE(contains(cut, "'deep'"));
}

TEST_CASE("the guard restores the previous mode, also when an exception leaves its scope")
{
    REQUIRE_FALSE(is_anomaly_enabled());
    try
    {
        detect_anomaly anomaly;
        CHECK(is_anomaly_enabled());
        throw std::runtime_error("leaving the scope");
    }
    catch (const std::runtime_error&)
    {}
    CHECK_FALSE(is_anomaly_enabled());

    // The anomaly itself passing through the guard; anomaly_error is an xgrad::error.
    auto x = leaf({-1.}, "x");
    const auto log_under_guard = [&] {
        detect_anomaly anomaly;
        log(x);
    };
    CHECK_THROWS_AS(log_under_guard(), xgrad::error);
    CHECK_FALSE(is_anomaly_enabled());

    // Nested guards and the global switch.
    set_detect_anomaly(true);
    {
        detect_anomaly off(false);
        CHECK_FALSE(is_anomaly_enabled());
        CHECK_NOTHROW(log(x));
        {
            detect_anomaly on;
            CHECK_THROWS_AS(log(x), anomaly_error);
        }
        CHECK_FALSE(is_anomaly_enabled());
    }
    CHECK(is_anomaly_enabled());
    set_detect_anomaly(false);
    CHECK_FALSE(is_anomaly_enabled());
}

TEST_CASE("the mode is process-wide: ops on another thread are checked too")
{
    detect_anomaly anomaly;
    std::string message;
    std::thread worker([&] {
        auto x = leaf({-1.}, "x");
        message = message_of<anomaly_error>([&] { log(x); });
    });
    worker.join();
    CHECK(contains(message, "'log' returned NaN"));
}
