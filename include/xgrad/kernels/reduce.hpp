// Reductions on raw pointers: the sum of all elements, the sum and max of each row (over the last axis) and
// the sum of each column (over the first), beside the plain loops they are tested against; then the
// array-level sum that the sum op and sum_to call.
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
            T total = lane_sum((acc0 + acc1) + (acc2 + acc3));
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

    namespace detail
    {
        // out[c] = sum over r of x[r * stride + c], for c in [0, cols), on one thread. A block of rows at a
        // time is added into out (which stays in cache while the rows stream past), four column vectors at once
        // in registers (four independent add chains, to hide the add latency): out is loaded and stored once
        // per block, and every column still adds its rows in order, as the reference does.
        template <class T, class Arch>
        void sum_columns_contiguous(std::size_t rows, std::size_t cols, std::size_t stride, const T* x, T* out)
        {
            using batch = xsimd::batch<T, Arch>;
            constexpr std::size_t width = batch::size, block_rows = 8;
            const std::size_t unrolled_end = cols - cols % (4 * width), vector_end = cols - cols % width;
            std::fill(out, out + cols, T(0));
            for (std::size_t first = 0; first < rows; first += block_rows)
            {
                const std::size_t last = std::min(rows, first + block_rows);
                std::size_t c = 0;
                for (; c < unrolled_end; c += 4 * width)
                {
                    batch sum0 = batch::load_unaligned(out + c);
                    batch sum1 = batch::load_unaligned(out + c + width);
                    batch sum2 = batch::load_unaligned(out + c + 2 * width);
                    batch sum3 = batch::load_unaligned(out + c + 3 * width);
                    for (std::size_t r = first; r < last; ++r)
                    {
                        const T* row = x + r * stride + c;
                        sum0 += batch::load_unaligned(row);
                        sum1 += batch::load_unaligned(row + width);
                        sum2 += batch::load_unaligned(row + 2 * width);
                        sum3 += batch::load_unaligned(row + 3 * width);
                    }
                    sum0.store_unaligned(out + c);
                    sum1.store_unaligned(out + c + width);
                    sum2.store_unaligned(out + c + 2 * width);
                    sum3.store_unaligned(out + c + 3 * width);
                }
                for (; c < vector_end; c += width)
                {
                    batch sum = batch::load_unaligned(out + c);
                    for (std::size_t r = first; r < last; ++r)
                        sum += batch::load_unaligned(x + r * stride + c);
                    sum.store_unaligned(out + c);
                }
                for (std::size_t r = first; r < last; ++r)   // scalar tail
                    for (c = vector_end; c < cols; ++c)
                        out[c] += x[r * stride + c];
            }
        }
    }

    // out[c] = sum of column c of x (rows × cols, row-major): the sum over the leading dims, as sum_to takes a
    // bias gradient (B, T, C) -> (C). Threads split the columns, so the result does not depend on how many
    // there are: each column adds its rows in order, as the reference does.
    template <class T, class Arch = xsimd::default_arch>
    void sum_columns(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        // Columns per thread so that each gets at least map_grain elements.
        const std::size_t column_grain = detail::row_grain(rows);
        parallel_for(0, cols, column_grain, [&](std::size_t first, std::size_t last) {
            detail::sum_columns_contiguous<T, Arch>(rows, last - first, cols, x + first, out + first);
        });
    }
    template <class T>
    void sum_columns_reference(std::size_t rows, std::size_t cols, const T* x, T* out)
    {
        for (std::size_t c = 0; c < cols; ++c)
        {
            out[c] = 0;
            for (std::size_t r = 0; r < rows; ++r)
                out[c] += x[r * cols + c];
        }
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

    // x summed over `axes` (sorted, unique), those dims removed from the shape (as xt::sum). Dims of extent 1
    // do not move data, so, leaving them aside, x is seen as (reduced..., kept...) or (kept..., reduced...)
    // when it can be: a total sum, column sums (sum_to's (B, T, C) -> (C)) or row sums (sum_to's
    // (B, T, C) -> (B, T, 1), the sum op over the last dims), each by a kernel; xtensor sums the rest.
    template <class T>
    xt::xarray<T> sum(const xt::xarray<T>& x, const std::vector<std::size_t>& axes)
    {
        std::vector<std::size_t> kept_shape;
        std::size_t reduced_count = 1, kept_count = 1;
        bool reduced_lead = true, reduced_trail = true;   // every reduced dim precedes (follows) every kept one
        bool seen_reduced = false, seen_kept = false;
        for (std::size_t dim = 0, next_axis = 0; dim < x.dimension(); ++dim)
        {
            const std::size_t extent = x.shape()[dim];
            const bool reduced = next_axis < axes.size() && axes[next_axis] == dim;
            if (reduced)
            {
                ++next_axis;
                reduced_count *= extent;
            }
            else
            {
                kept_shape.push_back(extent);
                kept_count *= extent;
            }
            if (extent == 1)
                continue;
            if (reduced)
            {
                reduced_lead = reduced_lead && !seen_kept;
                seen_reduced = true;
            }
            else
            {
                reduced_trail = reduced_trail && !seen_reduced;
                seen_kept = true;
            }
        }
        if (!reduced_lead && !reduced_trail)
            return xt::sum(x, axes, xt::evaluation_strategy::immediate);
        auto out = xt::xarray<T>::from_shape(kept_shape);
        if (kept_count == 1)
            *out.data() = sum<T>(x.size(), x.data());
        else if (reduced_lead)
            sum_columns<T>(reduced_count, kept_count, x.data(), out.data());
        else
            sum_rows<T>(kept_count, reduced_count, x.data(), out.data());
        return out;
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
