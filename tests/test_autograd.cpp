// The reverse-mode engine: seeding, accumulation, retain_graph, grad mode, deep graphs, grad() and
// gradients of gradients.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::message_of;

namespace
{
    using Array = xt::xarray<double>;

    Tensor<double> leaf(Array value) { return Tensor<double>(std::move(value), true); }

    // xgrad_test::check_close with this file's default tolerance, 1e-10.
    void check_close(const Array& actual, const Array& expected, double tolerance = 1e-10)
    {
        xgrad_test::check_close(actual, expected, tolerance);
    }
}

TEST_CASE("backward of a one-element output seeds the gradient with 1")
{
    auto x = leaf({1., 2., 3.});
    auto y = sum(x * 3.0);
    CHECK(y.shape() == Shape{});
    y.backward();
    check_close(x.grad(), {3., 3., 3.});

    // A (1, 1) output is one element too.
    auto z = leaf(xt::ones<double>({1, 1}) * 2.);
    auto w = z * z;
    w.backward();
    check_close(z.grad(), xt::ones<double>({1, 1}) * 4.);

    // Backward from a leaf: its gradient is the seed.
    auto s = leaf(Array(5.));
    s.backward();
    CHECK(s.grad()() == 1.);

    // The free-function form.
    auto u = leaf({1., -1.});
    xgrad::backward(sum(u * u));
    check_close(u.grad(), {2., -2.});
}

TEST_CASE("backward of a non-scalar needs an explicit gradient of the right shape")
{
    auto x = leaf({1., 2., 3.});
    auto y = x * x;   // (3,)
    CHECK_THROWS_AS(y.backward(), autograd_error);
    const std::string message = message_of([&] { y.backward(); });
    CHECK(message.find("(3,)") != std::string::npos);
    CHECK_FALSE(x.has_grad());

    CHECK_THROWS_AS(y.backward(Tensor<double>(Array{1., 1.})), shape_error);

    y.backward(Tensor<double>(Array{1., 10., 100.}));
    check_close(x.grad(), {2., 40., 600.});
}

TEST_CASE("backward of an output that records no graph is an autograd_error")
{
    Tensor<double> c(Array{1., 2.});
    auto y = sum(c * 2.0);
    CHECK_FALSE(y.requires_grad());
    CHECK_THROWS_AS(y.backward(), autograd_error);
    CHECK_THROWS_AS(grad({y}, {leaf({1.})}), autograd_error);
}

TEST_CASE("gradients accumulate where a tensor feeds several ops")
{
    auto x = leaf({2., -3., 0.5});
    auto y = sum(x * x + x);   // dy/dx = 2x + 1
    y.backward();
    check_close(x.grad(), {5., -5., 2.});

    // The same tensor on both sides of one op, and through a diamond.
    auto a = leaf({1.5});
    auto b = a * 2.0;
    auto c = sum(b * b + exp(b) - a);   // d/da = 8a + 2 e^(2a) - 1
    c.backward();
    check_close(a.grad(), {8. * 1.5 + 2. * std::exp(3.) - 1.});
}

TEST_CASE("gradients accumulate across backward calls until zero_grad")
{
    auto x = leaf({1., 2.});
    sum(x * 2.0).backward();
    check_close(x.grad(), {2., 2.});
    sum(x * x).backward();
    check_close(x.grad(), {4., 6.});
    x.zero_grad();
    CHECK_FALSE(x.has_grad());
    CHECK_THROWS_AS(x.grad(), autograd_error);
    sum(x * 5.0).backward();
    check_close(x.grad(), {5., 5.});
}

TEST_CASE("the gradient a leaf keeps is not shared with tensors the user still holds")
{
    // y = x + c hands dL/dy straight to x: accumulating into x.grad must not write into the seed.
    auto x = leaf({1., 2.});
    Tensor<double> c(Array{10., 20.});
    Tensor<double> seed(Array{1., 1.});
    auto y = x + c;
    y.backward(seed, /*retain_graph=*/true);
    y.backward(seed);
    check_close(x.grad(), {2., 2.});
    check_close(seed.value(), {1., 1.});

    // Two leaves that both receive dL/dy unchanged keep separate totals.
    auto a = leaf({1.});
    auto b = leaf({1.});
    auto s = a + b;
    s.backward(Tensor<double>(Array{1.}), true);
    sum(a * 3.0).backward();
    check_close(a.grad(), {4.});
    check_close(b.grad(), {1.});
}

