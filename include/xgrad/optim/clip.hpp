// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include <xtensor/xsort.hpp>

#include "../config.hpp"
#include "../core/tensor.hpp"

namespace xgrad::optim
{
    // Scales all gradients together so that their joint p-norm is at most max_norm (p = inf: the largest
    // magnitude); returns the norm before clipping.  NaN or infinite norms throw value_error.
    template <class T>
    double clip_grad_norm_(const std::vector<Tensor<T>>& parameters, double max_norm, double norm_type = 2.0)
    {
        double total = 0.0;
        const bool infinity_norm = std::isinf(norm_type);
        for (const auto& p : parameters)
        {
            if (!p.has_grad())
                continue;
            for (T g : p.grad())
            {
                const double magnitude = std::abs(static_cast<double>(g));
                total = infinity_norm ? std::max(total, magnitude) : total + std::pow(magnitude, norm_type);
            }
        }
        if (!infinity_norm)
            total = std::pow(total, 1.0 / norm_type);
        if (!std::isfinite(total))
            throw value_error("clip_grad_norm_: the total gradient norm is " + std::to_string(total) +
                              " (a NaN or infinite gradient)");
        const double scale = max_norm / (total + 1e-6);
        if (scale < 1.0)
            for (const auto& p : parameters)
                if (p.has_grad())
                    p.mutable_grad() *= static_cast<T>(scale);
        return total;
    }

    // Clamps every gradient element into [-clip_value, clip_value].
    template <class T>
    void clip_grad_value_(const std::vector<Tensor<T>>& parameters, double clip_value)
    {
        for (const auto& p : parameters)
            if (p.has_grad())
            {
                auto& g = p.mutable_grad();
                g = xt::clip(g, static_cast<T>(-clip_value), static_cast<T>(clip_value));
            }
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPTIM_CLIP_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template double optim::clip_grad_norm_<T>(const std::vector<Tensor<T>>&, double, double);                  \
    EXTERN template void optim::clip_grad_value_<T>(const std::vector<Tensor<T>>&, double);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPTIM_CLIP_TEMPLATES)
}
