// Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD).
#pragma once

#include "../kernels/optim.hpp"
#include "optimizer.hpp"

namespace xgrad::optim
{
    class SGDOptions
    {
    public:
        explicit SGDOptions(double lr) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, momentum) = 0.0;
        XGRAD_OPTION(double, dampening) = 0.0;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(bool, nesterov) = false;
    };

    //   g = grad + weight_decay * p
    //   b = g (first step), else momentum * b + (1 - dampening) * g
    //   g = g + momentum * b (Nesterov) or b (momentum > 0)
    //   p = p - lr * g
    template <class T = float>
    class SGD : public Optimizer<T, SGDOptions>
    {
    public:
        SGD(std::vector<Tensor<T>> params, SGDOptions options) : Optimizer<T, SGDOptions>(std::move(params), options)
        {
            if (options.nesterov() && (options.momentum() <= 0.0 || options.dampening() != 0.0))
                throw value_error("SGD: Nesterov momentum needs momentum > 0 and zero dampening");
        }

        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const SGDOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                bool first = false;
                T* velocity = o.momentum() != 0.0
                                  ? this->buffer(group, index, "momentum_buffer", p, &first).data()
                                  : nullptr;
                kernels::sgd_update<T>(p.size(), p.data(), grad.data(), velocity,
                                       {o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), first});
            });
        }
    };
}
