// Gradient checking by central finite differences: the way to trust an autograd rule, yours or xgrad's.
// gradcheck compares first derivatives; gradgradcheck compares second derivatives (the derivative of the
// recorded backward pass).  Use double: float has too few digits for finite differences.
#pragma once

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../core/autograd.hpp"
#include "../core/creation.hpp"
#include "../ops/elementwise.hpp"
#include "../ops/reduce.hpp"

namespace xgrad
{
    // Thrown by gradcheck when an analytic gradient disagrees with the finite-difference one.
    class gradcheck_error : public error
    {
    public:
        using error::error;
    };

    template <class T>
    using TestFunction = std::function<Tensor<T>(const std::vector<Tensor<T>>&)>;

    namespace detail
    {
        // A fixed random weighting of f's outputs, so that one backward pass checks the whole Jacobian
        // against a vector: L(x) = sum(f(x) * w).  With random w, a wrong Jacobian entry shows (almost surely).
        template <class T>
        Tensor<T> output_weights(const Tensor<T>& output)
        {
            Generator rng(12345);
            return rand<T>(output.shape(), rng, false, T(0.5), T(1.5));
        }

        // Compares the analytic gradients of the scalar function `loss` at `inputs` with central differences.
        template <class T>
        bool compare_with_finite_differences(const char* what, const std::function<Tensor<T>(const std::vector<Tensor<T>>&)>& loss,
                                             const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& analytic,
                                             T eps, T atol, T rtol, bool raise)
        {
            for (std::size_t i = 0; i < inputs.size(); ++i)
            {
                if (!inputs[i].requires_grad())
                    continue;
                auto& values = inputs[i].mutable_value();
                for (std::size_t j = 0; j < values.size(); ++j)
                {
                    const T saved = values.data()[j];
                    T plus, minus;
                    {
                        NoGradGuard no_grad;
                        values.data()[j] = saved + eps;
                        plus = loss(inputs).item();
                        values.data()[j] = saved - eps;
                        minus = loss(inputs).item();
                        values.data()[j] = saved;
                    }
                    const T numeric = (plus - minus) / (T(2) * eps);
                    const T exact = analytic[i].value().data()[j];
                    if (!(std::abs(exact - numeric) <= atol + rtol * std::abs(numeric)))
                    {
                        if (!raise)
                            return false;
                        std::ostringstream message;
                        message.precision(10);
                        message << what << ": input " << i << " of shape " << shape_string(inputs[i].shape())
                                << ", flat element " << j << ": analytic " << exact << " but finite difference "
                                << numeric << " (difference " << std::abs(exact - numeric) << ", tolerance "
                                << atol + rtol * std::abs(numeric) << ")";
                        throw gradcheck_error(message.str());
                    }
                }
            }
            return true;
        }

        template <class T>
        void check_inputs(const char* what, const std::vector<Tensor<T>>& inputs)
        {
            bool any = false;
            for (const auto& input : inputs)
                any = any || (input.defined() && input.requires_grad());
            if (!any)
                throw value_error(std::string(what) + ": no input requires grad, so there is nothing to check");
        }
    }

    // Checks the gradient of f at `inputs` (those with requires_grad) against central finite differences:
    // |analytic - numeric| <= atol + rtol |numeric| for every element.  Returns true, or throws
    // gradcheck_error naming the input and element that disagree (returns false when raise is off).
    template <class T, class F>
    bool gradcheck(F&& f, const std::vector<Tensor<T>>& inputs, T eps = T(1e-6), T atol = T(1e-5), T rtol = T(1e-3),
                   bool raise = true)
    {
        detail::check_inputs("gradcheck", inputs);
        const Tensor<T> weights = detail::output_weights(f(inputs));
        const std::function<Tensor<T>(const std::vector<Tensor<T>>&)> loss = [&](const std::vector<Tensor<T>>& in) {
            return sum(mul(f(in), weights));
        };
        std::vector<Tensor<T>> wrt;
        for (const auto& input : inputs)
            if (input.requires_grad())
                wrt.push_back(input);
        const auto computed = grad(std::vector<Tensor<T>>{loss(inputs)}, wrt);
        std::vector<Tensor<T>> analytic;
        std::size_t next = 0;
        for (const auto& input : inputs)
            analytic.push_back(input.requires_grad() ? computed[next++] : Tensor<T>());
        return detail::compare_with_finite_differences("gradcheck", loss, inputs, analytic, eps, atol, rtol, raise);
    }

    // Checks second derivatives: the gradient of h(x) = sum_i <dL/dx_i, v_i>, where dL/dx comes from a
    // backward pass recorded with create_graph, against finite differences of h.
    template <class T, class F>
    bool gradgradcheck(F&& f, const std::vector<Tensor<T>>& inputs, T eps = T(1e-6), T atol = T(1e-5),
                       T rtol = T(1e-3), bool raise = true)
    {
        detail::check_inputs("gradgradcheck", inputs);
        const Tensor<T> weights = detail::output_weights(f(inputs));
        std::vector<Tensor<T>> wrt;
        std::vector<Tensor<T>> directions;
        Generator rng(54321);
        for (const auto& input : inputs)
            if (input.requires_grad())
            {
                wrt.push_back(input);
                directions.push_back(rand<T>(input.shape(), rng, false, T(0.5), T(1.5)));
            }
        // h(x): one backward pass of L = sum(f(x) * w), recorded so that it can itself be differentiated.
        const std::function<Tensor<T>(const std::vector<Tensor<T>>&)> h = [&](const std::vector<Tensor<T>>& in) {
            std::vector<Tensor<T>> in_wrt;
            for (const auto& input : in)
                if (input.requires_grad())
                    in_wrt.push_back(input);
            EnableGradGuard recording;   // the finite differences call h under NoGradGuard
            const auto first = grad(std::vector<Tensor<T>>{sum(mul(f(in), weights))}, in_wrt, true);
            Tensor<T> total = zeros<T>({});
            for (std::size_t i = 0; i < first.size(); ++i)
                total = add(total, sum(mul(first[i], directions[i])));
            return total;
        };
        const Tensor<T> projected = h(inputs);
        if (!projected.requires_grad())   // every first derivative is constant: the second ones are 0
            return true;
        const auto computed = grad(std::vector<Tensor<T>>{projected}, wrt);
        std::vector<Tensor<T>> analytic;
        std::size_t next = 0;
        for (const auto& input : inputs)
            analytic.push_back(input.requires_grad() ? computed[next++] : Tensor<T>());
        return detail::compare_with_finite_differences("gradgradcheck", h, inputs, analytic, eps, atol, rtol, raise);
    }

    // The braced forms, `gradcheck(f, {a, b})`, for which the vector overloads cannot deduce T.
    template <class T, class F>
    bool gradcheck(F&& f, std::initializer_list<Tensor<T>> inputs, T eps = T(1e-6), T atol = T(1e-5),
                   T rtol = T(1e-3), bool raise = true)
    {
        return gradcheck(std::forward<F>(f), std::vector<Tensor<T>>(inputs), eps, atol, rtol, raise);
    }

    template <class T, class F>
    bool gradgradcheck(F&& f, std::initializer_list<Tensor<T>> inputs, T eps = T(1e-6), T atol = T(1e-5),
                       T rtol = T(1e-3), bool raise = true)
    {
        return gradgradcheck(std::forward<F>(f), std::vector<Tensor<T>>(inputs), eps, atol, rtol, raise);
    }
}
