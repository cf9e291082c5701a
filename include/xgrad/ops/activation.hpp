// Activation functions and the (log-)softmax, computed in numerically stable forms.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "../config.hpp"
#include "../kernels/map.hpp"
#include "../kernels/softmax.hpp"
#include "elementwise.hpp"
#include "reduce.hpp"
#include "shape.hpp"

namespace xgrad
{
    // y = max(x, 0)   =>  dL/dx = dL/dy * [x > 0]
    // (Like the other fused backward rules below: one kernel pass when the backward pass is not recorded,
    // the same rule in tensor ops under create_graph, so that it can be differentiated again.)
    template <class T>
    Tensor<T> relu(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("relu");
        return make_result<T>("relu", kernels::relu(x.value()), {x}, [x](const Tensor<T>& dout) -> Grads<T> {
            if (!is_grad_enabled())
                return {constant<T>(kernels::relu_backward(x.value(), dout.value()))};
            return {mul(dout, constant<T>(xt::cast<T>(x.value() > T(0))))};
        });
    }

    // y = x if x > 0 else slope * x   =>  dL/dx = dL/dy * (x > 0 ? 1 : slope)
    template <class T>
    Tensor<T> leaky_relu(const Tensor<T>& x, detail::non_deduced_t<T> negative_slope = T(0.01))
    {
        XGRAD_PROFILE_OP("leaky_relu");
        const Tensor<T> result =
            make_result<T>("leaky_relu", xt::where(x.value() > T(0), x.value(), negative_slope * x.value()), {x},
                           [x, negative_slope](const Tensor<T>& dout) -> Grads<T> {
                               xt::xarray<T> slope = xt::where(x.value() > T(0), T(1), negative_slope);
                               return {mul(dout, constant<T>(std::move(slope)))};
                           });
        return record_attributes(result, [&] { return OpAttributes().set_real("negative_slope", negative_slope); });
    }

    // y = 1 / (1 + exp(-x))   =>  dL/dx = dL/dy * y * (1 - y)
    template <class T>
    Tensor<T> sigmoid(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("sigmoid");
        // exp of a non-positive number only: no overflow for large |x|.
        return make_result<T>("sigmoid", kernels::sigmoid(x.value()), {x},
                              [](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                  return {mul(dout, mul(out, sub(T(1), out)))};
                              });
    }

    // y = tanh(x)   =>  dL/dx = dL/dy * (1 - y^2)
    template <class T>
    Tensor<T> tanh(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("tanh");
        return make_result<T>("tanh", kernels::tanh(x.value()), {x},
                              [](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                  return {mul(dout, sub(T(1), mul(out, out)))};
                              });
    }

    // y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (as torch.nn.functional.softplus)
    //   =>  dL/dx = dL/dy * sigmoid(beta x), or dL/dy above the threshold
    template <class T>
    Tensor<T> softplus(const Tensor<T>& x, detail::non_deduced_t<T> beta = T(1), detail::non_deduced_t<T> threshold = T(20))
    {
        XGRAD_PROFILE_OP("softplus");
        if (!(beta > T(0)))
            throw value_error("softplus: beta must be positive");
        const auto& v = x.value();
        xt::xarray<T> scaled = beta * v;
        xt::xarray<T> value = xt::where(scaled > threshold, v,
                                        (xt::log1p(xt::exp(-xt::abs(scaled))) + xt::maximum(scaled, T(0))) / beta);
        const Tensor<T> result =
            make_result<T>("softplus", std::move(value), {x}, [x, beta, threshold](const Tensor<T>& dout) -> Grads<T> {
                xt::xarray<bool> linear = beta * x.value() > threshold;
                // Qualified: unqualified, argument-dependent lookup picks xt::where (a better match) and fails.
                return {mul(dout, xgrad::where(linear, T(1), sigmoid(mul(x, beta))))};
            });
        return record_attributes(
            result, [&] { return OpAttributes().set_real("beta", beta).set_real("threshold", threshold); });
    }

    // The two forms of GELU: torch's `approximate` argument, "none" (exact) or "tanh".
    enum class GeluApproximation
    {
        none,
        tanh
    };

    inline const char* to_string(GeluApproximation approximate)
    {
        return approximate == GeluApproximation::tanh ? "tanh" : "none";
    }

