// Matrix products: matmul with torch.matmul's rules (1-D, 2-D, and batched with broadcast batch dims),
// all computed by the SIMD GEMM kernel, transposed operands included, so that the backward pass never
// materialises a transpose.
#pragma once

#include "../kernels/gemm.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // y = op(a) · op(b) over matching batch dims, op = transpose of the last two dims when asked:
        //   a: (..., m, k) or (..., k, m) when trans_a;  b: (..., k, n) or (..., n, k) when trans_b;  y: (..., m, n)
        // Backward (each case follows from dL/dA = dL/dY · Bᵀ and dL/dB = Aᵀ · dL/dY for y = A·B):
        //   y = a·b:    da = dy·bᵀ,   db = aᵀ·dy        y = a·bᵀ:   da = dy·b,    db = dyᵀ·a
        //   y = aᵀ·b:   da = b·dyᵀ,   db = a·dy         y = aᵀ·bᵀ:  da = bᵀ·dyᵀ,  db = dyᵀ·aᵀ
        template <class T>
        Tensor<T> batched_matmul(const Tensor<T>& a, const Tensor<T>& b, bool trans_a, bool trans_b)
        {
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
            for (std::size_t i = 0; i < batches; ++i)
                kernels::gemm<T>(trans_a, trans_b, m, n, k, T(1), a.value().data() + i * m * k, trans_a ? m : k,
                                 b.value().data() + i * k * n, trans_b ? k : n, T(0), value.data() + i * m * n, n);
            return make_result("matmul", std::move(value), {a, b},
                               [a, b, trans_a, trans_b](const Tensor<T>& dout) -> Grads<T> {
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
}
