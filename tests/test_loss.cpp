// Losses (ops/loss.hpp): mse_loss l1_loss huber_loss binary_cross_entropy_with_logits cross_entropy nll_loss,
// with their reductions.  Values against formulas written out here with plain loops, first and second
// derivatives against finite differences, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using xgrad::IndexArray;
using xgrad::Reduction;
using xgrad::Shape;
using xgrad::Tensor;
using namespace xgrad_test;

namespace
{
    // log_softmax of row `r` of (N, C) logits (the reference the cross-entropy tests are held against).
    std::vector<double> log_softmax_row(const xt::xarray<double>& logits, std::size_t r)
    {
        const std::size_t classes = logits.shape()[1];
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t c = 0; c < classes; ++c)
            top = std::max(top, logits(r, c));
        double total = 0;
        for (std::size_t c = 0; c < classes; ++c)
            total += std::exp(logits(r, c) - top);
        std::vector<double> result(classes);
        for (std::size_t c = 0; c < classes; ++c)
            result[c] = logits(r, c) - top - std::log(total);
        return result;
    }
}

TEST_CASE("Reduction: enum and strings")
{
    CHECK(Reduction().kind() == Reduction::mean);
    CHECK(Reduction("sum").kind() == Reduction::sum);
    CHECK(Reduction(std::string("none")).kind() == Reduction::none);
    check_error<xgrad::value_error>([] { Reduction("average"); }, {"reduction", "average"});
}

TEST_CASE("mse_loss and l1_loss: values for each reduction, gradients")
{
    const Tensor<double> input(xt::xarray<double>{{1., 2.}, {3., 4.}});
    const Tensor<double> target(xt::xarray<double>{{0., 4.}, {3., 1.}});
    // differences 1, -2, 0, 3
    CHECK(xgrad::mse_loss(input, target).item() == doctest::Approx(14. / 4.));
    CHECK(xgrad::mse_loss(input, target, "sum").item() == doctest::Approx(14.));
    check_close(xgrad::mse_loss(input, target, Reduction::none).value(), xt::xarray<double>{{1., 4.}, {0., 9.}});
    CHECK(xgrad::l1_loss(input, target).item() == doctest::Approx(6. / 4.));
    CHECK(xgrad::l1_loss(input, target, "sum").item() == doctest::Approx(6.));
    check_close(xgrad::l1_loss(input, target, "none").value(), xt::xarray<double>{{1., 2.}, {0., 3.}});

    Tensor<double> x(xt::xarray<double>{{1., 2.}, {3., 4.}}, true);
    xgrad::backward(xgrad::mse_loss(x, target));
    check_close(x.grad(), xt::xarray<double>{{0.5, -1.}, {0., 1.5}});   // 2 d / 4
    x.zero_grad();
    xgrad::backward(xgrad::l1_loss(x, target, "sum"));
    check_close(x.grad(), xt::xarray<double>{{1., -1.}, {0., 1.}});   // sign(d), 0 at d = 0 as PyTorch

    const Tensor<double> a = random_leaf({3, 4}, 1), b = random_leaf({3, 4}, 2);
    for (const char* reduction : {"mean", "sum", "none"})
    {
        CAPTURE(reduction);
        check_derivatives([&](const Inputs& in) { return xgrad::mse_loss(in[0], in[1], reduction); }, {a, b});
        check_derivatives([&](const Inputs& in) { return xgrad::l1_loss(in[0], in[1], reduction); }, {a, b});
    }
}

