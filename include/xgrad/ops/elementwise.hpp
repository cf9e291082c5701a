// Elementwise arithmetic with NumPy broadcasting: add sub mul div neg pow exp log sqrt abs clamp erf,
// and the operators + - * / on tensors and scalars.  Each backward is written with these same ops, so it
// can be differentiated again.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xvectorize.hpp>

#include "../config.hpp"
#include "../core/autograd.hpp"
#include "../core/broadcast.hpp"
#include "../core/tensor.hpp"
#include "../kernels/map.hpp"

namespace xgrad
{
    namespace detail
    {
        template <class S>
        using enable_if_scalar = std::enable_if_t<std::is_arithmetic<S>::value, int>;

        // T in a position that takes no part in deduction, so `clamp(x, 0.0, 1.0)` and `leaky_relu(x, 0.2)`
        // take the tensor's T and convert the plain numbers to it.
        template <class T>
        struct non_deduced
        {
            using type = T;
        };
        template <class T>
        using non_deduced_t = typename non_deduced<T>::type;

        // A 0-d constant holding `s`, so scalar operands reuse the broadcasting tensor ops.
        template <class T, class S>
        Tensor<T> scalar_tensor(S s)
        {
            return Tensor<T>(xt::xarray<T>(static_cast<T>(s)));
        }

        template <class T>
        void check_broadcastable(const char* op, const Tensor<T>& a, const Tensor<T>& b)
        {
            if (!shapes_equal(a.value().shape(), b.value().shape()))
                broadcast_shapes(a.shape(), b.shape(), op);
        }

        // Runs `rule` only for an input that wants a gradient: the others get an undefined Tensor.
        template <class T, class Rule>
        Tensor<T> grad_if_needed(const Tensor<T>& input, Rule&& rule)
        {
            return input.requires_grad() ? rule() : Tensor<T>();
        }
    }

    template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
    template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
    template <class T> Tensor<T> neg(const Tensor<T>& x);
    template <class T> Tensor<T> log(const Tensor<T>& x);
    template <class T> Tensor<T> exp(const Tensor<T>& x);
    template <class T, class S, detail::enable_if_scalar<S> = 0> Tensor<T> pow(const Tensor<T>& x, S exponent);

