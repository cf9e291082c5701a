// Agreement with PyTorch 1.13: the layers load torch's state dicts by name and reproduce torch's outputs,
// updated buffers and gradients (of sum(output * probe), or of a cross-entropy), in float and in double.
// The fixtures come from scripts/make_layer_fixtures.py (see its header to regenerate them).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using json = nlohmann::ordered_json;   // keeps the state dict's order
using xgrad_test::read_array;
using xgrad_test::check_close_to_pytorch;
using xgrad_test::read_mask;

namespace
{
    json load_fixture(const std::string& name)
    {
        return xgrad_test::load_fixture<json>("layers/" + name + ".json", "scripts/make_layer_fixtures.py");
    }

    template <class T>
    nn::StateDict<T> to_state(const json& state)
    {
        nn::StateDict<T> dict;
        for (const auto& [name, t] : state.items())
            dict.insert(name, read_array<T>(t));
        return dict;
    }


    // Indices and boolean masks are read where they are used; float masks are named "float_*".
    bool is_float_input(const std::string& name)
    {
        return name.rfind("float_", 0) == 0 || (name != "ids" && name.find("mask") == std::string::npos);
    }

    // Loads the fixture's state into `module`, runs forward(json, float inputs) and backward, and compares
    // the state dict's names, the output, the loss, the gradients and the buffers with PyTorch's.
    template <class T, class Forward>
    void check_case(const std::string& name, nn::Module<T>& module, Forward&& forward)
    {
        INFO("case " << name);
        const json fixture = load_fixture(name);

        // Same names, same order, same shapes as torch's state_dict.
        std::vector<std::string> ours, theirs;
        for (const auto& [key, value] : module.state_dict())
            ours.push_back(key);
        for (const auto& [key, value] : fixture.at("state").items())
            theirs.push_back(key);
        CHECK(ours == theirs);
        module.load_state_dict(to_state<T>(fixture.at("state")));

        std::map<std::string, Tensor<T>> inputs;
        for (const auto& [key, value] : fixture.at("inputs").items())
            if (is_float_input(key))
                inputs.emplace(key, Tensor<T>(read_array<T>(value), true));
        const Tensor<T> output = forward(fixture, inputs);
        check_close_to_pytorch(name + " output", output.value(), read_array<T>(fixture.at("output")));

        const Tensor<T> loss = fixture.contains("probe")
                                   ? sum(mul(output, constant<T>(read_array<T>(fixture.at("probe")))))
                                   : cross_entropy(output, read_array<std::int64_t>(fixture.at("target")));
        CHECK(static_cast<double>(loss.item()) ==
              doctest::Approx(fixture.at("loss").get<double>()).epsilon(std::is_same<T, float>::value ? 1e-4 : 1e-10));
        loss.backward();

        const json& grads = fixture.at("grads");
        for (const auto& [key, tensor] : inputs)
            check_close_to_pytorch(name + " d/d input " + key, tensor.grad(), read_array<T>(grads.at("input." + key)));
        const auto parameters = module.named_parameters();
        CHECK(parameters.size() + inputs.size() == grads.size());
        for (const auto& entry : parameters)
        {
            const auto& key = entry.first;
            const auto& parameter = entry.second;
            REQUIRE_MESSAGE(grads.contains(key), "PyTorch has no parameter " << key);
            REQUIRE_MESSAGE(parameter.has_grad(), key << " got no gradient");
            check_close_to_pytorch(name + " d/d " + key, parameter.grad(), read_array<T>(grads.at(key)));
        }
        if (fixture.contains("state_after"))
            for (const auto& [key, buffer] : module.named_buffers())
                check_close_to_pytorch(name + " buffer " + key + " after the forward pass", buffer.value(),
                            read_array<T>(fixture.at("state_after").at(key)));
    }

    template <class T>
    using Inputs = std::map<std::string, Tensor<T>>;
}

