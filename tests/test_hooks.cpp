// Hooks: gradient hooks on tensors (what they see, replacements, order, removal, when they fire, under
// create_graph) and forward hooks on modules.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::check_close;

namespace
{
    using Array = xt::xarray<double>;

    Tensor<double> leaf(Array value) { return Tensor<double>(std::move(value), true); }
}

TEST_CASE("a gradient hook sees dL/dx once per pass, summed over all uses of x")
{
    auto x = leaf({1., 2., 3.});
    std::vector<Array> seen;
    x.register_hook([&](const Tensor<double>& gradient) { seen.push_back(gradient.value()); });

    auto loss = sum(x * x) + sum(x * 3.0);   // dL/dx = 2x + 3
    loss.backward();
    REQUIRE(seen.size() == 1);
    check_close(seen[0], {5., 7., 9.});
    check_close(x.grad(), {5., 7., 9.});

    // A second pass: the hook sees this pass's gradient, grad() the sum of both.
    sum(x * x).backward();
    REQUIRE(seen.size() == 2);
    check_close(seen[1], {2., 4., 6.});
    check_close(x.grad(), {7., 11., 15.});

    // An intermediate result's hook sees dL/dh.
    auto h = x * 2.0;
    Array seen_h;
    h.register_hook([&](const Tensor<double>& gradient) { seen_h = gradient.value(); });
    sum(h * h).backward();   // dL/dh = 2h = 4x
    check_close(seen_h, {4., 8., 12.});
}

TEST_CASE("a hook's replacement becomes a leaf's grad and what flows on from an intermediate")
{
    auto x = leaf({1., -2.});
    x.register_hook([](const Tensor<double>& gradient) { return gradient * 10.0; });
    sum(x * x).backward();
    check_close(x.grad(), {20., -40.});

    auto a = leaf({1., -2.});
    auto h = a * a;
    h.retain_grad();
    h.register_hook([](const Tensor<double>& gradient) { return gradient * 3.0; });
    sum(h).backward();
    check_close(h.grad(), {3., 3.});     // retained after the hook
    check_close(a.grad(), {6., -12.});   // 3 * 2a: the replacement is what flowed upstream

    // An undefined Tensor keeps the gradient.
    auto b = leaf({5.});
    b.register_hook([](const Tensor<double>&) { return Tensor<double>(); });
    sum(b * 2.0).backward();
    check_close(b.grad(), {2.});

    // A replacement of the wrong shape is refused; a tensor without requires_grad takes no hook.
    auto c = leaf({1., 2.});
    c.register_hook([](const Tensor<double>&) { return Tensor<double>(Array{1., 2., 3.}); });
    xgrad_test::check_error<shape_error>([&] { sum(c).backward(); }, {"register_hook", "(3,)", "(2,)"});
    const Tensor<double> plain(Array{1.});
    CHECK_THROWS_AS(plain.register_hook([](const Tensor<double>&) {}), autograd_error);
}

TEST_CASE("hooks run in registration order, each seeing the previous one's replacement")
{
    auto x = leaf({1.});
    std::vector<std::string> calls;
    x.register_hook([&](const Tensor<double>& gradient) {
        calls.push_back("first saw " + std::to_string(gradient.item()));
        return gradient + 1.0;
    });
    x.register_hook([&](const Tensor<double>& gradient) {
        calls.push_back("second saw " + std::to_string(gradient.item()));
        return gradient * 2.0;
    });
    sum(x * 4.0).backward();
    CHECK(calls == std::vector<std::string>{"first saw 4.000000", "second saw 5.000000"});
    check_close(x.grad(), {10.});
}

TEST_CASE("a handle removes its hook, once, and is harmless after the tensor is gone")
{
    auto x = leaf({1., 1.});
    int first_calls = 0;
    int second_calls = 0;
    HookHandle first = x.register_hook([&](const Tensor<double>&) { ++first_calls; });
    x.register_hook([&](const Tensor<double>&) { ++second_calls; });
    sum(x).backward();
    first.remove();
    first.remove();   // idempotent
    sum(x).backward();
    CHECK(first_calls == 1);
    CHECK(second_calls == 2);

    // A hook that removes itself while it runs runs this time only.
    HookHandle once;
    int once_calls = 0;
    once = x.register_hook([&](const Tensor<double>&) {
        ++once_calls;
        once.remove();
    });
    sum(x).backward();
    sum(x).backward();
    CHECK(once_calls == 1);

    HookHandle orphan;
    {
        auto gone = leaf({1.});
        orphan = gone.register_hook([](const Tensor<double>&) {});
    }
    CHECK_NOTHROW(orphan.remove());
    HookHandle empty;
    CHECK_NOTHROW(empty.remove());
}

