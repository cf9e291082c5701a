// Matrix products: matmul with torch.matmul's rules (1-D, 2-D, and batched with broadcast batch dims),
// all computed by the SIMD GEMM kernel, transposed operands included, so that the backward pass never
// materialises a transpose; and linear (x W^T + b), the product every dense layer makes.
#pragma once

#include "../config.hpp"
#include "../kernels/gemm.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        template <class T> Tensor<T> rows_product(const Tensor<T>& a, const Tensor<T>& b);

        // y = x · op(w), x (..., k) read in place as one (rows, k) matrix, w (k, n) or (n, k) when trans_w,
        // y (..., n): a linear layer on a batch of sequences is one GEMM, w is never copied per batch.
        // Backward (y = x·w: dx = dy·wᵀ, dw = xᵀ·dy;  y = x·wᵀ: dx = dy·w, dw = dyᵀ·x), the sums over all
        // rows being rows_product:
        //   x·w:   dx = folded_matmul(dy, w, true),   dw = rows_product(x, dy)
        //   x·wᵀ:  dx = folded_matmul(dy, w, false),  dw = rows_product(dy, x)
        template <class T>
        Tensor<T> folded_matmul(const Tensor<T>& x, const Tensor<T>& w, bool trans_w)
        {
            XGRAD_PROFILE_OP("matmul");
            const Shape sx = x.shape(), sw = w.shape();
            XGRAD_ASSERT(sx.size() >= 1 && sw.size() == 2);
            const std::size_t k = sx.back(), rows = product(sx, 0, sx.size() - 1);
            const std::size_t kw = trans_w ? sw[1] : sw[0], n = trans_w ? sw[0] : sw[1];
            if (k != kw)
                throw shape_error("matmul: shapes " + shape_string(sx) + " and " + shape_string(sw) +
                                  (trans_w ? " (transposed)" : "") + " cannot be multiplied");
            Shape shape = sx;
            shape.back() = n;
            auto value = xt::xarray<T>::from_shape(shape);   // (..., n)
            kernels::gemm<T>(false, trans_w, rows, n, k, T(1), x.value().data(), k, w.value().data(), trans_w ? k : n,
                             T(0), value.data(), n);
            const Tensor<T> result =
                make_result("matmul", std::move(value), {x, w}, [x, w, trans_w](const Tensor<T>& dout) -> Grads<T> {
                    return {grad_if_needed(x, [&] { return folded_matmul(dout, w, !trans_w); }),
                            grad_if_needed(w, [&] { return trans_w ? rows_product(dout, x) : rows_product(x, dout); })};
                });
            return record_attributes(result,
                                     [&] { return OpAttributes().set_int("trans_a", 0).set_int("trans_b", trans_w); });
        }

        // z = aᵀ · b summed over every row: a (..., p), b (..., q) with the same leading dims, z (p, q).
        //   =>  da = b · dzᵀ = folded_matmul(b, dz, true),   db = a · dz = folded_matmul(a, dz, false)
        template <class T>
        Tensor<T> rows_product(const Tensor<T>& a, const Tensor<T>& b)
        {
            XGRAD_PROFILE_OP("matmul");
            const std::size_t p = a.shape(-1), q = b.shape(-1), rows = product(a.shape(), 0, a.ndim() - 1);
            XGRAD_ASSERT(b.numel() == rows * q);
            auto value = xt::xarray<T>::from_shape({p, q});   // (p, q)
            kernels::gemm<T>(true, false, p, q, rows, T(1), a.value().data(), p, b.value().data(), q, T(0),
                             value.data(), q);
            return make_result("matmul", std::move(value), {a, b}, [a, b](const Tensor<T>& dout) -> Grads<T> {
                return {grad_if_needed(a, [&] { return folded_matmul(b, dout, true); }),
                        grad_if_needed(b, [&] { return folded_matmul(a, dout, false); })};
            });
        }

        // y = op(a) · op(b) over matching batch dims, op = transpose of the last two dims when asked:
        //   a: (..., m, k) or (..., k, m) when trans_a;  b: (..., k, n) or (..., n, k) when trans_b;  y: (..., m, n)
        // Backward (each case follows from dL/dA = dL/dY · Bᵀ and dL/dB = Aᵀ · dL/dY for y = A·B):
        //   y = a·b:    da = dy·bᵀ,   db = aᵀ·dy        y = a·bᵀ:   da = dy·b,    db = dyᵀ·a
        //   y = aᵀ·b:   da = b·dyᵀ,   db = a·dy         y = aᵀ·bᵀ:  da = bᵀ·dyᵀ,  db = dyᵀ·aᵀ
        template <class T>
        Tensor<T> batched_matmul(const Tensor<T>& a, const Tensor<T>& b, bool trans_a, bool trans_b)
        {
            XGRAD_PROFILE_OP("matmul");
            const Shape sa = a.shape(), sb = b.shape();
            XGRAD_ASSERT(sa.size() >= 2 && sa.size() == sb.size());
            const std::size_t nd = sa.size();
            const std::size_t m = trans_a ? sa[nd - 1] : sa[nd - 2];
            const std::size_t k = trans_a ? sa[nd - 2] : sa[nd - 1];
            const std::size_t kb = trans_b ? sb[nd - 1] : sb[nd - 2];
            const std::size_t n = trans_b ? sb[nd - 2] : sb[nd - 1];
            if (k != kb || !std::equal(sa.begin(), sa.end() - 2, sb.begin()))
                throw shape_error("matmul: shapes " + shape_string(sa) + " and " + shape_string(sb) +
                                  " cannot be multiplied");
            Shape shape(sa.begin(), sa.end() - 2);
            const std::size_t batches = product(shape, 0, shape.size());
            shape.push_back(m);
            shape.push_back(n);
            xt::xarray<T> value(shape);
            // Threads take whole products (each gemm inside a chunk runs on its own thread), as many per chunk
            // as make the work worth a hand-off: attention's many small per-head products use both cores.
            const std::size_t grain = std::max<std::size_t>(
                1, kernels::detail::gemm_min_work_per_thread / std::max<std::size_t>(1, m * n * k));
            parallel_for(0, batches, grain, [&](std::size_t first, std::size_t last) {
                for (std::size_t i = first; i < last; ++i)
                    kernels::gemm<T>(trans_a, trans_b, m, n, k, T(1), a.value().data() + i * m * k, trans_a ? m : k,
                                     b.value().data() + i * k * n, trans_b ? k : n, T(0), value.data() + i * m * n, n);
            });
            const Tensor<T> result = make_result(
                "matmul", std::move(value), {a, b}, [a, b, trans_a, trans_b](const Tensor<T>& dout) -> Grads<T> {
                    if (!trans_a && !trans_b)
                        return {grad_if_needed(a, [&] { return batched_matmul(dout, b, false, true); }),
                                grad_if_needed(b, [&] { return batched_matmul(a, dout, true, false); })};
                    if (!trans_a)
                        return {grad_if_needed(a, [&] { return batched_matmul(dout, b, false, false); }),
                                grad_if_needed(b, [&] { return batched_matmul(dout, a, true, false); })};
                    if (!trans_b)
                        return {grad_if_needed(a, [&] { return batched_matmul(b, dout, false, true); }),
                                grad_if_needed(b, [&] { return batched_matmul(a, dout, false, false); })};
                    return {grad_if_needed(a, [&] { return batched_matmul(b, dout, true, true); }),
                            grad_if_needed(b, [&] { return batched_matmul(dout, a, true, true); })};
                });
            return record_attributes(
                result, [&] { return OpAttributes().set_int("trans_a", trans_a).set_int("trans_b", trans_b); });
        }
    }

    // The matrix product with torch.matmul's rules:
    //   (k)·(k) -> ();  (m, k)·(k) -> (m);  (k)·(k, n) -> (n);  (..., m, k)·(..., k, n) -> (..., m, n)
    // with the batch dims broadcast.  trans_a / trans_b multiply by the transpose of the last two dims of
    // a / b without copying it (x·Wᵀ of a linear layer is matmul(x, w, false, true)).
    template <class T>
    Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool trans_a = false, bool trans_b = false)
    {
        if (a.ndim() == 0 || b.ndim() == 0)
            throw shape_error("matmul: both operands need at least one dim, got shapes " + shape_string(a.shape()) +
                              " and " + shape_string(b.shape()));
        if (a.ndim() == 1 && b.ndim() == 1)
            return detail::reshape_exact(matmul(unsqueeze(a, 0), unsqueeze(b, 1)), Shape{});
        if (a.ndim() == 1 && !trans_a)
            return squeeze(matmul(unsqueeze(a, 0), b, false, trans_b), -2);
        if (b.ndim() == 1 && !trans_b)
            return squeeze(matmul(a, unsqueeze(b, 1), trans_a, false), -1);
        if (a.ndim() < 2 || b.ndim() < 2)
            throw shape_error("matmul: a transposed operand must have at least two dims, got shapes " +
                              shape_string(a.shape()) + " and " + shape_string(b.shape()));
        if (b.ndim() == 2 && !trans_a)   // (..., m, k)·(k, n): the rows of every batch at once
            return detail::folded_matmul(a, b, trans_b);
        // Broadcast the batch dims (all but the last two) against each other.
        const Shape sa = a.shape(), sb = b.shape();
        const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
        Shape batch;
        try
        {
            batch = broadcast_shapes(batch_a, batch_b, "matmul");
        }
        catch (const shape_error&)
        {
            throw shape_error("matmul: the batch dims " + shape_string(batch_a) + " and " + shape_string(batch_b) +
                              " of shapes " + shape_string(sa) + " and " + shape_string(sb) +
                              " cannot be broadcast together");
        }
        auto expanded = [&batch](const Tensor<T>& x, const Shape& s) {
            Shape full = batch;
            full.insert(full.end(), s.end() - 2, s.end());
            return broadcast_to(x, full);
        };
        return detail::batched_matmul(expanded(a, sa), expanded(b, sb), trans_a, trans_b);
    }

    // y = x W^T + b     x: (..., in)   W: (out, in)   b: (out)   y: (..., out)
    // The product uses W transposed in place (no copy); gradients come from matmul and add.
    template <class T>
    Tensor<T> linear(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>())
    {
        XGRAD_PROFILE_OP("linear");
        if (input.ndim() == 0 || weight.ndim() != 2 || input.shape(-1) != weight.shape(1))
            throw shape_error("linear: input of shape " + shape_string(input.shape()) +
                              " does not fit weight of shape " + shape_string(weight.shape()) +
                              " (expected input (..., " + std::to_string(weight.ndim() == 2 ? weight.shape(1) : 0) +
                              "))");
        const Tensor<T> product = matmul(input, weight, false, true);
        return bias.defined() ? add(product, bias) : product;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_LINALG_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template Tensor<T> matmul<T>(const Tensor<T>&, const Tensor<T>&, bool, bool);                              \
    EXTERN template Tensor<T> linear<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_LINALG_TEMPLATES)
}
