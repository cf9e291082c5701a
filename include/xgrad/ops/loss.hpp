// Loss functions, with torch.nn.functional's names, arguments and reductions.  All are composed from
// differentiable ops, so they need no backward of their own and have second derivatives.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "activation.hpp"
#include "elementwise.hpp"
#include "reduce.hpp"
#include "shape.hpp"

namespace xgrad
{
    // How a loss folds its per-element values: Reduction::mean (default), Reduction::sum or
    // Reduction::none; the strings "mean", "sum" and "none" work too.
    class Reduction
    {
    public:
        enum Kind { none, mean, sum };
        Reduction(Kind kind = mean) : kind_(kind) {}
        Reduction(const std::string& name) : kind_(parse(name)) {}
        Reduction(const char* name) : kind_(parse(name)) {}
        Kind kind() const { return kind_; }

    private:
        static Kind parse(const std::string& name)
        {
            if (name == "mean")
                return mean;
            if (name == "sum")
                return sum;
            if (name == "none")
                return none;
            throw value_error("reduction must be \"mean\", \"sum\" or \"none\", got \"" + name + "\"");
        }
        Kind kind_;
    };

    namespace detail
    {
        template <class T>
        Tensor<T> reduce_loss(const Tensor<T>& elements, Reduction reduction)
        {
            switch (reduction.kind())
            {
            case Reduction::none: return elements;
            case Reduction::sum: return xgrad::sum(elements);
            default: return xgrad::mean(elements);
            }
        }

        template <class T>
        void check_shapes_equal(const char* op, const Tensor<T>& input, const Tensor<T>& target)
        {
            if (input.value().shape() != target.value().shape())
                throw shape_error(std::string(op) + ": input of shape " + shape_string(input.shape()) +
                                  " and target of shape " + shape_string(target.shape()) + " differ");
        }
    }