TEST_CASE_TEMPLATE("Linear agrees with torch.nn.Linear", T, float, double)
{
    nn::Linear<T> layer(4, 3);
    check_case<T>("linear", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
}

TEST_CASE_TEMPLATE("LayerNorm agrees with torch.nn.LayerNorm", T, float, double)
{
    nn::LayerNorm<T> layer(5);
    check_case<T>("layer_norm", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
}

TEST_CASE_TEMPLATE("BatchNorm1d and BatchNorm2d in training agree with torch, running statistics included", T, float,
                   double)
{
    {
        nn::BatchNorm1d<T> layer(3);
        check_case<T>("batch_norm1d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    {
        nn::BatchNorm1d<T> layer(3);
        check_case<T>("batch_norm1d_seq", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    {
        nn::BatchNorm2d<T> layer(3);
        check_case<T>("batch_norm2d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
}

TEST_CASE_TEMPLATE("Embedding agrees with torch.nn.Embedding (repeated ids accumulate)", T, float, double)
{
    nn::Embedding<T> layer(6, 3);
    check_case<T>("embedding", layer,
                  [&](const json& f, Inputs<T>&) { return layer(read_array<std::int64_t>(f.at("inputs").at("ids"))); });
}

TEST_CASE_TEMPLATE("MultiheadAttention agrees with torch (key_padding_mask, causal attn_mask)", T, float, double)
{
    SUBCASE("cross-attention with a key padding mask")
    {
        nn::MultiheadAttention<T> attention(4, 2);
        check_case<T>("mha_padding", attention, [&](const json& f, Inputs<T>& in) {
            return attention.forward(in.at("q"), in.at("k"), in.at("v"), read_mask(f.at("inputs").at("key_padding_mask")));
        });
    }
    SUBCASE("self-attention with a boolean causal attn_mask and padding")
    {
        nn::MultiheadAttention<T> attention(6, 3);
        check_case<T>("mha_causal", attention, [&](const json& f, Inputs<T>& in) {
            const Tensor<T>& x = in.at("x");
            return attention.forward(x, x, x, read_mask(f.at("inputs").at("key_padding_mask")),
                                     read_mask(f.at("inputs").at("attn_mask")));
        });
    }
    SUBCASE("is_causal gives the same numbers as torch's explicit causal mask")
    {
        nn::MultiheadAttention<T> attention(6, 3);
        check_case<T>("mha_causal", attention, [&](const json& f, Inputs<T>& in) {
            const Tensor<T>& x = in.at("x");
            return attention.forward(x, x, x, read_mask(f.at("inputs").at("key_padding_mask")), std::nullopt, true);
        });
    }
}

// The attention's output and weights flattened and joined, as the fixtures' torch.cat.
template <class T>
Tensor<T> output_and_weights(const nn::AttentionOutput<T>& attended)
{
    return cat({reshape(attended.output, {-1}), reshape(attended.weights, {-1})});
}

TEST_CASE_TEMPLATE("MultiheadAttention agrees with torch with float masks, returning the attention weights", T, float,
                   double)
{
    SUBCASE("float (L, S) attn_mask and boolean key padding mask, weights averaged over the heads")
    {
        nn::MultiheadAttention<T> attention(6, 3);
        check_case<T>("mha_float_mask", attention, [&](const json& f, Inputs<T>& in) {
            const Tensor<T>& x = in.at("x");
            return output_and_weights(attention.forward_with_weights(
                x, x, x, read_mask(f.at("inputs").at("key_padding_mask")), in.at("float_attn_mask")));
        });
    }
    SUBCASE("float key padding mask, weights per head")
    {
        nn::MultiheadAttention<T> attention(4, 2);
        check_case<T>("mha_weights_per_head", attention, [&](const json&, Inputs<T>& in) {
            return output_and_weights(attention.forward_with_weights(in.at("q"), in.at("k"), in.at("v"),
                                                                     in.at("float_key_padding_mask"), {}, false));
        });
    }
    SUBCASE("float (N * num_heads, L, S) attn_mask and boolean key padding mask, weights averaged")
    {
        nn::MultiheadAttention<T> attention(4, 2);
        check_case<T>("mha_weights_averaged", attention, [&](const json& f, Inputs<T>& in) {
            const Tensor<T>& x = in.at("x");
            return output_and_weights(attention.forward_with_weights(
                x, x, x, read_mask(f.at("inputs").at("key_padding_mask")), in.at("float_attn_mask")));
        });
    }
}

TEST_CASE_TEMPLATE("TransformerEncoderLayer agrees with torch (post-norm relu, pre-norm gelu, dropout 0)", T, float,
                   double)
{
    SUBCASE("post-norm, relu, key padding mask")
    {
        nn::TransformerEncoderLayer<T> layer(4, 2, 6, 0.0, "relu", false);
        check_case<T>("encoder_layer_post_relu", layer, [&](const json& f, Inputs<T>& in) {
            return layer.forward(in.at("x"), std::nullopt, read_mask(f.at("inputs").at("key_padding_mask")));
        });
    }
    SUBCASE("pre-norm, gelu, causal src_mask")
    {
        nn::TransformerEncoderLayer<T> layer(4, 2, 6, 0.0, "gelu", true);
        check_case<T>("encoder_layer_pre_gelu", layer, [&](const json& f, Inputs<T>& in) {
            return layer.forward(in.at("x"), read_mask(f.at("inputs").at("attn_mask")));
        });
    }
    SUBCASE("pre-norm, gelu, is_causal")
    {
        nn::TransformerEncoderLayer<T> layer(4, 2, 6, 0.0, "gelu", true);
        check_case<T>("encoder_layer_pre_gelu", layer,
                      [&](const json&, Inputs<T>& in) { return layer.forward(in.at("x"), std::nullopt, std::nullopt, true); });
    }
}

TEST_CASE_TEMPLATE("TransformerEncoder (2 layers and a final norm) agrees with torch", T, float, double)
{
    nn::TransformerEncoder<T> encoder(nn::TransformerEncoderLayer<T>(4, 2, 5, 0.0), 2, true);
    check_case<T>("encoder", encoder, [&](const json&, Inputs<T>& in) { return encoder(in.at("x")); });
}

TEST_CASE_TEMPLATE("TransformerDecoderLayer agrees with torch (post-norm relu, pre-norm gelu sequence-first, every "
                   "mask kind)", T, float, double)
{
    SUBCASE("post-norm, relu: boolean tgt_mask, float memory_mask, boolean key padding masks")
    {
        nn::TransformerDecoderLayer<T> layer(4, 2, 6, 0.0, "relu", false);
        check_case<T>("decoder_layer_post_relu", layer, [&](const json& f, Inputs<T>& in) {
            const json& masks = f.at("inputs");
            return layer.forward(in.at("tgt"), in.at("memory"), read_mask(masks.at("tgt_mask")),
                                 in.at("float_memory_mask"), read_mask(masks.at("tgt_key_padding_mask")),
                                 read_mask(masks.at("memory_key_padding_mask")));
        });
    }
    SUBCASE("pre-norm, gelu, batch_first false: float causal tgt_mask, float memory key padding mask")
    {
        nn::TransformerDecoderLayer<T> layer(
            nn::TransformerDecoderLayerOptions{6, 3, 5, 0.0, nn::Activation::gelu, 1e-5, true, false});
        check_case<T>("decoder_layer_pre_gelu_seq_first", layer, [&](const json& f, Inputs<T>& in) {
            return layer.forward(in.at("tgt"), in.at("memory"), nn::Transformer<T>::generate_square_subsequent_mask(4),
                                 {}, read_mask(f.at("inputs").at("tgt_key_padding_mask")),
                                 in.at("float_memory_key_padding_mask"));
        });
    }
}

TEST_CASE_TEMPLATE("TransformerDecoder (2 layers and a final norm) agrees with torch", T, float, double)
{
    nn::TransformerDecoder<T> decoder(nn::TransformerDecoderLayer<T>(4, 2, 5, 0.0), 2, true);
    check_case<T>("decoder", decoder, [&](const json& f, Inputs<T>& in) {
        return decoder.forward(in.at("tgt"), in.at("memory"), nn::Transformer<T>::generate_square_subsequent_mask(3),
                               read_mask(f.at("inputs").at("memory_mask")));
    });
}

TEST_CASE_TEMPLATE("Transformer (encoder and decoder, every mask kind) agrees with torch, state dict keys included", T,
                   float, double)
{
    nn::TransformerOptions options;
    options.d_model = 4;
    options.nhead = 2;
    options.num_encoder_layers = 2;
    options.num_decoder_layers = 2;
    options.dim_feedforward = 6;
    options.dropout = 0.0;
    nn::Transformer<T> transformer(options);
    check_case<T>("transformer", transformer, [&](const json& f, Inputs<T>& in) {
        const json& masks = f.at("inputs");
        return transformer.forward(in.at("src"), in.at("tgt"), in.at("float_src_mask"),
                                   nn::Transformer<T>::generate_square_subsequent_mask(3),
                                   read_mask(masks.at("memory_mask")), read_mask(masks.at("src_key_padding_mask")),
                                   read_mask(masks.at("tgt_key_padding_mask")),
                                   read_mask(masks.at("memory_key_padding_mask")));
    });
}

TEST_CASE_TEMPLATE("A Sequential MLP with cross_entropy agrees with torch", T, float, double)
{
    nn::Sequential<T> mlp(nn::Linear<T>(4, 8), nn::ReLU<T>(), nn::Linear<T>(8, 3));
    check_case<T>("mlp_cross_entropy", mlp, [&](const json&, Inputs<T>& in) { return mlp(in.at("x")); });
}

TEST_CASE_TEMPLATE("GroupNorm agrees with torch.nn.GroupNorm on images and sequences", T, float, double)
{
    {
        nn::GroupNorm<T> layer(2, 4);
        check_case<T>("group_norm", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    {
        nn::GroupNorm<T> layer(3, 6);
        check_case<T>("group_norm_seq", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
}

TEST_CASE_TEMPLATE("ConvTranspose2d agrees with torch (stride, padding, output_padding, groups, dilation)", T, float,
                   double)
{
    SUBCASE("stride 2, padding 1, output_padding 1, groups 2")
    {
        nn::ConvTranspose2d<T> layer(4, 6, 3, nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1).groups(2));
        check_case<T>("conv_transpose2d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    SUBCASE("an output_padding that reaches the stride but not the dilation")
    {
        nn::ConvTranspose2d<T> layer(2, 3, Size2{2, 3},
                                     nn::ConvTranspose2dOptions()
                                         .stride(Size2{1, 2})
                                         .padding(Size2{0, 1})
                                         .output_padding(1)
                                         .dilation(Size2{2, 1}));
        check_case<T>("conv_transpose2d_dilation", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
}

TEST_CASE_TEMPLATE("Conv1d and ConvTranspose1d agree with torch (stride 2, padding, dilation 2, groups 2)", T, float,
                   double)
{
    {
        nn::Conv1d<T> layer(4, 6, 3, nn::Conv1dOptions().stride(2).padding(1).dilation(2).groups(2));
        check_case<T>("conv1d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    {
        nn::ConvTranspose1d<T> layer(
            4, 2, 3, nn::ConvTranspose1dOptions().stride(2).padding(1).output_padding(1).groups(2).dilation(2));
        check_case<T>("conv_transpose1d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
}

TEST_CASE_TEMPLATE("MaxPool1d and AvgPool1d agree with torch (kernel 3, stride 2, padding 1)", T, float, double)
{
    {
        nn::MaxPool1d<T> layer(3, 2, 1);
        check_case<T>("max_pool1d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
    {
        nn::AvgPool1d<T> layer(3, 2, 1);
        check_case<T>("avg_pool1d", layer, [&](const json&, Inputs<T>& in) { return layer(in.at("x")); });
    }
}
