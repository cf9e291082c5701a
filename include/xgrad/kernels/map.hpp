// Elementwise maps on raw pointers: arithmetic (array with array, array with scalar), axpy, relu and its
// backward, sigmoid, tanh, exp, log, gelu; each beside the plain loop it is tested against. Large maps
// split across threads; then array-level entry points that the ops call with their xarray values.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "../config.hpp"
#include "../parallel.hpp"
#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    namespace detail
    {
        // Elements a thread must get before a map is split: ~32K floats is ~128 KB per operand, tens of
        // microseconds of work, well above the cost of waking a worker.
        constexpr std::size_t map_grain = 32 * 1024;

        // Rows per thread so that each gets at least map_grain elements.
        inline std::size_t row_grain(std::size_t cols)
        {
            return std::max<std::size_t>(1, map_grain / std::max<std::size_t>(cols, 1));
        }

        // condition ? if_true : if_false, lane by lane for batches and plainly for scalars (the map lambdas
        // below run on both: vectors, then the scalar tail). xsimd 8 has only the batch form.
        template <class T, class Arch>
        xsimd::batch<T, Arch> select(const xsimd::batch_bool<T, Arch>& condition, const xsimd::batch<T, Arch>& if_true,
                                     const xsimd::batch<T, Arch>& if_false)
        {
            return xsimd::select(condition, if_true, if_false);
        }
        template <class T>
        T select(bool condition, T if_true, T if_false)
        {
            return condition ? if_true : if_false;
        }

        // The chunk loops take their pointers as parameters, which stay in registers: read through a lambda's
        // captures they are reloaded after every vector store (an intrinsic store may alias anything, the
        // closure included), three extra loads per vector that show on rows held in cache.

        // out[i] = op(x[i]) over [begin, end), on this thread.
        template <class T, class Arch, class Op>
        void unary_map_chunk(std::size_t begin, std::size_t end, const T* x, T* out, Op op)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vector_end = end - (end - begin) % batch::size;
            for (std::size_t i = begin; i < vector_end; i += batch::size)
                op(batch::load_unaligned(x + i)).store_unaligned(out + i);
            for (std::size_t i = vector_end; i < end; ++i)   // scalar tail
                out[i] = op(x[i]);
        }

        // out[i] = op(a[i], b[i]) over [begin, end), on this thread.
        template <class T, class Arch, class Op>
        void binary_map_chunk(std::size_t begin, std::size_t end, const T* a, const T* b, T* out, Op op)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vector_end = end - (end - begin) % batch::size;
            for (std::size_t i = begin; i < vector_end; i += batch::size)
                op(batch::load_unaligned(a + i), batch::load_unaligned(b + i)).store_unaligned(out + i);
            for (std::size_t i = vector_end; i < end; ++i)   // scalar tail
                out[i] = op(a[i], b[i]);
        }

        // out[i] = op(x[i]) over [0, n); op takes a batch or a scalar (xsimd's math functions take both).
        template <class T, class Arch, class Op>
        void unary_map(std::size_t n, const T* x, T* out, Op op)
        {
            parallel_for(0, n, map_grain, [&](std::size_t begin, std::size_t end) {
                unary_map_chunk<T, Arch>(begin, end, x, out, op);
            });
        }

        // out[i] = op(a[i], b[i]) over [0, n).
        template <class T, class Arch, class Op>
        void binary_map(std::size_t n, const T* a, const T* b, T* out, Op op)
        {
            parallel_for(0, n, map_grain, [&](std::size_t begin, std::size_t end) {
                binary_map_chunk<T, Arch>(begin, end, a, b, out, op);
            });
        }
    }

    // ---- array with array: out[i] = a[i] (op) b[i] ----

    template <class T, class Arch = xsimd::default_arch>
    void add(std::size_t n, const T* a, const T* b, T* out)
    {
        detail::binary_map<T, Arch>(n, a, b, out, [](auto x, auto y) { return x + y; });
    }
    template <class T>
    void add_reference(std::size_t n, const T* a, const T* b, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + b[i]; }

    template <class T, class Arch = xsimd::default_arch>
    void sub(std::size_t n, const T* a, const T* b, T* out)
    {
        detail::binary_map<T, Arch>(n, a, b, out, [](auto x, auto y) { return x - y; });
    }
    template <class T>
    void sub_reference(std::size_t n, const T* a, const T* b, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] - b[i]; }

    template <class T, class Arch = xsimd::default_arch>
    void mul(std::size_t n, const T* a, const T* b, T* out)
    {
        detail::binary_map<T, Arch>(n, a, b, out, [](auto x, auto y) { return x * y; });
    }
    template <class T>
    void mul_reference(std::size_t n, const T* a, const T* b, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] * b[i]; }

    template <class T, class Arch = xsimd::default_arch>
    void div(std::size_t n, const T* a, const T* b, T* out)
    {
        detail::binary_map<T, Arch>(n, a, b, out, [](auto x, auto y) { return x / y; });
    }
    template <class T>
    void div_reference(std::size_t n, const T* a, const T* b, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] / b[i]; }

    // ---- array with scalar: out[i] = a[i] (op) s, and s (op) a[i] for the two that do not commute ----

    template <class T, class Arch = xsimd::default_arch>
    void add_scalar(std::size_t n, const T* a, T s, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return x + decltype(x)(s); });
    }
    template <class T>
    void add_scalar_reference(std::size_t n, const T* a, T s, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + s; }

    template <class T, class Arch = xsimd::default_arch>
    void sub_scalar(std::size_t n, const T* a, T s, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return x - decltype(x)(s); });
    }
    template <class T>
    void sub_scalar_reference(std::size_t n, const T* a, T s, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] - s; }

    // out[i] = s - a[i]
    template <class T, class Arch = xsimd::default_arch>
    void scalar_sub(std::size_t n, T s, const T* a, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return decltype(x)(s) - x; });
    }
    template <class T>
    void scalar_sub_reference(std::size_t n, T s, const T* a, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = s - a[i]; }

    template <class T, class Arch = xsimd::default_arch>
    void mul_scalar(std::size_t n, const T* a, T s, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return x * decltype(x)(s); });
    }
    template <class T>
    void mul_scalar_reference(std::size_t n, const T* a, T s, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] * s; }

    // A true division, not a multiplication by 1/s: the same result as a / b on arrays.
    template <class T, class Arch = xsimd::default_arch>
    void div_scalar(std::size_t n, const T* a, T s, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return x / decltype(x)(s); });
    }
    template <class T>
    void div_scalar_reference(std::size_t n, const T* a, T s, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = a[i] / s; }

    // out[i] = s / a[i]
    template <class T, class Arch = xsimd::default_arch>
    void scalar_div(std::size_t n, T s, const T* a, T* out)
    {
        detail::unary_map<T, Arch>(n, a, out, [s](auto x) { return decltype(x)(s) / x; });
    }
    template <class T>
    void scalar_div_reference(std::size_t n, T s, const T* a, T* out) { for (std::size_t i = 0; i < n; ++i) out[i] = s / a[i]; }

    // ---- axpy: y[i] += alpha * x[i] ----

    template <class T, class Arch = xsimd::default_arch>
    void axpy(std::size_t n, T alpha, const T* x, T* y)
    {
        detail::binary_map<T, Arch>(n, x, y, y, [alpha](auto xi, auto yi) {
            return xsimd::fma(decltype(xi)(alpha), xi, yi);
        });
    }
    template <class T>
    void axpy_reference(std::size_t n, T alpha, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i]; }

    // ---- activations and their kin ----

    // y = max(x, 0); NaN stays NaN (as torch.relu).
    template <class T, class Arch = xsimd::default_arch>
    void relu(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) {
            const decltype(v) zero(T(0));
            return detail::select(v < zero, zero, v);
        });
    }
    template <class T>
    void relu_reference(std::size_t n, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i]; }

    // dx[i] = dy[i] * [x[i] > 0]   (a multiplication by the mask, as the op's backward: 0 * inf is NaN)
    template <class T, class Arch = xsimd::default_arch>
    void relu_backward(std::size_t n, const T* x, const T* dy, T* dx)
    {
        detail::binary_map<T, Arch>(n, x, dy, dx, [](auto v, auto d) {
            using operand = decltype(v);
            const operand zero(T(0)), one(T(1));
            return d * detail::select(v > zero, one, zero);
        });
    }
    template <class T>
    void relu_backward_reference(std::size_t n, const T* x, const T* dy, T* dx)
    {
        for (std::size_t i = 0; i < n; ++i)
            dx[i] = dy[i] * (x[i] > T(0) ? T(1) : T(0));
    }

    // y = 1 / (1 + exp(-x)), as (x >= 0 ? 1 : e) / (1 + e) with e = exp(-|x|): exp never overflows.
    template <class T, class Arch = xsimd::default_arch>
    void sigmoid(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) {
            using operand = decltype(v);
            const operand zero(T(0)), one(T(1));
            const operand e = xsimd::exp(-xsimd::abs(v));
            return detail::select(v >= zero, one, e) / (one + e);
        });
    }
    template <class T>
    void sigmoid_reference(std::size_t n, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i])); }

    template <class T, class Arch = xsimd::default_arch>
    void tanh(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) { return xsimd::tanh(v); });
    }
    template <class T>
    void tanh_reference(std::size_t n, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]); }

    template <class T, class Arch = xsimd::default_arch>
    void exp(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) { return xsimd::exp(v); });
    }
    template <class T>
    void exp_reference(std::size_t n, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]); }

    template <class T, class Arch = xsimd::default_arch>
    void log(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) { return xsimd::log(v); });
    }
    template <class T>
    void log_reference(std::size_t n, const T* x, T* y) { for (std::size_t i = 0; i < n; ++i) y[i] = std::log(x[i]); }

    // y = x/2 · (1 + erf(x/√2))   (GELU, the exact form: x times the standard normal CDF)
    template <class T, class Arch = xsimd::default_arch>
    void gelu(std::size_t n, const T* x, T* y)
    {
        detail::unary_map<T, Arch>(n, x, y, [](auto v) {
            using operand = decltype(v);
            const operand half(T(0.5)), one(T(1)), inv_sqrt2(T(0.70710678118654752440084436210485));
            return v * half * (one + xsimd::erf(v * inv_sqrt2));
        });
    }
    template <class T>
    void gelu_reference(std::size_t n, const T* x, T* y)
    {
        for (std::size_t i = 0; i < n; ++i)
            y[i] = T(0.5) * x[i] * (T(1) + std::erf(x[i] / std::sqrt(T(2))));
    }

    // dx = dy · (Φ(x) + x · φ(x)), the derivative of the exact GELU (Φ, φ: the standard normal CDF and density)
    template <class T, class Arch = xsimd::default_arch>
    void gelu_backward(std::size_t n, const T* x, const T* dy, T* dx)
    {
        detail::binary_map<T, Arch>(n, x, dy, dx, [](auto v, auto d) {
            using operand = decltype(v);
            const operand half(T(0.5)), one(T(1)), inv_sqrt2(T(0.70710678118654752440084436210485)),
                inv_sqrt_2pi(T(0.39894228040143267793994605993438));
            const operand cdf = half * (one + xsimd::erf(v * inv_sqrt2));
            return d * (cdf + v * inv_sqrt_2pi * xsimd::exp(-half * v * v));
        });
    }
    template <class T>
    void gelu_backward_reference(std::size_t n, const T* x, const T* dy, T* dx)
    {
        const T pi = T(3.14159265358979323846264338327950);
        for (std::size_t i = 0; i < n; ++i)
            dx[i] = dy[i] * (T(0.5) * (T(1) + std::erf(x[i] / std::sqrt(T(2)))) +
                             x[i] * std::exp(-x[i] * x[i] / T(2)) / std::sqrt(T(2) * pi));
    }

    // ---- array level: what the ops call with their values ----
    // xt::xarray is always contiguous and row-major, so these hand its data to the kernels directly. Binary
    // ops take the kernels when the shapes are equal, when one side holds a single element that broadcasts to
    // the other's shape (a scalar operand), and when the smaller side broadcasts row by row over the bigger
    // (a bias, a per-row statistic: see row_broadcast); other broadcasting stays on xtensor.

    namespace detail
    {
        // True when `small` holds one element and broadcasting it against `big` gives big's shape.
        template <class T>
        bool is_scalar_for(const xt::xarray<T>& small, const xt::xarray<T>& big)
        {
            return small.size() == 1 && small.dimension() <= big.dimension();
        }

        template <class T>
        bool same_shape(const xt::xarray<T>& a, const xt::xarray<T>& b)
        {
            return a.dimension() == b.dimension() && std::equal(a.shape().begin(), a.shape().end(), b.shape().begin());
        }

        template <class T, class Kernel>
        xt::xarray<T> map_into_new(const xt::xarray<T>& like, Kernel&& kernel)
        {
            auto out = xt::xarray<T>::from_shape(like.shape());
            kernel(out.data());
            return out;
        }

        // A new array shaped like `big`, seen as rows of row_length elements: fill_row(r, offset, out + offset)
        // fills row r, which starts at `offset`. Many rows split across threads (a row's kernel then runs
        // inline); a few long ones run here, and each row's kernel splits itself.
        template <class T, class FillRow>
        xt::xarray<T> map_rows_into_new(const xt::xarray<T>& big, std::size_t row_length, FillRow&& fill_row)
        {
            return map_into_new(big, [&](T* out) {
                const std::size_t rows = big.size() / row_length;
                parallel_for(0, rows, row_grain(row_length), [&](std::size_t first, std::size_t last) {
                    for (std::size_t r = first; r < last; ++r)
                        fill_row(r, r * row_length, out + r * row_length);
                });
            });
        }

        // How `small` broadcasts to big's shape, row by row, when it does in one of two ways the kernels run
        // directly. With small's shape left-padded with 1s to big's rank n:
        //   repeated_block   (1, ..., 1, big[k], ..., big[n-1])   big is rows of small.size(), each paired
        //                                                         with all of small: a bias (C) on (B, T, C)
        //   per_row_scalar   (big[0], ..., big[k-1], 1, ..., 1)   big is small.size() rows, each paired with
        //                                                         one element of small: (B, T, 1) on (B, T, C)
        //   none             anything else, an empty operand, or a small that does not broadcast to big's shape
        enum class row_broadcast
        {
            none,
            repeated_block,
            per_row_scalar
        };

        template <class T>
        row_broadcast row_broadcast_of(const xt::xarray<T>& small, const xt::xarray<T>& big)
        {
            const std::size_t rank = big.dimension();
            if (small.size() == 0 || big.size() == 0 || small.dimension() > rank)
                return row_broadcast::none;
            const std::size_t padding = rank - small.dimension();
            auto small_dim = [&](std::size_t i) { return i < padding ? std::size_t(1) : small.shape()[i - padding]; };
            auto equals_big_over = [&](std::size_t first, std::size_t last) {
                for (std::size_t i = first; i < last; ++i)
                    if (small_dim(i) != big.shape()[i])
                        return false;
                return true;
            };
            std::size_t leading_ones = 0;
            while (leading_ones < rank && small_dim(leading_ones) == 1)
                ++leading_ones;
            if (equals_big_over(leading_ones, rank))
                return row_broadcast::repeated_block;
            std::size_t trailing_ones = 0;
            while (trailing_ones < rank && small_dim(rank - 1 - trailing_ones) == 1)
                ++trailing_ones;
            if (equals_big_over(0, rank - trailing_ones))
                return row_broadcast::per_row_scalar;
            return row_broadcast::none;
        }

        // a (op) b: ArrayKernel(n, a, b, out) for equal shapes, ScalarKernel(n, a, s, out) /
        // ReversedKernel(n, s, b, out) for a scalar operand, the same kernels row by row when one side
        // broadcasts as a row_broadcast over the other, Broadcast(a, b) on xtensor otherwise.
        template <class T, class ArrayKernel, class ScalarKernel, class ReversedKernel, class Broadcast>
        xt::xarray<T> binary_array(const xt::xarray<T>& a, const xt::xarray<T>& b, ArrayKernel array_kernel,
                                   ScalarKernel scalar_kernel, ReversedKernel reversed_kernel, Broadcast broadcast)
        {
            if (same_shape(a, b))
                return map_into_new(a, [&](T* out) { array_kernel(a.size(), a.data(), b.data(), out); });
            if (is_scalar_for(b, a))
                return map_into_new(a, [&](T* out) { scalar_kernel(a.size(), a.data(), *b.data(), out); });
            if (is_scalar_for(a, b))
                return map_into_new(b, [&](T* out) { reversed_kernel(b.size(), *a.data(), b.data(), out); });
            switch (row_broadcast_of(b, a))
            {
            case row_broadcast::repeated_block:   // a: (..., block)  b: (block)
                return map_rows_into_new(a, b.size(), [&](std::size_t, std::size_t offset, T* out_row) {
                    array_kernel(b.size(), a.data() + offset, b.data(), out_row);
                });
            case row_broadcast::per_row_scalar:   // a: (rows, ...)  b: (rows, 1, ...)
                return map_rows_into_new(a, a.size() / b.size(), [&](std::size_t r, std::size_t offset, T* out_row) {
                    scalar_kernel(a.size() / b.size(), a.data() + offset, b.data()[r], out_row);
                });
            case row_broadcast::none:
                break;
            }
            switch (row_broadcast_of(a, b))
            {
            case row_broadcast::repeated_block:   // a: (block)  b: (..., block)
                return map_rows_into_new(b, a.size(), [&](std::size_t, std::size_t offset, T* out_row) {
                    array_kernel(a.size(), a.data(), b.data() + offset, out_row);
                });
            case row_broadcast::per_row_scalar:   // a: (rows, 1, ...)  b: (rows, ...)
                return map_rows_into_new(b, b.size() / a.size(), [&](std::size_t r, std::size_t offset, T* out_row) {
                    reversed_kernel(b.size() / a.size(), a.data()[r], b.data() + offset, out_row);
                });
            case row_broadcast::none:
                break;
            }
            return broadcast(a, b);
        }
    }

    template <class T>
    xt::xarray<T> add(const xt::xarray<T>& a, const xt::xarray<T>& b)
    {
        return detail::binary_array(
            a, b, [](auto... args) { add<T>(args...); }, [](auto... args) { add_scalar<T>(args...); },
            [](std::size_t n, T s, const T* x, T* out) { add_scalar<T>(n, x, s, out); },
            [](const auto& x, const auto& y) -> xt::xarray<T> { return x + y; });
    }

    template <class T>
    xt::xarray<T> sub(const xt::xarray<T>& a, const xt::xarray<T>& b)
    {
        return detail::binary_array(
            a, b, [](auto... args) { sub<T>(args...); }, [](auto... args) { sub_scalar<T>(args...); },
            [](auto... args) { scalar_sub<T>(args...); },
            [](const auto& x, const auto& y) -> xt::xarray<T> { return x - y; });
    }

    template <class T>
    xt::xarray<T> mul(const xt::xarray<T>& a, const xt::xarray<T>& b)
    {
        return detail::binary_array(
            a, b, [](auto... args) { mul<T>(args...); }, [](auto... args) { mul_scalar<T>(args...); },
            [](std::size_t n, T s, const T* x, T* out) { mul_scalar<T>(n, x, s, out); },
            [](const auto& x, const auto& y) -> xt::xarray<T> { return x * y; });
    }

    template <class T>
    xt::xarray<T> div(const xt::xarray<T>& a, const xt::xarray<T>& b)
    {
        return detail::binary_array(
            a, b, [](auto... args) { div<T>(args...); }, [](auto... args) { div_scalar<T>(args...); },
            [](auto... args) { scalar_div<T>(args...); },
            [](const auto& x, const auto& y) -> xt::xarray<T> { return x / y; });
    }