TEST_CASE("huber_loss: quadratic inside delta, linear outside")
{
    const Tensor<double> input(xt::xarray<double>{0.5, -3., 2., 0.});
    const Tensor<double> target(xt::xarray<double>{0., 0., 0.5, 0.});
    // d = 0.5, -3, 1.5, 0 with delta 1: 0.125, 2.5, 1.0, 0
    check_close(xgrad::huber_loss(input, target, "none").value(), xt::xarray<double>{0.125, 2.5, 1.0, 0.});
    CHECK(xgrad::huber_loss(input, target).item() == doctest::Approx(3.625 / 4));
    // delta 2: 0.125, 2 (3 - 1) = 4, 0.5 * 2.25 = 1.125, 0
    check_close(xgrad::huber_loss(input, target, "none", 2.).value(), xt::xarray<double>{0.125, 4., 1.125, 0.});
    CHECK(xgrad::huber_loss(input, target, "sum", 2.).item() == doctest::Approx(5.25));

    Tensor<double> x(xt::xarray<double>{0.5, -3., 2., 0.}, true);
    xgrad::backward(xgrad::huber_loss(x, target, "sum", 2.));
    check_close(x.grad(), xt::xarray<double>{0.5, -2., 1.5, 0.});   // d inside, delta sign(d) outside

    // differences spread over both regions, none at the kink
    const Tensor<double> a = random_leaf({4, 3}, 3, -3., 3.), b = random_leaf({4, 3}, 4, -0.5, 0.5);
    for (double delta : {0.7, 1.0, 2.5})
    {
        CAPTURE(delta);
        check_derivatives([&](const Inputs& in) { return xgrad::huber_loss(in[0], in[1], "mean", delta); }, {a, b});
    }
}

TEST_CASE("binary_cross_entropy_with_logits: values, pos_weight, extreme logits")
{
    const std::vector<double> x{-2., 0., 1.5, 3.}, y{0., 1., 1., 0.25};
    auto sigmoid = [](double v) { return 1. / (1. + std::exp(-v)); };
    double total = 0, weighted_total = 0;
    const double pos_weight = 3.;
    std::vector<double> elements;
    for (std::size_t i = 0; i < x.size(); ++i)
    {
        const double p = sigmoid(x[i]);
        elements.push_back(-(y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p)));
        total += elements.back();
        weighted_total += -(pos_weight * y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p));
    }
    const Tensor<double> input(xt::adapt(x, Shape{4})), target(xt::adapt(y, Shape{4}));
    check_close(xgrad::binary_cross_entropy_with_logits(input, target, "none").value(), xt::adapt(elements, Shape{4}));
    CHECK(xgrad::binary_cross_entropy_with_logits(input, target).item() == doctest::Approx(total / 4));
    CHECK(xgrad::binary_cross_entropy_with_logits(input, target, "sum").item() == doctest::Approx(total));
    const Tensor<double> weight(xt::xarray<double>{pos_weight});   // broadcast over the elements
    CHECK(xgrad::binary_cross_entropy_with_logits(input, target, "sum", weight).item() ==
          doctest::Approx(weighted_total));

    // no overflow for large logits: log(1 + exp(1000)) is 1000, not inf
    const Tensor<double> big(xt::xarray<double>{1000., -1000., 1000.});
    const Tensor<double> labels(xt::xarray<double>{1., 1., 0.});
    check_close(xgrad::binary_cross_entropy_with_logits(big, labels, "none").value(), xt::xarray<double>{0., 1000., 1000.});
    Tensor<double> g(xt::xarray<double>{1000., -1000., 1000.}, true);
    xgrad::backward(xgrad::binary_cross_entropy_with_logits(g, labels, "sum"));
    check_close(g.grad(), xt::xarray<double>{0., -1., 1.});   // sigmoid(x) - y

    const Tensor<double> a = random_leaf({3, 4}, 5, -3., 3.), b = random_leaf({3, 4}, 6, 0., 1.);
    const Tensor<double> w = random_leaf({4}, 7, 0.5, 2.);
    check_derivatives([](const Inputs& in) { return xgrad::binary_cross_entropy_with_logits(in[0], in[1]); }, {a, b});
    check_derivatives([](const Inputs& in) { return xgrad::binary_cross_entropy_with_logits(in[0], in[1], "none", in[2]); },
                      {a, b, w});
}

