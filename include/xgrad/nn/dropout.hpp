// nn::Dropout: inverted dropout while training, the identity in eval mode.
#pragma once

#include <string>

#include "../config.hpp"
#include "../ops/dropout.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class Dropout : public Module<T>
    {
    public:
        explicit Dropout(double p = 0.5) : p_(p)
        {
            if (!(p >= 0.0 && p <= 1.0))
                throw value_error("Dropout: probability p must be in [0, 1], got " + std::to_string(p));
        }
        Tensor<T> forward(const Tensor<T>& input) override { return dropout(input, p_, this->is_training()); }
        std::string type_name() const override { return "Dropout"; }
        std::string extra_repr() const override { return "p=" + format_setting(p_); }

    private:
        double p_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_DROPOUT_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template class nn::Dropout<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_DROPOUT_TEMPLATES)
}
