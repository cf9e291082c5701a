// nn::Linear: y = x W^T + b, with PyTorch's parameter names, layout and default initialisation.
#pragma once

#include <cmath>
#include <string>

#include "../config.hpp"
#include "../ops/linalg.hpp"
#include "init.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class Linear : public Module<T>
    {
    public:
        // Weight and bias drawn as PyTorch does: U(-1/sqrt(in), 1/sqrt(in)) (Kaiming-uniform with a = sqrt(5)).
        Linear(std::size_t in_features, std::size_t out_features, bool bias = true)
            : in_features_(in_features), out_features_(out_features)
        {
            if (in_features == 0 || out_features == 0)
                throw value_error("Linear: in_features and out_features must be positive");
            weight = this->register_parameter("weight", zeros<T>({out_features, in_features}));
            init::kaiming_uniform_(weight, std::sqrt(5.0));
            if (bias)
            {
                const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
                this->bias = this->register_parameter("bias", zeros<T>({out_features}));
                init::uniform_(this->bias, -bound, bound);
            }
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            if (input.ndim() == 0 || input.shape(-1) != in_features_)
                throw shape_error("Linear(" + extra_repr() + "): input must have shape (..., " +
                                  std::to_string(in_features_) + "), got " + shape_string(input.shape()));
            return linear(input, weight, bias);
        }

        std::string type_name() const override { return "Linear"; }
        std::string extra_repr() const override
        {
            return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
                   ", bias=" + (bias.defined() ? "true" : "false");
        }

        Tensor<T> weight;   // (out, in)
        Tensor<T> bias;     // (out), undefined without bias

    private:
        std::size_t in_features_, out_features_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_LINEAR_TEMPLATES(EXTERN, T)                                                                          \
    EXTERN template class nn::Linear<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_LINEAR_TEMPLATES)
}
