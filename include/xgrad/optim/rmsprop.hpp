// RMSprop and Adagrad (torch.optim.RMSprop / Adagrad): steps scaled by running or accumulated squared gradients.
#pragma once

#include "optimizer.hpp"

namespace xgrad::optim
{
    class RMSpropOptions
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

    //   g = grad + weight_decay * p;   v = alpha v + (1 - alpha) g^2
    //   d = sqrt(v - mean_g^2) + eps (centered, mean_g = alpha mean_g + (1 - alpha) g) or sqrt(v) + eps
    //   b = momentum b + g / d and p = p - lr b (momentum > 0), or p = p - lr g / d
    template <class T = float>
    class RMSprop : public Optimizer<T, RMSpropOptions>
    {
    public:
        RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options = RMSpropOptions())
            : Optimizer<T, RMSpropOptions>(std::move(params), options)
        {
        }

        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const RMSpropOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                const xt::xarray<T> g = o.weight_decay() != 0.0 ? xt::xarray<T>(grad + T(o.weight_decay()) * p) : grad;
                xt::xarray<T>& v = this->buffer(group, index, "square_avg", p);
                v = T(o.alpha()) * v + T(1.0 - o.alpha()) * g * g;
                xt::xarray<T> denominator;
                if (o.centered())
                {
                    xt::xarray<T>& mean_g = this->buffer(group, index, "grad_avg", p);
                    mean_g = T(o.alpha()) * mean_g + T(1.0 - o.alpha()) * g;
                    denominator = xt::sqrt(v - mean_g * mean_g) + T(o.eps());
                }
                else
                    denominator = xt::sqrt(v) + T(o.eps());
                if (o.momentum() > 0.0)
                {
                    xt::xarray<T>& velocity = this->buffer(group, index, "momentum_buffer", p);
                    velocity = T(o.momentum()) * velocity + g / denominator;
                    p -= T(o.lr()) * velocity;
                }
                else
                    p -= T(o.lr()) * g / denominator;
            });
        }
    };

    class AdagradOptions
    {
    public:
        explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, lr_decay) = 0.0;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(double, initial_accumulator_value) = 0.0;
        XGRAD_OPTION(double, eps) = 1e-10;
    };

    //   g = grad + weight_decay * p;   s = s + g^2;   p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    template <class T = float>
    class Adagrad : public Optimizer<T, AdagradOptions>
    {
    public:
        Adagrad(std::vector<Tensor<T>> params, AdagradOptions options = AdagradOptions())
            : Optimizer<T, AdagradOptions>(std::move(params), options)
        {
        }

        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const AdagradOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                const xt::xarray<T> g = o.weight_decay() != 0.0 ? xt::xarray<T>(grad + T(o.weight_decay()) * p) : grad;
                bool first = false;
                xt::xarray<T>& sum_sq = this->buffer(group, index, "sum", p, &first);
                if (first)
                    sum_sq.fill(T(o.initial_accumulator_value()));
                sum_sq += g * g;
                const double t = this->count_step(group, index);
                const T lr = T(o.lr() / (1.0 + (t - 1.0) * o.lr_decay()));
                p -= lr * g / (xt::sqrt(sum_sq) + T(o.eps()));
            });
        }
    };
}
