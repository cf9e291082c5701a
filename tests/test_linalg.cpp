// matmul (ops/linalg.hpp) with torch.matmul's rules: 1-D operands, broadcast batch dims, and the four
// trans_a/trans_b combinations.  Values against a naive triple loop, first and second derivatives against
// finite differences, float against double, and the errors.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using xgrad::Shape;
using xgrad::Tensor;
using namespace xgrad_test;

namespace
{
    // (m, k) · (k, n) by the definition.
    xt::xarray<double> naive_matmul(const xt::xarray<double>& a, const xt::xarray<double>& b)
    {
        const std::size_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
        REQUIRE(b.shape()[0] == k);
        xt::xarray<double> y = xt::zeros<double>({m, n});
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
                for (std::size_t p = 0; p < k; ++p)
                    y(i, j) += a(i, p) * b(p, j);
        return y;
    }
}

TEST_CASE("matmul: 2-D values by hand and against the definition")
{
    const Tensor<double> a(xt::xarray<double>{{1., 2.}, {3., 4.}, {5., 6.}});   // (3, 2)
    const Tensor<double> b(xt::xarray<double>{{1., 0., -1.}, {2., 1., 0.}});   // (2, 3)
    check_close(xgrad::matmul(a, b).value(), xt::xarray<double>{{5., 2., -1.}, {11., 4., -3.}, {17., 6., -5.}});
    check_close(xgrad::matmul(b, a).value(), xt::xarray<double>{{-4., -4.}, {5., 8.}});

    // sizes that leave remainders in every blocking dimension of the GEMM kernel
    for (const auto& entry : std::vector<std::array<std::size_t, 3>>{{1, 1, 1}, {7, 5, 3}, {17, 33, 19}, {64, 65, 31}})
    {
        const auto& m = std::get<0>(entry);
        const auto& k = std::get<1>(entry);
        const auto& n = std::get<2>(entry);
        CAPTURE(m);
        CAPTURE(k);
        CAPTURE(n);
        const Tensor<double> x = random_leaf({m, k}, m), y = random_leaf({k, n}, n);
        check_close(xgrad::matmul(x, y).value(), naive_matmul(x.value(), y.value()), 1e-11);
    }
}

TEST_CASE("matmul: empty dims give empty or zero results")
{
    Tensor<double> a(xt::xarray<double>(xt::zeros<double>({2, 0})), true), b(xt::xarray<double>(xt::zeros<double>({0, 3})), true);
    const Tensor<double> y = xgrad::matmul(a, b);   // a sum of nothing: zeros (2, 3)
    check_close(y.value(), xt::xarray<double>(xt::zeros<double>({2, 3})));
    xgrad::backward(xgrad::sum(y));
    CHECK(a.grad().size() == 0);
    CHECK(xgrad::matmul(Tensor<double>(xt::xarray<double>(xt::ones<double>({0, 4}))), random_leaf({4, 2}, 31)).shape() ==
          Shape{0, 2});
}

TEST_CASE("matmul: 1-D operands follow torch.matmul")
{
    const Tensor<double> v(xt::xarray<double>{1., 2., 3.});
    const Tensor<double> w(xt::xarray<double>{4., -5., 6.});
    const Tensor<double> m(xt::xarray<double>{{1., 0., 2.}, {0., 1., -1.}});   // (2, 3)
    const Tensor<double> mt(xt::xarray<double>{{1., 0.}, {0., 1.}, {2., -1.}});   // (3, 2)

    const Tensor<double> dot = xgrad::matmul(v, w);
    CHECK(dot.shape() == Shape{});
    CHECK(dot.item() == 12.);
    const Tensor<double> mv = xgrad::matmul(m, v);
    CHECK(mv.shape() == Shape{2});
    check_close(mv.value(), xt::xarray<double>{7., -1.});
    const Tensor<double> vm = xgrad::matmul(v, mt);
    CHECK(vm.shape() == Shape{2});
    check_close(vm.value(), xt::xarray<double>{7., -1.});
    // batched: (k)·(b, k, n) -> (b, n) and (b, m, k)·(k) -> (b, m)
    const Tensor<double> batch = random_leaf({4, 3, 2}, 1);
    CHECK(xgrad::matmul(v, batch).shape() == Shape{4, 2});
    CHECK(xgrad::matmul(xgrad::permute(batch, {0, 2, 1}), v).shape() == Shape{4, 2});
    check_close(xgrad::matmul(v, batch).value(), xgrad::matmul(xgrad::permute(batch, {0, 2, 1}), v).value());
    // the 1-D operand with the other transposed
    check_close(xgrad::matmul(mt, v, true, false).value(), mv.value());
    check_close(xgrad::matmul(v, m, false, true).value(), vm.value());

    const Tensor<double> x = random_leaf({3}, 2), y = random_leaf({3}, 3), a = random_leaf({2, 3}, 4),
                         b = random_leaf({3, 4}, 5), c = random_leaf({2, 4, 3, 2}, 6);
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {x, y});
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {a, x});
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {x, b});
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {x, c});
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1], true, false); }, {c, x});
}