TEST_CASE("cross_entropy: hand-checked values")
{
    // log_softmax([0, log 3]) = [log 1/4, log 3/4]
    const Tensor<double> logits(xt::xarray<double>{{0., std::log(3.)}, {std::log(3.), 0.}});
    check_close(xgrad::cross_entropy(logits, IndexArray{1, 1}, "none").value(),
                xt::xarray<double>{-std::log(0.75), -std::log(0.25)});
    CHECK(xgrad::cross_entropy(logits, IndexArray{1, 1}).item() == doctest::Approx(-(std::log(0.75) + std::log(0.25)) / 2));
    CHECK(xgrad::cross_entropy(logits, IndexArray{1, 1}, "sum").item() == doctest::Approx(-(std::log(0.75) + std::log(0.25))));
    // 1-D logits with a 0-d target
    const Tensor<double> row(xt::xarray<double>{0., std::log(3.)});
    CHECK(xgrad::cross_entropy(row, IndexArray(1)).item() == doctest::Approx(-std::log(0.75)));
    // the same labels as a tensor of whole numbers
    CHECK(xgrad::cross_entropy(logits, Tensor<double>(xt::xarray<double>{1., 1.})).item() ==
          doctest::Approx(-(std::log(0.75) + std::log(0.25)) / 2));
    // uniform logits: log C whatever the label
    const Tensor<double> flat(xt::xarray<double>(xt::zeros<double>({3, 5})));
    CHECK(xgrad::cross_entropy(flat, IndexArray{0, 4, 2}).item() == doctest::Approx(std::log(5.)));
    // gradient: (softmax - one_hot) / N
    Tensor<double> g(xt::xarray<double>{{0., std::log(3.)}, {std::log(3.), 0.}}, true);
    xgrad::backward(xgrad::cross_entropy(g, IndexArray{1, 1}));
    check_close(g.grad(), xt::xarray<double>{{0.125, -0.125}, {0.375, -0.375}});
}

TEST_CASE("cross_entropy: label smoothing, ignore_index and soft targets against the formula")
{
    const Tensor<double> logits = random_leaf({4, 5}, 8, -2., 2.);
    const std::vector<std::int64_t> labels{3, 0, -100, 4};
    const double smoothing = 0.2;
    double smoothed_sum = 0, plain_sum = 0;
    std::vector<double> smoothed_none;
    std::size_t counted = 0;
    for (std::size_t r = 0; r < 4; ++r)
    {
        const auto lp = log_softmax_row(logits.value(), r);
        if (labels[r] == -100)
        {
            smoothed_none.push_back(0.);
            continue;
        }
        ++counted;
        double uniform = 0;
        for (double v : lp)
            uniform -= v / 5.;
        const double nll = -lp[static_cast<std::size_t>(labels[r])];
        plain_sum += nll;
        smoothed_none.push_back((1 - smoothing) * nll + smoothing * uniform);
        smoothed_sum += smoothed_none.back();
    }
    const IndexArray target = xt::adapt(labels, Shape{4});
    // the mean is over the targets that count (3 of 4), as PyTorch
    CHECK(xgrad::cross_entropy(logits, target).item() == doctest::Approx(plain_sum / counted));
    CHECK(xgrad::cross_entropy(logits, target, "sum").item() == doctest::Approx(plain_sum));
    CHECK(xgrad::cross_entropy(logits, target, "mean", smoothing).item() == doctest::Approx(smoothed_sum / counted));
    check_close(xgrad::cross_entropy(logits, target, "none", smoothing).value(), xt::adapt(smoothed_none, Shape{4}));
    // a custom ignore_index; -100 is then an ordinary (out-of-range) label
    const IndexArray target_ignore_zero{3, 0, 1, 4};
    double without_second = 0;
    for (std::size_t r : {0, 2, 3})
        without_second -= log_softmax_row(logits.value(), r)[static_cast<std::size_t>(target_ignore_zero(r))];
    CHECK(xgrad::cross_entropy(logits, target_ignore_zero, "mean", 0., 0).item() == doctest::Approx(without_second / 3));

    // soft targets: -sum p log q per row, smoothed as (1 - e) p + e / C
    Tensor<double> probs = random_leaf({4, 5}, 9, 0., 1.);
    probs = xgrad::div(probs, xgrad::sum(probs, 1, true)).detach();
    double soft_sum = 0, soft_smoothed_sum = 0;
    for (std::size_t r = 0; r < 4; ++r)
    {
        const auto lp = log_softmax_row(logits.value(), r);
        for (std::size_t c = 0; c < 5; ++c)
        {
            soft_sum -= probs.value()(r, c) * lp[c];
            soft_smoothed_sum -= ((1 - smoothing) * probs.value()(r, c) + smoothing / 5) * lp[c];
        }
    }
    CHECK(xgrad::cross_entropy(logits, probs).item() == doctest::Approx(soft_sum / 4));
    CHECK(xgrad::cross_entropy(logits, probs, "sum", smoothing).item() == doctest::Approx(soft_smoothed_sum));
    CHECK(xgrad::cross_entropy(logits, probs, "none").shape() == Shape{4});
    // one-hot soft targets give the same as class labels
    xt::xarray<double> one_hot = xt::zeros<double>({4, 5});
    const std::vector<std::size_t> hot{3, 0, 1, 4};
    for (std::size_t r = 0; r < 4; ++r)
        one_hot(r, hot[r]) = 1.;
    CHECK(xgrad::cross_entropy(logits, Tensor<double>(one_hot), "mean", smoothing).item() ==
          doctest::Approx(xgrad::cross_entropy(logits, IndexArray{3, 0, 1, 4}, "mean", smoothing).item()));

    // ignored rows get no gradient
    Tensor<double> g = logits.detach().requires_grad_();
    xgrad::backward(xgrad::cross_entropy(g, target, "mean", smoothing));
    for (std::size_t c = 0; c < 5; ++c)
        CHECK(g.grad()(2, c) == 0.);
}

