// Transformer encoder blocks (batch-first) with torch.nn.TransformerEncoderLayer's parameter names, and
// positional encodings (fixed sinusoidal, or learned).
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include "../ops/dropout.hpp"
#include "activation.hpp"
#include "attention.hpp"
#include "dropout.hpp"
#include "linear.hpp"
#include "module.hpp"
#include "norm.hpp"

namespace xgrad::nn
{
    // Modules held in a list, named "0", "1", ...; it has no forward of its own.
    template <class T = float>
    class ModuleList : public Module<T>
    {
    public:
        template <class M>
        std::shared_ptr<M> push_back(std::shared_ptr<M> module)
        {
            return this->register_module(std::to_string(size()), std::move(module));
        }
        std::size_t size() const { return this->named_children().size(); }
        Tensor<T> forward(const Tensor<T>&) override
        {
            throw value_error("ModuleList has no forward: call its modules");
        }
        std::string type_name() const override { return "ModuleList"; }
    };

    struct TransformerEncoderLayerOptions
    {
        std::size_t d_model;
        std::size_t nhead;
        std::size_t dim_feedforward = 2048;
        double dropout = 0.1;
        Activation activation = Activation::relu;
        double layer_norm_eps = 1e-5;
        bool norm_first = false;           // pre-norm (true) or post-norm (false, the original Transformer)
    };

    // One encoder block.  Post-norm: x = norm1(x + SA(x)); x = norm2(x + FF(x)).
    // Pre-norm: x = x + SA(norm1(x)); x = x + FF(norm2(x)).  FF(x) = linear2(dropout(act(linear1(x)))).
    template <class T = float>
    class TransformerEncoderLayer : public Module<T>
    {
    public:
        explicit TransformerEncoderLayer(TransformerEncoderLayerOptions options) : options_(std::move(options))
        {
            self_attn = this->register_module("self_attn",
                                              MultiheadAttention<T>(options_.d_model, options_.nhead, options_.dropout));
            linear1 = this->register_module("linear1", Linear<T>(options_.d_model, options_.dim_feedforward));
            dropout = this->register_module("dropout", Dropout<T>(options_.dropout));
            linear2 = this->register_module("linear2", Linear<T>(options_.dim_feedforward, options_.d_model));
            norm1 = this->register_module("norm1", LayerNorm<T>(options_.d_model, options_.layer_norm_eps));
            norm2 = this->register_module("norm2", LayerNorm<T>(options_.d_model, options_.layer_norm_eps));
            dropout1 = this->register_module("dropout1", Dropout<T>(options_.dropout));
            dropout2 = this->register_module("dropout2", Dropout<T>(options_.dropout));
        }
        TransformerEncoderLayer(std::size_t d_model, std::size_t nhead, std::size_t dim_feedforward = 2048,
                                double dropout = 0.1, const std::string& activation = "relu", bool norm_first = false)
            : TransformerEncoderLayer(TransformerEncoderLayerOptions{
                  d_model, nhead, dim_feedforward, dropout, parse_activation(activation, "TransformerEncoderLayer"),
                  1e-5, norm_first})
        {
        }

        // src: (N, L, d_model).  Masks as MultiheadAttention's.
        Tensor<T> forward(const Tensor<T>& src, const AttentionMask<T>& src_mask,
                          const AttentionMask<T>& src_key_padding_mask = {},
                          bool is_causal = false)
        {
            if (src.ndim() != 3 || src.shape(2) != options_.d_model)
                throw shape_error("TransformerEncoderLayer(d_model=" + std::to_string(options_.d_model) +
                                  "): expected src (N, L, " + std::to_string(options_.d_model) + "), got " +
                                  shape_string(src.shape()));
            auto attend = [&](const Tensor<T>& x) {
                return (*dropout1)(self_attn->forward(x, x, x, src_key_padding_mask, src_mask, is_causal));
            };
            auto feed_forward = [&](const Tensor<T>& x) {
                const Tensor<T> hidden = (*linear1)(x);
                const Tensor<T> activated = activate(options_.activation, hidden);
                return (*dropout2)((*linear2)((*dropout)(activated)));
            };
            if (options_.norm_first)
            {
                const Tensor<T> x = add(src, attend((*norm1)(src)));
                return add(x, feed_forward((*norm2)(x)));
            }
            const Tensor<T> x = (*norm1)(add(src, attend(src)));
            return (*norm2)(add(x, feed_forward(x)));
        }
        Tensor<T> forward(const Tensor<T>& src) override { return forward(src, std::nullopt); }

        const TransformerEncoderLayerOptions& options() const { return options_; }
        std::string type_name() const override { return "TransformerEncoderLayer"; }