TEST_CASE("a leaf's hook fires when its gradient for the pass is final: parameters used last fire first")
{
    // Two layers' weights, the first also used a second time at the end: its gradient is complete only after
    // both uses, so it fires after the second weight's, with the sum.
    auto w1 = leaf({2.});
    auto w2 = leaf({3.});
    auto x = constant<double>(Array{1.});
    std::vector<std::string> order;
    Array w1_seen;
    w1.register_hook([&](const Tensor<double>& gradient) {
        order.push_back("w1");
        w1_seen = gradient.value();
    });
    w2.register_hook([&](const Tensor<double>&) { order.push_back("w2"); });
    auto hidden = x * w1;
    auto out = hidden * w2;
    auto loss = sum(out + w1 * 5.0);   // dL/dw1 = x w2 + 5 = 8, dL/dw2 = x w1 = 2
    loss.backward();
    CHECK(order == std::vector<std::string>{"w2", "w1"});
    check_close(w1_seen, {8.});

    // A parameter's hook fires as soon as its gradient is final, before the backward of earlier layers runs:
    // the hook on the first layer's output (an intermediate) fires after the second layer's weight's.
    order.clear();
    auto first_layer = x * w1;
    first_layer.register_hook([&](const Tensor<double>&) { order.push_back("first layer output"); });
    sum(first_layer * w2).backward();
    CHECK(order == std::vector<std::string>{"w2", "first layer output", "w1"});

    // In grad(), a leaf's hook fires only when the leaf is an input.
    order.clear();
    auto y = sum(x * w1 * w2);
    grad({y}, {w2}, false, true);
    CHECK(order == std::vector<std::string>{"w2"});
    order.clear();
    grad({y}, {w1});
    CHECK(order == std::vector<std::string>{"w1"});
}

TEST_CASE("under create_graph a hook's replacement is differentiable")
{
    // h = x^2 with dL/dh replaced by x:  dL/dx = x * 2x = 2x^2, and d(2x^2)/dx = 4x.
    auto x = leaf({3.});
    auto h = x * x;
    h.register_hook([x](const Tensor<double>& gradient) { return gradient * x; });
    const auto dx = grad({sum(h)}, {x}, /*create_graph=*/true);
    check_close(dx[0].value(), {18.});
    REQUIRE(dx[0].requires_grad());
    const auto d2x = grad({sum(dx[0])}, {x});
    check_close(d2x[0].value(), {12.});

    // The same through a leaf and backward(create_graph): grad_tensor() carries the hook's graph.
    auto w = leaf({2.});
    HookHandle handle = w.register_hook([w](const Tensor<double>& gradient) { return gradient * w; });
    sum(w * w * w).backward(Tensor<double>(), false, /*create_graph=*/true);   // 3w^2 * w = 3w^3
    check_close(w.grad(), {24.});
    {
        const Tensor<double> dw = w.grad_tensor();
        CHECK(dw.requires_grad());
    }
    // A hook that holds its own tensor, and a gradient whose graph holds it, are reference cycles (as in
    // PyTorch): removing the hook and the gradient breaks them.
    handle.remove();
    w.zero_grad();
}

TEST_CASE("a module's forward hook sees the input and output, may replace the output, and can be removed")
{
    nn::Linear<double> layer(3, 2);
    auto x = leaf({{1., 2., 3.}});
    const nn::Module<double>* hooked = nullptr;
    Array seen_input, seen_output;
    int calls = 0;
    HookHandle handle = layer.register_forward_hook(
        [&](nn::Module<double>& module, const Tensor<double>& input, const Tensor<double>& output) {
            ++calls;
            hooked = &module;
            seen_input = input.value();
            seen_output = output.value();
        });
    const auto y = layer(x);
    CHECK(calls == 1);
    CHECK(hooked == &layer);
    check_close(seen_input, x.value());
    check_close(seen_output, y.value());
    check_close(y.value(), layer.forward(x).value());

    // forward() itself runs no hooks; a removed hook does not run.
    layer.forward(x);
    CHECK(calls == 1);
    handle.remove();
    layer(x);
    CHECK(calls == 1);

    // A replacement output, and a pre-hook that replaces the input (the forward hook sees the new input).
    layer.register_forward_pre_hook([](nn::Module<double>&, const Tensor<double>& input) { return input * 2.0; });
    layer.register_forward_hook([&](nn::Module<double>&, const Tensor<double>& input, const Tensor<double>& output) {
        seen_input = input.value();
        return output * 0.0;
    });
    const auto replaced = layer(x);
    check_close(seen_input, {{2., 4., 6.}});
    check_close(replaced.value(), xt::zeros<double>({1, 2}));
}

TEST_CASE("the hooks of a Sequential's children run: an activation captured mid-model")
{
    nn::Sequential<double> model(nn::Linear<double>(3, 4), nn::ReLU<double>(), nn::Linear<double>(4, 1));
    Array activation;
    model[1].register_forward_hook(
        [&](nn::Module<double>&, const Tensor<double>&, const Tensor<double>& output) { activation = output.value(); });
    const auto x = leaf({{1., -1., 2.}, {0.5, 0.5, -3.}});
    model(x);
    REQUIRE(activation.shape() == std::vector<std::size_t>{2, 4});
    auto& first = static_cast<nn::Linear<double>&>(model[0]);
    check_close(activation, relu(first.forward(x)).value());
}
