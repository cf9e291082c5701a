// Small helpers shared by the SIMD kernels: the vector width of T on the compile-time architecture, an
// aligned scratch buffer kernels keep (thread-local) across calls, the sum of a vector's lanes, and an
// in-register square transpose.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

#include <xsimd/xsimd.hpp>

// GCC 12's AVX-512 intrinsics, which xsimd's math functions use, declare `__m512 __Y = __Y;` and GCC then
// warns that __Y is (or may be) used uninitialized wherever they are inlined: a false positive.  Kernel
// headers wrap their code in these two macros to silence it.
#if defined(__GNUC__) && !defined(__clang__)
#define XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN                                                          \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                   \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END _Pragma("GCC diagnostic pop")
#else
#define XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN
#define XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
#endif

namespace xgrad::kernels
{
    // Elements of T in one SIMD register of Arch.
    template <class T, class Arch = xsimd::default_arch>
    constexpr std::size_t simd_width = xsimd::batch<T, Arch>::size;

    // Buffers start on a cache line, which also satisfies every SIMD alignment up to AVX-512.
    constexpr std::size_t scratch_alignment = 64;

    // A buffer of T aligned to scratch_alignment that grows on demand and never shrinks. Contents are not
    // kept when it grows.
    template <class T>
    class aligned_scratch
    {
    public:
        T* data(std::size_t count)
        {
            if (count > capacity_)
            {
                storage_.reset();
                capacity_ = 0;
                void* memory = xsimd::aligned_malloc(count * sizeof(T), scratch_alignment);
                if (memory == nullptr)
                    throw std::bad_alloc();
                storage_.reset(static_cast<T*>(memory));
                capacity_ = count;
            }
            return storage_.get();
        }

    private:
        struct aligned_deleter
        {
            void operator()(T* memory) const { xsimd::aligned_free(memory); }
        };
        std::unique_ptr<T[], aligned_deleter> storage_;
        std::size_t capacity_ = 0;
    };

    // The sum of a batch's lanes, through memory, in lane order (xsimd::hadd adds them as a tree).
    template <class T, class Arch>
    T lane_sum(const xsimd::batch<T, Arch>& v)
    {
        alignas(scratch_alignment) T lanes[simd_width<T, Arch>];
        v.store_aligned(lanes);
        T total = 0;
        for (T lane : lanes)
            total += lane;
        return total;
    }

    // Transposes the square tile held in simd_width<T, Arch> batches: afterwards rows[j] holds what was column j.
    // Through memory in general; in registers on AVX-512 for float, where kernels that pack transposed
    // operands spend their time.
    template <class T, class Arch>
    void transpose_square_tile(xsimd::batch<T, Arch>* rows)
    {
        constexpr std::size_t width = simd_width<T, Arch>;
        alignas(scratch_alignment) T tile[width][width];
        for (std::size_t i = 0; i < width; ++i)
            rows[i].store_aligned(tile[i]);
        for (std::size_t j = 0; j < width; ++j)
        {
            alignas(scratch_alignment) T column[width];
            for (std::size_t i = 0; i < width; ++i)
                column[i] = tile[i][j];
            rows[j] = xsimd::batch<T, Arch>::load_aligned(column);
        }
    }

#if XSIMD_WITH_AVX512F
    // 16 × 16 floats: interleave pairs of rows, then pairs of 64-bit pairs, then 128-bit lanes twice.
    template <class Arch, std::enable_if_t<std::is_base_of_v<xsimd::avx512f, Arch>, int> = 0>
    void transpose_square_tile(xsimd::batch<float, Arch>* rows)
    {
        // The zero-masking forms with every lane selected are the plain instructions; GCC 12 warns about the
        // plain forms' undefined pass-through operand under -Wall.
        constexpr __mmask16 all_lanes = 0xffff;
        constexpr __mmask8 all_pairs = 0xff;
        constexpr int even_lanes = 0x88;   // 128-bit lanes (0, 2) of the first operand, then (0, 2) of the second
        constexpr int odd_lanes = 0xdd;    // lanes (1, 3), likewise
        __m512 pairs[16];
        for (int i = 0; i < 8; ++i)
        {
            pairs[2 * i] = _mm512_maskz_unpacklo_ps(all_lanes, rows[2 * i], rows[2 * i + 1]);
            pairs[2 * i + 1] = _mm512_maskz_unpackhi_ps(all_lanes, rows[2 * i], rows[2 * i + 1]);
        }
        __m512 quads[16];
        for (int i = 0; i < 4; ++i)
            for (int half = 0; half < 2; ++half)
            {
                const __m512d low = _mm512_castps_pd(pairs[4 * i + half]);
                const __m512d high = _mm512_castps_pd(pairs[4 * i + 2 + half]);
                quads[4 * i + 2 * half] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all_pairs, low, high));
                quads[4 * i + 2 * half + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all_pairs, low, high));
            }
        __m512 lanes[16];
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 4; ++j)
            {
                const __m512 first = quads[8 * i + j], second = quads[8 * i + 4 + j];
                lanes[8 * i + j] = _mm512_maskz_shuffle_f32x4(all_lanes, first, second, even_lanes);
                lanes[8 * i + 4 + j] = _mm512_maskz_shuffle_f32x4(all_lanes, first, second, odd_lanes);
            }
        for (int j = 0; j < 8; ++j)
        {
            rows[j] = _mm512_maskz_shuffle_f32x4(all_lanes, lanes[j], lanes[8 + j], even_lanes);
            rows[8 + j] = _mm512_maskz_shuffle_f32x4(all_lanes, lanes[j], lanes[8 + j], odd_lanes);
        }
    }
#endif
}
