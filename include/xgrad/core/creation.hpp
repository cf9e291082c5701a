// Creating tensors: zeros, ones, full, arange, linspace, eye, and random rand/randn/randint from a seeded
// generator.  Random numbers are drawn with xgrad's own transforms of the generator's bits, so a seed gives
// the same tensors with every standard library (std::normal_distribution does not).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <xtensor/xbuilder.hpp>

#include "../config.hpp"
#include "tensor.hpp"

namespace xgrad
{
    // The generator xgrad's random functions default to.  Any standard uniform random bit generator works.
    using Generator = std::mt19937_64;

    // The process-wide default generator (not thread-safe: pass your own Generator to threads).
    inline Generator& default_generator()
    {
        static Generator generator(0x5eed);
        return generator;
    }

    inline void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

    template <class T>
    Tensor<T> zeros(const Shape& shape, bool requires_grad = false)
    {
        return Tensor<T>(xt::xarray<T>(xt::zeros<T>(shape)), requires_grad);
    }

    template <class T>
    Tensor<T> ones(const Shape& shape, bool requires_grad = false)
    {
        return Tensor<T>(xt::xarray<T>(xt::ones<T>(shape)), requires_grad);
    }

    template <class T>
    Tensor<T> full(const Shape& shape, T fill_value, bool requires_grad = false)
    {
        return Tensor<T>(xt::xarray<T>(shape, fill_value), requires_grad);
    }

    template <class T> Tensor<T> zeros_like(const Tensor<T>& x) { return zeros<T>(x.shape()); }
    template <class T> Tensor<T> ones_like(const Tensor<T>& x) { return ones<T>(x.shape()); }

    // [start, stop) in steps of `step`, as a 1-D tensor.
    template <class T>
    Tensor<T> arange(T start, T stop, T step = T(1), bool requires_grad = false)
    {
        if (step == T(0) || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
            throw value_error("arange: start, stop and step must be finite and step non-zero");
        if ((stop - start) / step < T(0))
            throw value_error("arange: step " + std::to_string(step) + " points away from stop");
        return Tensor<T>(xt::xarray<T>(xt::arange<T>(start, stop, step)), requires_grad);
    }

    template <class T>
    Tensor<T> arange(T stop)
    {
        return arange<T>(T(0), stop);
    }

    // `steps` evenly spaced values from start to stop, both included.
    template <class T>
    Tensor<T> linspace(T start, T stop, std::size_t steps, bool requires_grad = false)
    {
        return Tensor<T>(xt::xarray<T>(xt::linspace<T>(start, stop, steps)), requires_grad);
    }

    // The n×n identity.
    template <class T>
    Tensor<T> eye(std::size_t n, bool requires_grad = false)
    {
        return Tensor<T>(xt::xarray<T>(xt::eye<T>(n)), requires_grad);
    }

    namespace detail
    {
        // A uniform draw in [0, 1) with 53 (double) or 24 (float) random bits.
        template <class T, class Rng>
        T uniform01(Rng& rng)
        {
            constexpr int bits = std::numeric_limits<T>::digits;
            // Collect 64 random bits from the generator, whatever its word size.
            std::uint64_t word = 0;
            int have = 0;
            constexpr auto range = static_cast<std::uint64_t>(Rng::max() - Rng::min());
            constexpr int word_bits = range >= 0xffffffffffffffffull ? 64 : (range >= 0xffffffffull ? 32 : 0);
            static_assert(word_bits > 0, "xgrad random functions need a generator with 32 or 64 random bits");
            while (have < 64)
            {
                word = (word << (word_bits == 64 ? 0 : 32)) ^ static_cast<std::uint64_t>(rng() - Rng::min());
                have += word_bits;
            }
            return static_cast<T>(word >> (64 - bits)) * std::ldexp(T(1), -bits);
        }

        // A standard normal draw by the Box–Muller transform.
        template <class T, class Rng>
        T standard_normal(Rng& rng)
        {
            const double u1 = 1.0 - uniform01<double>(rng);   // (0, 1]: log is finite
            const double u2 = uniform01<double>(rng);
            return static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2));
        }

        template <class T, class Draw>
        Tensor<T> filled_by(const Shape& shape, Draw&& draw, bool requires_grad)
        {
            xt::xarray<T> value(shape);
            for (auto& element : value)
                element = draw();
            return Tensor<T>(std::move(value), requires_grad);
        }
    }

    // Uniform in [low, high).
    template <class T, class Rng>
    Tensor<T> rand(const Shape& shape, Rng& rng, bool requires_grad = false, T low = T(0), T high = T(1))
    {
        return detail::filled_by<T>(shape, [&] { return low + (high - low) * detail::uniform01<T>(rng); },
                                    requires_grad);
    }

    template <class T>
    Tensor<T> rand(const Shape& shape, bool requires_grad = false)
    {
        return rand<T>(shape, default_generator(), requires_grad);
    }

    // Normal with the given mean and standard deviation.
    template <class T, class Rng>
    Tensor<T> randn(const Shape& shape, Rng& rng, bool requires_grad = false, T mean = T(0), T stddev = T(1))
    {
        return detail::filled_by<T>(shape, [&] { return mean + stddev * detail::standard_normal<T>(rng); },
                                    requires_grad);
    }

    template <class T>
    Tensor<T> randn(const Shape& shape, bool requires_grad = false)
    {
        return randn<T>(shape, default_generator(), requires_grad);
    }

    // Integers drawn uniformly from [low, high), e.g. class labels.
    template <class Rng>
    xt::xarray<std::int64_t> randint(std::int64_t low, std::int64_t high, const Shape& shape, Rng& rng)
    {
        if (high <= low)
            throw value_error("randint: high must be greater than low");
        const auto span = static_cast<double>(high - low);
        xt::xarray<std::int64_t> value(shape);
        for (auto& element : value)
            element = low + std::min(static_cast<std::int64_t>(detail::uniform01<double>(rng) * span), high - low - 1);
        return value;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_CREATION_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template Tensor<T> zeros<T>(const Shape&, bool);                                                           \
    EXTERN template Tensor<T> ones<T>(const Shape&, bool);                                                            \
    EXTERN template Tensor<T> full<T>(const Shape&, T, bool);                                                         \
    EXTERN template Tensor<T> arange<T>(T, T, T, bool);                                                               \
    EXTERN template Tensor<T> arange<T>(T);                                                                           \
    EXTERN template Tensor<T> linspace<T>(T, T, std::size_t, bool);                                                   \
    EXTERN template Tensor<T> eye<T>(std::size_t, bool);                                                              \
    EXTERN template Tensor<T> rand<T, Generator>(const Shape&, Generator&, bool, T, T);                               \
    EXTERN template Tensor<T> rand<T>(const Shape&, bool);                                                            \
    EXTERN template Tensor<T> randn<T, Generator>(const Shape&, Generator&, bool, T, T);                              \
    EXTERN template Tensor<T> randn<T>(const Shape&, bool);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_CREATION_TEMPLATES)
}
