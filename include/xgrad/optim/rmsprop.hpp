// RMSprop and Adagrad (torch.optim.RMSprop / Adagrad): steps scaled by running or accumulated squared gradients.
#pragma once

#include <array>

#include "../config.hpp"
#include "optimizer.hpp"

namespace xgrad::optim
{
    class RMSpropOptions : public ChainedOptions<RMSpropOptions>
    {
    public:
        explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, alpha) = 0.99;
        XGRAD_OPTION(double, eps) = 1e-8;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(double, momentum) = 0.0;
        XGRAD_OPTION(bool, centered) = false;
    };

    // What RMSprop keeps per parameter.
    template <class T>
    struct RMSpropState
    {
        static constexpr bool counts_steps = false;
        StateBuffer<T> square_avg;        // v
        StateBuffer<T> momentum_buffer;   // b, when momentum > 0
        StateBuffer<T> grad_avg;          // mean_g, when centered

        static auto buffers()
        {
            return std::array{NamedBuffer<RMSpropState, T>{"square_avg", &RMSpropState::square_avg},
                              NamedBuffer<RMSpropState, T>{"momentum_buffer", &RMSpropState::momentum_buffer},
                              NamedBuffer<RMSpropState, T>{"grad_avg", &RMSpropState::grad_avg}};
        }
    };

    //   g = grad + weight_decay * p;   v = alpha v + (1 - alpha) g^2
    //   d = sqrt(v - mean_g^2) + eps (centered, mean_g = alpha mean_g + (1 - alpha) g) or sqrt(v) + eps
    //   b = momentum b + g / d and p = p - lr b (momentum > 0), or p = p - lr g / d
    template <class T = float>
    class RMSprop : public Optimizer<T, RMSpropOptions, RMSpropState<T>>
    {
    public:
        RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options = RMSpropOptions())
            : Optimizer<T, RMSpropOptions, RMSpropState<T>>(std::move(params), options)
        {
        }

        void step() override;
    };

    template <class T>
    void RMSprop<T>::step()
    {
        this->for_each_parameter([](const RMSpropOptions& o, RMSpropState<T>& state, xt::xarray<T>& p,
                                    const xt::xarray<T>& grad) {
            const xt::xarray<T> g = o.weight_decay() != 0.0 ? xt::xarray<T>(grad + T(o.weight_decay()) * p) : grad;
            xt::xarray<T>& v = detail::zeros_on_first_use(state.square_avg, p);
            v = T(o.alpha()) * v + T(1.0 - o.alpha()) * g * g;
            xt::xarray<T> denominator;
            if (o.centered())
            {
                xt::xarray<T>& mean_g = detail::zeros_on_first_use(state.grad_avg, p);
                mean_g = T(o.alpha()) * mean_g + T(1.0 - o.alpha()) * g;
                denominator = xt::sqrt(v - mean_g * mean_g) + T(o.eps());
            }
            else
                denominator = xt::sqrt(v) + T(o.eps());
            if (o.momentum() > 0.0)
            {
                xt::xarray<T>& velocity = detail::zeros_on_first_use(state.momentum_buffer, p);
                velocity = T(o.momentum()) * velocity + g / denominator;
                p -= T(o.lr()) * velocity;
            }
            else
                p -= T(o.lr()) * g / denominator;
        });
    }

    class AdagradOptions : public ChainedOptions<AdagradOptions>
    {
    public:
        explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, lr_decay) = 0.0;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(double, initial_accumulator_value) = 0.0;
        XGRAD_OPTION(double, eps) = 1e-10;
    };

    // What Adagrad keeps per parameter.
    template <class T>
    struct AdagradState
    {
        static constexpr bool counts_steps = true;
        std::size_t step = 0;   // t, this parameter's own count, for the lr decay
        StateBuffer<T> sum;     // s

        static auto buffers() { return std::array{NamedBuffer<AdagradState, T>{"sum", &AdagradState::sum}}; }
    };

    //   g = grad + weight_decay * p;   s = s + g^2;   p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    template <class T = float>
    class Adagrad : public Optimizer<T, AdagradOptions, AdagradState<T>>
    {
    public:
        Adagrad(std::vector<Tensor<T>> params, AdagradOptions options = AdagradOptions())
            : Optimizer<T, AdagradOptions, AdagradState<T>>(std::move(params), options)
        {
        }

        void step() override;
    };

    template <class T>
    void Adagrad<T>::step()
    {
        this->for_each_parameter([](const AdagradOptions& o, AdagradState<T>& state, xt::xarray<T>& p,
                                    const xt::xarray<T>& grad) {
            const xt::xarray<T> g = o.weight_decay() != 0.0 ? xt::xarray<T>(grad + T(o.weight_decay()) * p) : grad;
            bool first = false;
            xt::xarray<T>& sum_sq = detail::zeros_on_first_use(state.sum, p, &first);
            if (first)
                sum_sq.fill(T(o.initial_accumulator_value()));
            sum_sq += g * g;
            const double t = static_cast<double>(++state.step);
            const T lr = T(o.lr() / (1.0 + (t - 1.0) * o.lr_decay()));
            p -= lr * g / (xt::sqrt(sum_sq) + T(o.eps()));
        });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPTIM_RMSPROP_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template class optim::Optimizer<T, optim::RMSpropOptions, optim::RMSpropState<T>>;                         \
    EXTERN template class optim::RMSprop<T>;                                                                          \
    EXTERN template class optim::Optimizer<T, optim::AdagradOptions, optim::AdagradState<T>>;                         \
    EXTERN template class optim::Adagrad<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPTIM_RMSPROP_TEMPLATES)
}