TEST_CASE("matmul: broadcast batch dims (2, 1, 3, 4) @ (5, 4, 2)")
{
    const Tensor<double> a = random_leaf({2, 1, 3, 4}, 7), b = random_leaf({5, 4, 2}, 8);
    const Tensor<double> y = xgrad::matmul(a, b);
    REQUIRE(y.shape() == Shape{2, 5, 3, 2});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 5; ++j)
        {
            const xt::xarray<double> ai = xt::view(a.value(), i, 0);
            const xt::xarray<double> bj = xt::view(b.value(), j);
            const xt::xarray<double> yij = xt::view(y.value(), i, j);
            check_close(yij, naive_matmul(ai, bj));
        }
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {a, b});
    // a batch of matrices against one matrix, and batches with 1s on both sides
    const Tensor<double> c = random_leaf({3, 2, 4}, 9), d = random_leaf({4, 3}, 10);
    const Tensor<double> e = random_leaf({1, 3, 2}, 11), f = random_leaf({2, 1, 2, 3}, 12);
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {c, d});
    check_derivatives([](const Inputs& in) { return xgrad::matmul(in[0], in[1]); }, {e, f});
    CHECK(xgrad::matmul(e, f).shape() == Shape{2, 1, 3, 3});
}

TEST_CASE("matmul: a batch times one matrix (a linear layer on sequences) equals the broadcast product")
{
    // (2, 3, 5, 4)·(4, 6) and ·(6, 4)ᵀ run as one GEMM over all 30 rows; the reference broadcasts w explicitly.
    const Tensor<double> x = random_leaf({2, 3, 5, 4}, 41), w = random_leaf({4, 6}, 42), wt = random_leaf({6, 4}, 43);
    for (bool trans_w : {false, true})
    {
        CAPTURE(trans_w);
        const Tensor<double>& weight = trans_w ? wt : w;
        const Tensor<double> folded = xgrad::matmul(x, weight, false, trans_w);
        const Tensor<double> broadcast =
            xgrad::matmul(x, xgrad::broadcast_to(weight, Shape{2, 3, weight.shape(0), weight.shape(1)}), false, trans_w);
        REQUIRE(folded.shape() == Shape{2, 3, 5, 6});
        check_close(folded.value(), broadcast.value(), 1e-12);
        const auto g_folded = xgrad::grad({xgrad::sum(xgrad::mul(folded, folded))}, {x, weight});
        const auto g_broadcast = xgrad::grad({xgrad::sum(xgrad::mul(broadcast, broadcast))}, {x, weight});
        check_close(g_folded[0].value(), g_broadcast[0].value(), 1e-12);
        check_close(g_folded[1].value(), g_broadcast[1].value(), 1e-12);
        check_derivatives([trans_w](const Inputs& in) { return xgrad::matmul(in[0], in[1], false, trans_w); },
                          {x, weight});
    }
    // no rows, and an empty inner dim (a sum of nothing: zeros)
    CHECK(xgrad::matmul(Tensor<double>(xt::xarray<double>::from_shape({2, 0, 4})), w).shape() == Shape{2, 0, 6});
    const Tensor<double> empty_inner = xgrad::matmul(Tensor<double>(xt::xarray<double>::from_shape({2, 3, 0})),
                                                     Tensor<double>(xt::xarray<double>::from_shape({0, 6})));
    check_close(empty_inner.value(), xt::xarray<double>(xt::zeros<double>({2, 3, 6})));
}

TEST_CASE("matmul: the four trans_a/trans_b combinations equal explicit transposes")
{
    const Tensor<double> a = random_leaf({2, 3, 4}, 13), b = random_leaf({2, 4, 5}, 14);
    const Tensor<double> at = xgrad::transpose(a, -1, -2).detach().requires_grad_();
    const Tensor<double> bt = xgrad::transpose(b, -1, -2).detach().requires_grad_();
    const xt::xarray<double> expected = xgrad::matmul(a, b).value();
    check_close(xgrad::matmul(a, b, false, false).value(), expected);
    check_close(xgrad::matmul(a, bt, false, true).value(), expected);
    check_close(xgrad::matmul(at, b, true, false).value(), expected);
    check_close(xgrad::matmul(at, bt, true, true).value(), expected);

    for (bool trans_a : {false, true})
        for (bool trans_b : {false, true})
        {
            CAPTURE(trans_a);
            CAPTURE(trans_b);
            const Inputs inputs{trans_a ? at : a, trans_b ? bt : b};
            auto f = [&](const Inputs& in) { return xgrad::matmul(in[0], in[1], trans_a, trans_b); };
            check_derivatives(f, inputs);
            // the gradients are those of the explicitly transposed product
            Tensor<double> x = inputs[0].detach().requires_grad_(), y = inputs[1].detach().requires_grad_();
            const auto fused = xgrad::grad({xgrad::sum(xgrad::mul(xgrad::matmul(x, y, trans_a, trans_b),
                                                                   xgrad::matmul(x, y, trans_a, trans_b)))},
                                           {x, y});
            const Tensor<double> xe = trans_a ? xgrad::transpose(x, -1, -2) : x;
            const Tensor<double> ye = trans_b ? xgrad::transpose(y, -1, -2) : y;
            const auto plain = xgrad::grad({xgrad::sum(xgrad::mul(xgrad::matmul(xe, ye), xgrad::matmul(xe, ye)))}, {x, y});
            check_close(fused[0].value(), plain[0].value());
            check_close(fused[1].value(), plain[1].value());
            // and a broadcast batch with a transposed operand
            const Tensor<double> p = random_leaf({3, 1, 2, 4}, 15), q = random_leaf({2, 4, 3}, 16);
            const Tensor<double> pp = trans_a ? xgrad::transpose(p, -1, -2).detach().requires_grad_() : p;
            const Tensor<double> qq = trans_b ? xgrad::transpose(q, -1, -2).detach().requires_grad_() : q;
            check_derivatives(f, {pp, qq});
        }
}

