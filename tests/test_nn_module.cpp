// nn::Module: torch.nn's parameter and buffer names and shapes, user-defined modules, state dicts (round
// trip and strict loading), train/eval, zero_grad and the printed summary.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::message_of;

namespace
{
    std::vector<std::string> names_of(const nn::Module<float>::NamedTensors& named)
    {
        std::vector<std::string> names;
        for (const auto& [name, tensor] : named)
            names.push_back(name);
        return names;
    }

    template <class T>
    std::vector<std::string> state_names(const nn::Module<T>& module)
    {
        std::vector<std::string> names;
        for (const auto& [name, value] : module.state_dict())
            names.push_back(name);
        return names;
    }

    template <class T>
    Shape shape_of(const nn::Module<T>& module, const std::string& name)
    {
        for (const auto& [key, tensor] : module.named_parameters())
            if (key == name)
                return tensor.shape();
        for (const auto& [key, tensor] : module.named_buffers())
            if (key == name)
                return tensor.shape();
        FAIL("no parameter or buffer named " << name);
        return {};
    }

    bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

    // A user-defined module: y = scale * encoder(x) + offset, with a child and a buffer.
    class Scaled : public nn::Module<float>
    {
    public:
        Scaled()
        {
            scale = register_parameter("scale", full<float>({3}, 2.f));
            encoder = register_module("encoder", nn::Linear<float>(2, 3));
            steps = register_buffer("steps", zeros<float>({}));
            head = register_module("head", nn::Sequential<float>(nn::Linear<float>(3, 3), nn::Tanh<float>()));
        }
        Tensor<float> forward(const Tensor<float>& x) override
        {
            steps.mutable_value() += 1.f;
            return head->forward(mul(encoder->forward(x), scale));
        }
        std::string type_name() const override { return "Scaled"; }

        Tensor<float> scale, steps;
        std::shared_ptr<nn::Linear<float>> encoder;
        std::shared_ptr<nn::Sequential<float>> head;
    };
}

