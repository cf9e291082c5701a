// nn::MultiheadAttention, batch-first, with torch.nn.MultiheadAttention's parameters (in_proj_weight,
// in_proj_bias, out_proj.weight, out_proj.bias) and mask conventions.
#pragma once

#include <limits>
#include <optional>
#include <string>

#include "../config.hpp"
#include "../ops/attention.hpp"
#include "../ops/shape.hpp"
#include "init.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class MultiheadAttention : public Module<T>
    {
    public:
        MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, double dropout = 0.0, bool bias = true)
            : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(dropout)
        {
            if (num_heads == 0 || embed_dim % num_heads != 0)
                throw value_error("MultiheadAttention: embed_dim " + std::to_string(embed_dim) +
                                  " must be divisible by num_heads " + std::to_string(num_heads));
            in_proj_weight = this->register_parameter("in_proj_weight", zeros<T>({3 * embed_dim, embed_dim}));
            init::xavier_uniform_(in_proj_weight);
            if (bias)
                in_proj_bias = this->register_parameter("in_proj_bias", zeros<T>({3 * embed_dim}));
            out_proj = this->register_module("out_proj", Linear<T>(embed_dim, embed_dim, bias));
            if (bias)
                init::zeros_(out_proj->bias);
        }

        // query: (N, L, E)   key, value: (N, S, E)   ->   (N, L, E)
        // key_padding_mask (N, S): true marks a padding key to ignore.  attn_mask (L, S): true marks a pair
        // that may NOT attend (torch.nn.MultiheadAttention's convention).  is_causal hides later keys.
        Tensor<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                          const std::optional<xt::xarray<bool>>& key_padding_mask = std::nullopt,
                          const std::optional<xt::xarray<bool>>& attn_mask = std::nullopt, bool is_causal = false)
        {
            check_inputs(query, key, value, key_padding_mask, attn_mask);
            const std::size_t batch = query.shape(0), length = query.shape(1), source = key.shape(1);
            const std::size_t head_dim = embed_dim_ / num_heads_;
            auto project = [&](const Tensor<T>& x, std::size_t part, std::size_t steps) {
                const Tensor<T> w = narrow(in_proj_weight, 0, part * embed_dim_, embed_dim_);
                const Tensor<T> b = in_proj_bias.defined() ? narrow(in_proj_bias, 0, part * embed_dim_, embed_dim_) : Tensor<T>();
                const auto heads = reshape(linear(x, w, b), {static_cast<std::ptrdiff_t>(batch), static_cast<std::ptrdiff_t>(steps),
                                                             static_cast<std::ptrdiff_t>(num_heads_), static_cast<std::ptrdiff_t>(head_dim)});
                return transpose(heads, 1, 2);   // (N, H, steps, D)
            };
            const Tensor<T> q = project(query, 0, length), k = project(key, 1, source), v = project(value, 2, source);

            // Both boolean masks become one additive mask broadcast to (N, H, L, S).
            Tensor<T> additive;
            if (key_padding_mask || attn_mask)
            {
                xt::xarray<T> mask = xt::zeros<T>({batch, std::size_t(1), length, source});
                if (key_padding_mask)
                    mask += xt::reshape_view(xgrad::detail::additive_from_bool<T>(*key_padding_mask, true),
                                             {batch, std::size_t(1), std::size_t(1), source});
                if (attn_mask)
                    mask += xgrad::detail::additive_from_bool<T>(*attn_mask, true);
                additive = constant<T>(std::move(mask));
            }
            const double p = this->is_training() ? dropout_ : 0.0;
            const Tensor<T> attended = scaled_dot_product_attention(q, k, v, additive, is_causal, p);   // (N, H, L, D)
            const Tensor<T> merged = reshape(transpose(attended, 1, 2), {static_cast<std::ptrdiff_t>(batch),
                                                                        static_cast<std::ptrdiff_t>(length),
                                                                        static_cast<std::ptrdiff_t>(embed_dim_)});
            return (*out_proj)(merged);
        }

        // Self-attention without masks.
        Tensor<T> forward(const Tensor<T>& x) override { return forward(x, x, x); }

        std::string type_name() const override { return "MultiheadAttention"; }
        std::string extra_repr() const override
        {
            return "embed_dim=" + std::to_string(embed_dim_) + ", num_heads=" + std::to_string(num_heads_) +
                   ", dropout=" + format_setting(dropout_);
        }

        Tensor<T> in_proj_weight;                 // (3E, E): query, key and value projections stacked
        Tensor<T> in_proj_bias;                   // (3E)
        std::shared_ptr<Linear<T>> out_proj;      // E -> E

    private:
        void check_inputs(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                          const std::optional<xt::xarray<bool>>& key_padding_mask,
                          const std::optional<xt::xarray<bool>>& attn_mask) const
        {
            const bool shapes_fit = query.ndim() == 3 && key.ndim() == 3 && value.ndim() == 3 &&
                                    query.shape(2) == embed_dim_ && key.shape(2) == embed_dim_ &&
                                    value.shape(2) == embed_dim_ && key.shape(0) == query.shape(0) &&
                                    value.shape(0) == query.shape(0) && key.shape(1) == value.shape(1);
            if (!shapes_fit)
                throw shape_error("MultiheadAttention(embed_dim=" + std::to_string(embed_dim_) +
                                  "): expected query (N, L, " + std::to_string(embed_dim_) + ") and key, value (N, S, " +
                                  std::to_string(embed_dim_) + "), got " + shape_string(query.shape()) + ", " +
                                  shape_string(key.shape()) + ", " + shape_string(value.shape()));
            const Shape padding_shape{query.shape(0), key.shape(1)};
            const Shape pair_shape{query.shape(1), key.shape(1)};
            if (key_padding_mask && !xgrad::detail::shapes_equal(key_padding_mask->shape(), padding_shape))
                throw shape_error("MultiheadAttention: key_padding_mask must be (N, S) = " + shape_string(padding_shape) +
                                  ", got " + shape_string(key_padding_mask->shape()));
            if (attn_mask && !xgrad::detail::shapes_equal(attn_mask->shape(), pair_shape))
                throw shape_error("MultiheadAttention: attn_mask must be (L, S) = " + shape_string(pair_shape) +
                                  ", got " + shape_string(attn_mask->shape()));
        }

        std::size_t embed_dim_, num_heads_;
        double dropout_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_ATTENTION_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template class nn::MultiheadAttention<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_ATTENTION_TEMPLATES)
}