TEST_CASE("an in-place change to one gradient reaches no other tensor")
{
    // add hands the same dL/dy to both operands: a and b must still own separate gradients.
    auto a = leaf({1., 2.});
    auto b = leaf({3., 4.});
    sum(a + b).backward();
    a.mutable_grad() *= 2.;
    check_close(a.grad(), {2., 2.});
    check_close(b.grad(), {1., 1.});

    // Clipping scales every gradient once.
    a.zero_grad();
    b.zero_grad();
    sum(a + b).backward();
    optim::clip_grad_norm_(std::vector<Tensor<double>>{a, b}, 1.0);   // scale 1 / (2 + 1e-6), as PyTorch
    check_close(a.grad(), {0.5, 0.5}, 1e-5);
    check_close(b.grad(), {0.5, 0.5}, 1e-5);

    // The caller's seed stays the caller's.
    auto x = leaf({1., 2.});
    Tensor<double> seed(Array{1., 1.});
    (x + 0.0).backward(seed);
    x.mutable_grad() *= 10.;
    check_close(seed.value(), {1., 1.});

    // A retained intermediate gradient and the leaf's are separate too.
    auto h = x * 1.0;
    h.retain_grad();
    x.zero_grad();
    (h + 0.0).backward(seed);
    h.mutable_grad() *= 3.;
    check_close(x.grad(), {1., 1.});
    check_close(h.grad(), {3., 3.});
}

TEST_CASE("retain_graph allows a second backward; without it the second one throws")
{
    auto x = leaf({1., 2.});
    auto y = sum(x * x);
    y.backward(Tensor<double>(), /*retain_graph=*/true);
    check_close(x.grad(), {2., 4.});
    y.backward();   // releases the graph this time
    check_close(x.grad(), {4., 8.});
    CHECK_THROWS_AS(y.backward(), autograd_error);
    const std::string message = message_of([&] { y.backward(); });
    CHECK(message.find("retain_graph") != std::string::npos);
    check_close(x.grad(), {4., 8.});

    auto z = sum(exp(x));
    z.backward();
    CHECK_THROWS_AS(z.backward(), autograd_error);
}

TEST_CASE("retain_grad keeps an intermediate gradient")
{
    auto x = leaf({1., 2.});
    auto h = x * 3.0;
    h.retain_grad();
    auto y = sum(h * h);
    y.backward();
    check_close(h.grad(), {6., 12.});
    check_close(x.grad(), {18., 36.});
    auto other = x * 2.0;
    sum(other).backward();
    CHECK_FALSE(other.has_grad());
}

TEST_CASE("backward with several outputs sums their contributions")
{
    auto x = leaf({1., 2.});
    auto y1 = sum(x * x);
    auto y2 = x * 3.0;
    xgrad::backward(std::vector<Tensor<double>>{y1, y2},
                    std::vector<Tensor<double>>{Tensor<double>(), Tensor<double>(Array{1., 2.})});
    check_close(x.grad(), {2. + 3., 4. + 6.});
}

TEST_CASE("NoGradGuard: nothing records inside, the previous mode comes back after")
{
    auto x = leaf({1., 2.});
    CHECK(is_grad_enabled());
    {
        NoGradGuard no_grad;
        CHECK_FALSE(is_grad_enabled());
        auto y = x * x + 1.0;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
        check_close(y.value(), {2., 5.});
        {
            EnableGradGuard enable;
            CHECK((x * 2.0).requires_grad());
        }
        CHECK_FALSE((x * 2.0).requires_grad());
        {
            NoGradGuard nested;
            CHECK_FALSE(is_grad_enabled());
        }
        CHECK_FALSE(is_grad_enabled());
    }
    CHECK(is_grad_enabled());
    CHECK((x * 2.0).requires_grad());
}

TEST_CASE("grad mode is per thread")
{
    NoGradGuard no_grad;
    std::atomic<bool> other_thread_records{false};
    std::atomic<bool> other_thread_enabled{false};
    std::thread worker([&] {
        Tensor<double> a(Array{1., 2.}, true);
        other_thread_enabled = is_grad_enabled();
        other_thread_records = (a * a).requires_grad();
    });
    worker.join();
    CHECK(other_thread_enabled);
    CHECK(other_thread_records);
    CHECK_FALSE(is_grad_enabled());
    Tensor<double> b(Array{1.}, true);
    CHECK_FALSE((b * b).requires_grad());
}

TEST_CASE("a 100,000-op chain backpropagates without overflowing the stack")
{
    constexpr int depth = 100000;
    auto x = leaf(Array(1.));
    const Tensor<double> factor(Array(1.00001));
    auto y = x;
    for (int i = 0; i < depth; ++i)
        y = y * factor;
    y.backward();
    CHECK(x.grad()() == doctest::Approx(std::pow(1.00001, depth)).epsilon(1e-9));
    y = Tensor<double>();   // the released graph goes, iteratively
    CHECK(x.has_grad());
}

TEST_CASE("dropping an un-backwarded 100,000-op graph does not overflow the stack")
{
    constexpr int depth = 100000;
    auto x = leaf({1., 2.});
    {
        auto y = x;
        for (int i = 0; i < depth; ++i)
            y = neg(y);
        CHECK(y.requires_grad());
        CHECK(y.op_name() == "neg");
    }
    CHECK(x.node().use_count() == 1);   // the whole graph is gone
}

