// Fused optimizer updates on raw pointers: one pass over a parameter, its gradient and its state buffers
// (SGD with momentum, Nesterov and weight decay; Adam and AdamW, bias-corrected, with optional amsgrad),
// beside the plain loops they are tested against. Large parameters split across threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "simd.hpp"
#include "map.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    namespace detail
    {
        // Calls step(param, grad, state...) on batches over the vector part of [0, n) and on scalars over the
        // tail, storing param and every state buffer back. step takes param and state by reference.
        template <class T, class Arch, class Step, class... State>
        void fused_update(std::size_t n, T* param, const T* grad, Step step, State*... state)
        {
            using batch = xsimd::batch<T, Arch>;
            parallel_for(0, n, map_grain, [&](std::size_t begin, std::size_t end) {
                const std::size_t vector_end = end - (end - begin) % batch::size;
                for (std::size_t i = begin; i < vector_end; i += batch::size)
                {
                    batch p = batch::load_unaligned(param + i);
                    step(p, batch::load_unaligned(grad + i), state + i...);
                    p.store_unaligned(param + i);
                }
                for (std::size_t i = vector_end; i < end; ++i)   // scalar tail
                    step(param[i], grad[i], state + i...);
            });
        }

        // A buffer slot as a batch (loaded from and stored back to memory) or, on the tail, as the scalar itself.
        template <class V, class T>
        V load(const T* at)
        {
            if constexpr (std::is_same_v<V, T>)
                return *at;
            else
                return V::load_unaligned(at);
        }
        template <class V, class T>
        void store(const V& value, T* at)
        {
            if constexpr (std::is_same_v<V, T>)
                *at = value;
            else
                value.store_unaligned(at);
        }
    }

    // torch.optim.SGD's hyperparameters for one step; first_step says the momentum buffer is new.
    struct sgd_hyperparameters
    {
        double lr = 0;
        double momentum = 0;
        double dampening = 0;
        double weight_decay = 0;
        bool nesterov = false;
        bool first_step = false;
    };

    //   g = grad + weight_decay · p
    //   b = g (first step), else momentum · b + (1 - dampening) · g      (b: momentum_buffer, when momentum ≠ 0)
    //   g = g + momentum · b (Nesterov), or b
    //   p = p - lr · g
    // momentum_buffer may be null when momentum == 0.
    template <class T, class Arch = xsimd::default_arch>
    void sgd_update(std::size_t n, T* param, const T* grad, T* momentum_buffer, const sgd_hyperparameters& h)
    {
        const T lr(h.lr), momentum(h.momentum), keep(1.0 - h.dampening), weight_decay(h.weight_decay);
        const bool decay = h.weight_decay != 0.0, use_momentum = h.momentum != 0.0;
        detail::fused_update<T, Arch>(n, param, grad, [&](auto& p, auto g, T* velocity) {
            using V = std::decay_t<decltype(p)>;
            if (decay)
                g = g + V(weight_decay) * p;
            if (use_momentum)
            {
                V b = h.first_step ? g : V(momentum) * detail::load<V>(velocity) + V(keep) * g;
                detail::store(b, velocity);
                g = h.nesterov ? g + V(momentum) * b : b;
            }
            p = p - V(lr) * g;
        }, use_momentum ? momentum_buffer : param);   // param stands in for the unused buffer: never read or written
    }
    template <class T>
    void sgd_update_reference(std::size_t n, T* param, const T* grad, T* momentum_buffer, const sgd_hyperparameters& h)
    {
        for (std::size_t i = 0; i < n; ++i)
        {
            T g = grad[i] + T(h.weight_decay) * param[i];
            if (h.momentum != 0.0)
            {
                T& b = momentum_buffer[i];
                b = h.first_step ? g : T(h.momentum) * b + T(1.0 - h.dampening) * g;
                g = h.nesterov ? g + T(h.momentum) * b : b;
            }
            param[i] -= T(h.lr) * g;
        }
    }

    // torch.optim.Adam's / AdamW's hyperparameters for one step; step is this parameter's step count t (from 1).
    struct adam_hyperparameters
    {
        double lr = 1e-3;
        double beta1 = 0.9;
        double beta2 = 0.999;
        double eps = 1e-8;
        double weight_decay = 0;
        bool decoupled_weight_decay = false;   // AdamW: decay p itself, not through the gradient
        bool amsgrad = false;
        double step = 1;
    };

    //   p = p · (1 - lr · weight_decay) (AdamW), or g = grad + weight_decay · p (Adam)
    //   m = beta1 · m + (1 - beta1) · g;   v = beta2 · v + (1 - beta2) · g²;   v_max = max(v_max, v) (amsgrad)
    //   p = p - lr / (1 - beta1^t) · m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)
    // max_exp_avg_sq may be null unless amsgrad.
    template <class T, class Arch = xsimd::default_arch>
    void adam_update(std::size_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                     const adam_hyperparameters& h)
    {
        const T beta1(h.beta1), beta2(h.beta2), one_minus_beta1(1.0 - h.beta1), one_minus_beta2(1.0 - h.beta2);
        const T step_size(h.lr / (1.0 - std::pow(h.beta1, h.step)));
        const T sqrt_bias_correction2(std::sqrt(1.0 - std::pow(h.beta2, h.step)));
        const T eps(h.eps), weight_decay(h.weight_decay), decay_factor(1.0 - h.lr * h.weight_decay);
        const bool coupled_decay = !h.decoupled_weight_decay && h.weight_decay != 0.0;
        const bool decoupled_decay = h.decoupled_weight_decay;
        const bool amsgrad = h.amsgrad;
        detail::fused_update<T, Arch>(n, param, grad, [&](auto& p, auto g, T* m_at, T* v_at, T* v_max_at) {
            using V = std::decay_t<decltype(p)>;
            if (decoupled_decay)
                p = p * V(decay_factor);
            else if (coupled_decay)
                g = g + V(weight_decay) * p;
            const V m = V(beta1) * detail::load<V>(m_at) + V(one_minus_beta1) * g;
            const V v = V(beta2) * detail::load<V>(v_at) + V(one_minus_beta2) * g * g;
            detail::store(m, m_at);
            detail::store(v, v_at);
            V second_moment = v;
            if (amsgrad)
            {
                second_moment = xsimd::max(detail::load<V>(v_max_at), v);
                detail::store(second_moment, v_max_at);
            }
            p = p - V(step_size) * m / (xsimd::sqrt(second_moment) / V(sqrt_bias_correction2) + V(eps));
        }, exp_avg, exp_avg_sq, amsgrad ? max_exp_avg_sq : exp_avg_sq);   // exp_avg_sq stands in, unused, without amsgrad
    }
    template <class T>
    void adam_update_reference(std::size_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                               const adam_hyperparameters& h)
    {
        const double bias_correction1 = 1.0 - std::pow(h.beta1, h.step);
        const double bias_correction2 = 1.0 - std::pow(h.beta2, h.step);
        for (std::size_t i = 0; i < n; ++i)
        {
            T g = grad[i];
            if (h.decoupled_weight_decay)
                param[i] *= T(1.0 - h.lr * h.weight_decay);
            else
                g += T(h.weight_decay) * param[i];
            exp_avg[i] = T(h.beta1) * exp_avg[i] + T(1.0 - h.beta1) * g;
            exp_avg_sq[i] = T(h.beta2) * exp_avg_sq[i] + T(1.0 - h.beta2) * g * g;
            T second_moment = exp_avg_sq[i];
            if (h.amsgrad)
                second_moment = max_exp_avg_sq[i] = std::max(max_exp_avg_sq[i], exp_avg_sq[i]);
            const T denominator = std::sqrt(second_moment) / T(std::sqrt(bias_correction2)) + T(h.eps);
            param[i] -= T(h.lr / bias_correction1) * exp_avg[i] / denominator;
        }
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
