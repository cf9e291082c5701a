// Small helpers shared by the SIMD kernels: the vector width of T on the compile-time architecture and an
// aligned scratch buffer that kernels keep (thread-local) across calls instead of allocating each time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>

#include <xsimd/xsimd.hpp>

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
}