    // y = a + b   =>  dL/da = sum_to(dL/dy, shape(a)),  dL/db = sum_to(dL/dy, shape(b))
    template <class T>
    Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("add");
        detail::check_broadcastable("add", a, b);
        return make_result<T>("add", kernels::add(a.value(), b.value()), {a, b},
                              [sa = a.shape(), sb = b.shape()](const Tensor<T>& dout) -> Grads<T> {
                                  return {sum_to(dout, sa), sum_to(dout, sb)};
                              });
    }

    // y = a - b   =>  dL/da = sum_to(dL/dy, shape(a)),  dL/db = -sum_to(dL/dy, shape(b))
    template <class T>
    Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("sub");
        detail::check_broadcastable("sub", a, b);
        return make_result<T>("sub", kernels::sub(a.value(), b.value()), {a, b},
                              [a, b](const Tensor<T>& dout) -> Grads<T> {
                                  return {detail::grad_if_needed(a, [&] { return sum_to(dout, a.shape()); }),
                                          detail::grad_if_needed(b, [&] { return neg(sum_to(dout, b.shape())); })};
                              });
    }

    // y = a * b   =>  dL/da = sum_to(dL/dy * b, shape(a)),  dL/db = sum_to(dL/dy * a, shape(b))
    template <class T>
    Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("mul");
        detail::check_broadcastable("mul", a, b);
        return make_result<T>("mul", kernels::mul(a.value(), b.value()), {a, b}, [a, b](const Tensor<T>& dout) -> Grads<T> {
            return {detail::grad_if_needed(a, [&] { return sum_to(mul(dout, b), a.shape()); }),
                    detail::grad_if_needed(b, [&] { return sum_to(mul(dout, a), b.shape()); })};
        });
    }

    // y = a / b   =>  dL/da = sum_to(dL/dy / b, shape(a)),  dL/db = sum_to(-dL/dy * a / b^2, shape(b))
    template <class T>
    Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("div");
        detail::check_broadcastable("div", a, b);
        return make_result<T>("div", kernels::div(a.value(), b.value()), {a, b}, [a, b](const Tensor<T>& dout) -> Grads<T> {
            return {detail::grad_if_needed(a, [&] { return sum_to(div(dout, b), a.shape()); }),
                    detail::grad_if_needed(
                        b, [&] { return sum_to(neg(div(mul(dout, a), mul(b, b))), b.shape()); })};
        });
    }

    // y = -x   =>  dL/dx = -dL/dy
    template <class T>
    Tensor<T> neg(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("neg");
        return make_result<T>("neg", -x.value(), {x},
                              [](const Tensor<T>& dout) -> Grads<T> { return {neg(dout)}; });
    }

    // y = exp(x)   =>  dL/dx = dL/dy * y
    template <class T>
    Tensor<T> exp(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("exp");
        return make_result<T>("exp", kernels::exp(x.value()), {x},
                              [](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                  return {mul(dout, out)};
                              });
    }

    // y = log(x)   =>  dL/dx = dL/dy / x
    template <class T>
    Tensor<T> log(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("log");
        return make_result<T>("log", kernels::log(x.value()), {x},
                              [x](const Tensor<T>& dout) -> Grads<T> { return {div(dout, x)}; });
    }

    // y = sqrt(x)   =>  dL/dx = dL/dy / (2 y)
    template <class T>
    Tensor<T> sqrt(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("sqrt");
        return make_result<T>("sqrt", xt::sqrt(x.value()), {x},
                              [](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                                  return {div(dout, mul(out, detail::scalar_tensor<T>(2)))};
                              });
    }

    // y = |x|   =>  dL/dx = dL/dy * sign(x)   (0 at x = 0, as PyTorch)
    template <class T>
    Tensor<T> abs(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("abs");
        return make_result<T>("abs", xt::abs(x.value()), {x}, [x](const Tensor<T>& dout) -> Grads<T> {
            return {mul(dout, constant<T>(xt::sign(x.value())))};
        });
    }

    namespace detail
    {
        // std::pow element by element (broadcasting): exact at the special cases, where xsimd 8's SIMD pow is
        // not on every target (it gives pow(0, -0.5) = 0, not inf, with SSE2 doubles).
        template <class A, class B>
        auto exact_pow(const A& base, const B& exponent)
        {
            using T = typename A::value_type;
            return xt::vectorize([](T b, T e) { return std::pow(b, e); })(base, exponent);
        }
    }

    // y = x^p (p a constant)   =>  dL/dx = dL/dy * p * x^(p-1)
    template <class T, class S, detail::enable_if_scalar<S>>
    Tensor<T> pow(const Tensor<T>& x, S exponent)
    {
        XGRAD_PROFILE_OP("pow");
        const T p = static_cast<T>(exponent);
        xt::xarray<T> value = detail::exact_pow(x.value(), xt::xscalar<T>(p));
        const Tensor<T> result =
            make_result<T>("pow", std::move(value), {x}, [x, p](const Tensor<T>& dout) -> Grads<T> {
                if (p == T(0))
                    return {constant<T>(xt::zeros<T>(x.value().shape()))};
                return {mul(dout, mul(pow(x, p - T(1)), detail::scalar_tensor<T>(p)))};
            });
        return record_attributes(result, [&] { return OpAttributes().set_real("exponent", p); });
    }

    // y = a^b   =>  dL/da = sum_to(dL/dy * b * a^(b-1), shape(a)),  dL/db = sum_to(dL/dy * y * log(a), shape(b))
    template <class T>
    Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("pow");
        detail::check_broadcastable("pow", a, b);
        return make_result<T>(
            "pow", xt::xarray<T>(detail::exact_pow(a.value(), b.value())), {a, b},
            [a, b](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                return {detail::grad_if_needed(
                            a, [&] { return sum_to(mul(dout, mul(b, pow(a, sub(b, detail::scalar_tensor<T>(1))))), a.shape()); }),
                        detail::grad_if_needed(b, [&] { return sum_to(mul(dout, mul(out, log(a))), b.shape()); })};
            });
    }

    // y = min(max(x, lo), hi), either bound optional   =>  dL/dx = dL/dy where lo <= x <= hi, else 0
    template <class T>
    Tensor<T> clamp(const Tensor<T>& x, std::optional<detail::non_deduced_t<T>> lo,
                    std::optional<detail::non_deduced_t<T>> hi = std::nullopt)
    {
        XGRAD_PROFILE_OP("clamp");
        if (lo && hi && *lo > *hi)
            throw value_error("clamp: min " + std::to_string(*lo) + " is greater than max " + std::to_string(*hi));
        const T low = lo.value_or(-std::numeric_limits<T>::infinity());
        const T high = hi.value_or(std::numeric_limits<T>::infinity());
        const Tensor<T> result = make_result<T>(
            "clamp", xt::clip(x.value(), low, high), {x}, [x, low, high](const Tensor<T>& dout) -> Grads<T> {
                xt::xarray<T> inside = xt::cast<T>(x.value() >= low && x.value() <= high);
                return {mul(dout, constant<T>(std::move(inside)))};
            });
        return record_attributes(result, [&] { return OpAttributes().set_real("min", low).set_real("max", high); });
    }

    // y = erf(x)   =>  dL/dx = dL/dy * 2/sqrt(pi) * exp(-x^2)
    template <class T>
    Tensor<T> erf(const Tensor<T>& x)
    {
        XGRAD_PROFILE_OP("erf");
        return make_result<T>("erf", xt::erf(x.value()), {x}, [x](const Tensor<T>& dout) -> Grads<T> {
            const T two_over_sqrt_pi = T(1.1283791670955125738961589031215452);
            return {mul(dout, mul(exp(neg(mul(x, x))), detail::scalar_tensor<T>(two_over_sqrt_pi)))};
        });
    }

    // The named binary ops also take a scalar on either side: add(x, 1.0), mul(2, x), ...
