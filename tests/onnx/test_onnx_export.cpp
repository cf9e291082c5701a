// ONNX export: an MLP, the demo CNN, the char transformer, a Transformer decoder layer (two inputs) and a model
// with BatchNorm, a transposed convolution, an LSTM, a GRU and an RNN are exported with a dynamic batch; each is
// run by xgrad at two batch sizes, and the inputs and xgrad's outputs are written beside the files with a
// manifest (manifest.json) that the next tests read: onnx_runtime_check runs every case in ONNX Runtime
// (run_onnx.js), onnx_checker passes every file to onnx.checker.  Here also: what export refuses, each with a
// typed error.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/onnx.hpp>
#include <xgrad/xgrad.hpp>

#include "char_model.hpp"
#include "fashion_cnn.hpp"

using namespace xgrad;
namespace fs = std::filesystem;

namespace
{
    const fs::path models_dir = XGRAD_ONNX_MODELS_DIR;

    void write_floats(const fs::path& file, const Tensor<float>& tensor)
    {
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char*>(tensor.value().data()),
                  static_cast<std::streamsize>(tensor.numel() * sizeof(float)));
        REQUIRE(out.good());
    }

    // The manifest's cases, written once every model has been exported.
    nlohmann::json& manifest_cases()
    {
        static nlohmann::json cases = nlohmann::json::array();
        return cases;
    }

    // Each model's parameters, by state-dict name, with their shapes: check_onnx.py finds them as initializers.
    nlohmann::json& manifest_parameters()
    {
        static nlohmann::json parameters = nlohmann::json::object();
        return parameters;
    }

    void write_manifest()
    {
        const nlohmann::json manifest{
            {"tolerance", 1e-5}, {"cases", manifest_cases()}, {"parameters", manifest_parameters()}};
        std::ofstream(models_dir / "manifest.json") << manifest.dump(1);
    }

    // Exports `module` with the batch of `make_inputs(2)`, runs it at batch sizes 2 and 5, and records both runs.
    void export_and_record(const std::string& name, nn::Module<float>& module, const io::OnnxForward& forward,
                           const std::function<std::vector<Tensor<float>>(std::size_t)>& make_inputs)
    {
        module.eval();
        const std::string model_file = name + ".onnx";
        io::export_onnx(module, forward, make_inputs(2), (models_dir / model_file).string());
        CHECK(fs::file_size(models_dir / model_file) > 0);
        for (const auto& [parameter, tensor] : module.named_parameters())
            manifest_parameters()[model_file][parameter] = tensor.shape();
        for (const std::size_t batch : {std::size_t(2), std::size_t(5)})
        {
            const std::vector<Tensor<float>> inputs = make_inputs(batch);
            const std::vector<Tensor<float>> outputs = [&] {
                NoGradGuard inference;
                return forward(inputs);
            }();
            const std::string stem = name + "_batch" + std::to_string(batch);
            // The export's default names: "input" and "output", or numbered when there are several.
            auto entries = [&](const std::vector<Tensor<float>>& tensors, const std::string& kind) {
                nlohmann::json list = nlohmann::json::array();
                for (std::size_t i = 0; i < tensors.size(); ++i)
                {
                    const std::string tensor_name = tensors.size() == 1 ? kind : kind + "_" + std::to_string(i);
                    const std::string file = stem + "_" + tensor_name + ".f32";
                    write_floats(models_dir / file, tensors[i]);
                    list.push_back({{"name", tensor_name}, {"file", file}, {"dims", tensors[i].shape()}});
                }
                return list;
            };
            manifest_cases().push_back({{"name", stem},
                                        {"model", model_file},
                                        {"inputs", entries(inputs, "input")},
                                        {"outputs", entries(outputs, "output")}});
        }
        write_manifest();
    }

    io::OnnxForward called(nn::Module<float>& module)
    {
        return [&module](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{module(inputs[0])};
        };
    }

    // Conv2d -> BatchNorm2d -> ReLU -> ConvTranspose2d -> AvgPool2d, the image's rows as a sequence through an
    // LSTM, a GRU and an RNN (batch first), the last step's state -> Linear.  (N, 1, 6, 6) -> (N, 3)
    class RecurrentImageModel : public nn::Module<float>
    {
    public:
        RecurrentImageModel()
        {
            conv = register_module("conv", nn::Conv2d<float>(1, 4, 3, nn::Conv2dOptions().padding(1)));
            norm = register_module("norm", nn::BatchNorm2d<float>(4));
            up = register_module(
                "up", nn::ConvTranspose2d<float>(4, 2, 3,
                                                 nn::ConvTranspose2dOptions().stride(2).padding(1).output_padding(1)));
            pool = register_module("pool", nn::AvgPool2d<float>(2));
            lstm = register_module("lstm", nn::LSTM<float>(12, 8, nn::RecurrentOptions().batch_first(true)));
            gru = register_module("gru",
                                  nn::GRU<float>(8, 6, nn::RecurrentOptions().batch_first(true).bidirectional(true)));
            rnn =
                register_module("rnn", nn::RNN<float>(12, 5, nn::RNNOptions().batch_first(true).nonlinearity("relu")));
            head = register_module("head", nn::Linear<float>(8 + 12 + 5, 3));
        }
        Tensor<float> forward(const Tensor<float>& x) override
        {
            const Tensor<float> image = (*pool)((*up)(relu((*norm)((*conv)(x)))));   // (N, 2, 6, 6)
            const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.shape(0));
            const Tensor<float> rows = reshape(permute(image, {0, 2, 1, 3}), {n, 6, 12});     // (N, 6, 12)
            const auto long_memory = lstm->forward(rows, Tensor<float>(), Tensor<float>());   // output (N, 6, 8)
            const Tensor<float> both_ways = (*gru)(long_memory.output);                       // (N, 6, 12)
            const Tensor<float> relu_steps = (*rnn)(rows);                                    // (N, 6, 5)
            const auto last = [](const Tensor<float>& steps) { return squeeze(narrow(steps, 1, 5, 1), 1); };
            return (*head)(cat({squeeze(long_memory.c_n, 0), last(both_ways), last(relu_steps)}, 1));   // (N, 3)
        }
        std::string type_name() const override { return "RecurrentImageModel"; }

        std::shared_ptr<nn::Conv2d<float>> conv;
        std::shared_ptr<nn::BatchNorm2d<float>> norm;
        std::shared_ptr<nn::ConvTranspose2d<float>> up;
        std::shared_ptr<nn::AvgPool2d<float>> pool;
        std::shared_ptr<nn::LSTM<float>> lstm;
        std::shared_ptr<nn::GRU<float>> gru;
        std::shared_ptr<nn::RNN<float>> rnn;
        std::shared_ptr<nn::Linear<float>> head;
    };

    // The ops the layers above do not use: a strided, dilated, grouped convolution, padded max pooling, global
    // average pooling, clamp, max and min over dims, where, index_select, layer_norm without affine parameters,
    // broadcasting.  (N, 2, 9, 9) -> (N, 23)
    class AssortedOpsModel : public nn::Module<float>
    {
    public:
        AssortedOpsModel()
        {
            conv = register_module(
                "conv", nn::Conv2d<float>(2, 4, 3, nn::Conv2dOptions().stride(2).padding(2).dilation(2).groups(2)));
        }
        Tensor<float> forward(const Tensor<float>& x) override
        {
            const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.shape(0));
            const Tensor<float> pooled = max_pool2d((*conv)(x), 3, 2, 1);                                // (N, 4, 3, 3)
            const Tensor<float> average = reshape(adaptive_avg_pool2d(pooled, 1), {n, 4});               // (N, 4)
            const Tensor<float> peak = max(pooled, Dims{2, 3});                                          // (N, 4)
            const Tensor<float> low = min(pooled, Dims{1});                                              // (N, 3, 3)
            const xt::xarray<bool> first_two{{true, true, false, false}};                                // (1, 4)
            const Tensor<float> mixed = xgrad::where(first_two, clamp(average, -0.1f, 0.1f), peak);      // (N, 4)
            const Tensor<float> picked = layer_norm(index_select(mixed, 1, IndexArray{3, 0, 0}), {3});   // (N, 3)
            const Tensor<float> spread = broadcast_to(unsqueeze(picked, 1), {x.shape(0), 2, 3});         // (N, 2, 3)
            return cat({reshape(spread, {n, 6}), reshape(low, {n, 9}), abs(mixed), exp(neg(peak))}, 1);   // (N, 23)
        }
        std::string type_name() const override { return "AssortedOpsModel"; }

        std::shared_ptr<nn::Conv2d<float>> conv;
    };

    Tensor<float> normal_input(Shape shape, std::uint64_t seed)
    {
        Generator generator(seed);
        return randn<float>(shape, generator);
    }
}