TEST_CASE("grad returns gradients without touching .grad")
{
    auto x = leaf({1., 2., 3.});
    auto y = sum(x * x);
    const auto g = grad({y}, {x});
    REQUIRE(g.size() == 1);
    check_close(g[0].value(), {2., 4., 6.});
    CHECK_FALSE(g[0].requires_grad());
    CHECK_FALSE(x.has_grad());

    // With an existing .grad, grad() leaves it as it was.
    sum(x * 2.0).backward();
    const auto g2 = grad({sum(x * x * x)}, {x});
    check_close(g2[0].value(), {3., 12., 27.});
    check_close(x.grad(), {2., 2., 2.});
}

TEST_CASE("grad: unused inputs get zeros, bad outputs and inputs are autograd_errors")
{
    auto x = leaf({1., 2.});
    auto unused = leaf({{1., 2., 3.}});
    const auto g = grad({sum(x * 4.0)}, {x, unused});
    REQUIRE(g.size() == 2);
    check_close(g[0].value(), {4., 4.});
    CHECK(g[1].shape() == Shape{1, 3});
    check_close(g[1].value(), {{0., 0., 0.}});

    Tensor<double> constant_output(Array(1.));
    CHECK_THROWS_AS(grad({constant_output}, {x}), autograd_error);
    {
        NoGradGuard no_grad;
        auto recorded_nothing = sum(x * x);
        CHECK_THROWS_AS(grad({recorded_nothing}, {x}), autograd_error);
    }
    Tensor<double> not_a_parameter(Array{1., 2.});
    CHECK_THROWS_AS(grad({sum(x * not_a_parameter)}, {not_a_parameter}), autograd_error);
    CHECK_THROWS_AS(grad({x * x}, {x}), autograd_error);   // non-scalar without output gradient
}

TEST_CASE("grad with create_graph gives second derivatives: d2/dx2 x^3 = 6x")
{
    auto x = leaf({-1., 0.5, 2.});
    auto y = sum(x * x * x);
    const auto first = grad({y}, {x}, /*create_graph=*/true);
    check_close(first[0].value(), {3., 0.75, 12.});
    CHECK(first[0].requires_grad());
    const auto second = grad({sum(first[0])}, {x}, true);
    check_close(second[0].value(), {-6., 3., 12.});
    const auto third = grad({sum(second[0])}, {x});
    check_close(third[0].value(), {6., 6., 6.});
    CHECK_FALSE(x.has_grad());

    // The same through pow.
    auto p = leaf({1.5, 3.});
    const auto dp = grad({sum(pow(p, 3))}, {p}, true);
    const auto ddp = grad({sum(dp[0])}, {p});
    check_close(ddp[0].value(), {9., 18.});
}

TEST_CASE("backward with create_graph leaves a differentiable .grad")
{
    auto x = leaf({1., 2.});
    sum(x * x * x).backward(Tensor<double>(), false, /*create_graph=*/true);
    const auto dx = x.grad_tensor();
    CHECK(dx.requires_grad());
    check_close(dx.value(), {3., 12.});
    const auto ddx = grad({sum(dx)}, {x});
    check_close(ddx[0].value(), {6., 12.});
    x.zero_grad();   // breaks the x -> grad -> x cycle
}

TEST_CASE("a Hessian-vector product matches the analytic Hessian")
{
    // f(a, b) = sum(a^2 b + exp(a b)): per element, the Hessian in (a, b) is
    //   f_aa = 2b + b^2 e^(ab),  f_ab = 2a + e^(ab) + ab e^(ab),  f_bb = a^2 e^(ab)
    const Array a_value{0.5, -1., 1.2};
    const Array b_value{0.3, 0.7, -0.4};
    const Array va{1., 2., -1.};
    const Array vb{0.5, -1., 3.};
    auto a = leaf(a_value);
    auto b = leaf(b_value);
    auto f = sum(a * a * b + exp(a * b));
    const auto g = grad({f}, {a, b}, true);
    auto directional = sum(g[0] * Tensor<double>(va)) + sum(g[1] * Tensor<double>(vb));
    const auto hv = grad({directional}, {a, b});

    const Array e = xt::exp(a_value * b_value);
    const Array f_aa = 2. * b_value + b_value * b_value * e;
    const Array f_ab = 2. * a_value + e + a_value * b_value * e;
    const Array f_bb = a_value * a_value * e;
    check_close(hv[0].value(), f_aa * va + f_ab * vb, 1e-9);
    check_close(hv[1].value(), f_ab * va + f_bb * vb, 1e-9);
    CHECK_FALSE(a.has_grad());
    CHECK_FALSE(b.has_grad());
}

TEST_CASE("inputs that need no gradient get none, and the op still records for the others")
{
    auto x = leaf({1., 2.});
    Tensor<double> c(Array{3., 4.});
    auto y = sum(x * c + c);
    y.backward();
    check_close(x.grad(), {3., 4.});
    CHECK_FALSE(c.has_grad());
}

TEST_CASE("float tensors backpropagate too")
{
    Tensor<float> x(xt::xarray<float>{1.f, 2.f}, true);
    auto y = sum(x * x * 0.5f + 1.f);
    y.backward();
    CHECK(x.grad()(0) == doctest::Approx(1.f));
    CHECK(x.grad()(1) == doctest::Approx(2.f));
}