TEST_CASE("cross_entropy: (N, C, d1, d2) inputs take classes along dim 1")
{
    const Tensor<double> logits = random_leaf({2, 3, 2, 2}, 10, -2., 2.);
    const IndexArray target = indices({0, 2, 1, 1, 2, 2, 0, -100}, {2, 2, 2});
    // the same loss computed on (N * d1 * d2, C) rows
    const Tensor<double> rows = xgrad::reshape(xgrad::permute(logits, {0, 2, 3, 1}), {-1, 3});
    const IndexArray flat_target = xt::flatten(target);
    CHECK(xgrad::cross_entropy(logits, target).item() == doctest::Approx(xgrad::cross_entropy(rows, flat_target).item()));
    CHECK(xgrad::cross_entropy(logits, target, "mean", 0.3).item() ==
          doctest::Approx(xgrad::cross_entropy(rows, flat_target, "mean", 0.3).item()));
    const Tensor<double> none = xgrad::cross_entropy(logits, target, "none");
    CHECK(none.shape() == Shape{2, 2, 2});
    check_close(xt::flatten(none.value()), xgrad::cross_entropy(rows, flat_target, "none").value());
    // soft targets of the logits' shape
    Tensor<double> probs = random_leaf({2, 3, 2, 2}, 11, 0., 1.);
    probs = xgrad::div(probs, xgrad::sum(probs, 1, true)).detach();
    const Tensor<double> prob_rows = xgrad::reshape(xgrad::permute(probs, {0, 2, 3, 1}), {-1, 3});
    CHECK(xgrad::cross_entropy(logits, probs).item() == doctest::Approx(xgrad::cross_entropy(rows, prob_rows).item()));
}

TEST_CASE("cross_entropy and nll_loss: derivatives")
{
    const Tensor<double> logits = random_leaf({4, 5}, 12, -2., 2.);
    const IndexArray target{3, 0, -100, 4};
    for (const char* reduction : {"mean", "sum", "none"})
        for (double smoothing : {0., 0.1})
        {
            CAPTURE(reduction);
            CAPTURE(smoothing);
            check_derivatives([&](const Inputs& in) { return xgrad::cross_entropy(in[0], target, reduction, smoothing); },
                              {logits});
        }
    const Tensor<double> probs = random_leaf({4, 5}, 13, 0.1, 1.);   // soft targets need no normalising here
    check_derivatives([](const Inputs& in) { return xgrad::cross_entropy(in[0], in[1], "mean", 0.2); }, {logits, probs});
    const Tensor<double> spatial = random_leaf({2, 3, 2}, 14, -2., 2.);
    const IndexArray spatial_target = indices({0, 2, -100, 1}, {2, 2});
    check_derivatives([&](const Inputs& in) { return xgrad::cross_entropy(in[0], spatial_target, "mean", 0.1); },
                      {spatial});
    check_derivatives([&](const Inputs& in) { return xgrad::nll_loss(xgrad::log_softmax(in[0], 1), target); }, {logits});
}