TEST_CASE("export_onnx writes the MLP, the CNN, the char transformer and the recurrent model for ONNX Runtime")
{
    fs::create_directories(models_dir);
    manual_seed(7);

    SUBCASE("an MLP with every activation")
    {
        nn::Sequential<float> mlp(nn::Linear<float>(8, 16), nn::LeakyReLU<float>(0.1), nn::Linear<float>(16, 16),
                                  nn::GELU<float>(), nn::Linear<float>(16, 16), nn::GELU<float>("tanh"),
                                  nn::Sigmoid<float>(), nn::Linear<float>(16, 12), nn::Tanh<float>(),
                                  nn::Linear<float>(12, 6));
        const io::OnnxForward forward = [&mlp](const std::vector<Tensor<float>>& inputs) {
            const Tensor<float> scores = mlp(inputs[0]);   // (N, 6)
            return std::vector<Tensor<float>>{log_softmax(softplus(scores, 2.0f), 1), softmax(scores, -1)};
        };
        export_and_record("mlp", mlp, forward, [](std::size_t batch) {
            return std::vector{normal_input({batch, 8}, batch)};
        });
    }
    SUBCASE("the demo CNN (example 06)")
    {
        nn::Sequential<float> cnn = fashion_cnn::make_model();
        export_and_record("cnn", cnn, called(cnn), [](std::size_t batch) {
            return std::vector{normal_input({batch, 1, 28, 28}, 10 + batch)};
        });
    }
    SUBCASE("the char transformer (example 07), ids in a float tensor")
    {
        char_model::CharTransformer transformer(/*vocabulary=*/11, /*d_model=*/16, /*heads=*/2, /*layers=*/2,
                                                /*feed_forward=*/32, /*context=*/8);
        export_and_record("char_transformer", transformer, called(transformer), [](std::size_t batch) {
            Generator generator(20 + batch);
            return std::vector{Tensor<float>(xt::cast<float>(randint(0, 11, {batch, 8}, generator)))};
        });
    }
    SUBCASE("assorted ops: grouped dilated strided conv, pools, clamp, max, min, where, index_select, layer_norm")
    {
        AssortedOpsModel model;
        export_and_record("assorted_ops", model, called(model), [](std::size_t batch) {
            return std::vector{normal_input({batch, 2, 9, 9}, 60 + batch)};
        });
    }
    SUBCASE("a Transformer decoder layer: two inputs, a causal mask on the target")
    {
        nn::TransformerDecoderLayer<float> decoder(/*d_model=*/8, /*nhead=*/2, /*dim_feedforward=*/16, /*dropout=*/0.1);
        const xt::xarray<bool> later = xt::triu(xt::ones<bool>({5, 5}), 1);   // (T, T): a query sees no later key
        const io::OnnxForward forward = [&decoder, later](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{decoder.forward(inputs[0], inputs[1], later)};
        };
        export_and_record("decoder_layer", decoder, forward, [](std::size_t batch) {
            return std::vector{normal_input({batch, 5, 8}, 40 + batch), normal_input({batch, 7, 8}, 50 + batch)};
        });
    }
    SUBCASE("BatchNorm, ConvTranspose2d, AvgPool2d, LSTM, bidirectional GRU, RNN (relu)")
    {
        RecurrentImageModel model;
        model.norm->running_mean.mutable_value() = xt::xarray<float>{0.1f, -0.2f, 0.3f, 0.0f};
        model.norm->running_var.mutable_value() = xt::xarray<float>{0.5f, 2.0f, 1.5f, 1.0f};
        export_and_record("recurrent_image", model, called(model), [](std::size_t batch) {
            return std::vector{normal_input({batch, 1, 6, 6}, 30 + batch)};
        });
    }
}

