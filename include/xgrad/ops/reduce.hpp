// Reductions over chosen axes, with or without keepdims: sum mean max min var logsumexp.
#pragma once

#include <limits>
#include <vector>

#include <xtensor/xsort.hpp>

#include "../config.hpp"
#include "../core/broadcast.hpp"
#include "../kernels/reduce.hpp"
#include "elementwise.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // What a reduction needs: the axes (sorted, unique; none given means all) and the keepdims shape.
        struct ReductionPlan
        {
            std::vector<std::size_t> axes;
            Shape kept_shape;     // the input's shape with reduced dims set to 1
            Shape output_shape;   // kept_shape, or without the reduced dims
            std::size_t count;    // elements folded into each output element
        };

        inline ReductionPlan plan_reduction(const Shape& shape, const Dims& dims, bool keepdims, const char* op)
        {
            ReductionPlan plan{{}, shape, {}, 1};
            std::vector<bool> reduced(shape.size(), dims.empty());
            for (auto dim : dims)
            {
                const std::size_t d = normalize_dim(dim, shape.size(), op);
                if (reduced[d])
                    throw value_error(std::string(op) + ": dim " + std::to_string(dim) + " appears twice");
                reduced[d] = true;
            }
            for (std::size_t i = 0; i < shape.size(); ++i)
            {
                if (reduced[i])
                {
                    plan.axes.push_back(i);
                    plan.count *= shape[i];
                    plan.kept_shape[i] = 1;
                }
                if (!reduced[i] || keepdims)
                    plan.output_shape.push_back(plan.kept_shape[i]);
            }
            return plan;
        }

        template <class T, class Reducer>
        xt::xarray<T> reduce_value(const xt::xarray<T>& x, const ReductionPlan& plan, Reducer&& reducer)
        {
            xt::xarray<T> value = reducer(x, plan.axes, xt::evaluation_strategy::immediate);
            value.reshape(plan.output_shape);
            return value;
        }
    }

    // y = sum of x over dims (all when none are given)   =>  dL/dx = dL/dy broadcast back over those dims
    template <class T>
    Tensor<T> sum(const Tensor<T>& x, const Dims& dims, bool keepdims = false)
    {
        XGRAD_PROFILE_OP("sum");
        const auto plan = detail::plan_reduction(x.shape(), dims, keepdims, "sum");
        auto value = detail::reduce_value(x.value(), plan, [](const auto& v, const auto& axes, auto) { return kernels::sum(v, axes); });
        const Tensor<T> result =
            make_result("sum", std::move(value), {x}, [plan, from = x.shape()](const Tensor<T>& dout) -> Grads<T> {
                return {broadcast_to(detail::reshape_exact(dout, plan.kept_shape), from)};
            });
        return record_attributes(result, [&] {
            return OpAttributes().set_ints("dims", {plan.axes.begin(), plan.axes.end()}).set_int("keepdims", keepdims);
        });
    }

    template <class T> Tensor<T> sum(const Tensor<T>& x) { return sum(x, Dims{}); }
    template <class T> Tensor<T> sum(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false)
    {
        return sum(x, Dims{dim}, keepdims);
    }

    // y = sum(x, dims) / count
    template <class T>
    Tensor<T> mean(const Tensor<T>& x, const Dims& dims, bool keepdims = false)
    {
        const auto plan = detail::plan_reduction(x.shape(), dims, keepdims, "mean");
        if (plan.count == 0)
            throw value_error("mean: cannot average over an empty dimension of shape " + shape_string(x.shape()));
        return mul(sum(x, dims, keepdims), T(1) / static_cast<T>(plan.count));
    }

    template <class T> Tensor<T> mean(const Tensor<T>& x) { return mean(x, Dims{}); }
    template <class T> Tensor<T> mean(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false)
    {
        return mean(x, Dims{dim}, keepdims);
    }

    namespace detail
    {
        // y = max (or min) of x over dims   =>  dL/dx = dL/dy shared evenly among the elements that attain it
        template <class T, class Reducer>
        Tensor<T> extremum(const char* op, const Tensor<T>& x, const Dims& dims, bool keepdims, Reducer&& reducer)
        {
            XGRAD_PROFILE_OP(op);
            const auto plan = plan_reduction(x.shape(), dims, keepdims, op);
            if (plan.count == 0 || x.numel() == 0)
                throw value_error(std::string(op) + ": cannot reduce over an empty dimension of shape " +
                                  shape_string(x.shape()));
            auto value = reduce_value(x.value(), plan, reducer);
            const Tensor<T> result = make_result(
                op, std::move(value), {x}, [plan, x](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                    xt::xarray<T> extreme = out.value();
                    extreme.reshape(plan.kept_shape);
                    xt::xarray<T> attains = xt::cast<T>(xt::equal(x.value(), extreme));
                    xt::xarray<T> ties =
                        xt::sum(attains, plan.axes, xt::keep_dims | xt::evaluation_strategy::immediate);
                    xt::xarray<T> share = attains / ties;
                    return {mul(broadcast_to(reshape_exact(dout, plan.kept_shape), x.shape()),
                                constant<T>(std::move(share)))};
                });
            return record_attributes(result, [&] {
                return OpAttributes()
                    .set_ints("dims", {plan.axes.begin(), plan.axes.end()})
                    .set_int("keepdims", keepdims);
            });
        }
    }

    template <class T>
    Tensor<T> max(const Tensor<T>& x, const Dims& dims, bool keepdims = false)
    {
        return detail::extremum("max", x, dims, keepdims, [](auto&&... args) { return xt::amax(args...); });
    }

    template <class T>
    Tensor<T> min(const Tensor<T>& x, const Dims& dims, bool keepdims = false)
    {
        return detail::extremum("min", x, dims, keepdims, [](auto&&... args) { return xt::amin(args...); });
    }

    template <class T> Tensor<T> max(const Tensor<T>& x) { return max(x, Dims{}); }
    template <class T> Tensor<T> min(const Tensor<T>& x) { return min(x, Dims{}); }
    template <class T> Tensor<T> max(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false)
    {
        return max(x, Dims{dim}, keepdims);
    }
    template <class T> Tensor<T> min(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false)
    {
        return min(x, Dims{dim}, keepdims);
    }

    // Variance over dims with Bessel's correction by default (as torch.var):
    // y = sum((x - mean(x))^2) / (count - correction)
    template <class T>
    Tensor<T> var(const Tensor<T>& x, const Dims& dims, bool keepdims = false, std::size_t correction = 1)
    {
        const auto plan = detail::plan_reduction(x.shape(), dims, keepdims, "var");
        // PyTorch returns NaN here (with a warning); a silent NaN is worse than a clear error.
        if (plan.count <= correction)
            throw value_error("var: " + std::to_string(plan.count) + " element(s) per variance leave no degrees of "
                              "freedom with correction " + std::to_string(correction) + " (input shape " +
                              shape_string(x.shape()) + ")");
        const Tensor<T> centered = sub(x, mean(x, dims, true));
        return div(sum(mul(centered, centered), dims, keepdims), static_cast<T>(plan.count - correction));
    }

    template <class T> Tensor<T> var(const Tensor<T>& x) { return var(x, Dims{}); }
    template <class T> Tensor<T> var(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false,
                                     std::size_t correction = 1)
    {
        return var(x, Dims{dim}, keepdims, correction);
    }

    // y = log(sum(exp(x))) over dims, computed stably (shifted by the max, which cancels in the gradient)
    template <class T>
    Tensor<T> logsumexp(const Tensor<T>& x, const Dims& dims, bool keepdims = false)
    {
        const auto plan = detail::plan_reduction(x.shape(), dims, keepdims, "logsumexp");   // checks dims
        Tensor<T> shift;
        {
            NoGradGuard constant_shift;
            shift = max(x, dims, true);
            shift.mutable_value() = xt::where(xt::isfinite(shift.value()), shift.value(), T(0));
        }
        Tensor<T> result = add(log(sum(exp(sub(x, shift)), dims, true)), shift);
        if (keepdims)
            return result;
        return detail::reshape_exact(result, plan.output_shape);
    }

    template <class T> Tensor<T> logsumexp(const Tensor<T>& x) { return logsumexp(x, Dims{}); }
    template <class T> Tensor<T> logsumexp(const Tensor<T>& x, std::ptrdiff_t dim, bool keepdims = false)
    {
        return logsumexp(x, Dims{dim}, keepdims);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_REDUCE_TEMPLATES(EXTERN, T)                                                                         \
    EXTERN template Tensor<T> sum<T>(const Tensor<T>&, const Dims&, bool);                                            \
    EXTERN template Tensor<T> mean<T>(const Tensor<T>&, const Dims&, bool);                                           \
    EXTERN template Tensor<T> max<T>(const Tensor<T>&, const Dims&, bool);                                            \
    EXTERN template Tensor<T> min<T>(const Tensor<T>&, const Dims&, bool);                                            \
    EXTERN template Tensor<T> var<T>(const Tensor<T>&, const Dims&, bool, std::size_t);                               \
    EXTERN template Tensor<T> logsumexp<T>(const Tensor<T>&, const Dims&, bool);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_REDUCE_TEMPLATES)
}