TEST_CASE("cross_entropy on (N, C) logits, one fused op, agrees with log_softmax and nll_loss")
{
    const IndexArray target{3, 0, -100, 4, 1, 1, 2};
    for (const char* reduction : {"mean", "sum", "none"})
    {
        CAPTURE(reduction);
        const Tensor<double> fused_logits = random_leaf({7, 5}, 15, -3., 3.);
        Tensor<double> composed_logits = fused_logits.detach();
        composed_logits.requires_grad_(true);
        const Tensor<double> fused = xgrad::cross_entropy(fused_logits, target, reduction);
        const Tensor<double> composed = xgrad::nll_loss(xgrad::log_softmax(composed_logits, 1), target, reduction);
        CHECK(fused.op_name() == "cross_entropy");   // one node, not a chain of log_softmax, gather, mul, sum
        check_close(fused.value(), composed.value(), 1e-14);
        const Tensor<double> seed(xt::xarray<double>(xt::ones_like(fused.value()) * 0.5));
        fused.backward(seed);
        composed.backward(seed);
        check_close(fused_logits.grad(), composed_logits.grad(), 1e-13);
    }
    // No classes: a clear error, not a read past an empty row.
    const Tensor<double> empty(xt::xarray<double>(xt::zeros<double>({2, 0})), true);
    CHECK_THROWS_AS(xgrad::cross_entropy(empty, IndexArray{-100, -100}), xgrad::value_error);
}

TEST_CASE("cross_entropy and nll_loss with class weights: the weighted mean against the formula, derivatives")
{
    const Tensor<double> logits = random_leaf({5, 4}, 30, -2., 2.);
    const Tensor<double> weight(xt::xarray<double>{0.5, 2., 1.25, 0.75});
    const IndexArray target{3, -100, 0, 2, 3};
    const double smoothing = 0.2;
    // loss_r = -(1 - ε) w[t_r] log p_r[t_r] - ε/C Σ_c w_c log p_r[c]; the mean divides by Σ w[t_r], ignored rows left out
    double total = 0, total_weight = 0;
    std::vector<double> per_row(5, 0.);
    for (std::size_t r = 0; r < 5; ++r)
    {
        if (target(r) == -100)
            continue;
        const auto log_p = log_softmax_row(logits.value(), r);
        const auto t = static_cast<std::size_t>(target(r));
        double smoothed = 0;
        for (std::size_t c = 0; c < 4; ++c)
            smoothed += weight.value()(c) * log_p[c];
        per_row[r] = -(1 - smoothing) * weight.value()(t) * log_p[t] - smoothing / 4 * smoothed;
        total += per_row[r];
        total_weight += weight.value()(t);
    }
    CHECK(xgrad::cross_entropy(logits, target, "mean", smoothing, -100, weight).item() ==
          doctest::Approx(total / total_weight).epsilon(1e-13));
    CHECK(xgrad::cross_entropy(logits, target, "sum", smoothing, -100, weight).item() ==
          doctest::Approx(total).epsilon(1e-13));
    check_close(xgrad::cross_entropy(logits, target, "none", smoothing, -100, weight).value(),
                xt::adapt(per_row, {std::size_t(5)}), 1e-13);

    // Without smoothing, nll_loss of the log-probabilities gives the same; all-one weights change nothing.
    const Tensor<double> log_probs = xgrad::log_softmax(logits, 1);
    check_close(xgrad::nll_loss(log_probs, target, "mean", -100, weight).value(),
                xgrad::cross_entropy(logits, target, "mean", 0., -100, weight).value(), 1e-14);
    const Tensor<double> ones(xt::xarray<double>(xt::ones<double>({4})));
    check_close(xgrad::cross_entropy(logits, target, "mean", smoothing, -100, ones).value(),
                xgrad::cross_entropy(logits, target, "mean", smoothing).value(), 1e-14);

    const Tensor<double> spatial = random_leaf({2, 4, 3}, 31, -2., 2.);
    const IndexArray spatial_target = indices({0, 1, -100, 3, 3, 2}, {2, 3});
    const Tensor<double> probs = random_leaf({5, 4}, 32, 0.1, 1.);
    for (const char* reduction : {"mean", "sum", "none"})
        for (double eps : {0., 0.3})
        {
            CAPTURE(reduction);
            CAPTURE(eps);
            check_derivatives([&](const Inputs& in) { return xgrad::cross_entropy(in[0], target, reduction, eps, -100, weight); },
                              {logits});
            check_derivatives(
                [&](const Inputs& in) { return xgrad::cross_entropy(in[0], spatial_target, reduction, eps, -100, weight); },
                {spatial});
            check_derivatives([&](const Inputs& in) { return xgrad::cross_entropy(in[0], in[1], reduction, eps, -100, weight); },
                              {logits, probs});
        }
    check_derivatives([&](const Inputs& in) { return xgrad::nll_loss(in[0], IndexArray{1, 0, 3, 3, 2}, "mean", 3, weight); },
                      {log_probs.detach().requires_grad_(true)});
}

