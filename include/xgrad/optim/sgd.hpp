// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD).
#pragma once

#include <array>

#include "../config.hpp"
#include "../kernels/optim.hpp"
#include "optimizer.hpp"

namespace xgrad::optim
{
    class SGDOptions : public ChainedOptions<SGDOptions>
    {
    public:
        explicit SGDOptions(double lr) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, momentum) = 0.0;
        XGRAD_OPTION(double, dampening) = 0.0;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(bool, nesterov) = false;
    };

    // What SGD keeps per parameter.
    template <class T>
    struct SGDState
    {
        static constexpr bool counts_steps = false;
        StateBuffer<T> momentum_buffer;   // b, when momentum != 0

        static auto buffers() { return std::array{NamedBuffer<SGDState, T>{"momentum_buffer", &SGDState::momentum_buffer}}; }
    };

    //   g = grad + weight_decay * p
    //   b = g (first step), else momentum * b + (1 - dampening) * g
    //   g = g + momentum * b (Nesterov) or b (momentum > 0)
    //   p = p - lr * g
    template <class T = float>
    class SGD : public Optimizer<T, SGDOptions, SGDState<T>>
    {
    public:
        SGD(std::vector<Tensor<T>> params, SGDOptions options)
            : Optimizer<T, SGDOptions, SGDState<T>>(std::move(params), options)
        {
            if (options.nesterov() && (options.momentum() <= 0.0 || options.dampening() != 0.0))
                throw value_error("SGD: Nesterov momentum needs momentum > 0 and zero dampening");
        }

        void step() override;
    };

    template <class T>
    void SGD<T>::step()
    {
        this->for_each_parameter([](const SGDOptions& o, SGDState<T>& state, xt::xarray<T>& p,
                                    const xt::xarray<T>& grad) {
            bool first = false;
            T* velocity = o.momentum() != 0.0
                              ? detail::zeros_on_first_use(state.momentum_buffer, p, &first).data()
                              : nullptr;
            kernels::sgd_update<T>(p.size(), p.data(), grad.data(), velocity,
                                   {o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), first});
        });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPTIM_SGD_TEMPLATES(EXTERN, T)                                                                          \
    EXTERN template class optim::Optimizer<T, optim::SGDOptions, optim::SGDState<T>>;                                 \
    EXTERN template class optim::SGD<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPTIM_SGD_TEMPLATES)
}
