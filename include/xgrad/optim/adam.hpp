// Adam and AdamW (torch.optim.Adam / AdamW): per-parameter steps from bias-corrected running moments of the
// gradient.  Adam adds weight decay to the gradient (an L2 penalty); AdamW decays the weights directly.
#pragma once

#include <cmath>

#include "../kernels/optim.hpp"
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
        // Every setting, weight decay included, taken from `options` (explicit: no silent loss of the decay).
        explicit AdamWOptions(const AdamOptions& options) : AdamOptions(options) {}
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
        // One fused pass over p, g and the moment buffers; AdamW (decoupled) decays p, Adam adds
        // weight_decay · p to g.
        void adam_update(std::size_t group, std::size_t index, const AdamOptions& o, xt::xarray<T>& p,
                         const xt::xarray<T>& g, bool decoupled_weight_decay)
        {
            const double t = this->count_step(group, index);
            T* m = this->buffer(group, index, "exp_avg", p).data();
            T* v = this->buffer(group, index, "exp_avg_sq", p).data();
            T* v_max = o.amsgrad() ? this->buffer(group, index, "max_exp_avg_sq", p).data() : nullptr;
            kernels::adam_update<T>(p.size(), p.data(), g.data(), m, v, v_max,
                                    {o.lr(), o.beta1(), o.beta2(), o.eps(), o.weight_decay(), decoupled_weight_decay,
                                     o.amsgrad(), t});
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
                this->adam_update(group, index, o, p, grad, false);
            });
        }
    };

    template <class T = float>
    class AdamW : public AdamBase<T>
    {
    public:
        // AdamWOptions, not AdamOptions: AdamW's default weight decay (1e-2) must not be lost to Adam's (0).
        AdamW(std::vector<Tensor<T>> params, AdamWOptions options = AdamWOptions())
            : AdamBase<T>(std::move(params), options)
        {
        }

        // p = p (1 - lr * weight_decay), then the Adam update with the plain gradient.
        void step() override
        {
            this->for_each_parameter([this](std::size_t group, std::size_t index, const AdamOptions& o,
                                            xt::xarray<T>& p, const xt::xarray<T>& grad) {
                this->adam_update(group, index, o, p, grad, true);
            });
        }
    };
}
