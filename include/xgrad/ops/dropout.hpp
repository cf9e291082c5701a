// Inverted dropout: during training each element is zeroed with probability p and the survivors are
// scaled by 1/(1-p), so evaluation needs no rescaling and is the identity.
#pragma once

#include "../config.hpp"
#include "../core/creation.hpp"
#include "elementwise.hpp"

namespace xgrad
{
    // y = x * m / (1 - p), m ~ Bernoulli(1 - p) per element   =>  dL/dx = dL/dy * m / (1 - p)
    // (a product with a constant mask: mul's backward covers it)
    template <class T, class Rng = Generator>
    Tensor<T> dropout(const Tensor<T>& input, double p = 0.5, bool training = true, Rng& rng = default_generator())
    {
        XGRAD_PROFILE_OP("dropout");
        if (!(p >= 0.0 && p <= 1.0))
            throw value_error("dropout: probability p must be in [0, 1], got " + std::to_string(p));
        if (!training || p == 0.0)
            return input;
        if (p == 1.0)
            return mul(input, T(0));
        const T keep_scale = T(1) / static_cast<T>(1.0 - p);
        xt::xarray<T> mask(input.value().shape());
        for (auto& m : mask)
            m = detail::uniform01<double>(rng) >= p ? keep_scale : T(0);
        return mul(input, constant<T>(std::move(mask)));
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_DROPOUT_TEMPLATES(EXTERN, T)                                                                        \
    EXTERN template Tensor<T> dropout<T, Generator>(const Tensor<T>&, double, bool, Generator&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_DROPOUT_TEMPLATES)
}