#define XGRAD_ARRAY_UNARY(name)                                                                              \
    template <class T>                                                                                       \
    xt::xarray<T> name(const xt::xarray<T>& x)                                                               \
    {                                                                                                        \
        return detail::map_into_new(x, [&](T* out) { name<T>(x.size(), x.data(), out); });                   \
    }
    XGRAD_ARRAY_UNARY(relu)
    XGRAD_ARRAY_UNARY(sigmoid)
    XGRAD_ARRAY_UNARY(tanh)
    XGRAD_ARRAY_UNARY(exp)
    XGRAD_ARRAY_UNARY(log)
    XGRAD_ARRAY_UNARY(gelu)
#undef XGRAD_ARRAY_UNARY

    // The backward maps of the activations: dx from x and dy (of x's shape).
#define XGRAD_ARRAY_BACKWARD(name)                                                                           \
    template <class T>                                                                                       \
    xt::xarray<T> name(const xt::xarray<T>& x, const xt::xarray<T>& dy)                                      \
    {                                                                                                        \
        XGRAD_ASSERT(detail::same_shape(x, dy));                                                             \
        return detail::map_into_new(x, [&](T* out) { name<T>(x.size(), x.data(), dy.data(), out); });        \
    }
    XGRAD_ARRAY_BACKWARD(relu_backward)
    XGRAD_ARRAY_BACKWARD(gelu_backward)
#undef XGRAD_ARRAY_BACKWARD
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