TEST_CASE("matmul: a second derivative mixing both operands (Hessian-vector product)")
{
    // L = sum((A B)^2 C): d2L/dA dB is non-zero, so the backward's own matmuls are differentiated
    const Tensor<double> a = random_leaf({3, 4}, 17), b = random_leaf({4, 2}, 18), c = random_leaf({3, 2}, 19);
    check_derivatives(
        [](const Inputs& in) {
            const Tensor<double> y = xgrad::matmul(in[0], in[1]);
            return xgrad::mul(xgrad::mul(y, y), in[2]);
        },
        {a, b, c});
    // a chain: x W1^T -> tanh -> W2
    const Tensor<double> x = random_leaf({5, 3}, 20), w1 = random_leaf({4, 3}, 21), w2 = random_leaf({4, 2}, 22);
    check_derivatives(
        [](const Inputs& in) { return xgrad::matmul(xgrad::tanh(xgrad::matmul(in[0], in[1], false, true)), in[2]); },
        {x, w1, w2});
}

TEST_CASE("matmul: float agrees with double")
{
    const Tensor<double> a = random_leaf({3, 17, 33}, 23), b = random_leaf({33, 9}, 24);
    const Tensor<float> af(xt::xarray<float>(xt::cast<float>(a.value()))), bf(xt::xarray<float>(xt::cast<float>(b.value())));
    const auto yd = xgrad::matmul(a, b).value();
    const auto yf = xgrad::matmul(af, bf).value();
    REQUIRE(yd.size() == yf.size());
    for (std::size_t i = 0; i < yd.size(); ++i)
        CHECK(static_cast<double>(yf.data()[i]) == doctest::Approx(yd.data()[i]).epsilon(1e-5).scale(1.));
    Tensor<float> g(xt::xarray<float>(xt::cast<float>(a.value())), true);
    xgrad::backward(xgrad::sum(xgrad::matmul(g, bf)));
    // d sum(A B)/dA = 1 · B^T: every row of the gradient is the row sums of B
    const xt::xarray<double> row_sums = xt::sum(b.value(), {1});
    for (std::size_t p = 0; p < 33; ++p)
        CHECK(static_cast<double>(g.grad()(1, 5, p)) == doctest::Approx(row_sums(p)).epsilon(1e-5));
}

TEST_CASE("matmul: bad shapes throw shape_error naming matmul and the shapes")
{
    const Tensor<double> a = random_leaf({2, 3}, 25), b = random_leaf({4, 5}, 26);
    check_error<xgrad::shape_error>([&] { xgrad::matmul(a, b); }, {"matmul", "(2, 3)", "(4, 5)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(a, a); }, {"matmul", "(2, 3)"});
    CHECK(xgrad::matmul(a, a, false, true).shape() == Shape{2, 2});
    CHECK(xgrad::matmul(a, a, true, false).shape() == Shape{3, 3});
    const Tensor<double> v = random_leaf({4}, 27), s(xt::xarray<double>(2.));
    check_error<xgrad::shape_error>([&] { xgrad::matmul(a, v); }, {"matmul", "(2, 3)", "(4, 1)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(v, a); }, {"matmul", "(1, 4)", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(v, random_leaf({3}, 28)); }, {"matmul", "(1, 4)", "(3, 1)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(s, a); }, {"matmul", "()", "(2, 3)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(a, s); }, {"matmul", "(2, 3)", "()"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(v, b, true, false); }, {"matmul", "(4,)", "(4, 5)"});
    check_error<xgrad::shape_error>([&] { xgrad::matmul(b, v, false, true); }, {"matmul", "(4, 5)", "(4,)"});
    // batch dims that do not broadcast
    const Tensor<double> c = random_leaf({2, 3, 4}, 29), d = random_leaf({3, 4, 5}, 30);
    check_error<xgrad::shape_error>([&] { xgrad::matmul(c, d); }, {"matmul", "(2,)", "(3,)", "(2, 3, 4)", "(3, 4, 5)"});
}
