// nn::MultiheadAttention, batch-first by default (or sequence-first, as torch's default), with
// torch.nn.MultiheadAttention's parameters (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias),
// mask conventions (boolean or float) and attention weights.
#pragma once

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
    // A mask as torch.nn.MultiheadAttention takes one: boolean, true marking what may NOT attend, or float,
    // added to the attention scores (-inf blocks, other values bias; a float mask that requires grad gets
    // one).  Default-constructed, or from std::nullopt: no mask.
    template <class T>
    class AttentionMask
    {
    public:
        AttentionMask() = default;
        AttentionMask(std::nullopt_t) {}
        AttentionMask(const xt::xarray<bool>& blocked)
            : additive_(constant<T>(xgrad::detail::additive_from_bool<T>(blocked, true)))
        {}
        AttentionMask(const std::optional<xt::xarray<bool>>& blocked)
        {
            if (blocked)
                additive_ = constant<T>(xgrad::detail::additive_from_bool<T>(*blocked, true));
        }
        AttentionMask(Tensor<T> additive) : additive_(std::move(additive)) {}

        bool defined() const { return additive_.defined(); }
        Shape shape() const { return additive_.shape(); }
        std::size_t ndim() const { return additive_.ndim(); }
        // The scores to add: 0 and -inf for a boolean mask, the values of a float one.
        const Tensor<T>& additive() const { return additive_; }

    private:
        Tensor<T> additive_;
    };

    // The output of attention (N, L, E) and the weights that mixed the values: (N, L, S) averaged over the
    // heads, or (N, num_heads, L, S).
    template <class T>
    struct AttentionOutput
    {
        Tensor<T> output;
        Tensor<T> weights;
    };

    // MultiheadAttention's settings, torch's keywords: nn::MultiheadAttentionOptions().dropout(0.1).batch_first(false).
    // batch_first is xgrad's default (sequences as (N, L, E)); false takes and returns (L, N, E) as torch's default.
    class MultiheadAttentionOptions : public ChainedOptions<MultiheadAttentionOptions>
    {
    public:
        XGRAD_OPTION(double, dropout) = 0.0;
        XGRAD_OPTION(bool, bias) = true;
        XGRAD_OPTION(bool, batch_first) = true;
    };

    template <class T = float>
    class MultiheadAttention : public Module<T>
    {
    public:
        MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, double dropout = 0.0, bool bias = true)
            : MultiheadAttention(embed_dim, num_heads, MultiheadAttentionOptions().dropout(dropout).bias(bias))
        {}
        MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, const MultiheadAttentionOptions& options)
            : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(options.dropout()),
              batch_first_(options.batch_first())
        {
            const bool bias = options.bias();
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

        // query: (N, L, E)   key, value: (N, S, E)   ->   (N, L, E); without batch_first (L, N, E), (S, N, E) -> (L, N, E)
        // key_padding_mask (N, S) masks keys; attn_mask (L, S), or (N * num_heads, L, S) with row n * num_heads + h
        // for head h of sample n, masks query-key pairs.  Each is boolean or float (see AttentionMask); given
        // both, their additive forms add (PyTorch 1.13 reads a float key_padding_mask as boolean beside a
        // boolean attn_mask and drops it beside a float one).  is_causal hides later keys.
        Tensor<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                          const AttentionMask<T>& key_padding_mask = {}, const AttentionMask<T>& attn_mask = {},
                          bool is_causal = false)
        {
            return attend(query, key, value, key_padding_mask, attn_mask, is_causal).output;
        }

        // forward and its attention weights, as torch's need_weights=True: the softmax of the scores after
        // dropout, averaged over the heads (N, L, S), or per head (N, num_heads, L, S) when
        // average_attn_weights is false (batch first whatever batch_first says, as torch's).
        AttentionOutput<T> forward_with_weights(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                                const AttentionMask<T>& key_padding_mask = {},
                                                const AttentionMask<T>& attn_mask = {},
                                                bool average_attn_weights = true)
        {
            AttentionOutput<T> result = attend(query, key, value, key_padding_mask, attn_mask, false);
            if (average_attn_weights)
                result.weights = mean(result.weights, 1);
            return result;
        }

        // Self-attention without masks.
        Tensor<T> forward(const Tensor<T>& x) override { return forward(x, x, x); }

        std::string type_name() const override { return "MultiheadAttention"; }
        std::string extra_repr() const override
        {
            return "embed_dim=" + std::to_string(embed_dim_) + ", num_heads=" + std::to_string(num_heads_) +
                   ", dropout=" + format_setting(dropout_) + (batch_first_ ? "" : ", batch_first=False");
        }

        Tensor<T> in_proj_weight;              // (3E, E): query, key and value projections stacked
        Tensor<T> in_proj_bias;                // (3E)
        std::shared_ptr<Linear<T>> out_proj;   // E -> E

    private:
        // The output (in the module's layout) and the per-head weights (N, H, L, S).
        AttentionOutput<T> attend(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                  const AttentionMask<T>& key_padding_mask, const AttentionMask<T>& attn_mask,
                                  bool is_causal)
        {
            if (batch_first_)
                return attend_batch_first(query, key, value, key_padding_mask, attn_mask, is_causal);
            check_sequence_first(query, key, value);
            AttentionOutput<T> result =
                attend_batch_first(transpose(query, 0, 1), transpose(key, 0, 1), transpose(value, 0, 1),
                                   key_padding_mask, attn_mask, is_causal);
            result.output = transpose(result.output, 0, 1);   // (N, L, E) -> (L, N, E)
            return result;
        }

        // attend on (N, L, E) and (N, S, E).
        AttentionOutput<T> attend_batch_first(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                              const AttentionMask<T>& key_padding_mask,
                                              const AttentionMask<T>& attn_mask, bool is_causal)
        {
            check_inputs(query, key, value, key_padding_mask, attn_mask);
            const auto batch = static_cast<std::ptrdiff_t>(query.shape(0));
            const auto length = static_cast<std::ptrdiff_t>(query.shape(1));
            const auto source = static_cast<std::ptrdiff_t>(key.shape(1));
            const auto heads = static_cast<std::ptrdiff_t>(num_heads_);
            const auto head_dim = static_cast<std::ptrdiff_t>(embed_dim_ / num_heads_);
            auto project = [&](const Tensor<T>& x, std::size_t part, std::ptrdiff_t steps) {
                const Tensor<T> w = narrow(in_proj_weight, 0, part * embed_dim_, embed_dim_);
                const Tensor<T> b =
                    in_proj_bias.defined() ? narrow(in_proj_bias, 0, part * embed_dim_, embed_dim_) : Tensor<T>();
                return transpose(reshape(linear(x, w, b), {batch, steps, heads, head_dim}), 1, 2);   // (N, H, steps, D)
            };
            const Tensor<T> q = project(query, 0, length), k = project(key, 1, source), v = project(value, 2, source);

            // Both masks as one additive mask that broadcasts to the scores (N, H, L, S).
            Tensor<T> mask;
            if (attn_mask.defined())
                mask = attn_mask.ndim() == 3 ? reshape(attn_mask.additive(), {batch, heads, length, source})
                                             : attn_mask.additive();   // (N, H, L, S) or (L, S)
            if (key_padding_mask.defined())
            {
                const Tensor<T> padding = reshape(key_padding_mask.additive(), {batch, 1, 1, source});
                mask = mask.defined() ? add(mask, padding) : padding;
            }
            const double p = this->is_training() ? dropout_ : 0.0;
            const Tensor<T> weights =
                xgrad::detail::attention_weights(q, k, mask, is_causal, p, default_generator());   // (N, H, L, S)
            const Tensor<T> merged = reshape(transpose(matmul(weights, v), 1, 2), {batch, length, heads * head_dim});
            return {(*out_proj)(merged), weights};
        }

        void check_inputs(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                          const AttentionMask<T>& key_padding_mask, const AttentionMask<T>& attn_mask) const
        {
            const bool shapes_fit = query.ndim() == 3 && key.ndim() == 3 && value.ndim() == 3 &&
                                    query.shape(2) == embed_dim_ && key.shape(2) == embed_dim_ &&
                                    value.shape(2) == embed_dim_ && key.shape(0) == query.shape(0) &&
                                    value.shape(0) == query.shape(0) && key.shape(1) == value.shape(1);
            if (!shapes_fit)
                throw shape_error("MultiheadAttention(embed_dim=" + std::to_string(embed_dim_) +
                                  "): expected query (N, L, " + std::to_string(embed_dim_) +
                                  ") and key, value (N, S, " + std::to_string(embed_dim_) + "), got " +
                                  shape_string(query.shape()) + ", " + shape_string(key.shape()) + ", " +
                                  shape_string(value.shape()));
            const Shape padding_shape{query.shape(0), key.shape(1)};
            const Shape pair_shape{query.shape(1), key.shape(1)};
            const Shape per_head_shape{query.shape(0) * num_heads_, query.shape(1), key.shape(1)};
            if (key_padding_mask.defined() && key_padding_mask.shape() != padding_shape)
                throw shape_error("MultiheadAttention: key_padding_mask must be (N, S) = " +
                                  shape_string(padding_shape) + ", got " + shape_string(key_padding_mask.shape()));
            if (attn_mask.defined() && attn_mask.shape() != pair_shape && attn_mask.shape() != per_head_shape)
                throw shape_error("MultiheadAttention: attn_mask must be (L, S) = " + shape_string(pair_shape) +
                                  " or (N * num_heads, L, S) = " + shape_string(per_head_shape) + ", got " +
                                  shape_string(attn_mask.shape()));
        }

        // Sequence-first inputs must be 3-D before they are transposed; check_inputs then names the layout.
        void check_sequence_first(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value) const
        {
            if (query.ndim() != 3 || key.ndim() != 3 || value.ndim() != 3)
                throw shape_error("MultiheadAttention(embed_dim=" + std::to_string(embed_dim_) +
                                  ", batch_first=False): expected query (L, N, " + std::to_string(embed_dim_) +
                                  ") and key, value (S, N, " + std::to_string(embed_dim_) + "), got " +
                                  shape_string(query.shape()) + ", " + shape_string(key.shape()) + ", " +
                                  shape_string(value.shape()));
        }

        std::size_t embed_dim_, num_heads_;
        double dropout_;
        bool batch_first_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_ATTENTION_TEMPLATES(EXTERN, T)                                                                        \
    EXTERN template class nn::AttentionMask<T>;                                                                        \
    EXTERN template class nn::MultiheadAttention<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_ATTENTION_TEMPLATES)
}
