// Normalisation layers: LayerNorm, BatchNorm1d, BatchNorm2d and GroupNorm, with PyTorch's parameters and
// buffers.
#pragma once

#include <algorithm>
#include <string>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "../ops/norm.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class LayerNorm : public Module<T>
    {
    public:
        explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true)
            : normalized_shape_(std::move(normalized_shape)), eps_(eps)
        {
            if (elementwise_affine)
            {
                weight = this->register_parameter("weight", ones<T>(normalized_shape_));
                bias = this->register_parameter("bias", zeros<T>(normalized_shape_));
            }
        }
        explicit LayerNorm(std::size_t normalized_size, double eps = 1e-5, bool elementwise_affine = true)
            : LayerNorm(Shape{normalized_size}, eps, elementwise_affine)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            const Shape shape = input.shape();
            const std::size_t k = normalized_shape_.size();
            if (k > shape.size() || !std::equal(normalized_shape_.begin(), normalized_shape_.end(), shape.end() - k))
            {
                std::string trailing;
                for (auto extent : normalized_shape_)
                    trailing += ", " + std::to_string(extent);
                throw shape_error("LayerNorm(" + shape_string(normalized_shape_) + "): expected input (..." + trailing +
                                  "), got shape " + shape_string(shape));
            }
            return layer_norm(input, normalized_shape_, weight, bias, eps_);
        }
        std::string type_name() const override { return "LayerNorm"; }
        std::string extra_repr() const override
        {
            return shape_string(normalized_shape_) + ", eps=" + format_setting(eps_) +
                   ", elementwise_affine=" + (weight.defined() ? "true" : "false");
        }

        Tensor<T> weight;   // normalized_shape, ones
        Tensor<T> bias;     // normalized_shape, zeros

    private:
        Shape normalized_shape_;
        double eps_;
    };

    // Batch normalisation over (N, C) / (N, C, L) inputs (BatchNorm1d, input_rank 2 or 3) or (N, C, H, W)
    // inputs (BatchNorm2d, input_rank 4).
    template <class T>
    class BatchNorm : public Module<T>
    {
    public:
        BatchNorm(std::string type_name, std::size_t num_features, double eps, double momentum, bool affine)
            : type_name_(std::move(type_name)), num_features_(num_features), eps_(eps), momentum_(momentum)
        {
            if (affine)
            {
                weight = this->register_parameter("weight", ones<T>({num_features}));
                bias = this->register_parameter("bias", zeros<T>({num_features}));
            }
            running_mean = this->register_buffer("running_mean", zeros<T>({num_features}));
            running_var = this->register_buffer("running_var", ones<T>({num_features}));
            num_batches_tracked = this->register_buffer("num_batches_tracked", zeros<T>({}));
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            const bool rank_fits = type_name_ == "BatchNorm2d" ? input.ndim() == 4 : (input.ndim() == 2 || input.ndim() == 3);
            if (!rank_fits || input.shape(1) != num_features_)
                throw shape_error(type_name_ + "(" + std::to_string(num_features_) + "): expected input " +
                                  (type_name_ == "BatchNorm2d" ? "(N, C, H, W)" : "(N, C) or (N, C, L)") + " with C = " +
                                  std::to_string(num_features_) + ", got shape " + shape_string(input.shape()));
            const Tensor<T> output =
                batch_norm(input, running_mean, running_var, weight, bias, this->is_training(), momentum_, eps_);
            if (this->is_training())
                num_batches_tracked.mutable_value() += T(1);
            return output;
        }
        std::string type_name() const override { return type_name_; }
        std::string extra_repr() const override
        {
            return std::to_string(num_features_) + ", eps=" + format_setting(eps_) +
                   ", momentum=" + format_setting(momentum_) + ", affine=" + (weight.defined() ? "true" : "false");
        }

        std::size_t num_features() const { return num_features_; }
        double eps() const { return eps_; }
        double momentum() const { return momentum_; }

        Tensor<T> weight, bias;                  // (C): scale and shift
        Tensor<T> running_mean, running_var;     // (C): buffers, saved in the state dict
        Tensor<T> num_batches_tracked;           // (): training batches seen, as torch's (which stores an int64)

    private:
        std::string type_name_;
        std::size_t num_features_;
        double eps_, momentum_;
    };

    template <class T = float>
    class BatchNorm1d : public BatchNorm<T>
    {
    public:
        explicit BatchNorm1d(std::size_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
            : BatchNorm<T>("BatchNorm1d", num_features, eps, momentum, affine)
        {
        }
    };

    template <class T = float>
    class BatchNorm2d : public BatchNorm<T>
    {
    public:
        explicit BatchNorm2d(std::size_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
            : BatchNorm<T>("BatchNorm2d", num_features, eps, momentum, affine)
        {
        }
    };

    // Normalisation of each sample over groups of channels (N, C, *): num_groups must divide num_channels;
    // the affine weight and bias are per channel (ones, zeros), as torch.nn.GroupNorm.
    template <class T = float>
    class GroupNorm : public Module<T>
    {
    public:
        GroupNorm(std::size_t num_groups, std::size_t num_channels, double eps = 1e-5, bool affine = true)
            : num_groups_(num_groups), num_channels_(num_channels), eps_(eps)
        {
            if (num_groups == 0 || num_channels % num_groups != 0)
                throw value_error("GroupNorm: num_groups " + std::to_string(num_groups) +
                                  " must divide num_channels " + std::to_string(num_channels));
            if (affine)
            {
                weight = this->register_parameter("weight", ones<T>({num_channels}));
                bias = this->register_parameter("bias", zeros<T>({num_channels}));
            }
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            if (input.ndim() < 2 || input.shape(1) != num_channels_)
                throw shape_error("GroupNorm(" + extra_repr() + "): expected input (N, " +
                                  std::to_string(num_channels_) + ", *), got shape " + shape_string(input.shape()));
            return group_norm(input, num_groups_, weight, bias, eps_);
        }
        std::string type_name() const override { return "GroupNorm"; }
        std::string extra_repr() const override
        {
            return std::to_string(num_groups_) + ", " + std::to_string(num_channels_) +
                   ", eps=" + format_setting(eps_) + ", affine=" + (weight.defined() ? "true" : "false");
        }

        Tensor<T> weight;   // (C), ones
        Tensor<T> bias;     // (C), zeros

    private:
        std::size_t num_groups_, num_channels_;
        double eps_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_NORM_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template class nn::LayerNorm<T>;                                                                           \
    EXTERN template class nn::BatchNorm<T>;                                                                           \
    EXTERN template class nn::BatchNorm1d<T>;                                                                         \
    EXTERN template class nn::BatchNorm2d<T>;                                                                         \
    EXTERN template class nn::GroupNorm<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_NORM_TEMPLATES)
}
