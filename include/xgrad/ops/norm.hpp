// Normalisation ops: layer_norm (fused kernels, its backward rule also in tensor ops for second
// derivatives), batch_norm (composed from differentiable primitives), group_norm (layer_norm over groups).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../kernels/norm.hpp"
#include "elementwise.hpp"
#include "reduce.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // The gradients of layer_norm in tensor ops (so that they can be differentiated again), for the
        // parents {input, weight, bias} that are defined; x̂ = (x - mean) · rstd, g = dL/dy · weight:
        //   dL/dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)),   dL/dweight = Σ dL/dy · x̂,   dL/dbias = Σ dL/dy
        template <class T>
        Grads<T> layer_norm_grads(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias,
                                  const Dims& dims, double eps, const Tensor<T>& dout)
        {
            const Tensor<T> centered = sub(input, mean(input, dims, true));
            const Tensor<T> rstd = pow(add(mean(mul(centered, centered), dims, true), T(eps)), -0.5);
            const Tensor<T> x_hat = mul(centered, rstd);
            const Tensor<T> g = weight.defined() ? mul(dout, weight) : dout;
            Grads<T> grads{mul(rstd, sub(sub(g, mean(g, dims, true)), mul(x_hat, mean(mul(g, x_hat), dims, true))))};
            if (weight.defined())
                grads.push_back(sum_to(mul(dout, x_hat), weight.shape()));
            if (bias.defined())
                grads.push_back(sum_to(dout, bias.shape()));
            return grads;
        }
    }

    namespace detail
    {
        // A per-channel tensor (C) as (1, C, 1, ...) of rank `ndim`, to broadcast against (N, C, ...).
        template <class T>
        Tensor<T> per_channel(const Tensor<T>& values, std::size_t ndim)
        {
            Dims shape(ndim, 1);
            shape[1] = static_cast<std::ptrdiff_t>(values.numel());
            return reshape(values, shape);
        }
    }

    // y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the trailing dims given by
    // normalized_shape (biased variance, as PyTorch).   x: (..., *normalized_shape)
    // One fused kernel each way (kernels/norm.hpp); the backward rule is detail::layer_norm_grads.
    template <class T>
    Tensor<T> layer_norm(const Tensor<T>& input, const Shape& normalized_shape, const Tensor<T>& weight = Tensor<T>(),
                         const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5)
    {
        XGRAD_PROFILE_OP("layer_norm");
        const Shape shape = input.shape();
        const std::size_t k = normalized_shape.size();
        if (k == 0 || k > shape.size() || !std::equal(normalized_shape.begin(), normalized_shape.end(), shape.end() - k))
            throw shape_error("layer_norm: input of shape " + shape_string(shape) +
                              " does not end with normalized_shape " + shape_string(normalized_shape));
        for (const Tensor<T>* affine : {&weight, &bias})
            if (affine->defined() && affine->shape() != normalized_shape)
                throw shape_error("layer_norm: weight and bias must have shape " + shape_string(normalized_shape) +
                                  ", got " + shape_string(affine->shape()));
        Dims dims;
        for (std::size_t i = shape.size() - k; i < shape.size(); ++i)
            dims.push_back(static_cast<std::ptrdiff_t>(i));
        // The normalised dims are the trailing ones, so the input is (rows, cols) in memory.
        const std::size_t rows = detail::product(shape, 0, shape.size() - k);
        const std::size_t cols = detail::product(shape, shape.size() - k, shape.size());
        auto data_or_null = [](const Tensor<T>& t) { return t.defined() ? t.value().data() : nullptr; };
        auto value = xt::xarray<T>::from_shape(shape);
        auto row_mean = xt::xarray<T>::from_shape({rows}), row_rstd = xt::xarray<T>::from_shape({rows});   // (rows)
        kernels::layer_norm_rows<T>(rows, cols, input.value().data(), data_or_null(weight), data_or_null(bias), T(eps),
                                    value.data(), row_mean.data(), row_rstd.data());
        std::vector<Tensor<T>> parents{input};
        for (const Tensor<T>& affine : {weight, bias})
            if (affine.defined())
                parents.push_back(affine);
        const Tensor<T> result =
            make_result<T>("layer_norm", std::move(value), std::move(parents), [=](const Tensor<T>& dout) -> Grads<T> {
                if (is_grad_enabled())   // create_graph: the rule in tensor ops
                    return detail::layer_norm_grads(input, weight, bias, dims, eps, dout);
                // An affine gradient is computed only when its parameter is there and wants it.
                auto wanted_grad = [](const Tensor<T>& affine) {
                    return affine.defined() && affine.requires_grad()
                               ? std::optional<xt::xarray<T>>(xt::xarray<T>::from_shape(affine.shape()))
                               : std::nullopt;   // normalized_shape
                };
                std::optional<xt::xarray<T>> weight_grad = wanted_grad(weight), bias_grad = wanted_grad(bias);
                auto grad_data = [](std::optional<xt::xarray<T>>& grad) { return grad ? grad->data() : nullptr; };
                auto input_grad = xt::xarray<T>::from_shape(input.shape());
                kernels::layer_norm_backward_rows<T>(rows, cols, input.value().data(), row_mean.data(), row_rstd.data(),
                                                     data_or_null(weight), dout.value().data(), input_grad.data(),
                                                     grad_data(weight_grad), grad_data(bias_grad));
                Grads<T> grads{constant<T>(std::move(input_grad))};
                if (weight.defined())
                    grads.push_back(weight_grad ? constant<T>(std::move(*weight_grad)) : Tensor<T>());
                if (bias.defined())
                    grads.push_back(bias_grad ? constant<T>(std::move(*bias_grad)) : Tensor<T>());
                return grads;
            });
        return record_attributes(result, [&] {
            return OpAttributes()
                .set_int("normalized_dims", k)
                .set_ints("affine", {weight.defined(), bias.defined()})
                .set_real("eps", eps);
        });
    }

    // Batch normalisation over every dim but the channel dim 1: x (N, C), (N, C, L) or (N, C, H, W).
    // Training: normalise with the batch's mean and biased variance, and update the running statistics in
    // place: running = (1 - momentum) running + momentum * batch (unbiased variance), as PyTorch.
    // Evaluation: normalise with the running statistics.
    template <class T>
    Tensor<T> batch_norm(const Tensor<T>& input, const Tensor<T>& running_mean, const Tensor<T>& running_var,
                         const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                         bool training = true, double momentum = 0.1, double eps = 1e-5)
    {
        XGRAD_PROFILE_OP("batch_norm");
        if (input.ndim() < 2)
            throw shape_error("batch_norm: input must be (N, C, ...), got shape " + shape_string(input.shape()));
        const std::size_t channels = input.shape(1);
        for (const Tensor<T>* per_channel : {&running_mean, &running_var, &weight, &bias})
            if (per_channel->defined() && per_channel->shape() != Shape{channels})
                throw shape_error("batch_norm: per-channel tensors must have shape (" + std::to_string(channels) +
                                  ",) for input of shape " + shape_string(input.shape()) + ", got " +
                                  shape_string(per_channel->shape()));
        auto per_channel = [&](const Tensor<T>& t) { return detail::per_channel(t, input.ndim()); };
        Dims dims{0};
        for (std::size_t i = 2; i < input.ndim(); ++i)
            dims.push_back(static_cast<std::ptrdiff_t>(i));

        Tensor<T> y;
        if (training)
        {
            const std::size_t count = input.numel() / channels;
            if (count < 2)
                throw value_error("batch_norm: training needs more than one value per channel, got input shape " +
                                  shape_string(input.shape()));
            const Tensor<T> centered = sub(input, mean(input, dims, true));
            const Tensor<T> variance = mean(mul(centered, centered), dims, true);
            y = div(centered, sqrt(add(variance, T(eps))));
            if (running_mean.defined() && running_var.defined())
            {
                NoGradGuard statistics_are_not_trained;
                const T m = T(momentum);
                const T unbiased = T(count) / T(count - 1);
                running_mean.mutable_value() =
                    (T(1) - m) * running_mean.value() + m * xt::xarray<T>(xt::mean(input.value(), std::vector<std::size_t>(dims.begin(), dims.end())));
                running_var.mutable_value() =
                    (T(1) - m) * running_var.value() + m * unbiased * xt::flatten(variance.value());
            }
        }
        else
        {
            if (!running_mean.defined() || !running_var.defined())
                throw value_error("batch_norm: evaluation mode needs running_mean and running_var");
            y = div(sub(input, per_channel(running_mean)), sqrt(add(per_channel(running_var), T(eps))));
        }
        if (weight.defined())
            y = mul(y, per_channel(weight));
        if (bias.defined())
            y = add(y, per_channel(bias));
        if (training)
            return y;
        // Evaluation is one ONNX BatchNormalization: the exporter reads this node, not the arithmetic above.
        std::vector<Tensor<T>> inputs{input, running_mean, running_var};
        for (const Tensor<T>& affine : {weight, bias})
            if (affine.defined())
                inputs.push_back(affine);
        return record_composite("batch_norm", y, std::move(inputs), [&] {
            return OpAttributes().set_ints("affine", {weight.defined(), bias.defined()}).set_real("eps", eps);
        });
    }

    // y = (x - mean) / sqrt(var + eps) · weight[c] + bias[c], the statistics of each sample over each of
    // num_groups groups of consecutive channels with all their positions (biased variance), as
    // torch.nn.functional.group_norm.   x: (N, C, *)   weight, bias: (C) or undefined
    // The normalisation is layer_norm of x seen as (N, num_groups, C / num_groups · *), so its first and
    // second derivatives are layer_norm's; the affine part is broadcasting.
    template <class T>
    Tensor<T> group_norm(const Tensor<T>& input, std::size_t num_groups, const Tensor<T>& weight = Tensor<T>(),
                         const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5)
    {
        XGRAD_PROFILE_OP("group_norm");
        const Shape shape = input.shape();
        if (shape.size() < 2)
            throw shape_error("group_norm: input must be (N, C, ...), got shape " + shape_string(shape));
        const std::size_t channels = shape[1];
        if (num_groups == 0 || channels % num_groups != 0)
            throw value_error("group_norm: num_groups = " + std::to_string(num_groups) + " must divide the " +
                              std::to_string(channels) + " channels of input " + shape_string(shape));
        for (const Tensor<T>* affine : {&weight, &bias})
            if (affine->defined() && affine->shape() != Shape{channels})
                throw shape_error("group_norm: weight and bias must have shape (" + std::to_string(channels) +
                                  ",) for input of shape " + shape_string(shape) + ", got " +
                                  shape_string(affine->shape()));
        const std::size_t group_size = channels / num_groups * detail::product(shape, 2, shape.size());
        if (group_size == 0)
            throw shape_error("group_norm: input " + shape_string(shape) + " has no positions to normalise");
        const Tensor<T> grouped = detail::reshape_exact(input, Shape{shape[0], num_groups, group_size});
        Tensor<T> y = detail::reshape_exact(layer_norm(grouped, Shape{group_size}, Tensor<T>(), Tensor<T>(), eps), shape);
        if (weight.defined())
            y = mul(y, detail::per_channel(weight, shape.size()));
        return bias.defined() ? add(y, detail::per_channel(bias, shape.size())) : y;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_NORM_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template Tensor<T> layer_norm<T>(const Tensor<T>&, const Shape&, const Tensor<T>&, const Tensor<T>&,       \
                                            double);                                                                  \
    EXTERN template Tensor<T> group_norm<T>(const Tensor<T>&, std::size_t, const Tensor<T>&, const Tensor<T>&,        \
                                            double);                                                                  \
    EXTERN template Tensor<T> batch_norm<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,   \
                                            const Tensor<T>&, bool, double, double);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_NORM_TEMPLATES)
}