TEST_CASE("nll_loss: picks -log_probs at the targets")
{
    const Tensor<double> log_probs(xt::xarray<double>{{-1., -2., -3.}, {-0.5, -0.25, -4.}});
    CHECK(xgrad::nll_loss(log_probs, IndexArray{2, 1}).item() == doctest::Approx((3. + 0.25) / 2));
    CHECK(xgrad::nll_loss(log_probs, IndexArray{2, 1}, "sum").item() == doctest::Approx(3.25));
    check_close(xgrad::nll_loss(log_probs, IndexArray{0, 2}, "none").value(), xt::xarray<double>{1., 4.});
    CHECK(xgrad::nll_loss(log_probs, IndexArray{0, 1}, "mean", 1).item() == doctest::Approx(1.));
    CHECK(xgrad::nll_loss(log_probs, Tensor<double>(xt::xarray<double>{2., 1.})).item() == doctest::Approx(1.625));
    Tensor<double> g(xt::xarray<double>{{-1., -2., -3.}, {-0.5, -0.25, -4.}}, true);
    xgrad::backward(xgrad::nll_loss(g, IndexArray{2, 1}));
    check_close(g.grad(), xt::xarray<double>{{0., 0., -0.5}, {0., -0.5, 0.}});
}

TEST_CASE("losses in float agree with double")
{
    const Tensor<double> logits = random_leaf({4, 6}, 15, -3., 3.), other = random_leaf({4, 6}, 16, 0., 1.);
    auto as_float = [](const Tensor<double>& t) { return Tensor<float>(xt::xarray<float>(xt::cast<float>(t.value()))); };
    const IndexArray target{5, 0, 2, 2};
    const std::vector<std::pair<double, float>> pairs{
        {xgrad::mse_loss(logits, other).item(), xgrad::mse_loss(as_float(logits), as_float(other)).item()},
        {xgrad::huber_loss(logits, other, "sum", 0.5).item(), xgrad::huber_loss(as_float(logits), as_float(other), "sum", 0.5f).item()},
        {xgrad::binary_cross_entropy_with_logits(logits, other).item(),
         xgrad::binary_cross_entropy_with_logits(as_float(logits), as_float(other)).item()},
        {xgrad::cross_entropy(logits, target, "mean", 0.1).item(),
         xgrad::cross_entropy(as_float(logits), target, "mean", 0.1f).item()},
        {xgrad::cross_entropy(logits, other).item(), xgrad::cross_entropy(as_float(logits), as_float(other)).item()},
    };
    for (const auto& [d, f] : pairs)
        CHECK(static_cast<double>(f) == doctest::Approx(d).epsilon(1e-5));
}

