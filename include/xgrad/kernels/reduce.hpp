// Reductions on raw pointers: the sum of all elements, and the sum and max of each row (over the last axis),
// beside the plain loops they are tested against; then the array-level sum the sum op calls.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xreducer.hpp>

#include "../parallel.hpp"
#include "simd.hpp"
#include "map.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    namespace detail
    {
        // Sum of x[0, n) on one thread: four independent vector accumulators (to hide the add latency), then a
        // horizontal add and a scalar tail.
        template <class T, class Arch>
        T sum_contiguous(std::size_t n, const T* x)
        {
            using batch = xsimd::batch<T, Arch>;
            constexpr std::size_t width = batch::size;
            batch acc0(T(0)), acc1(T(0)), acc2(T(0)), acc3(T(0));
            const std::size_t unrolled_end = n - n % (4 * width);
            std::size_t i = 0;
            for (; i < unrolled_end; i += 4 * width)
            {
                acc0 += batch::load_unaligned(x + i);
                acc1 += batch::load_unaligned(x + i + width);
                acc2 += batch::load_unaligned(x + i + 2 * width);
                acc3 += batch::load_unaligned(x + i + 3 * width);
            }
            const std::size_t vector_end = n - n % width;
            for (; i < vector_end; i += width)
                acc0 += batch::load_unaligned(x + i);
            T total = xsimd::hadd((acc0 + acc1) + (acc2 + acc3));
            for (; i < n; ++i)   // scalar tail
                total += x[i];
            return total;
        }

        // Max of x[0, n) on one thread; -infinity when n == 0.
        template <class T, class Arch>
        T max_contiguous(std::size_t n, const T* x)
        {
            using batch = xsimd::batch<T, Arch>;
            constexpr std::size_t width = batch::size;
            T best = -std::numeric_limits<T>::infinity();
            std::size_t i = 0;
            if (n >= width)
            {
                batch acc = batch::load_unaligned(x);
                const std::size_t vector_end = n - n % width;
                for (i = width; i < vector_end; i += width)
                    acc = xsimd::max(acc, batch::load_unaligned(x + i));
                alignas(Arch::alignment()) T lanes[width];
                acc.store_aligned(lanes);
                for (std::size_t lane = 0; lane < width; ++lane)
                    best = std::max(best, lanes[lane]);
            }
            for (; i < n; ++i)   // scalar tail
                best = std::max(best, x[i]);
            return best;
        }

        // Rows per thread so that each gets at least map_grain elements.
        inline std::size_t row_grain(std::size_t cols)
        {
            return std::max<std::size_t>(1, map_grain / std::max<std::size_t>(cols, 1));
        }
    }

    // The sum of x[0, n). Summed in blocks of map_grain elements, whatever the threads: the result does not
    // depend on how many there are.
    template <class T, class Arch = xsimd::default_arch>
    T sum(std::size_t n, const T* x)
    {
        const std::size_t block = detail::map_grain;
        const std::size_t blocks = (n + block - 1) / block;
        if (blocks <= 1)
            return detail::sum_contiguous<T, Arch>(n, x);
        std::vector<T> block_sums(blocks);
        parallel_for(0, blocks, 1, [&](std::size_t first, std::size_t last) {
            for (std::size_t b = first; b < last; ++b)
                block_sums[b] = detail::sum_contiguous<T, Arch>(std::min(block, n - b * block), x + b * block);
        });
        T total = 0;
        for (T block_sum : block_sums)
            total += block_sum;
        return total;
    }
    template <class T>
    T sum_reference(std::size_t n, const T* x)
    {
        T total = 0;
        for (std::size_t i = 0; i < n; ++i)
            total += x[i];
        return total;
    }

    // out[r] = sum of row r of x (rows × cols, row-major).
    template <class T, class Arch = xsimd::default_arch>
    void sum_rows(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
                out[r] = detail::sum_contiguous<T, Arch>(cols, x + r * cols);
        });
    }
    template <class T>
    void sum_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        for (std::size_t r = 0; r < rows; ++r)
            out[r] = sum_reference(cols, x + r * cols);
    }

    // out[r] = max of row r of x (rows × cols, row-major); -infinity for empty rows.
    template <class T, class Arch = xsimd::default_arch>
    void max_rows(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        parallel_for(0, rows, detail::row_grain(cols), [&](std::size_t first, std::size_t last) {
            for (std::size_t r = first; r < last; ++r)
                out[r] = detail::max_contiguous<T, Arch>(cols, x + r * cols);
        });
    }
    template <class T>
    void max_rows_reference(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        for (std::size_t r = 0; r < rows; ++r)
        {
            T best = -std::numeric_limits<T>::infinity();
            for (std::size_t c = 0; c < cols; ++c)
                best = std::max(best, x[r * cols + c]);
            out[r] = best;
        }
    }

    // x summed over `axes` (sorted, unique), those dims removed from the shape (as xt::sum): by the kernels
    // when the axes are all of x's or only its last, by xtensor otherwise.
    template <class T>
    xt::xarray<T> sum(const xt::xarray<T>& x, const std::vector<std::size_t>& axes)
    {
        const std::size_t dims = x.dimension();
        if (axes.size() == dims)
            return xt::xarray<T>(sum<T>(x.size(), x.data()));
        if (axes.size() == 1 && axes[0] + 1 == dims)
        {
            const std::size_t cols = x.shape()[dims - 1];
            auto out = xt::xarray<T>::from_shape(std::vector<std::size_t>(x.shape().begin(), x.shape().end() - 1));
            sum_rows<T>(out.size(), cols, x.data(), out.data());
            return out;
        }
        return xt::sum(x, axes, xt::evaluation_strategy::immediate);
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
