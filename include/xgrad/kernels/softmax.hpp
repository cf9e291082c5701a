// Row-wise softmax and log_softmax on raw pointers, numerically stable (each row shifted by its max), beside
// the plain loops they are tested against; then the array-level entry points the ops call.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../parallel.hpp"
#include "reduce.hpp"
#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    namespace detail
    {
        // out[j] = exp(x[j] - shift) for j < n (out may be null: then nothing is stored); returns their sum.
        template <class T, class Arch>
        T exp_shifted_sum(std::size_t n, const T* x, T shift, T* out)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vector_end = n - n % batch::size;
            const batch vshift(shift);
            batch acc(T(0));
            for (std::size_t j = 0; j < vector_end; j += batch::size)
            {
                const batch e = xsimd::exp(batch::load_unaligned(x + j) - vshift);
                if (out != nullptr)
                    e.store_unaligned(out + j);
                acc += e;
            }
            T total = lane_sum(acc);
            for (std::size_t j = vector_end; j < n; ++j)   // scalar tail
            {
                const T e = std::exp(x[j] - shift);
                if (out != nullptr)
                    out[j] = e;
                total += e;
            }
            return total;
        }
    }

    namespace detail
    {
        // row_fn(x_row, y_row) for every row of x and y (rows × cols), the rows split across threads.
        template <class T, class RowFn>
        void for_each_row(std::size_t rows, std::size_t cols, const T* x, T* y, RowFn row_fn)
        {
            parallel_for(0, rows, row_grain(cols), [&](std::size_t first, std::size_t last) {
                for (std::size_t r = first; r < last; ++r)
                    row_fn(x + r * cols, y + r * cols);
            });
        }

        // The references' plain form of max_contiguous and exp_shifted_sum on one row: m = max(x[0, n)) and
        // Σ_j exp(x[j] - m), storing each exp(x[j] - m) in out unless out is null.
        template <class T>
        struct max_and_exp_sum
        {
            T max, exp_sum;
        };
        template <class T>
        max_and_exp_sum<T> max_and_exp_sum_reference(std::size_t n, const T* x, T* out)
        {
            max_and_exp_sum<T> result{T(0), T(0)};
            max_rows_reference(1, n, x, &result.max);
            for (std::size_t j = 0; j < n; ++j)
            {
                const T e = std::exp(x[j] - result.max);
                if (out != nullptr)
                    out[j] = e;
                result.exp_sum += e;
            }
            return result;
        }
    }

    // y[r, :] = exp(x[r, :] - m) / sum(exp(x[r, :] - m)),  m = max(x[r, :])      x, y: (rows, cols)
    template <class T, class Arch = xsimd::default_arch>
    void softmax_rows(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        detail::for_each_row(rows, cols, x, y, [cols](const T* in, T* out) {
            const T total = detail::exp_shifted_sum<T, Arch>(cols, in, detail::max_contiguous<T, Arch>(cols, in), out);
            detail::unary_map_chunk<T, Arch>(0, cols, out, out, [total](auto e) { return e / decltype(e)(total); });
        });
    }
    template <class T>
    void softmax_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            const T total = detail::max_and_exp_sum_reference(cols, x + r * cols, y + r * cols).exp_sum;
            for (std::size_t j = 0; j < cols; ++j)
                y[r * cols + j] /= total;
        }
    }

    // y[r, :] = (x[r, :] - m) - log(sum(exp(x[r, :] - m))),  m = max(x[r, :])      x, y: (rows, cols)
    template <class T, class Arch = xsimd::default_arch>
    void log_softmax_rows(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        detail::for_each_row(rows, cols, x, y, [cols](const T* in, T* out) {
            const T m = detail::max_contiguous<T, Arch>(cols, in);
            const T log_total = std::log(detail::exp_shifted_sum<T, Arch>(cols, in, m, nullptr));
            detail::unary_map_chunk<T, Arch>(0, cols, in, out, [m, log_total](auto v) {
                using operand = decltype(v);
                return (v - operand(m)) - operand(log_total);
            });
        });
    }
    template <class T>
    void log_softmax_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            const auto [m, total] = detail::max_and_exp_sum_reference(cols, x + r * cols, static_cast<T*>(nullptr));
            for (std::size_t j = 0; j < cols; ++j)
                y[r * cols + j] = (x[r * cols + j] - m) - std::log(total);
        }
    }

    namespace detail
    {
        // A (log-)softmax of x along `axis`: row_kernel(rows, cols, x, out) when it is the last axis, else
        // from_shifted(x - max(x, axis)) on xtensor.
        template <class T, class RowKernel, class FromShifted>
        xt::xarray<T> along_axis(const xt::xarray<T>& x, std::size_t axis, RowKernel row_kernel,
                                 FromShifted from_shifted)
        {
            if (x.dimension() > 0 && axis + 1 == x.dimension())
            {
                auto out = xt::xarray<T>::from_shape(x.shape());
                const std::size_t cols = x.shape()[axis];
                row_kernel(cols == 0 ? 0 : x.size() / cols, cols, x.data(), out.data());
                return out;
            }
            const xt::xarray<T> shifted = x - xt::amax(x, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
            return from_shifted(shifted);
        }
    }

    // The backward of softmax cross-entropy, one row r per example, from the log-probabilities of the forward:
    //   dx[r, :] = weight[r] * (exp(log_probs[r, :]) - smoothing / cols),   dx[r, target[r]] -= weight[r] * (1 - smoothing)
    // (softmax minus the smoothed one-hot target, scaled by dL/dloss_r; a row of weight 0 is all zeros).
    // target[r] < cols for every row.                     log_probs, dx: (rows, cols)   target, weight: (rows)
    template <class T, class Arch = xsimd::default_arch>
    void cross_entropy_backward_rows(std::size_t rows, std::size_t cols, const T* log_probs, const std::int64_t* target,
                                     const T* weight, T smoothing, T* dx)
    {
        using batch = xsimd::batch<T, Arch>;
        const T uniform = smoothing / static_cast<T>(cols);
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
            {
                const T* in = log_probs + r * cols;
                T* out = dx + r * cols;
                const T w = weight[r];
                const std::size_t vector_end = cols - cols % batch::size;
                const batch vw(w), vuniform(uniform);
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                    (vw * (xsimd::exp(batch::load_unaligned(in + j)) - vuniform)).store_unaligned(out + j);
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                    out[j] = w * (std::exp(in[j]) - uniform);
                out[target[r]] -= w * (T(1) - smoothing);
            }
        });
    }
    template <class T>
    void cross_entropy_backward_rows_reference(std::size_t rows, std::size_t cols, const T* log_probs,
                                               const std::int64_t* target, const T* weight, T smoothing, T* dx)
    {
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < cols; ++j)
            {
                const T smoothed_target = smoothing / static_cast<T>(cols) +
                                          (static_cast<std::int64_t>(j) == target[r] ? T(1) - smoothing : T(0));
                dx[r * cols + j] = weight[r] * (std::exp(log_probs[r * cols + j]) - smoothed_target);
            }
    }

    // softmax of x along `axis`: the row kernel when it is the last axis, xtensor otherwise.
    template <class T>
    xt::xarray<T> softmax(const xt::xarray<T>& x, std::size_t axis)
    {
        return detail::along_axis(
            x, axis, [](auto... args) { softmax_rows<T>(args...); },
            [axis](const xt::xarray<T>& shifted) -> xt::xarray<T> {
                const xt::xarray<T> e = xt::exp(shifted);
                return e / xt::sum(e, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
            });
    }

    template <class T>
    xt::xarray<T> log_softmax(const xt::xarray<T>& x, std::size_t axis)
    {
        return detail::along_axis(
            x, axis, [](auto... args) { log_softmax_rows<T>(args...); },
            [axis](const xt::xarray<T>& shifted) -> xt::xarray<T> {
                return shifted -
                       xt::log(xt::sum(xt::exp(shifted), {axis}, xt::keep_dims | xt::evaluation_strategy::immediate));
            });
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
