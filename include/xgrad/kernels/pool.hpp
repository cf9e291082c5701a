// 2-D pooling on raw pointers over planes (N·C of them, each H×W, row-major): max with its arg-max,
// average, their adjoints, and the plain loops they are tested against.  Sliding windows run in SIMD over
// an output row's columns; a list of windows per dim serves adaptive bins and the adjoints that add.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    // A position in a plane, what max pooling records for its backward: 32 bits halve the index traffic of
    // 64, and the op checks that a plane's positions fit.
    using pool_index = std::uint32_t;

    // A sliding-window pooling of in_h × in_w planes: windows of kernel_h × kernel_w every (stride_h,
    // stride_w) over the input padded by (padding_h, padding_w), padding < kernel.
    struct pool2d_shape
    {
        std::size_t in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, padding_h, padding_w;

        std::size_t out_h() const { return (in_h + 2 * padding_h - kernel_h) / stride_h + 1; }
        std::size_t out_w() const { return (in_w + 2 * padding_w - kernel_w) / stride_w + 1; }
        std::size_t in_size() const { return in_h * in_w; }
        std::size_t out_size() const { return out_h() * out_w(); }
    };

    // The windows along one dim: output o pools the inputs [begin[o], end[o]).
    struct pool_windows_1d
    {
        std::vector<std::size_t> begin, end;
        std::size_t size() const { return begin.size(); }
    };

    // Sliding windows of `kernel` inputs every `stride`, over the input padded by `padding` on both sides,
    // clipped to the real input: out = (in + 2·padding - kernel) / stride + 1.  Needs kernel ≤ in + 2·padding.
    inline pool_windows_1d sliding_windows(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t padding)
    {
        pool_windows_1d windows;
        const std::size_t out = (in + 2 * padding - kernel) / stride + 1;
        for (std::size_t o = 0; o < out; ++o)
        {
            const std::size_t padded_begin = o * stride;   // in padded coordinates
            windows.begin.push_back(std::min(in, std::max(padded_begin, padding) - padding));
            windows.end.push_back(std::min(in, std::max(padded_begin + kernel, padding) - padding));
        }
        return windows;
    }

    // PyTorch's adaptive bins: output o of `out` pools [floor(o·in / out), ceil((o + 1)·in / out)).
    inline pool_windows_1d adaptive_windows(std::size_t in, std::size_t out)
    {
        pool_windows_1d windows;
        for (std::size_t o = 0; o < out; ++o)
        {
            windows.begin.push_back(o * in / out);
            windows.end.push_back(((o + 1) * in + out - 1) / out);
        }
        return windows;
    }

    // The windows of a 2-D pooling of an in_h × in_w plane.  An average divides by `divisor`, or by the
    // window's own area when divisor is 0 (adaptive pooling).
    struct pool_windows
    {
        std::size_t in_h = 0, in_w = 0;
        pool_windows_1d rows, cols;
        std::size_t divisor = 0;
        std::optional<pool2d_shape> sliding;   // the sliding pooling these windows come from, if they do

        std::size_t in_size() const { return in_h * in_w; }
        std::size_t out_size() const { return rows.size() * cols.size(); }
    };

    namespace detail
    {
        // The input rows [begin, end) of output row oh (the window clipped to the plane).
        struct window_rows
        {
            std::size_t begin, end;
            window_rows(const pool2d_shape& s, std::size_t oh)
                : begin(std::max(oh * s.stride_h, s.padding_h) - s.padding_h),
                  end(std::min(s.in_h, oh * s.stride_h + s.kernel_h - s.padding_h))
            {
            }
        };

        // The output columns [begin, end) whose windows lie inside the plane's columns: the vector kernels'
        // range, the others being clipped by the padding.
        struct interior_columns
        {
            std::size_t begin, end;
            explicit interior_columns(const pool2d_shape& s)
            {
                const std::size_t out_w = s.out_w();
                begin = std::min(out_w, (s.padding_w + s.stride_w - 1) / s.stride_w);
                end = s.in_w + s.padding_w < s.kernel_w
                          ? 0
                          : std::min(out_w, (s.in_w + s.padding_w - s.kernel_w) / s.stride_w + 1);
                end = std::max(begin, end);
            }
            std::size_t size() const { return end - begin; }
        };

        // The input columns [begin, end) of output column ow.
        struct window_cols
        {
            std::size_t begin, end;
            window_cols(const pool2d_shape& s, std::size_t ow)
                : begin(std::max(ow * s.stride_w, s.padding_w) - s.padding_w),
                  end(std::min(s.in_w, ow * s.stride_w + s.kernel_w - s.padding_w))
            {
            }
        };

        // Output columns [ow_begin, ow_end) of row oh of max pooling, one window at a time in row-major order,
        // starting from -inf at the window's first position: a strictly greater value or a NaN takes over
        // (`value != value`), so ties keep the first maximum and NaN the last NaN.  The selects carry no
        // data-dependent branch (random data makes the arg-max unpredictable).
        template <class T>
        void max_pool_cells(const pool2d_shape& s, std::size_t oh, std::size_t ow_begin, std::size_t ow_end,
                            const T* plane, T* y_row, pool_index* argmax_row)
        {
            const window_rows rows(s, oh);
            for (std::size_t ow = ow_begin; ow < ow_end; ++ow)
            {
                const window_cols cols(s, ow);
                T best = -std::numeric_limits<T>::infinity();
                auto best_at = pool_index(rows.begin * s.in_w + cols.begin);
                for (std::size_t ih = rows.begin; ih < rows.end; ++ih)
                    for (std::size_t iw = cols.begin; iw < cols.end; ++iw)
                    {
                        const T value = plane[ih * s.in_w + iw];
                        const bool take = (value > best) | (value != value);
                        best = take ? value : best;
                        best_at = take ? pool_index(ih * s.in_w + iw) : best_at;
                    }
                y_row[ow] = best;
                argmax_row[ow] = best_at;
            }
        }

        // Output columns [ow_begin, ow_end) of row oh of average pooling: the window's sum in row-major order
        // (the reference's), over the divisor kernel_h · kernel_w.
        template <class T>
        void avg_pool_cells(const pool2d_shape& s, std::size_t oh, std::size_t ow_begin, std::size_t ow_end,
                            const T* plane, T* y_row)
        {
            const window_rows rows(s, oh);
            const T divisor = T(s.kernel_h * s.kernel_w);
            for (std::size_t ow = ow_begin; ow < ow_end; ++ow)
            {
                const window_cols cols(s, ow);
                T total = 0;
                for (std::size_t ih = rows.begin; ih < rows.end; ++ih)
                    for (std::size_t iw = cols.begin; iw < cols.end; ++iw)
                        total += plane[ih * s.in_w + iw];
                y_row[ow] = total / divisor;
            }
        }

        // The swizzle masks of deinterleave: lane i takes lane 2i (even) or 2i + 1 (odd) of a vector in the
        // lower half of the result, the other parity in the upper half; and the lower half as a mask.
        template <bool OddFirst>
        struct halves_by_parity
        {
            static constexpr unsigned get(unsigned i, unsigned n)
            {
                return i < n / 2 ? 2 * i + (OddFirst ? 1 : 0) : 2 * (i - n / 2) + (OddFirst ? 0 : 1);
            }
        };
        struct lower_half
        {
            static constexpr bool get(unsigned i, unsigned n) { return i < n / 2; }
        };

        // The even and the odd lanes of the 2·size values at p: four swizzles and two blends in general.
        template <class T, class Arch>
        inline void deinterleave(const T* p, xsimd::batch<T, Arch>& even, xsimd::batch<T, Arch>& odd)
        {
            using batch = xsimd::batch<T, Arch>;
            using lane_batch = xsimd::batch<xsimd::as_unsigned_integer_t<T>, Arch>;
            constexpr auto evens_low = xsimd::make_batch_constant<lane_batch, halves_by_parity<false>>();
            constexpr auto odds_low = xsimd::make_batch_constant<lane_batch, halves_by_parity<true>>();
            constexpr auto lower = xsimd::make_batch_bool_constant<batch, lower_half>();
            const batch a = batch::load_unaligned(p), b = batch::load_unaligned(p + batch::size);
            even = xsimd::select(lower, xsimd::swizzle(a, evens_low), xsimd::swizzle(b, odds_low));
            odd = xsimd::select(lower, xsimd::swizzle(a, odds_low), xsimd::swizzle(b, evens_low));
        }

        // On x86 each parity is one or two shuffles: a two-source permute on AVX-512; on AVX, a shuffle
        // within 128-bit lanes and a permute of 64-bit quarters across them; a shuffle on SSE.
#if XSIMD_WITH_AVX512F
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::avx512f, Arch>, int> = 0>
        inline void deinterleave(const float* p, xsimd::batch<float, Arch>& even, xsimd::batch<float, Arch>& odd)
        {
            const __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
            even = _mm512_permutex2var_ps(
                a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
            odd = _mm512_permutex2var_ps(
                a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
        }
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::avx512f, Arch>, int> = 0>
        inline void deinterleave(const double* p, xsimd::batch<double, Arch>& even, xsimd::batch<double, Arch>& odd)
        {
            const __m512d a = _mm512_loadu_pd(p), b = _mm512_loadu_pd(p + 8);
            even = _mm512_permutex2var_pd(a, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), b);
            odd = _mm512_permutex2var_pd(a, _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15), b);
        }
#endif
#if XSIMD_WITH_AVX2
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::avx2, Arch>, int> = 0>
        inline void deinterleave(const float* p, xsimd::batch<float, Arch>& even, xsimd::batch<float, Arch>& odd)
        {
            const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
            constexpr int quarters_in_order = 0xd8;   // 64-bit quarters (0, 2, 1, 3)
            even = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), quarters_in_order));
            odd = _mm256_castpd_ps(
                _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd)), quarters_in_order));
        }
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::avx2, Arch>, int> = 0>
        inline void deinterleave(const double* p, xsimd::batch<double, Arch>& even, xsimd::batch<double, Arch>& odd)
        {
            const __m256d a = _mm256_loadu_pd(p), b = _mm256_loadu_pd(p + 4);
            constexpr int quarters_in_order = 0xd8;
            even = _mm256_permute4x64_pd(_mm256_unpacklo_pd(a, b), quarters_in_order);
            odd = _mm256_permute4x64_pd(_mm256_unpackhi_pd(a, b), quarters_in_order);
        }