    // PyTorch's spelling of the form, parsed once (by a layer's constructor, not on every forward).
    inline GeluApproximation parse_gelu_approximation(const std::string& name, const char* who = "gelu")
    {
        if (name == "none")
            return GeluApproximation::none;
        if (name == "tanh")
            return GeluApproximation::tanh;
        throw value_error(std::string(who) + ": approximate must be \"none\" or \"tanh\", got \"" + name + "\"");
    }

    // Gaussian error linear unit.  Exact: y = x * Phi(x) with Phi the standard normal CDF,
    //   =>  dL/dx = dL/dy * (Phi(x) + x * phi(x)),  Phi(x) = (1 + erf(x / sqrt(2))) / 2,  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    // tanh: y = x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), composite (no backward of its own).
    template <class T>
    Tensor<T> gelu(const Tensor<T>& x, GeluApproximation approximate = GeluApproximation::none)
    {
        XGRAD_PROFILE_OP("gelu");
        if (approximate == GeluApproximation::tanh)
        {
            const T sqrt_2_over_pi = T(0.79788456080286535587989211986876);
            const Tensor<T> inner = mul(add(x, mul(pow(x, 3), T(0.044715))), sqrt_2_over_pi);
            return mul(mul(x, T(0.5)), add(T(1), tanh(inner)));
        }
        return make_result<T>("gelu", kernels::gelu(x.value()), {x}, [x](const Tensor<T>& dout) -> Grads<T> {
            if (!is_grad_enabled())
                return {constant<T>(kernels::gelu_backward(x.value(), dout.value()))};
            const Tensor<T> cdf = mul(add(T(1), erf(mul(x, T(0.70710678118654752440084436210485)))), T(0.5));
            const Tensor<T> pdf = mul(exp(mul(mul(x, x), T(-0.5))), T(0.39894228040143267793994605993438));
            return {mul(dout, add(cdf, mul(x, pdf)))};
        });
    }

    // gelu(x, "tanh"), with PyTorch's name of the form.
    template <class T>
    Tensor<T> gelu(const Tensor<T>& x, const std::string& approximate)
    {
        return gelu(x, parse_gelu_approximation(approximate));
    }

    // y = exp(x) / sum(exp(x)) along dim   =>  dL/dx = y * (dL/dy - sum(dL/dy * y, dim))
    template <class T>
    Tensor<T> softmax(const Tensor<T>& x, std::ptrdiff_t dim)
    {
        XGRAD_PROFILE_OP("softmax");
        const std::size_t d = x.normalize_dim(dim, "softmax");
        const Tensor<T> result = make_result("softmax", kernels::softmax(x.value(), d), {x},
                                             [dim](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                                 return {mul(out, sub(dout, sum(mul(dout, out), dim, true)))};
                                             });
        return record_attributes(result, [&] { return OpAttributes().set_int("dim", d); });
    }

    // y = x - log(sum(exp(x))) along dim   =>  dL/dx = dL/dy - exp(y) * sum(dL/dy, dim)
    template <class T>
    Tensor<T> log_softmax(const Tensor<T>& x, std::ptrdiff_t dim)
    {
        XGRAD_PROFILE_OP("log_softmax");
        const std::size_t d = x.normalize_dim(dim, "log_softmax");
        const Tensor<T> result = make_result("log_softmax", kernels::log_softmax(x.value(), d), {x},
                                             [dim](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                                 return {sub(dout, mul(exp(out), sum(dout, dim, true)))};
                                             });
        return record_attributes(result, [&] { return OpAttributes().set_int("dim", d); });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_ACTIVATION_TEMPLATES(EXTERN, T)                                                                     \
    EXTERN template Tensor<T> relu<T>(const Tensor<T>&);                                                              \
    EXTERN template Tensor<T> leaky_relu<T>(const Tensor<T>&, T);                                                     \
    EXTERN template Tensor<T> sigmoid<T>(const Tensor<T>&);                                                           \
    EXTERN template Tensor<T> tanh<T>(const Tensor<T>&);                                                              \
    EXTERN template Tensor<T> softplus<T>(const Tensor<T>&, T, T);                                                    \
    EXTERN template Tensor<T> gelu<T>(const Tensor<T>&, GeluApproximation);                                           \
    EXTERN template Tensor<T> gelu<T>(const Tensor<T>&, const std::string&);                                          \
    EXTERN template Tensor<T> softmax<T>(const Tensor<T>&, std::ptrdiff_t);                                           \
    EXTERN template Tensor<T> log_softmax<T>(const Tensor<T>&, std::ptrdiff_t);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_ACTIVATION_TEMPLATES)
}