#define XGRAD_SCALAR_OVERLOADS(op)                                                                           \
    template <class T, class S, detail::enable_if_scalar<S> = 0>                                             \
    Tensor<T> op(const Tensor<T>& a, S s)                                                                    \
    {                                                                                                        \
        return op(a, detail::scalar_tensor<T>(s));                                                           \
    }                                                                                                        \
    template <class T, class S, detail::enable_if_scalar<S> = 0>                                             \
    Tensor<T> op(S s, const Tensor<T>& b)                                                                    \
    {                                                                                                        \
        return op(detail::scalar_tensor<T>(s), b);                                                           \
    }
    XGRAD_SCALAR_OVERLOADS(add)
    XGRAD_SCALAR_OVERLOADS(sub)
    XGRAD_SCALAR_OVERLOADS(mul)
    XGRAD_SCALAR_OVERLOADS(div)
#undef XGRAD_SCALAR_OVERLOADS

    // Operators: tensor (op) tensor, tensor (op) scalar, scalar (op) tensor, and compound assignment.
#define XGRAD_OPERATOR(symbol, op)                                                                           \
    template <class T>                                                                                       \
    Tensor<T> operator symbol(const Tensor<T>& a, const Tensor<T>& b)                                        \
    {                                                                                                        \
        return op(a, b);                                                                                     \
    }                                                                                                        \
    template <class T, class S, detail::enable_if_scalar<S> = 0>                                             \
    Tensor<T> operator symbol(const Tensor<T>& a, S s)                                                       \
    {                                                                                                        \
        return op(a, s);                                                                                     \
    }                                                                                                        \
    template <class T, class S, detail::enable_if_scalar<S> = 0>                                             \
    Tensor<T> operator symbol(S s, const Tensor<T>& b)                                                       \
    {                                                                                                        \
        return op(s, b);                                                                                     \
    }                                                                                                        \
    template <class T, class B>                                                                              \
    Tensor<T>& operator symbol##=(Tensor<T>& a, const B& b)                                                  \
    {                                                                                                        \
        return a = op(a, b);                                                                                 \
    }
    XGRAD_OPERATOR(+, add)
    XGRAD_OPERATOR(-, sub)
    XGRAD_OPERATOR(*, mul)
    XGRAD_OPERATOR(/, div)
#undef XGRAD_OPERATOR

    template <class T>
    Tensor<T> operator-(const Tensor<T>& x)
    {
        return neg(x);
    }

    // s^x for a scalar base s: y = exp(x log s)
    template <class T, class S, detail::enable_if_scalar<S> = 0>
    Tensor<T> pow(S base, const Tensor<T>& exponent)
    {
        return pow(detail::scalar_tensor<T>(base), exponent);
    }

}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_ELEMENTWISE_TEMPLATES(EXTERN, T)                                                                    \
    EXTERN template Tensor<T> add<T>(const Tensor<T>&, const Tensor<T>&);                                             \
    EXTERN template Tensor<T> sub<T>(const Tensor<T>&, const Tensor<T>&);                                             \
    EXTERN template Tensor<T> mul<T>(const Tensor<T>&, const Tensor<T>&);                                             \
    EXTERN template Tensor<T> div<T>(const Tensor<T>&, const Tensor<T>&);                                             \
    EXTERN template Tensor<T> neg<T>(const Tensor<T>&);                                                               \
    EXTERN template Tensor<T> exp<T>(const Tensor<T>&);                                                               \
    EXTERN template Tensor<T> log<T>(const Tensor<T>&);                                                               \
    EXTERN template Tensor<T> sqrt<T>(const Tensor<T>&);                                                              \
    EXTERN template Tensor<T> abs<T>(const Tensor<T>&);                                                               \
    EXTERN template Tensor<T> pow<T, T>(const Tensor<T>&, T);                                                         \
    EXTERN template Tensor<T> pow<T>(const Tensor<T>&, const Tensor<T>&);                                             \
    EXTERN template Tensor<T> clamp<T>(const Tensor<T>&, std::optional<T>, std::optional<T>);                         \
    EXTERN template Tensor<T> erf<T>(const Tensor<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_ELEMENTWISE_TEMPLATES)
}