#endif
#if XSIMD_WITH_SSE2
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::sse2, Arch>, int> = 0>
        inline void deinterleave(const float* p, xsimd::batch<float, Arch>& even, xsimd::batch<float, Arch>& odd)
        {
            const __m128 a = _mm_loadu_ps(p), b = _mm_loadu_ps(p + 4);
            even = _mm_shuffle_ps(a, b, 0x88);   // lanes (0, 2) of a, then of b
            odd = _mm_shuffle_ps(a, b, 0xdd);    // lanes (1, 3)
        }
        template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::sse2, Arch>, int> = 0>
        inline void deinterleave(const double* p, xsimd::batch<double, Arch>& even, xsimd::batch<double, Arch>& odd)
        {
            const __m128d a = _mm_loadu_pd(p), b = _mm_loadu_pd(p + 2);
            even = _mm_unpacklo_pd(a, b);
            odd = _mm_unpackhi_pd(a, b);
        }
#endif

        // Calls tap(values, kj) for the taps kj of one row of the windows of a vector of outputs, the windows
        // starting at `row` (inside the plane's columns), in order.  For stride 2 taps 0 and 1 are the parities
        // of the pair at row, and tap kj ≥ 2 the odd lanes of the pair at row + kj - 1, whose last lane is the
        // last value the vector needs.
        template <class T, class Arch, std::size_t Stride, class Tap>
        inline void for_each_tap(const T* row, std::size_t kernel_w, Tap& tap)
        {
            using batch = xsimd::batch<T, Arch>;
            if constexpr (Stride == 1)
                for (std::size_t kj = 0; kj < kernel_w; ++kj)
                    tap(batch::load_unaligned(row + kj), kj);
            else
            {
                batch even, odd;
                deinterleave(row, even, odd);
                tap(even, 0);
                tap(odd, 1);
                for (std::size_t kj = 2; kj < kernel_w; ++kj)
                {
                    deinterleave(row + kj - 1, even, odd);
                    tap(odd, kj);
                }
            }
        }

        // The positions in the plane of lanes 0, 1, ... of a vector of taps, as T (exact below 2^digits).
        template <class T, class Arch, std::size_t Stride>
        inline xsimd::batch<T, Arch> lane_positions(std::size_t first)
        {
            using lane_batch = xsimd::batch<xsimd::as_integer_t<T>, Arch>;
            struct lane_offsets
            {
                static constexpr int get(unsigned i, unsigned) { return int(i * Stride); }
            };
            return xsimd::batch<T, Arch>(T(first)) +
                   xsimd::batch_cast<T>(lane_batch(xsimd::make_batch_constant<lane_batch, lane_offsets>()));
        }

        // Positions held as T, stored as pool_index: a conversion for float; through memory for double,
        // whose 64-bit lanes do not narrow in xsimd.
        template <class Arch>
        inline void store_positions(const xsimd::batch<float, Arch>& at, pool_index* out)
        {
            xsimd::batch_cast<std::int32_t>(at).store_unaligned(reinterpret_cast<std::int32_t*>(out));
        }
        template <class Arch>
        inline void store_positions(const xsimd::batch<double, Arch>& at, pool_index* out)
        {
            alignas(scratch_alignment) double lanes[xsimd::batch<double, Arch>::size];
            at.store_aligned(lanes);
            for (std::size_t i = 0; i < xsimd::batch<double, Arch>::size; ++i)
                out[i] = pool_index(lanes[i]);
        }

        // best, best_at = the later candidate if it is greater or NaN, else the earlier: the merge of two
        // groups of taps, the second all after the first in row-major window order.
        template <class T, class Arch>
        inline void keep_max(xsimd::batch<T, Arch>& best, xsimd::batch<T, Arch>& best_at,
                             const xsimd::batch<T, Arch>& later, const xsimd::batch<T, Arch>& later_at)
        {
            // xsimd::isnan, not later != later: xsimd 8's AVX-512 != is the ordered compare, false for NaN.
            const auto take = (later > best) | xsimd::isnan(later);
            best = xsimd::select(take, later, best);
            best_at = xsimd::select(take, later_at, best_at);
        }

        // Max pooling of output columns [ow, ow + size) of row oh: the maximum of each window row, then of the
        // rows in order, which is the row-major scan's result (the merge above is associative over ordered
        // groups) with chains of dependent selects a window row long rather than a window long.
        template <class T, class Arch, std::size_t Stride>
        inline void max_pool_vector(const pool2d_shape& s, std::size_t oh, std::size_t ow, const T* plane, T* y_row,
                                    pool_index* argmax_row)
        {
            using batch = xsimd::batch<T, Arch>;
            const window_rows rows(s, oh);
            const std::size_t col = ow * Stride - s.padding_w;
            batch best, best_at;
            for (std::size_t ih = rows.begin; ih < rows.end; ++ih)
            {
                const batch row_at = lane_positions<T, Arch, Stride>(ih * s.in_w + col);
                batch row_best, row_best_at;
                auto tap = [&row_best, &row_best_at, &row_at](const batch& value, std::size_t kj) {
                    if (kj == 0)
                    {
                        row_best = value;
                        row_best_at = row_at;
                    }
                    else
                        keep_max(row_best, row_best_at, value, row_at + batch(T(kj)));
                };
                for_each_tap<T, Arch, Stride>(plane + ih * s.in_w + col, s.kernel_w, tap);
                if (ih == rows.begin)
                {
                    best = row_best;
                    best_at = row_best_at;
                }
                else
                    keep_max(best, best_at, row_best, row_best_at);
            }
            best.store_unaligned(y_row + ow);
            store_positions(best_at, argmax_row + ow);
        }

        template <class T, class Arch, std::size_t Stride>
        inline void avg_pool_vector(const pool2d_shape& s, std::size_t oh, std::size_t ow, const T* plane, T* y_row)
        {
            using batch = xsimd::batch<T, Arch>;
            const window_rows rows(s, oh);
            const std::size_t col = ow * Stride - s.padding_w;
            batch total(T(0));
            auto tap = [&total](const batch& value, std::size_t) { total += value; };
            for (std::size_t ih = rows.begin; ih < rows.end; ++ih)
                for_each_tap<T, Arch, Stride>(plane + ih * s.in_w + col, s.kernel_w, tap);
            (total / batch(T(s.kernel_h * s.kernel_w))).store_unaligned(y_row + ow);
        }

        // Runs the rows of `planes` planes: the interior columns in vectors of Arch, the last one moved back to
        // end at the interior's end (it recomputes a few outputs rather than leave a tail), the clipped
        // columns by the scalar cells: vector(p, oh, output_row, ow) and scalar(p, oh, output_row, ow_begin, ow_end).
        template <class T, class Arch, class Vector, class Scalar>
        void pool_rows(const pool2d_shape& s, std::size_t planes, Vector&& vector, Scalar&& scalar)
        {
            constexpr std::size_t width = xsimd::batch<T, Arch>::size;
            const interior_columns interior(s);
            const std::size_t out_h = s.out_h(), out_w = s.out_w();
            for (std::size_t p = 0; p < planes; ++p)
                for (std::size_t oh = 0; oh < out_h; ++oh)
                {
                    const std::size_t row = p * out_h + oh;
                    if (interior.begin > 0)
                        scalar(p, oh, row, 0, interior.begin);
                    for (std::size_t ow = interior.begin; ow < interior.end; ow += width)
                        vector(p, oh, row, std::min(ow, interior.end - width));
                    if (interior.end < out_w)
                        scalar(p, oh, row, interior.end, out_w);
                }
        }

        // The SIMD registers tried, widest first: a row whose interior is narrower than one register of the
        // widest uses a narrower one.  Each has a vector kernel for stride 1 and 2.
