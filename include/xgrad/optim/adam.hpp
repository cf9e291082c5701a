// Adam and AdamW (torch.optim.Adam / AdamW): per-parameter steps from bias-corrected running moments of the
// gradient.  Adam adds weight decay to the gradient (an L2 penalty); AdamW decays the weights directly.
#pragma once

#include <cmath>

#include "optimizer.hpp"

namespace xgrad::optim
{
    class AdamOptions
    {
    public:
        explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, beta1) = 0.9;
        XGRAD_OPTION(double, beta2) = 0.999;
        XGRAD_OPTION(double, eps) = 1e-8;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(bool, amsgrad) = false;

    public:
        auto& betas(double b1, double b2) { return beta1(b1).beta2(b2); }
    };

    // AdamW's defaults differ only in weight_decay (1e-2).
    class AdamWOptions : public AdamOptions
    {
    public:
        explicit AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay(1e-2); }
        AdamWOptions& weight_decay(const double& value)
        {
            AdamOptions::weight_decay(value);
            return *this;
        }
        using AdamOptions::weight_decay;
    };

    // What Adam and AdamW share: the moment estimates and the bias-corrected step.
    template <class T>
    class AdamBase : public Optimizer<T, AdamOptions>
    {
    protected:
        using Optimizer<T, AdamOptions>::Optimizer;

        //   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2   (v_max = max(v_max, v) with amsgrad)
        //   p = p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)
        void adam_update(std::size_t group, std::size_t index, const AdamOptions& o, xt::xarray<T>& p,
                         const xt::xarray<T>& g)
        {
            const double t = this->count_step(group, index);
            xt::xarray<T>& m = this->buffer(group, index, "exp_avg", p);
            xt::xarray<T>& v = this->buffer(group, index, "exp_avg_sq", p);
            m = T(o.beta1()) * m + T(1.0 - o.beta1()) * g;
            v = T(o.beta2()) * v + T(1.0 - o.beta2()) * g * g;
            const T step_size = T(o.lr() / (1.0 - std::pow(o.beta1(), t)));
            const T sqrt_bias_correction2 = T(std::sqrt(1.0 - std::pow(o.beta2(), t)));
            const xt::xarray<T>* second_moment = &v;
            if (o.amsgrad())
            {
                xt::xarray<T>& v_max = this->buffer(group, index, "max_exp_avg_sq", p);
                v_max = xt::maximum(v_max, v);
                second_moment = &v_max;
            }
            p -= step_size * m / (xt::sqrt(*second_moment) / sqrt_bias_correction2 + T(o.eps()));
        }
    };

    template <class T = float>
    class Adam : public AdamBase<T>
    {
    public:
        Adam(std::vector<Tensor<T>> params, AdamOptions options = AdamOptions())
            : AdamBase<T>(std::move(params), options)
        {
        }

        // g = grad + weight_decay * p, then the Adam update.
        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const AdamOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                if (o.weight_decay() != 0.0)
                    this->adam_update(group, index, o, p, xt::xarray<T>(grad + T(o.weight_decay()) * p));
                else
                    this->adam_update(group, index, o, p, grad);
            });
        }
    };

    template <class T = float>
    class AdamW : public AdamBase<T>
    {
    public:
        AdamW(std::vector<Tensor<T>> params, AdamOptions options = AdamWOptions())
            : AdamBase<T>(std::move(params), options)
        {
        }

        // p = p (1 - lr * weight_decay), then the Adam update with the plain gradient.
        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const AdamOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                p *= T(1.0 - o.lr() * o.weight_decay());
                this->adam_update(group, index, o, p, grad);
            });
        }
    };
}