TEST_CASE("Linear has torch's weight (out, in) and bias (out)")
{
    nn::Linear<float> layer(4, 3);
    CHECK(names_of(layer.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(layer.weight.shape() == Shape{3, 4});
    CHECK(layer.bias.shape() == Shape{3});
    CHECK(layer.weight.requires_grad());
    CHECK(layer.parameter_count() == 15);
    nn::Linear<float> no_bias(4, 3, false);
    CHECK(names_of(no_bias.named_parameters()) == std::vector<std::string>{"weight"});
    CHECK(layer(ones<float>({5, 4})).shape() == Shape{5, 3});
    CHECK(layer(ones<float>({2, 5, 4})).shape() == Shape{2, 5, 3});
}

TEST_CASE("Sequential names its children 0, 1, ... and deduces its scalar type")
{
    nn::Sequential model{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2)};
    static_assert(std::is_same<decltype(model), nn::Sequential<float>>::value, "CTAD takes the first module's type");
    CHECK(names_of(model.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    CHECK(shape_of(model, "0.weight") == Shape{8, 4});
    CHECK(shape_of(model, "2.weight") == Shape{2, 8});
    CHECK(model.size() == 3);
    CHECK(model[1].type_name() == "ReLU");
    CHECK_THROWS_AS(model[3], value_error);
    CHECK(model.parameters(false).empty());   // the parameters belong to the children
    CHECK(model(ones<float>({5, 4})).shape() == Shape{5, 2});

    nn::Sequential<double> doubles(nn::Linear<double>(2, 2));
    doubles.push_back(nn::Sigmoid<double>());
    CHECK(doubles.size() == 2);

    // set: another module in a child's place, under the same name; forward goes through it.
    model.set(2, std::make_shared<nn::Linear<float>>(8, 3));
    CHECK(shape_of(model, "2.weight") == Shape{3, 8});
    CHECK(model(ones<float>({5, 4})).shape() == Shape{5, 3});
    CHECK_THROWS_AS(model.set(3, std::make_shared<nn::ReLU<float>>()), value_error);
}

TEST_CASE("MultiheadAttention, TransformerEncoderLayer and TransformerEncoder name their parameters as torch.nn")
{
    nn::MultiheadAttention<float> attention(8, 2);
    CHECK(names_of(attention.named_parameters()) ==
          std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
    CHECK(shape_of(attention, "in_proj_weight") == Shape{24, 8});
    CHECK(shape_of(attention, "in_proj_bias") == Shape{24});
    CHECK(shape_of(attention, "out_proj.weight") == Shape{8, 8});
    CHECK(shape_of(attention, "out_proj.bias") == Shape{8});

    nn::TransformerEncoderLayer<float> layer(8, 2, 16, 0.0);
    const std::vector<std::string> layer_names{
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
    CHECK(names_of(layer.named_parameters()) == layer_names);
    CHECK(shape_of(layer, "linear1.weight") == Shape{16, 8});
    CHECK(shape_of(layer, "linear2.weight") == Shape{8, 16});
    CHECK(shape_of(layer, "norm2.bias") == Shape{8});

    nn::TransformerEncoder<float> encoder(layer, 2, true);
    const auto names = names_of(encoder.named_parameters());
    REQUIRE(names.size() == 2 * layer_names.size() + 2);
    CHECK(names.front() == "layers.0.self_attn.in_proj_weight");
    CHECK(names[layer_names.size()] == "layers.1.self_attn.in_proj_weight");
    CHECK(names.back() == "norm.bias");
}

TEST_CASE("BatchNorm keeps running_mean and running_var as buffers, after its parameters in the state dict")
{
    nn::BatchNorm2d<float> norm(3);
    CHECK(names_of(norm.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    const auto buffers = names_of(norm.named_buffers());
    REQUIRE(buffers.size() >= 2);
    CHECK(buffers[0] == "running_mean");
    CHECK(buffers[1] == "running_var");
    CHECK(shape_of(norm, "running_mean") == Shape{3});
    const auto state = state_names(norm);
    CHECK(std::vector<std::string>(state.begin(), state.begin() + 4) ==
          std::vector<std::string>{"weight", "bias", "running_mean", "running_var"});
    CHECK(norm.parameter_count() == 6);   // buffers are not trained

    nn::BatchNorm1d<float> plain(4, 1e-5, 0.1, false);
    CHECK(plain.named_parameters().empty());
    CHECK(plain.named_buffers().size() == buffers.size());
}

TEST_CASE("a user-defined module registers parameters, buffers and children under dotted names")
{
    Scaled model;
    CHECK(names_of(model.named_parameters()) ==
          std::vector<std::string>{"scale", "encoder.weight", "encoder.bias", "head.0.weight", "head.0.bias"});
    CHECK(names_of(model.named_parameters(false)) == std::vector<std::string>{"scale"});
    CHECK(names_of(model.named_buffers()) == std::vector<std::string>{"steps"});
    CHECK(state_names(model) == std::vector<std::string>{"scale", "steps", "encoder.weight", "encoder.bias",
                                                         "head.0.weight", "head.0.bias"});
    CHECK(model.parameter_count() == 3 + 6 + 3 + 9 + 3);
    CHECK(model.named_children().size() == 2);

    // Gradients reach every registered parameter, and the buffer is state, not a parameter.
    const Tensor<float> y = model(ones<float>({4, 2}));
    sum(y).backward();
    for (const auto& entry : model.named_parameters())
    {
        const auto& name = entry.first;
        const auto& p = entry.second;
        INFO(name);
        CHECK(p.has_grad());
    }
    CHECK(model.steps.item() == 1.f);
    CHECK(model.state_dict()["steps"]() == 1.f);
}

TEST_CASE("state_dict copies the values and load_state_dict restores them")
{
    Scaled source, target;
    const Tensor<float> x = randn<float>({3, 2});
    source(x);
    const auto saved = source.state_dict();
    CHECK(saved.size() == 6);
    // A copy: changing the module afterwards does not change the saved state.
    source.scale.mutable_value()(0) = 100.f;
    CHECK(saved["scale"](0) == 2.f);
    source.load_state_dict(saved);
    CHECK(source.scale.value()(0) == 2.f);

    target.load_state_dict(saved);
    for (const auto& entry : target.state_dict())
    {
        const auto& name = entry.first;
        const auto& value = entry.second;
        INFO(name);
        CHECK(value == saved[name]);
    }
    CHECK(target.steps.item() == 1.f);
    CHECK(target(x).value() == source(x).value());
    // The loaded tensors are still the module's parameters (same nodes, still trained).
    CHECK(target.encoder->weight.node() == target.named_parameters()[1].second.node());
    CHECK(target.encoder->weight.requires_grad());
}

TEST_CASE("load_state_dict is strict: missing, unexpected and wrong-shaped entries throw and change nothing")
{
    nn::Sequential<float> model(nn::Linear<float>(3, 2), nn::ReLU<float>(), nn::Linear<float>(2, 1));
    const auto before = model.state_dict();
    nn::Sequential<float> other(nn::Linear<float>(3, 2), nn::ReLU<float>(), nn::Linear<float>(2, 1));
    const auto good = other.state_dict();

    auto without = [&](const std::string& skip) {
        nn::StateDict<float> state;
        for (const auto& entry : good)
        {
            const auto& name = entry.first;
            const auto& value = entry.second;
            if (name != skip)
                state.insert(name, value);
        }
        return state;
    };
    auto check_unchanged = [&] {
        for (const auto& entry : model.state_dict())
        {
            const auto& name = entry.first;
            INFO(name);
            CHECK(entry.second == before[name]);
        }
    };

    SUBCASE("missing")
    {
        const auto state = without("2.bias");   // the last entry: every earlier one would fit
        CHECK_THROWS_AS(model.load_state_dict(state), value_error);
        const std::string message = message_of([&] { model.load_state_dict(state); });
        CHECK(contains(message, "'2.bias'"));
        check_unchanged();
    }
    SUBCASE("unexpected")
    {
        auto state = without("");
        state.insert("2.running_mean", xt::zeros<float>({1}));
        CHECK_THROWS_AS(model.load_state_dict(state), value_error);
        CHECK(contains(message_of([&] { model.load_state_dict(state); }), "'2.running_mean'"));
        check_unchanged();
    }
    SUBCASE("wrong shape")
    {
        auto state = without("2.weight");
        state.insert("2.weight", xt::zeros<float>({2, 1}));   // transposed
        CHECK_THROWS_AS(model.load_state_dict(state), shape_error);
        const std::string message = message_of([&] { model.load_state_dict(state); });
        CHECK(contains(message, "'2.weight'"));
        CHECK(contains(message, "(2, 1)"));
        CHECK(contains(message, "(1, 2)"));
        check_unchanged();
    }
    SUBCASE("a state dict rejects duplicates and unknown names")
    {
        nn::StateDict<float> state;
        state.insert("a", xt::zeros<float>({1}));
        CHECK_THROWS_AS(state.insert("a", xt::zeros<float>({1})), value_error);
        CHECK_THROWS_AS(state.at("b"), value_error);
    }
}

TEST_CASE("train() and eval() reach every nested module")
{
    nn::Sequential<float> inner(nn::Dropout<float>(0.5), nn::BatchNorm1d<float>(4));
    auto shared_inner = std::make_shared<nn::Sequential<float>>(std::move(inner));
    nn::Sequential<float> model(nn::Linear<float>(4, 4));
    model.push_back(shared_inner);
    nn::TransformerEncoderLayer<float> layer(4, 2, 8, 0.5);
    CHECK(model.is_training());

    model.eval();
    layer.eval();
    CHECK(!model.is_training());
    CHECK(!shared_inner->is_training());
    CHECK(!(*shared_inner)[0].is_training());
    CHECK(!(*shared_inner)[1].is_training());
    CHECK(!layer.dropout->is_training());
    CHECK(!layer.self_attn->is_training());
    // In eval mode dropout is the identity: the same input gives the same output.
    const Tensor<float> x = randn<float>({6, 4});
    CHECK(model(x).value() == model(x).value());
    CHECK(layer(reshape(x, {2, 3, 4})).value() == layer(reshape(x, {2, 3, 4})).value());

    model.train();
    CHECK((*shared_inner)[0].is_training());
    CHECK((*shared_inner)[1].is_training());
    model.train(false);
    CHECK(!(*shared_inner)[1].is_training());
}

TEST_CASE("zero_grad clears the gradient of every parameter")
{
    nn::Sequential<float> model(nn::Linear<float>(3, 4), nn::GELU<float>(), nn::LayerNorm<float>(4));
    sum(model(ones<float>({2, 3}))).backward();
    for (const auto& p : model.parameters())
        CHECK(p.has_grad());
    model.zero_grad();
    for (const auto& p : model.parameters())
        CHECK(!p.has_grad());
    // The next backward starts from zero rather than accumulating.
    sum(model(ones<float>({2, 3}))).backward();
    const auto first = model.parameters()[0].grad();
    model.zero_grad();
    sum(model(ones<float>({2, 3}))).backward();
    CHECK(model.parameters()[0].grad() == first);
}

TEST_CASE("print and summary show the module tree and the parameter count")
{
    nn::Sequential<float> model(nn::Linear<float>(4, 8), nn::ReLU<float>(), nn::Dropout<float>(0.1),
                                nn::Linear<float>(8, 1));
    const std::string text = model.summary();
    CHECK(contains(text, "Sequential("));
    CHECK(contains(text, "(0): Linear(in_features=4, out_features=8, bias=true)"));
    CHECK(contains(text, "(1): ReLU()"));
    CHECK(contains(text, "(2): Dropout(p=0.1)"));
    CHECK(contains(text, "(3): Linear(in_features=8, out_features=1, bias=true)"));
    CHECK(contains(text, "49"));   // 4*8 + 8 + 8*1 + 1
    CHECK(model.parameter_count() == 49);
    std::ostringstream printed;
    printed << model;
    CHECK(contains(text, printed.str()));

    nn::TransformerEncoderLayer<float> layer(8, 2, 16, 0.0);
    const std::string layer_text = layer.summary();
    CHECK(contains(layer_text, "(self_attn): MultiheadAttention("));
    CHECK(contains(layer_text, "(out_proj): Linear(in_features=8, out_features=8"));
    CHECK(contains(layer_text, std::to_string(3 * 8 * 8 + 3 * 8 + 8 * 8 + 8 + 16 * 8 + 16 + 8 * 16 + 8 + 4 * 8)));
}