    // mean (or sum) of (input - target)^2
    template <class T>
    Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean)
    {
        detail::check_shapes_equal("mse_loss", input, target);
        const Tensor<T> diff = sub(input, target);
        return detail::reduce_loss(mul(diff, diff), reduction);
    }

    // mean (or sum) of |input - target|
    template <class T>
    Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean)
    {
        detail::check_shapes_equal("l1_loss", input, target);
        return detail::reduce_loss(abs(sub(input, target)), reduction);
    }

    // Quadratic near zero, linear beyond delta: 0.5 d^2 if |d| < delta, else delta (|d| - delta/2), d = input - target
    template <class T>
    Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                         T delta = T(1))
    {
        detail::check_shapes_equal("huber_loss", input, target);
        if (!(delta > T(0)))
            throw value_error("huber_loss: delta must be positive");
        const Tensor<T> diff = sub(input, target);
        const Tensor<T> size = abs(diff);
        const xt::xarray<bool> quadratic = size.value() < delta;
        const Tensor<T> elements =
            xgrad::where(quadratic, mul(mul(diff, diff), T(0.5)), mul(sub(size, T(0.5) * delta), delta));
        return detail::reduce_loss(elements, reduction);
    }

    // -[y log sigmoid(x) * pos_weight + (1 - y) log(1 - sigmoid(x))], in the stable form
    // (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)
    template <class T>
    Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                               Reduction reduction = Reduction::mean,
                                               const Tensor<T>& pos_weight = Tensor<T>())
    {
        detail::check_shapes_equal("binary_cross_entropy_with_logits", input, target);
        const T no_threshold = std::numeric_limits<T>::infinity();
        const Tensor<T> log_one_plus_exp = softplus(neg(input), T(1), no_threshold);
        const Tensor<T> weight = pos_weight.defined() ? add(mul(sub(pos_weight, T(1)), target), T(1)) : Tensor<T>();
        const Tensor<T> elements =
            add(mul(sub(T(1), target), input), weight.defined() ? mul(weight, log_one_plus_exp) : log_one_plus_exp);
        return detail::reduce_loss(elements, reduction);
    }

    namespace detail
    {
        // The class dim of a (C), (N, C) or (N, C, d1, ...) input: dim 0 for 1-D, else dim 1.
        template <class T>
        std::size_t class_dim(const Tensor<T>& input)
        {
            return input.ndim() == 1 ? 0 : 1;
        }

        // Negative log-likelihood of `target` classes under `log_probs` (classes along dim 1, or 0 if 1-D),
        // mixed with the uniform distribution by `label_smoothing`; targets equal to ignore_index count nothing.
        template <class T>
        Tensor<T> smoothed_nll(const char* op, const Tensor<T>& log_probs, const IndexArray& target,
                               Reduction reduction, T label_smoothing, std::int64_t ignore_index)
        {
            if (log_probs.ndim() == 0)
                throw shape_error(std::string(op) + ": input must have a class dim, got a 0-d tensor");
            const std::size_t dim = class_dim(log_probs);
            Shape expected = log_probs.shape();
            const std::size_t classes = expected[dim];
            expected.erase(expected.begin() + dim);
            if (!shapes_equal(target.shape(), expected))
                throw shape_error(std::string(op) + ": target of shape " + shape_string(target.shape()) +
                                  " does not match input of shape " + shape_string(log_probs.shape()) +
                                  " (expected target shape " + shape_string(expected) + ")");
            if (!(label_smoothing >= T(0) && label_smoothing <= T(1)))
                throw value_error(std::string(op) + ": label_smoothing must be in [0, 1]");

            IndexArray picked_index = target;        // ignored targets pick class 0, then count nothing
            xt::xarray<T> counted(target.shape());   // 1 where the target counts, 0 where ignored
            for (std::size_t i = 0; i < target.size(); ++i)
            {
                const std::int64_t label = target.data()[i];
                const bool ignored = label == ignore_index;
                if (!ignored && (label < 0 || label >= static_cast<std::int64_t>(classes)))
                    throw value_error(std::string(op) + ": target " + std::to_string(label) + " at position " +
                                      std::to_string(i) + " is out of range for " + std::to_string(classes) +
                                      " classes");
                picked_index.data()[i] = ignored ? 0 : label;
                counted.data()[i] = ignored ? T(0) : T(1);
            }
            Shape index_shape = log_probs.shape();
            index_shape[dim] = 1;
            picked_index.reshape(index_shape);

            const Tensor<T> mask = constant<T>(counted);
            const Tensor<T> picked = reshape_exact(gather(log_probs, static_cast<std::ptrdiff_t>(dim), picked_index), expected);
            Tensor<T> elements = neg(mul(picked, mask));
            if (label_smoothing > T(0))
            {
                const Tensor<T> uniform = neg(mul(mean(log_probs, static_cast<std::ptrdiff_t>(dim)), mask));
                elements = add(mul(elements, T(1) - label_smoothing), mul(uniform, label_smoothing));
            }
            if (reduction.kind() == Reduction::mean)
                return div(xgrad::sum(elements), static_cast<T>(xt::sum(counted)()));
            return reduce_loss(elements, reduction);
        }
    }

    // Negative log-likelihood of class `target` given log-probabilities (N, C) (or (C), or (N, C, d1, ...)).
    template <class T>
    Tensor<T> nll_loss(const Tensor<T>& log_probs, const IndexArray& target, Reduction reduction = Reduction::mean,
                       std::int64_t ignore_index = -100)
    {
        return detail::smoothed_nll("nll_loss", log_probs, target, reduction, T(0), ignore_index);
    }

    template <class T>
    Tensor<T> nll_loss(const Tensor<T>& log_probs, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                       std::int64_t ignore_index = -100)
    {
        return nll_loss(log_probs, detail::indices_from(target.value(), "nll_loss"), reduction, ignore_index);
    }

    // Softmax cross-entropy of logits (N, C) (or (C), or (N, C, d1, ...)) against integer class targets,
    // as torch.nn.functional.cross_entropy: y = -log_softmax(logits)[target], optionally label-smoothed.
    template <class T>
    Tensor<T> cross_entropy(const Tensor<T>& logits, const IndexArray& target, Reduction reduction = Reduction::mean,
                            T label_smoothing = T(0), std::int64_t ignore_index = -100)
    {
        if (logits.ndim() == 0)
            throw shape_error("cross_entropy: logits must have a class dim, got a 0-d tensor");
        const Tensor<T> log_probs = log_softmax(logits, static_cast<std::ptrdiff_t>(detail::class_dim(logits)));
        return detail::smoothed_nll("cross_entropy", log_probs, target, reduction, label_smoothing, ignore_index);
    }

    // The same against a tensor target: class probabilities when it has the logits' shape (soft labels),
    // otherwise whole-number class indices.
    template <class T>
    Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                            T label_smoothing = T(0), std::int64_t ignore_index = -100)
    {
        if (logits.ndim() == 0 || target.value().shape() != logits.value().shape())
        {
            Shape label_shape = logits.shape();
            if (!label_shape.empty())
                label_shape.erase(label_shape.begin() + static_cast<std::ptrdiff_t>(detail::class_dim(logits)));
            if (logits.ndim() != 0 && target.shape() != label_shape)   // before reading its values as labels
                throw shape_error("cross_entropy: target of shape " + shape_string(target.shape()) +
                                  " fits input of shape " + shape_string(logits.shape()) + " neither as class "
                                  "probabilities (the input's shape) nor as class indices (shape " +
                                  shape_string(label_shape) + ")");
            return cross_entropy(logits, detail::indices_from(target.value(), "cross_entropy"), reduction, label_smoothing,
                                 ignore_index);
        }
        const auto dim = static_cast<std::ptrdiff_t>(detail::class_dim(logits));
        const auto classes = static_cast<T>(logits.shape(dim));
        const Tensor<T> probs =
            label_smoothing > T(0) ? add(mul(target, T(1) - label_smoothing), label_smoothing / classes) : target;
        return detail::reduce_loss(neg(sum(mul(probs, log_softmax(logits, dim)), dim)), reduction);
    }
}
