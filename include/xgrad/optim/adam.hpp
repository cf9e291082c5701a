// Adam and AdamW (torch.optim.Adam / AdamW): per-parameter steps from bias-corrected running moments of the
// gradient.  Adam adds weight decay to the gradient (an L2 penalty); AdamW decays the weights directly.
#pragma once

#include <array>
#include <cmath>

#include "../config.hpp"
#include "../kernels/optim.hpp"
#include "optimizer.hpp"

namespace xgrad::optim
{
    // Adam's settings, for AdamOptions and AdamWOptions: every setter returns Derived&, so that a chain on
    // either keeps its type.
    template <class Derived>
    class AdamOptionsBase : public ChainedOptions<Derived>
    {
    public:
        explicit AdamOptionsBase(double lr) : lr_(lr) {}
        XGRAD_OPTION(double, lr);
        XGRAD_OPTION(double, beta1) = 0.9;
        XGRAD_OPTION(double, beta2) = 0.999;
        XGRAD_OPTION(double, eps) = 1e-8;
        XGRAD_OPTION(double, weight_decay) = 0.0;
        XGRAD_OPTION(bool, amsgrad) = false;

    public:
        Derived& betas(double b1, double b2)
        {
            beta1(b1);
            return beta2(b2);
        }

    protected:
        // Every setting taken from the other class's options.
        template <class Other>
        explicit AdamOptionsBase(const AdamOptionsBase<Other>& other)
            : lr_(other.lr()), beta1_(other.beta1()), beta2_(other.beta2()), eps_(other.eps()),
              weight_decay_(other.weight_decay()), amsgrad_(other.amsgrad())
        {
        }
    };

    class AdamOptions : public AdamOptionsBase<AdamOptions>
    {
    public:
        explicit AdamOptions(double lr = 1e-3) : AdamOptionsBase(lr) {}
    };

    // AdamW's defaults differ only in weight_decay (1e-2).
    class AdamWOptions : public AdamOptionsBase<AdamWOptions>
    {
    public:
        explicit AdamWOptions(double lr = 1e-3) : AdamOptionsBase(lr) { weight_decay(1e-2); }
        // Every setting, weight decay included, taken from `options` (explicit: no silent loss of the decay).
        explicit AdamWOptions(const AdamOptions& options) : AdamOptionsBase(options) {}
    };

    // What Adam and AdamW keep per parameter.
    template <class T>
    struct AdamState
    {
        static constexpr bool counts_steps = true;
        std::size_t step = 0;            // t, this parameter's own count, for the bias correction
        StateBuffer<T> exp_avg;          // m
        StateBuffer<T> exp_avg_sq;       // v
        StateBuffer<T> max_exp_avg_sq;   // v_max, with amsgrad

        static auto buffers()
        {
            return std::array{NamedBuffer<AdamState, T>{"exp_avg", &AdamState::exp_avg},
                              NamedBuffer<AdamState, T>{"exp_avg_sq", &AdamState::exp_avg_sq},
                              NamedBuffer<AdamState, T>{"max_exp_avg_sq", &AdamState::max_exp_avg_sq}};
        }
    };

    // What Adam and AdamW share: the moment estimates and the bias-corrected step.
    template <class T, class Options>
    class AdamBase : public Optimizer<T, Options, AdamState<T>>
    {
    protected:
        using Optimizer<T, Options, AdamState<T>>::Optimizer;

        //   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2   (v_max = max(v_max, v) with amsgrad)
        //   p = p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)
        // One fused pass over p, g and the moment buffers; AdamW (decoupled) decays p, Adam adds
        // weight_decay · p to g.
        static void adam_update(const Options& o, AdamState<T>& state, xt::xarray<T>& p, const xt::xarray<T>& g,
                                bool decoupled_weight_decay)
        {
            const double t = static_cast<double>(++state.step);
            T* m = detail::zeros_on_first_use(state.exp_avg, p).data();
            T* v = detail::zeros_on_first_use(state.exp_avg_sq, p).data();
            T* v_max = o.amsgrad() ? detail::zeros_on_first_use(state.max_exp_avg_sq, p).data() : nullptr;
            kernels::adam_update<T>(p.size(), p.data(), g.data(), m, v, v_max,
                                    {o.lr(), o.beta1(), o.beta2(), o.eps(), o.weight_decay(), decoupled_weight_decay,
                                     o.amsgrad(), t});
        }
    };

    template <class T = float>
    class Adam : public AdamBase<T, AdamOptions>
    {
    public:
        Adam(std::vector<Tensor<T>> params, AdamOptions options = AdamOptions())
            : AdamBase<T, AdamOptions>(std::move(params), options)
        {
        }

        // g = grad + weight_decay * p, then the Adam update.
        void step() override;
    };

    template <class T>
    void Adam<T>::step()
    {
        this->for_each_parameter([](const AdamOptions& o, AdamState<T>& state, xt::xarray<T>& p,
                                    const xt::xarray<T>& grad) { Adam::adam_update(o, state, p, grad, false); });
    }

    template <class T = float>
    class AdamW : public AdamBase<T, AdamWOptions>
    {
    public:
        // AdamWOptions, not AdamOptions, here and for add_param_group: AdamW's default weight decay (1e-2)
        // must not be lost to Adam's (0).
        AdamW(std::vector<Tensor<T>> params, AdamWOptions options = AdamWOptions())
            : AdamBase<T, AdamWOptions>(std::move(params), options)
        {
        }

        // p = p (1 - lr * weight_decay), then the Adam update with the plain gradient.
        void step() override;
    };

    template <class T>
    void AdamW<T>::step()
    {
        this->for_each_parameter([](const AdamWOptions& o, AdamState<T>& state, xt::xarray<T>& p,
                                    const xt::xarray<T>& grad) { AdamW::adam_update(o, state, p, grad, true); });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPTIM_ADAM_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template class optim::Optimizer<T, optim::AdamOptions, optim::AdamState<T>>;                               \
    EXTERN template class optim::AdamBase<T, optim::AdamOptions>;                                                     \
    EXTERN template class optim::Adam<T>;                                                                             \
    EXTERN template class optim::Optimizer<T, optim::AdamWOptions, optim::AdamState<T>>;                              \
    EXTERN template class optim::AdamBase<T, optim::AdamWOptions>;                                                    \
    EXTERN template class optim::AdamW<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPTIM_ADAM_TEMPLATES)
}