#if XSIMD_WITH_AVX512F && XSIMD_WITH_AVX2
        using pool_archs = std::tuple<xsimd::default_arch, xsimd::avx2, xsimd::sse4_2>;
#elif XSIMD_WITH_AVX
        using pool_archs = std::tuple<xsimd::default_arch, xsimd::sse4_2>;
#else
        using pool_archs = std::tuple<xsimd::default_arch>;
#endif

        // Calls run(Arch{}) for the widest Arch of pool_archs from I on whose T register fits in `columns`,
        // and returns whether there was one.
        template <class T, std::size_t I = 0, class Run>
        bool with_widest_fitting_arch(std::size_t columns, Run&& run)
        {
            if constexpr (I == std::tuple_size_v<pool_archs>)
                return false;
            else
            {
                using arch = std::tuple_element_t<I, pool_archs>;
                if (xsimd::batch<T, arch>::size <= columns)
                {
                    run(arch{});
                    return true;
                }
                return with_widest_fitting_arch<T, I + 1>(columns, run);
            }
        }

        // The vector kernels take stride 1 and 2 along the rows, and for stride 2 at least two taps; the
        // positions they hold as T must be exact.
        template <class T>
        bool has_vector_pool(const pool2d_shape& s)
        {
            return (s.stride_w == 1 || (s.stride_w == 2 && s.kernel_w >= 2)) &&
                   s.in_size() <= (std::size_t(1) << std::numeric_limits<T>::digits);
        }

        // Every output row of every plane: vector_for(Arch{})'s kernel, for the widest architecture whose
        // vectors fit the interior columns, with scalar cells at the borders (pool_rows); scalar cells
        // alone where no vector kernel applies.
        template <class T, class VectorFor, class Scalar>
        void pool_all_rows(const pool2d_shape& s, std::size_t planes, VectorFor&& vector_for, Scalar&& scalar)
        {
            const bool vectorised =
                has_vector_pool<T>(s) && with_widest_fitting_arch<T>(interior_columns(s).size(), [&](auto arch) {
                    pool_rows<T, decltype(arch)>(s, planes, vector_for(arch), scalar);
                });
            if (!vectorised)
                for (std::size_t p = 0; p < planes; ++p)
                    for (std::size_t oh = 0; oh < s.out_h(); ++oh)
                        scalar(p, oh, p * s.out_h() + oh, 0, s.out_w());
        }
    }

    // y[p, oh, ow] = max of x[p] over the kernel_h × kernel_w window at (oh·stride_h - padding_h,
    // ow·stride_w - padding_w), the padding never winning; argmax[p, oh, ow] = the winner's flat position in
    // the plane.  NaN wins, as in PyTorch (the last NaN of the window); ties go to the first in row-major
    // order.  Needs padding < kernel and planes whose positions fit pool_index.  Vectors over the output
    // columns for stride 1 and 2, scalar cells otherwise.
    template <class T>
    void max_pool2d(const pool2d_shape& s, std::size_t planes, const T* x, T* y, pool_index* argmax)
    {
        const std::size_t in_size = s.in_size(), out_w = s.out_w();
        auto scalar = [&](std::size_t p, std::size_t oh, std::size_t row, std::size_t begin, std::size_t end) {
            detail::max_pool_cells(s, oh, begin, end, x + p * in_size, y + row * out_w, argmax + row * out_w);
        };
        detail::pool_all_rows<T>(s, planes, [&](auto arch) {
            using Arch = decltype(arch);
            return [&](std::size_t p, std::size_t oh, std::size_t row, std::size_t ow) {
                if (s.stride_w == 1)
                    detail::max_pool_vector<T, Arch, 1>(s, oh, ow, x + p * in_size, y + row * out_w, argmax + row * out_w);
                else
                    detail::max_pool_vector<T, Arch, 2>(s, oh, ow, x + p * in_size, y + row * out_w, argmax + row * out_w);
            };
        }, scalar);
    }

    // y[p, oh, ow] = the sum of x[p] over the window, padding counting as 0, over kernel_h · kernel_w
    // (count_include_pad).  Vectors as max_pool2d.
    template <class T>
    void avg_pool2d(const pool2d_shape& s, std::size_t planes, const T* x, T* y)
    {
        const std::size_t in_size = s.in_size(), out_w = s.out_w();
        auto scalar = [&](std::size_t p, std::size_t oh, std::size_t row, std::size_t begin, std::size_t end) {
            detail::avg_pool_cells(s, oh, begin, end, x + p * in_size, y + row * out_w);
        };
        detail::pool_all_rows<T>(s, planes, [&](auto arch) {
            using Arch = decltype(arch);
            return [&](std::size_t p, std::size_t oh, std::size_t row, std::size_t ow) {
                if (s.stride_w == 1)
                    detail::avg_pool_vector<T, Arch, 1>(s, oh, ow, x + p * in_size, y + row * out_w);
                else
                    detail::avg_pool_vector<T, Arch, 2>(s, oh, ow, x + p * in_size, y + row * out_w);
            };
        }, scalar);
    }

    // y[p, o] = mean of x[p] over window o (sum / divisor); the sliding kernel when the windows slide.
    template <class T>
    void avg_pool2d(const pool_windows& w, std::size_t planes, const T* x, T* y)
    {
        if (w.sliding)
            return avg_pool2d(*w.sliding, planes, x, y);
        for (std::size_t p = 0; p < planes; ++p, x += w.in_size())
            for (std::size_t oh = 0; oh < w.rows.size(); ++oh)
                for (std::size_t ow = 0; ow < w.cols.size(); ++ow, ++y)
                {
                    T total = 0;
                    for (std::size_t ih = w.rows.begin[oh]; ih < w.rows.end[oh]; ++ih)
                        for (std::size_t iw = w.cols.begin[ow]; iw < w.cols.end[ow]; ++iw)
                            total += x[ih * w.in_w + iw];
                    const std::size_t area = (w.rows.end[oh] - w.rows.begin[oh]) * (w.cols.end[ow] - w.cols.begin[ow]);
                    *y = total / T(w.divisor != 0 ? w.divisor : area);
                }
    }

    namespace detail
    {
        // Lane i of the result takes lane (i + half·size) / 2: the lower (half 0) or upper half, each lane twice.
        template <unsigned Half>
        struct doubled_lanes
        {
            static constexpr unsigned get(unsigned i, unsigned n) { return (i + Half * n) / 2; }
        };

        // dx_row[2·ow] = dx_row[2·ow + 1] = scale · dy_row[ow] for ow < out_w, in vectors of Arch (the last moved
        // back to end at out_w: it writes, so writing twice is harmless), or plainly if out_w is narrower.
        template <class T, class Arch>
        void doubled_row(std::size_t out_w, const T* dy_row, T scale, T* dx_row)
        {
            using batch = xsimd::batch<T, Arch>;
            using lane_batch = xsimd::batch<xsimd::as_unsigned_integer_t<T>, Arch>;
            constexpr auto lower = xsimd::make_batch_constant<lane_batch, doubled_lanes<0>>();
            constexpr auto upper = xsimd::make_batch_constant<lane_batch, doubled_lanes<1>>();
            for (std::size_t ow = 0; ow < out_w; ow += batch::size)
            {
                const std::size_t at = std::min(ow, out_w - batch::size);
                const batch share = batch::load_unaligned(dy_row + at) * batch(scale);
                xsimd::swizzle(share, lower).store_unaligned(dx_row + 2 * at);
                xsimd::swizzle(share, upper).store_unaligned(dx_row + 2 * at + batch::size);
            }
        }

        // The sliding average poolings whose adjoint avg_pool2d_backward(pool2d_shape) computes without adds.
        inline bool has_direct_avg_backward(const pool2d_shape& s)
        {
            const bool stride_1 = s.stride_h == 1 && s.stride_w == 1;
            const bool tiles_2x2 = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 &&
                                   s.padding_h == 0 && s.padding_w == 0;
            return stride_1 || tiles_2x2;
        }
    }

    // The adjoint of avg_pool2d for stride 1 or 2×2 windows every 2 without padding (has_direct_avg_backward),
    // each dx written once.  Stride 1: dx[i, j] = Σ dy[i + padding - ki, j + padding - kj] / (kernel_h ·
    // kernel_w) over the valid dy, which is avg_pool2d itself over dy padded by kernel - 1 - padding.
    // 2×2 every 2: each dy / 4 over its window's four inputs, and 0 in an odd last row or column.
    template <class T>
    void avg_pool2d_backward(const pool2d_shape& s, std::size_t planes, const T* dy, T* dx)
    {
        const std::size_t out_h = s.out_h(), out_w = s.out_w();
        if (s.stride_h == 1 && s.stride_w == 1)
            return avg_pool2d(pool2d_shape{out_h, out_w, s.kernel_h, s.kernel_w, 1, 1, s.kernel_h - 1 - s.padding_h,
                                           s.kernel_w - 1 - s.padding_w},
                              planes, dy, dx);
        const T scale = T(1) / T(4);   // exact: dividing by 4 and multiplying by 1/4 agree
        for (std::size_t p = 0; p < planes; ++p, dy += out_h * out_w, dx += s.in_size())
        {
            for (std::size_t oh = 0; oh < out_h; ++oh)
            {
                T* top = dx + 2 * oh * s.in_w;
                const T* dy_row = dy + oh * out_w;
                const bool vectorised = detail::with_widest_fitting_arch<T>(
                    out_w, [&](auto arch) { detail::doubled_row<T, decltype(arch)>(out_w, dy_row, scale, top); });
                if (!vectorised)
                    for (std::size_t ow = 0; ow < out_w; ++ow)
                        top[2 * ow] = top[2 * ow + 1] = scale * dy_row[ow];
                std::fill(top + 2 * out_w, top + s.in_w, T(0));
                std::copy(top, top + s.in_w, top + s.in_w);
            }
            std::fill(dx + 2 * out_h * s.in_w, dx + s.in_size(), T(0));
        }
    }

    // The adjoint of avg_pool2d: dx[p] = 0, then dx[p, i] += dy[p, o] / divisor for every window o holding i.
    // Writes dx plane by plane, so the sums land in the cache the zeros were just written to.  Sliding windows
    // that avg_pool2d_backward(pool2d_shape) takes go there.
    template <class T>
    void avg_pool2d_backward(const pool_windows& w, std::size_t planes, const T* dy, T* dx)
    {
        if (w.sliding && detail::has_direct_avg_backward(*w.sliding))
            return avg_pool2d_backward(*w.sliding, planes, dy, dx);
        for (std::size_t p = 0; p < planes; ++p, dx += w.in_size())
        {
            std::fill(dx, dx + w.in_size(), T(0));
            for (std::size_t oh = 0; oh < w.rows.size(); ++oh)
                for (std::size_t ow = 0; ow < w.cols.size(); ++ow, ++dy)
                {
                    const std::size_t area = (w.rows.end[oh] - w.rows.begin[oh]) * (w.cols.end[ow] - w.cols.begin[ow]);
                    const T share = *dy / T(w.divisor != 0 ? w.divisor : area);
                    for (std::size_t ih = w.rows.begin[oh]; ih < w.rows.end[oh]; ++ih)
                        for (std::size_t iw = w.cols.begin[ow]; iw < w.cols.end[ow]; ++iw)
                            dx[ih * w.in_w + iw] += share;
                }
        }
    }

    // dst[p, o] = src[p, index[p, o]]: what max pooling picked, read again (src planes in_size, dst out_size).
    template <class T>
    void gather_planes(std::size_t planes, std::size_t in_size, std::size_t out_size, const pool_index* index,
                       const T* src, T* dst)
    {
        for (std::size_t p = 0; p < planes; ++p, src += in_size)
            for (std::size_t o = 0; o < out_size; ++o, ++index, ++dst)
                *dst = src[*index];
    }

    // The adjoint of gather_planes: dst[p] = 0, then dst[p, index[p, o]] += src[p, o].  Writes dst (planes
    // of in_size) plane by plane, so the scatter lands in the cache the zeros were just written to.
    template <class T>
    void scatter_planes(std::size_t planes, std::size_t in_size, std::size_t out_size, const pool_index* index,
                        const T* src, T* dst)
    {
        for (std::size_t p = 0; p < planes; ++p, dst += in_size)
        {
            std::fill(dst, dst + in_size, T(0));
            for (std::size_t o = 0; o < out_size; ++o, ++index, ++src)
                dst[*index] += *src;
        }
    }

    // References, kept for the tests: max and average over windows of the zero-padded plane by the
    // definition (padding counts as -inf for max, as 0 for average, whose divisor is kernel_h · kernel_w).
    // The max keeps the first maximum in row-major window order and the last NaN, as PyTorch.
    template <class T>
    void max_pool2d_reference(std::size_t planes, std::size_t in_h, std::size_t in_w, std::size_t kernel_h,
                              std::size_t kernel_w, std::size_t stride_h, std::size_t stride_w, std::size_t padding_h,
                              std::size_t padding_w, const T* x, T* y, std::size_t* argmax)
    {
        const std::size_t out_h = (in_h + 2 * padding_h - kernel_h) / stride_h + 1;
        const std::size_t out_w = (in_w + 2 * padding_w - kernel_w) / stride_w + 1;
        for (std::size_t p = 0; p < planes; ++p)
            for (std::size_t oh = 0; oh < out_h; ++oh)
                for (std::size_t ow = 0; ow < out_w; ++ow)
                {
                    T best = -std::numeric_limits<T>::infinity();
                    std::size_t best_at = 0;
                    bool found = false;
                    for (std::size_t ki = 0; ki < kernel_h; ++ki)
                        for (std::size_t kj = 0; kj < kernel_w; ++kj)
                        {
                            const auto ih = std::ptrdiff_t(oh * stride_h + ki) - std::ptrdiff_t(padding_h);
                            const auto iw = std::ptrdiff_t(ow * stride_w + kj) - std::ptrdiff_t(padding_w);
                            if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(in_h) || iw >= std::ptrdiff_t(in_w))
                                continue;
                            const std::size_t at = std::size_t(ih) * in_w + std::size_t(iw);
                            const T value = x[p * in_h * in_w + at];
                            if (!found || value > best || value != value)   // value != value: NaN
                            {
                                best = value;
                                best_at = at;
                                found = true;
                            }
                        }
                    y[(p * out_h + oh) * out_w + ow] = best;
                    argmax[(p * out_h + oh) * out_w + ow] = best_at;
                }
    }

    template <class T>
    void avg_pool2d_reference(std::size_t planes, std::size_t in_h, std::size_t in_w, std::size_t kernel_h,
                              std::size_t kernel_w, std::size_t stride_h, std::size_t stride_w, std::size_t padding_h,
                              std::size_t padding_w, const T* x, T* y)
    {
        const std::size_t out_h = (in_h + 2 * padding_h - kernel_h) / stride_h + 1;
        const std::size_t out_w = (in_w + 2 * padding_w - kernel_w) / stride_w + 1;
        for (std::size_t p = 0; p < planes; ++p)
            for (std::size_t oh = 0; oh < out_h; ++oh)
                for (std::size_t ow = 0; ow < out_w; ++ow)
                {
                    T total = 0;
                    for (std::size_t ki = 0; ki < kernel_h; ++ki)
                        for (std::size_t kj = 0; kj < kernel_w; ++kj)
                        {
                            const auto ih = std::ptrdiff_t(oh * stride_h + ki) - std::ptrdiff_t(padding_h);
                            const auto iw = std::ptrdiff_t(ow * stride_w + kj) - std::ptrdiff_t(padding_w);
                            if (ih >= 0 && iw >= 0 && ih < std::ptrdiff_t(in_h) && iw < std::ptrdiff_t(in_w))
                                total += x[(p * in_h + std::size_t(ih)) * in_w + std::size_t(iw)];
                        }
                    y[(p * out_h + oh) * out_w + ow] = total / T(kernel_h * kernel_w);
                }
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
