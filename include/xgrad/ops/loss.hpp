// Loss functions, with torch.nn.functional's names, arguments and reductions.  All are composed from
// differentiable ops, so they need no backward of their own and have second derivatives, except
// cross_entropy on (N, C) logits: one fused op whose backward is a kernel, recorded in ops under create_graph.
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "../config.hpp"
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
        XGRAD_PROFILE_OP("mse_loss");
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
        XGRAD_PROFILE_OP("huber_loss");
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
        XGRAD_PROFILE_OP("binary_cross_entropy_with_logits");
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

        // Class targets checked against `classes`, with the class weights w (undefined: all 1):
        //   picked        each target (0 where it is ignore_index)
        //   counted       1 where the target counts, 0 where it is ignored
        //   weight        w[target] where it counts, 0 where ignored
        //   total_weight  the sum of `weight`: what a mean divides by, as PyTorch's weighted mean
        template <class T>
        struct ClassTargets
        {
            IndexArray picked;
            xt::xarray<T> counted;
            xt::xarray<T> weight;
            T total_weight = 0;
        };

        // The class weights (C) of a loss: undefined, or a 1-D tensor of finite values that asks for no gradient.
        template <class T>
        void check_class_weight(const char* op, const Tensor<T>& weight, std::size_t classes)
        {
            if (!weight.defined())
                return;
            if (weight.ndim() != 1 || weight.shape(0) != classes)
                throw shape_error(std::string(op) + ": weight must hold one value per class, (" +
                                  std::to_string(classes) + ",), got " + shape_string(weight.shape()));
            if (weight.requires_grad())
                throw value_error(std::string(op) + ": the class weight is a constant (PyTorch does not "
                                  "differentiate it either); pass one that does not require grad");
            for (const T w : weight.value())
                if (!std::isfinite(w))
                    throw value_error(std::string(op) + ": the class weight holds a non-finite value " +
                                      std::to_string(w));
        }

        template <class T>
        ClassTargets<T> class_targets(const char* op, const IndexArray& target, std::size_t classes,
                                      std::int64_t ignore_index, const Tensor<T>& class_weight)
        {
            check_class_weight(op, class_weight, classes);
            ClassTargets<T> checked{target, xt::xarray<T>(target.shape()), xt::xarray<T>(target.shape()), T(0)};
            for (std::size_t i = 0; i < target.size(); ++i)
            {
                const std::int64_t label = target.data()[i];
                const bool ignored = label == ignore_index;
                if (!ignored && (label < 0 || label >= static_cast<std::int64_t>(classes)))
                    throw value_error(std::string(op) + ": target " + std::to_string(label) + " at position " +
                                      std::to_string(i) + " is out of range for " + std::to_string(classes) +
                                      " classes");
                checked.picked.data()[i] = ignored ? 0 : label;
                checked.counted.data()[i] = ignored ? T(0) : T(1);
                const T w = class_weight.defined() ? class_weight.value()(static_cast<std::size_t>(checked.picked.data()[i])) : T(1);
                checked.weight.data()[i] = ignored ? T(0) : w;
                checked.total_weight += checked.weight.data()[i];
            }
            return checked;
        }

        // The class weights (C) shaped to broadcast along the class dim of an input of `ndim` dims.
        template <class T>
        Tensor<T> class_weight_along(const Tensor<T>& weight, std::size_t dim, std::size_t ndim)
        {
            Dims shape(ndim, 1);
            shape[dim] = static_cast<std::ptrdiff_t>(weight.shape(0));
            return reshape(weight, shape);
        }

        // The shape a target must have for `input` (the input without its class dim); shape_error otherwise.
        template <class T>
        Shape checked_target_shape(const char* op, const Tensor<T>& input, const IndexArray& target)
        {
            if (input.ndim() == 0)
                throw shape_error(std::string(op) + ": input must have a class dim, got a 0-d tensor");
            Shape expected = input.shape();
            expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(class_dim(input)));
            if (!shapes_equal(target.shape(), expected))
                throw shape_error(std::string(op) + ": target of shape " + shape_string(target.shape()) +
                                  " does not match input of shape " + shape_string(input.shape()) +
                                  " (expected target shape " + shape_string(expected) + ")");
            return expected;
        }

        template <class T>
        void check_label_smoothing(const char* op, T label_smoothing)
        {
            if (!(label_smoothing >= T(0) && label_smoothing <= T(1)))
                throw value_error(std::string(op) + ": label_smoothing must be in [0, 1]");
        }

        // Negative log-likelihood of `target` classes under `log_probs` (classes along dim 1, or 0 if 1-D),
        // mixed with the uniform distribution by `label_smoothing` (ε), with class weights w, as PyTorch:
        //   loss_i = -(1 - ε) w[t_i] log p_i[t_i] - ε/C Σ_c w_c log p_i[c],   0 where t_i is ignore_index
        //   mean = Σ_i loss_i / Σ_i w[t_i]   (the sum over the targets that count)
        template <class T>
        Tensor<T> smoothed_nll(const char* op, const Tensor<T>& log_probs, const IndexArray& target,
                               Reduction reduction, T label_smoothing, std::int64_t ignore_index,
                               const Tensor<T>& class_weight)
        {
            const Shape expected = checked_target_shape(op, log_probs, target);
            check_label_smoothing(op, label_smoothing);
            const std::size_t dim = class_dim(log_probs);
            const auto class_axis = static_cast<std::ptrdiff_t>(dim);
            ClassTargets<T> targets = class_targets<T>(op, target, log_probs.shape(dim), ignore_index, class_weight);
            Shape index_shape = log_probs.shape();
            index_shape[dim] = 1;
            targets.picked.reshape(index_shape);   // ignored targets pick class 0, then count nothing

            const Tensor<T> picked = reshape_exact(gather(log_probs, class_axis, targets.picked), expected);
            Tensor<T> elements = neg(mul(picked, constant<T>(targets.weight)));
            if (label_smoothing > T(0))
            {
                const Tensor<T> weighted =
                    class_weight.defined() ? mul(log_probs, class_weight_along(class_weight, dim, log_probs.ndim()))
                                           : log_probs;
                const Tensor<T> uniform = neg(mul(mean(weighted, class_axis), constant<T>(targets.counted)));
                elements = add(mul(elements, T(1) - label_smoothing), mul(uniform, label_smoothing));
            }
            if (reduction.kind() == Reduction::mean)
                return div(xgrad::sum(elements), targets.total_weight);
            return reduce_loss(elements, reduction);
        }

        // Softmax cross-entropy of (N, C) logits without class weights as one op (the training case),
        // ε = label_smoothing:
        //   loss_r = -(1 - ε) log p_r[t_r] - ε/C Σ_j log p_r[j],  p_r = softmax(x_r),  0 for an ignored row
        //   =>  dL/dx_r = dL/dloss_r · (p_r - (1 - ε) onehot(t_r) - ε/C)
        // The backward is one kernel pass over the saved log-probabilities; under create_graph the same rule
        // is recorded in tensor ops (softmax is differentiable), so that it can be differentiated again.
        template <class T>
        Tensor<T> fused_cross_entropy(const Tensor<T>& logits, const ClassTargets<T>& targets, Reduction reduction,
                                      T label_smoothing)
        {
            const std::size_t rows = logits.shape(0), cols = logits.shape(1);
            auto log_probs = std::make_shared<xt::xarray<T>>(xt::xarray<T>::from_shape({rows, cols}));   // (N, C)
            kernels::log_softmax_rows(rows, cols, logits.value().data(), log_probs->data());
            xt::xarray<T> losses = xt::zeros<T>({rows});   // (N)
            for (std::size_t r = 0; r < rows; ++r)
            {
                if (targets.counted(r) == T(0))
                    continue;
                const T* row = log_probs->data() + r * cols;
                T uniform = 0;   // Σ_j log p_r[j] / C, only when smoothing asks for it
                if (label_smoothing > T(0))
                {
                    for (std::size_t j = 0; j < cols; ++j)
                        uniform += row[j];
                    uniform /= static_cast<T>(cols);
                }
                losses(r) = -(T(1) - label_smoothing) * row[targets.picked(r)] - label_smoothing * uniform;
            }
            xt::xarray<T> value = reduction.kind() == Reduction::none ? losses : xt::xarray<T>(xt::sum(losses));
            if (reduction.kind() == Reduction::mean)
                value() /= targets.total_weight;
            return make_result<T>("cross_entropy", std::move(value), {logits},
                [logits, log_probs, targets, reduction, label_smoothing](const Tensor<T>& dout) -> Grads<T> {
                    // dL/dloss_r: dL/dy for reduction none, else dL/dy shared by the counted rows (mean: / count)
                    const T share = reduction.kind() == Reduction::mean ? T(1) / targets.total_weight : T(1);
                    if (!is_grad_enabled())
                    {
                        const xt::xarray<T> weight = reduction.kind() == Reduction::none
                                                         ? xt::xarray<T>(targets.counted * dout.value())
                                                         : xt::xarray<T>(targets.counted * (dout.item() * share));
                        xt::xarray<T> dx = xt::xarray<T>::from_shape(log_probs->shape());
                        kernels::cross_entropy_backward_rows(log_probs->shape(0), log_probs->shape(1),
                                                             log_probs->data(), targets.picked.data(), weight.data(),
                                                             label_smoothing, dx.data());
                        return {constant<T>(std::move(dx))};
                    }
                    const std::size_t classes = logits.shape(1);
                    xt::xarray<T> smoothed = xt::full_like(logits.value(), label_smoothing / static_cast<T>(classes));
                    for (std::size_t r = 0; r < smoothed.shape(0); ++r)
                        smoothed(r, static_cast<std::size_t>(targets.picked(r))) += T(1) - label_smoothing;
                    const Tensor<T> weight = mul(dout, constant<T>(targets.counted * share));   // (N), or () · (N)
                    return {mul(unsqueeze(weight, 1), sub(softmax(logits, 1), constant<T>(std::move(smoothed))))};
                });
        }
    }

    // Negative log-likelihood of class `target` given log-probabilities (N, C) (or (C), or (N, C, d1, ...)):
    // -w[t] log_probs[t], with class weights w (C) (undefined: all 1, not differentiated); the mean divides by
    // the sum of w[t] over the targets that are not ignore_index.
    template <class T>
    Tensor<T> nll_loss(const Tensor<T>& log_probs, const IndexArray& target, Reduction reduction = Reduction::mean,
                       std::int64_t ignore_index = -100, const Tensor<T>& weight = Tensor<T>())
    {
        XGRAD_PROFILE_OP("nll_loss");
        return detail::smoothed_nll("nll_loss", log_probs, target, reduction, T(0), ignore_index, weight);
    }

    template <class T>
    Tensor<T> nll_loss(const Tensor<T>& log_probs, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                       std::int64_t ignore_index = -100, const Tensor<T>& weight = Tensor<T>())
    {
        return nll_loss(log_probs, detail::indices_from(target.value(), "nll_loss"), reduction, ignore_index, weight);
    }

    // Softmax cross-entropy of logits (N, C) (or (C), or (N, C, d1, ...)) against integer class targets,
    // as torch.nn.functional.cross_entropy: y = -log_softmax(logits)[target], optionally label-smoothed and
    // weighted per class (weight (C), not differentiated; see smoothed_nll for PyTorch's weighted mean).
    // Unweighted (N, C) logits take the fused op; the other cases compose log_softmax and the weighted sums.
    template <class T>
    Tensor<T> cross_entropy(const Tensor<T>& logits, const IndexArray& target, Reduction reduction = Reduction::mean,
                            T label_smoothing = T(0), std::int64_t ignore_index = -100,
                            const Tensor<T>& weight = Tensor<T>())
    {
        XGRAD_PROFILE_OP("cross_entropy");
        detail::checked_target_shape("cross_entropy", logits, target);
        if (logits.numel() == 0 && logits.shape(static_cast<std::ptrdiff_t>(detail::class_dim(logits))) == 0)
            throw value_error("cross_entropy: logits of shape " + shape_string(logits.shape()) + " have no classes");
        if (logits.ndim() == 2 && !weight.defined())
        {
            detail::check_label_smoothing("cross_entropy", label_smoothing);
            return detail::fused_cross_entropy(
                logits, detail::class_targets<T>("cross_entropy", target, logits.shape(1), ignore_index, weight),
                reduction, label_smoothing);
        }
        const Tensor<T> log_probs = log_softmax(logits, static_cast<std::ptrdiff_t>(detail::class_dim(logits)));
        return detail::smoothed_nll("cross_entropy", log_probs, target, reduction, label_smoothing, ignore_index,
                                    weight);
    }

    // The same against a tensor target: class probabilities q when it has the logits' shape (soft labels:
    // -Σ_c w_c q_c log p_c, the mean over the samples as PyTorch), otherwise whole-number class indices.
    template <class T>
    Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                            T label_smoothing = T(0), std::int64_t ignore_index = -100,
                            const Tensor<T>& weight = Tensor<T>())
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
                                 ignore_index, weight);
        }
        const auto dim = static_cast<std::ptrdiff_t>(detail::class_dim(logits));
        detail::check_class_weight("cross_entropy", weight, logits.shape(dim));
        const auto classes = static_cast<T>(logits.shape(dim));
        const Tensor<T> smoothed =
            label_smoothing > T(0) ? add(mul(target, T(1) - label_smoothing), label_smoothing / classes) : target;
        const Tensor<T> probs =
            weight.defined() ? mul(smoothed, detail::class_weight_along(weight, detail::class_dim(logits), logits.ndim()))
                             : smoothed;
        return detail::reduce_loss(neg(sum(mul(probs, log_softmax(logits, dim)), dim)), reduction);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_LOSS_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template Tensor<T> mse_loss<T>(const Tensor<T>&, const Tensor<T>&, Reduction);                             \
    EXTERN template Tensor<T> l1_loss<T>(const Tensor<T>&, const Tensor<T>&, Reduction);                              \
    EXTERN template Tensor<T> huber_loss<T>(const Tensor<T>&, const Tensor<T>&, Reduction, T);                        \
    EXTERN template Tensor<T> binary_cross_entropy_with_logits<T>(const Tensor<T>&, const Tensor<T>&, Reduction,      \
                                                                  const Tensor<T>&);                                  \
    EXTERN template Tensor<T> nll_loss<T>(const Tensor<T>&, const IndexArray&, Reduction, std::int64_t,               \
                                          const Tensor<T>&);                                                          \
    EXTERN template Tensor<T> nll_loss<T>(const Tensor<T>&, const Tensor<T>&, Reduction, std::int64_t,                \
                                          const Tensor<T>&);                                                          \
    EXTERN template Tensor<T> cross_entropy<T>(const Tensor<T>&, const IndexArray&, Reduction, T, std::int64_t,       \
                                               const Tensor<T>&);                                                     \
    EXTERN template Tensor<T> cross_entropy<T>(const Tensor<T>&, const Tensor<T>&, Reduction, T, std::int64_t,        \
                                               const Tensor<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_LOSS_TEMPLATES)
}