TEST_CASE("export_onnx refuses what it cannot write, with a typed error")
{
    fs::create_directories(models_dir);
    const std::string path = (models_dir / "refused.onnx").string();
    nn::Linear<float> linear(4, 3);
    const Tensor<float> x = normal_input({2, 4}, 1);

    SUBCASE("an op with no mapping names the op")
    {
        const io::OnnxForward with_loss = [&linear](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{cross_entropy(linear(inputs[0]), IndexArray{0, 2})};
        };
        io::OnnxExportOptions fixed;   // the targets are for the example's batch
        fixed.dynamic_batch = false;
        CHECK_THROWS_WITH_AS(io::export_onnx(linear, with_loss, {x}, path, fixed), doctest::Contains("'cross_entropy'"),
                             value_error);
    }
    SUBCASE("ids in an IndexArray, which the graph does not record")
    {
        char_model::CharTransformer transformer(11, 8, 2, 1, 16, 4);
        const io::OnnxForward with_index_ids = [&transformer](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{
                transformer.forward(xgrad::detail::indices_from(inputs[0].value(), "ids"))};
        };
        const Tensor<float> ids(xt::xarray<float>{{1, 2, 3, 4}});
        CHECK_THROWS_WITH_AS(io::export_onnx(transformer, with_index_ids, {ids}, path), doctest::Contains("IndexArray"),
                             value_error);
    }
    SUBCASE("a constant of the example's batch size, unless the batch is fixed")
    {
        const io::OnnxForward with_batch_constant = [&linear](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{
                add(linear(inputs[0]), constant<float>(xt::ones<float>({inputs[0].shape(0), std::size_t(3)})))};
        };
        CHECK_THROWS_WITH_AS(io::export_onnx(linear, with_batch_constant, {x}, path),
                             doctest::Contains("depends on the batch size"), value_error);
        io::OnnxExportOptions fixed;
        fixed.dynamic_batch = false;
        io::export_onnx(linear, with_batch_constant, {x}, path, fixed);
        CHECK(fs::file_size(path) > 0);
    }
    SUBCASE("rows picked from the batch dim")
    {
        const io::OnnxForward first_row = [&linear](const std::vector<Tensor<float>>& inputs) {
            return std::vector<Tensor<float>>{index_select(linear(inputs[0]), 0, IndexArray{0})};
        };
        CHECK_THROWS_WITH_AS(io::export_onnx(linear, first_row, {x}, path), doctest::Contains("holds the batch"),
                             value_error);
    }
    SUBCASE("the LSTM's cell state read at every step")
    {
        nn::LSTM<float> lstm(4, 3);
        const io::OnnxForward all_cell_states = [&lstm](const std::vector<Tensor<float>>& inputs) {
            // The recurrence's c plane at every step: what ONNX's LSTM does not give.
            const auto& weights = lstm.named_parameters();
            const Tensor<float> gates = xgrad::linear(inputs[0], weights[0].second, weights[2].second);
            const Tensor<float> zeros = constant<float>(xt::zeros<float>({inputs[0].shape(1), std::size_t(3)}));
            const Tensor<float> states =
                recurrence(RecurrentCell::lstm, gates, zeros, zeros, weights[1].second, weights[3].second);
            return std::vector<Tensor<float>>{narrow(states, 0, 1, 1)};
        };
        io::OnnxExportOptions fixed;
        fixed.dynamic_batch = false;
        CHECK_THROWS_WITH_AS(io::export_onnx(lstm, all_cell_states, {normal_input({5, 2, 4}, 3)}, path, fixed),
                             doctest::Contains("cell state"), value_error);
    }
    SUBCASE("inputs and names that do not fit")
    {
        CHECK_THROWS_AS(io::export_onnx(linear, {}, path), value_error);
        CHECK_THROWS_AS(io::export_onnx(linear, {x, x}, path), value_error);
        io::OnnxExportOptions two_names;
        two_names.input_names = {"a", "b"};
        CHECK_THROWS_AS(io::export_onnx(linear, {x}, path, two_names), value_error);
    }
    SUBCASE("a write that fails is an io_error")
    {
        CHECK_THROWS_AS(io::export_onnx(linear, {x}, (models_dir / "no_such_dir" / "m.onnx").string()), io_error);
    }
    SUBCASE("the module's mode and flags are restored")
    {
        nn::BatchNorm1d<float> norm(4);
        norm.train();
        io::export_onnx(norm, {x}, path);
        CHECK(norm.is_training());
        CHECK_FALSE(norm.running_mean.requires_grad());
        CHECK(norm.weight.requires_grad());
    }
}