        std::shared_ptr<MultiheadAttention<T>> self_attn;
        std::shared_ptr<Linear<T>> linear1, linear2;
        std::shared_ptr<LayerNorm<T>> norm1, norm2;
        std::shared_ptr<Dropout<T>> dropout, dropout1, dropout2;

    private:
        TransformerEncoderLayerOptions options_;
    };

    // A stack of num_layers encoder layers, each starting from a copy of `layer`'s weights (as PyTorch's
    // deep copy), optionally followed by a final LayerNorm ("norm"; use it with pre-norm layers).
    template <class T = float>
    class TransformerEncoder : public Module<T>
    {
    public:
        TransformerEncoder(const TransformerEncoderLayer<T>& layer, std::size_t num_layers, bool final_norm = false)
        {
            layers = this->register_module("layers", ModuleList<T>());
            for (std::size_t i = 0; i < num_layers; ++i)
            {
                auto copy = std::make_shared<TransformerEncoderLayer<T>>(layer.options());
                copy->load_state_dict(layer.state_dict());
                blocks_.push_back(layers->push_back(copy));
            }
            if (final_norm)
                norm = this->register_module("norm", LayerNorm<T>(layer.options().d_model, layer.options().layer_norm_eps));
        }

        Tensor<T> forward(const Tensor<T>& src, const AttentionMask<T>& mask,
                          const AttentionMask<T>& src_key_padding_mask = {},
                          bool is_causal = false)
        {
            Tensor<T> x = src;
            for (const auto& block : blocks_)
                x = block->forward(x, mask, src_key_padding_mask, is_causal);
            return norm ? (*norm)(x) : x;
        }
        Tensor<T> forward(const Tensor<T>& src) override { return forward(src, std::nullopt); }

        std::string type_name() const override { return "TransformerEncoder"; }

        std::shared_ptr<ModuleList<T>> layers;
        std::shared_ptr<LayerNorm<T>> norm;   // null without a final norm

    private:
        std::vector<std::shared_ptr<TransformerEncoderLayer<T>>> blocks_;
    };

    // Checks x: (N, L, d_model) against position codes (max_len, d_model).
    template <class T>
    void check_positions(const char* layer, const Tensor<T>& x, const Tensor<T>& codes)
    {
        if (x.ndim() != 3 || x.shape(2) != codes.shape(1) || x.shape(1) > codes.shape(0))
            throw shape_error(std::string(layer) + ": expected input (N, L, " + std::to_string(codes.shape(1)) +
                              ") with L <= " + std::to_string(codes.shape(0)) + ", got " + shape_string(x.shape()));
    }

    // Adds fixed sinusoidal position codes (Vaswani et al.): pe[pos, 2i] = sin(pos / 10000^(2i/d)),
    // pe[pos, 2i+1] = cos(pos / 10000^(2i/d)).   x: (N, L, d_model), L <= max_len
    template <class T = float>
    class SinusoidalPositionalEncoding : public Module<T>
    {
    public:
        SinusoidalPositionalEncoding(std::size_t d_model, std::size_t max_len = 5000)
            : codes_(xt::xarray<T>(xt::zeros<T>({max_len, d_model})))
        {
            auto& pe = codes_.mutable_value();
            for (std::size_t pos = 0; pos < max_len; ++pos)
                for (std::size_t i = 0; i < d_model; ++i)
                {
                    const double angle = static_cast<double>(pos) /
                                         std::pow(10000.0, static_cast<double>(i - i % 2) / static_cast<double>(d_model));
                    pe(pos, i) = static_cast<T>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
                }
        }
        Tensor<T> forward(const Tensor<T>& x) override
        {
            check_positions("SinusoidalPositionalEncoding", x, codes_);
            return add(x, narrow(codes_, 0, 0, x.shape(1)));
        }
        std::string type_name() const override { return "SinusoidalPositionalEncoding"; }

    private:
        Tensor<T> codes_;   // (max_len, d_model), constant
    };

    // Adds a learned vector per position ("weight", (max_len, d_model), N(0, 1) like an Embedding).
    template <class T = float>
    class LearnedPositionalEncoding : public Module<T>
    {
    public:
        LearnedPositionalEncoding(std::size_t d_model, std::size_t max_len)
        {
            weight = this->register_parameter("weight", zeros<T>({max_len, d_model}));
            init::normal_(weight, 0.0, 1.0);
        }
        Tensor<T> forward(const Tensor<T>& x) override
        {
            check_positions("LearnedPositionalEncoding", x, weight);
            return add(x, narrow(weight, 0, 0, x.shape(1)));
        }
        std::string type_name() const override { return "LearnedPositionalEncoding"; }

        Tensor<T> weight;
    };

}