TEST_CASE("losses: bad arguments throw naming the loss and the shapes")
{
    const Tensor<double> a = random_leaf({2, 3}, 17), b = random_leaf({3, 2}, 18), c = random_leaf({2, 3}, 19);
    check_error<xgrad::shape_error>([&] { xgrad::mse_loss(a, b); }, {"mse_loss", "(2, 3)", "(3, 2)"});
    check_error<xgrad::shape_error>([&] { xgrad::mse_loss(a, random_leaf({3}, 20)); }, {"mse_loss", "(2, 3)", "(3,)"});
    check_error<xgrad::shape_error>([&] { xgrad::l1_loss(a, b); }, {"l1_loss", "(2, 3)", "(3, 2)"});
    check_error<xgrad::shape_error>([&] { xgrad::huber_loss(a, b); }, {"huber_loss", "(2, 3)", "(3, 2)"});
    check_error<xgrad::value_error>([&] { xgrad::huber_loss(a, c, "mean", 0.); }, {"huber_loss", "delta"});
    check_error<xgrad::value_error>([&] { xgrad::huber_loss(a, c, "mean", -1.); }, {"huber_loss", "delta"});
    check_error<xgrad::shape_error>([&] { xgrad::binary_cross_entropy_with_logits(a, b); },
                                    {"binary_cross_entropy_with_logits", "(2, 3)", "(3, 2)"});
    check_error<xgrad::value_error>([&] { xgrad::mse_loss(a, c, "avg"); }, {"reduction", "avg"});

    // cross_entropy: labels out of range, wrong target shapes, bad smoothing
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 3}); },
                                    {"cross_entropy", "target 3", "3 classes"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{-1, 0}); }, {"cross_entropy", "target -1"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, -100}, "mean", 0., 1); },
                                    {"cross_entropy", "target -100"});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1, 2}); }, {"cross_entropy", "(3,)", "(2, 3)", "(2,)"});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(a, indices({0, 1}, {2, 1})); }, {"cross_entropy", "(2, 1)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(Tensor<double>(xt::xarray<double>(1.)), IndexArray(0)); },
                                    {"cross_entropy", "0-d"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", 1.5); }, {"cross_entropy", "label_smoothing"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", -0.1); }, {"cross_entropy", "label_smoothing"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, Tensor<double>(xt::xarray<double>{0.5, 1.})); },
                                    {"cross_entropy", "not a class index"});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(a, b); }, {"cross_entropy", "(3, 2)", "(2, 3)"});
    check_error<xgrad::value_error>([&] { xgrad::nll_loss(a, IndexArray{7, 0}); }, {"nll_loss", "target 7", "3 classes"});
    check_error<xgrad::shape_error>([&] { xgrad::nll_loss(a, IndexArray{0}); }, {"nll_loss", "(1,)", "(2, 3)"});

    // class weights: one finite value per class, not differentiated
    const Tensor<double> nan_weight(xt::xarray<double>{1., std::nan(""), 1.});
    const Tensor<double> inf_weight(xt::xarray<double>{1., 1., std::numeric_limits<double>::infinity()});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", 0., -100, random_leaf({2}, 21).detach()); },
                                    {"cross_entropy", "weight", "(3,)", "(2,)"});
    check_error<xgrad::shape_error>(
        [&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", 0., -100, random_leaf({1, 3}, 22).detach()); },
        {"cross_entropy", "weight", "(1, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::cross_entropy(a, c, "mean", 0., -100, random_leaf({4}, 23).detach()); },
                                    {"cross_entropy", "weight", "(4,)"});
    check_error<xgrad::shape_error>([&] { xgrad::nll_loss(a, IndexArray{0, 1}, "mean", -100, random_leaf({4}, 24).detach()); },
                                    {"nll_loss", "weight", "(3,)", "(4,)"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", 0., -100, nan_weight); },
                                    {"cross_entropy", "non-finite"});
    check_error<xgrad::value_error>([&] { xgrad::nll_loss(a, IndexArray{0, 1}, "sum", -100, inf_weight); },
                                    {"nll_loss", "non-finite"});
    check_error<xgrad::value_error>([&] { xgrad::cross_entropy(a, IndexArray{0, 1}, "mean", 0., -100, random_leaf({3}, 25)); },
                                    {"cross_entropy", "weight", "require grad"});
}
