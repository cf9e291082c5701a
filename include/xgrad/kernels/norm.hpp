// Layer normalisation over the rows of a (rows, cols) array, forward and backward, on raw pointers, beside
// the plain loops they are tested against.  The op (ops/norm.hpp) normalises the trailing dims of a tensor:
// those are contiguous, so they are the cols here.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "reduce.hpp"
#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    namespace detail
    {
        // Sets the affine gradients that are asked for (non-null) to 0: both accumulate over the rows.
        template <class T>
        void zero_affine_grads(std::size_t cols, T* dweight, T* dbias)
        {
            if (dweight != nullptr)
                std::fill_n(dweight, cols, T(0));
            if (dbias != nullptr)
                std::fill_n(dbias, cols, T(0));
        }

        // Σ (x[j] - mean)² over j < n, on one thread.
        template <class T, class Arch>
        T squared_deviation_sum(std::size_t n, const T* x, T mean)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vector_end = n - n % batch::size;
            const batch vmean(mean);
            batch acc(T(0));
            for (std::size_t j = 0; j < vector_end; j += batch::size)
            {
                const batch d = batch::load_unaligned(x + j) - vmean;
                acc = xsimd::fma(d, d, acc);
            }
            T total = lane_sum(acc);
            for (std::size_t j = vector_end; j < n; ++j)   // scalar tail
                total += (x[j] - mean) * (x[j] - mean);
            return total;
        }
    }

    // For each row r of x (rows, cols):  mean[r], rstd[r] = 1 / sqrt(biased variance + eps), and
    //   y[r, j] = (x[r, j] - mean[r]) · rstd[r] · weight[j] + bias[j]
    // weight and bias may be null (then 1 and 0).  Two passes over each row for the variance (no cancellation).
    template <class T, class Arch = xsimd::default_arch>
    void layer_norm_rows(std::size_t rows, std::size_t cols, const T* x, const T* weight, const T* bias, T eps, T* y,
                         T* mean, T* rstd)
    {
        using batch = xsimd::batch<T, Arch>;
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            const std::size_t vector_end = cols - cols % batch::size;
            for (std::size_t r = first; r < last; ++r)
            {
                const T* in = x + r * cols;
                T* out = y + r * cols;
                const T m = detail::sum_contiguous<T, Arch>(cols, in) / T(cols);
                const T s = T(1) / std::sqrt(detail::squared_deviation_sum<T, Arch>(cols, in, m) / T(cols) + eps);
                mean[r] = m;
                rstd[r] = s;
                const batch vm(m), vs(s);
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                {
                    batch v = (batch::load_unaligned(in + j) - vm) * vs;
                    if (weight != nullptr)
                        v *= batch::load_unaligned(weight + j);
                    if (bias != nullptr)
                        v += batch::load_unaligned(bias + j);
                    v.store_unaligned(out + j);
                }
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                    out[j] = (in[j] - m) * s * (weight ? weight[j] : T(1)) + (bias ? bias[j] : T(0));
            }
        });
    }
    template <class T>
    void layer_norm_rows_reference(std::size_t rows, std::size_t cols, const T* x, const T* weight, const T* bias,
                                   T eps, T* y, T* mean, T* rstd)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            const T* in = x + r * cols;
            T m = 0, squares = 0;
            for (std::size_t j = 0; j < cols; ++j)
                m += in[j];
            m /= T(cols);
            for (std::size_t j = 0; j < cols; ++j)
                squares += (in[j] - m) * (in[j] - m);
            mean[r] = m;
            rstd[r] = T(1) / std::sqrt(squares / T(cols) + eps);
            for (std::size_t j = 0; j < cols; ++j)
                y[r * cols + j] = (in[j] - m) * rstd[r] * (weight ? weight[j] : T(1)) + (bias ? bias[j] : T(0));
        }
    }

    // The backward of layer_norm_rows, with x̂ = (x - mean) · rstd and g = dy · weight (dy without weight):
    //   dx = rstd · (g - mean_j(g) - x̂ · mean_j(g · x̂))          (rows, cols)
    //   dweight = Σ_r dy · x̂,   dbias = Σ_r dy                     (cols); either may be null: not computed
    template <class T, class Arch = xsimd::default_arch>
    void layer_norm_backward_rows(std::size_t rows, std::size_t cols, const T* x, const T* mean, const T* rstd,
                                  const T* weight, const T* dy, T* dx, T* dweight, T* dbias)
    {
        using batch = xsimd::batch<T, Arch>;
        const std::size_t vector_end = cols - cols % batch::size;
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
            {
                const T* in = x + r * cols;
                const T* d_out = dy + r * cols;
                T* d_in = dx + r * cols;
                const batch vm(mean[r]), vs(rstd[r]);
                auto g_at = [&](std::size_t j) {   // g and x̂ of the batch at j
                    const batch d = batch::load_unaligned(d_out + j);
                    return weight != nullptr ? d * batch::load_unaligned(weight + j) : d;
                };
                auto x_hat_at = [&](std::size_t j) { return (batch::load_unaligned(in + j) - vm) * vs; };
                batch g_sum(T(0)), g_x_hat_sum(T(0));
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                {
                    const batch g = g_at(j);
                    g_sum += g;
                    g_x_hat_sum = xsimd::fma(g, x_hat_at(j), g_x_hat_sum);
                }
                T g_mean = lane_sum(g_sum), g_x_hat_mean = lane_sum(g_x_hat_sum);
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                {
                    const T g = d_out[j] * (weight ? weight[j] : T(1));
                    g_mean += g;
                    g_x_hat_mean += g * (in[j] - mean[r]) * rstd[r];
                }
                g_mean /= T(cols);
                g_x_hat_mean /= T(cols);
                const batch vg_mean(g_mean), vg_x_hat_mean(g_x_hat_mean);
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                    (vs * (g_at(j) - vg_mean - x_hat_at(j) * vg_x_hat_mean)).store_unaligned(d_in + j);
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                {
                    const T g = d_out[j] * (weight ? weight[j] : T(1));
                    d_in[j] = rstd[r] * (g - g_mean - (in[j] - mean[r]) * rstd[r] * g_x_hat_mean);
                }
            }
        });
        if (dweight == nullptr && dbias == nullptr)
            return;
        // Column sums over the rows, on one thread (a sum in a fixed order, whatever the threads).
        detail::zero_affine_grads(cols, dweight, dbias);
        for (std::size_t r = 0; r < rows; ++r)
        {
            const T* in = x + r * cols;
            const T* d_out = dy + r * cols;
            const batch vm(mean[r]), vs(rstd[r]);
            for (std::size_t j = 0; j < vector_end; j += batch::size)
            {
                const batch d = batch::load_unaligned(d_out + j);
                if (dweight != nullptr)
                    xsimd::fma(d, (batch::load_unaligned(in + j) - vm) * vs, batch::load_unaligned(dweight + j))
                        .store_unaligned(dweight + j);
                if (dbias != nullptr)
                    (batch::load_unaligned(dbias + j) + d).store_unaligned(dbias + j);
            }
            for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
            {
                if (dweight != nullptr)
                    dweight[j] += d_out[j] * (in[j] - mean[r]) * rstd[r];
                if (dbias != nullptr)
                    dbias[j] += d_out[j];
            }
        }
    }
    template <class T>
    void layer_norm_backward_rows_reference(std::size_t rows, std::size_t cols, const T* x, const T* mean,
                                            const T* rstd, const T* weight, const T* dy, T* dx, T* dweight, T* dbias)
    {
        detail::zero_affine_grads(cols, dweight, dbias);
        for (std::size_t r = 0; r < rows; ++r)
        {
            T g_mean = 0, g_x_hat_mean = 0;
            for (std::size_t j = 0; j < cols; ++j)
            {
                const T x_hat = (x[r * cols + j] - mean[r]) * rstd[r];
                const T g = dy[r * cols + j] * (weight ? weight[j] : T(1));
                g_mean += g / T(cols);
                g_x_hat_mean += g * x_hat / T(cols);
                if (dweight != nullptr)
                    dweight[j] += dy[r * cols + j] * x_hat;
                if (dbias != nullptr)
                    dbias[j] += dy[r * cols + j];
            }
            for (std::size_t j = 0; j < cols; ++j)
            {
                const T x_hat = (x[r * cols + j] - mean[r]) * rstd[r];
                const T g = dy[r * cols + j] * (weight ? weight[j] : T(1));
                dx[r * cols + j] = rstd[r] * (g - g_mean - x_hat * g_x_hat_mean);
            }
        }
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
