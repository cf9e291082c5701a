// Row-wise softmax and log_softmax on raw pointers, numerically stable (each row shifted by its max), beside
// the plain loops they are tested against; then the array-level entry points the ops call.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "../parallel.hpp"
#include "simd.hpp"
#include "reduce.hpp"

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

    // y[r, :] = exp(x[r, :] - m) / sum(exp(x[r, :] - m)),  m = max(x[r, :])      x, y: (rows, cols)
    template <class T, class Arch = xsimd::default_arch>
    void softmax_rows(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        using batch = xsimd::batch<T, Arch>;
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
            {
                const T* in = x + r * cols;
                T* out = y + r * cols;
                const T total = detail::exp_shifted_sum<T, Arch>(cols, in, detail::max_contiguous<T, Arch>(cols, in), out);
                const std::size_t vector_end = cols - cols % batch::size;
                const batch vtotal(total);
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                    (batch::load_unaligned(out + j) / vtotal).store_unaligned(out + j);
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                    out[j] /= total;
            }
        });
    }
    template <class T>
    void softmax_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            T m = -std::numeric_limits<T>::infinity();
            for (std::size_t j = 0; j < cols; ++j)
                m = std::max(m, x[r * cols + j]);
            T total = 0;
            for (std::size_t j = 0; j < cols; ++j)
                total += y[r * cols + j] = std::exp(x[r * cols + j] - m);
            for (std::size_t j = 0; j < cols; ++j)
                y[r * cols + j] /= total;
        }
    }

    // y[r, :] = (x[r, :] - m) - log(sum(exp(x[r, :] - m))),  m = max(x[r, :])      x, y: (rows, cols)
    template <class T, class Arch = xsimd::default_arch>
    void log_softmax_rows(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        using batch = xsimd::batch<T, Arch>;
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
            {
                const T* in = x + r * cols;
                T* out = y + r * cols;
                const T m = detail::max_contiguous<T, Arch>(cols, in);
                const T log_total = std::log(detail::exp_shifted_sum<T, Arch>(cols, in, m, nullptr));
                const std::size_t vector_end = cols - cols % batch::size;
                const batch vm(m), vlog_total(log_total);
                for (std::size_t j = 0; j < vector_end; j += batch::size)
                    ((batch::load_unaligned(in + j) - vm) - vlog_total).store_unaligned(out + j);
                for (std::size_t j = vector_end; j < cols; ++j)   // scalar tail
                    out[j] = (in[j] - m) - log_total;
            }
        });
    }
    template <class T>
    void log_softmax_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* y)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            T m = -std::numeric_limits<T>::infinity();
            for (std::size_t j = 0; j < cols; ++j)
                m = std::max(m, x[r * cols + j]);
            T total = 0;
            for (std::size_t j = 0; j < cols; ++j)
                total += std::exp(x[r * cols + j] - m);
            for (std::size_t j = 0; j < cols; ++j)
                y[r * cols + j] = (x[r * cols + j] - m) - std::log(total);
        }
    }

    // softmax of x along `axis`: the row kernel when it is the last axis, xtensor otherwise.
    template <class T>
    xt::xarray<T> softmax(const xt::xarray<T>& x, std::size_t axis)
    {
        if (x.dimension() > 0 && axis + 1 == x.dimension())
        {
            auto out = xt::xarray<T>::from_shape(x.shape());
            const std::size_t cols = x.shape()[axis];
            softmax_rows<T>(cols == 0 ? 0 : x.size() / cols, cols, x.data(), out.data());
            return out;
        }
        xt::xarray<T> shifted = x - xt::amax(x, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
        xt::xarray<T> e = xt::exp(shifted);
        return e / xt::sum(e, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
    }

    // log_softmax of x along `axis`: the row kernel when it is the last axis, xtensor otherwise.
    template <class T>
    xt::xarray<T> log_softmax(const xt::xarray<T>& x, std::size_t axis)
    {
        if (x.dimension() > 0 && axis + 1 == x.dimension())
        {
            auto out = xt::xarray<T>::from_shape(x.shape());
            const std::size_t cols = x.shape()[axis];
            log_softmax_rows<T>(cols == 0 ? 0 : x.size() / cols, cols, x.data(), out.data());
            return out;
        }
        xt::xarray<T> shifted = x - xt::amax(x, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
        return shifted - xt::log(xt::sum(xt::exp(shifted), {axis}, xt::keep_dims | xt::evaluation_strategy::immediate));
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
