// L1 and L2 penalties as differentiable terms to add to a loss, over any chosen set of parameters:
//   loss = data_loss + nn::l2_penalty(nn::weights(model), 1e-4);
#pragma once

#include <string>
#include <vector>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "../ops/elementwise.hpp"
#include "../ops/reduce.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    namespace detail
    {
        template <class T, class Term>
        Tensor<T> penalty(const char* name, const std::vector<Tensor<T>>& parameters, double lambda, Term&& term)
        {
            if (!(lambda >= 0.0))
                throw value_error(std::string(name) + ": lambda must be non-negative, got " + std::to_string(lambda));
            Tensor<T> total = zeros<T>({});
            for (const auto& p : parameters)
                total = add(total, sum(term(p)));
            return mul(total, T(lambda));
        }
    }

    // lambda * sum |w|   =>  d/dw = lambda * sign(w): drives small weights to exactly zero (sparsity)
    template <class T>
    Tensor<T> l1_penalty(const std::vector<Tensor<T>>& parameters, double lambda)
    {
        return detail::penalty("l1_penalty", parameters, lambda, [](const Tensor<T>& p) { return abs(p); });
    }

    // lambda * sum w^2   =>  d/dw = 2 lambda w: shrinks every weight in proportion to its size
    // (SGD's weight_decay = wd matches l2_penalty with lambda = wd / 2)
    template <class T>
    Tensor<T> l2_penalty(const std::vector<Tensor<T>>& parameters, double lambda)
    {
        return detail::penalty("l2_penalty", parameters, lambda, [](const Tensor<T>& p) { return mul(p, p); });
    }

    // The parameters whose name ends in "weight": the usual subset to regularise (biases and norms' shifts
    // are left alone).
    template <class T>
    std::vector<Tensor<T>> weights(const Module<T>& module)
    {
        std::vector<Tensor<T>> selected;
        const std::string suffix = "weight";
        for (const auto& [name, p] : module.named_parameters())
            if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
                selected.push_back(p);
        return selected;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_REGULARIZATION_TEMPLATES(EXTERN, T)                                                                  \
    EXTERN template Tensor<T> nn::l1_penalty<T>(const std::vector<Tensor<T>>&, double);                               \
    EXTERN template Tensor<T> nn::l2_penalty<T>(const std::vector<Tensor<T>>&, double);                               \
    EXTERN template std::vector<Tensor<T>> nn::weights<T>(const nn::Module<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_REGULARIZATION_TEMPLATES)
}
