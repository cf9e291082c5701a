// 12 — Serving a trained model through ONNX: the demo CNN, exported and run by ONNX Runtime.
//
// What it teaches: how a model leaves the framework that trained it.  The demo CNN (example 06) is trained
// here (or loaded from the weights example 06 saved), exported with io::export_onnx (one forward pass
// recorded, written as an ONNX graph with a dynamic batch), and the Fashion-MNIST test set is classified twice:
// by xgrad, and by ONNX Runtime (onnxruntime-node, through tests/onnx/run_onnx.js) reading only the .onnx file.
// The two must agree on every prediction, so they report the same accuracy.  Open the file in Netron
// (https://netron.app) to see the graph.
//
//     ./12_onnx_fashion_mnist                                   # trains 2 epochs, then both classify 10,000 images
//     ./12_onnx_fashion_mnist --weights fashion_mnist_cnn.safetensors   # example 06's weights, no training
//     ./12_onnx_fashion_mnist --smoke                           # a few seconds, for CI
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>

#include <xgrad/data.hpp>
#include <xgrad/io.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/onnx.hpp>
#include <xgrad/train.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"
#include "fashion_cnn.hpp"

using namespace xgrad;

namespace
{
    // A shell word: the text in single quotes, each quote in it closed, escaped and reopened.
    std::string shell_word(const std::string& text)
    {
        std::string word = "'";
        for (const char c : text)
            word += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return word + "'";
    }

    void write_floats(const std::string& path, const xt::xarray<float>& values)
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(values.data()),
                  static_cast<std::streamsize>(values.size() * sizeof(float)));
        if (!out)
            throw io_error("cannot write " + path);
    }

    xt::xarray<float> read_floats(const std::string& path, const Shape& shape)
    {
        xt::xarray<float> values = xt::zeros<float>(shape);
        std::ifstream in(path, std::ios::binary);
        in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
        if (!in || in.peek() != std::char_traits<char>::eof())
            throw io_error(path + " does not hold " + std::to_string(values.size()) + " floats");
        return values;
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist", out_dir = ".", weights, node = XGRAD_NODE,
                runner = XGRAD_ONNX_RUNNER;
    std::size_t epochs = 2, batch_size = 64;
    bool smoke = false;
    CommandLine cli{"Export the demo CNN to ONNX and classify Fashion-MNIST with ONNX Runtime"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--out", out_dir, "Where to write the .onnx file and the scores");
    cli.add_option("--weights", weights, "Weights of example 06 (safetensors) to export instead of training");
    cli.add_option("--epochs", epochs, "Passes over the training set when training");
    cli.add_option("--node", node, "The node program that runs ONNX Runtime");
    cli.add_option("--runner", runner, "The script that runs a model in ONNX Runtime (tests/onnx/run_onnx.js)");
    cli.add_flag("--smoke", smoke, "Train on 2,000 images and classify 1,000 (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    const auto test = data::load_mnist<float>(directory, false);
    manual_seed(42);
    nn::Sequential<float> model = fashion_cnn::make_model();
    if (!weights.empty())
    {
        model.load_state_dict(io::load_safetensors<float>(weights));
        std::cout << "Loaded " << weights << '\n';
    }
    else
    {
        const auto train_images = data::load_mnist<float>(directory, true);
        const std::size_t count = smoke ? 2000 : train_images.labels.size();
        const data::TensorDataset<float> train_set(xt::view(train_images.images, xt::range(0, count)),
                                                   IndexArray(xt::view(train_images.labels, xt::range(0, count))));
        data::DataLoader<float> loader(train_set, {batch_size, /*shuffle=*/true, false, /*seed=*/7});
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(2e-3));
        train::FitOptions<float, IndexArray> options;
        options.epochs = smoke ? 1 : epochs;
        options.callbacks = {std::make_shared<train::ProgressBar>()};
        auto loss = [](const Tensor<float>& logits, const IndexArray& labels) { return cross_entropy(logits, labels); };
        train::fit(model, loss, optimizer, loader, options);
    }

    // Export: one forward pass on a few test images records the graph; the batch stays dynamic.
    std::filesystem::create_directories(out_dir);
    const std::string model_path = out_dir + "/fashion_mnist_cnn.onnx";
    const Tensor<float> example(xt::view(test.images, xt::range(0, 4)));   // (4, 1, 28, 28)
    io::export_onnx(model, {example}, model_path);
    std::cout << "Exported " << model_path << " (" << std::filesystem::file_size(model_path) << " bytes)\n";

    // xgrad's scores for the test images.
    const std::size_t count = smoke ? 1000 : test.labels.size();
    const xt::xarray<float> images = xt::view(test.images, xt::range(0, count));   // (count, 1, 28, 28)
    const IndexArray labels = xt::view(test.labels, xt::range(0, count));
    model.eval();
    xt::xarray<float> xgrad_scores = xt::zeros<float>({count, std::size_t(10)});
    {
        NoGradGuard inference;
        for (std::size_t first = 0; first < count; first += 500)
        {
            const std::size_t last = std::min(count, first + 500);
            xt::view(xgrad_scores, xt::range(first, last)) =
                model(Tensor<float>(xt::view(images, xt::range(first, last)))).value();
        }
    }

    // ONNX Runtime's, from the file alone.
    const std::string images_path = out_dir + "/test_images.f32", scores_path = out_dir + "/onnx_scores.f32";
    write_floats(images_path, images);
    const std::string command = shell_word(node) + " " + shell_word(runner) + " run " + shell_word(model_path) + " " +
                                shell_word(images_path) + " " + std::to_string(count) + ",1,28,28 " + shell_word(scores_path);
    if (std::system(command.c_str()) != 0)
    {
        std::cerr << "ONNX Runtime failed: " << command << '\n';
        return 1;
    }
    const xt::xarray<float> onnx_scores = read_floats(scores_path, {count, std::size_t(10)});

    const IndexArray xgrad_predicted = metrics::argmax(xgrad_scores), onnx_predicted = metrics::argmax(onnx_scores);
    const double xgrad_accuracy = metrics::accuracy(xgrad_predicted, labels);
    const double onnx_accuracy = metrics::accuracy(onnx_predicted, labels);
    const auto disagreements = static_cast<std::size_t>(xt::sum(xt::not_equal(xgrad_predicted, onnx_predicted))());
    const float largest_difference = xt::amax(xt::abs(xgrad_scores - onnx_scores))();
    std::cout << std::fixed << std::setprecision(4) << "Test accuracy on " << count << " images: xgrad "
              << xgrad_accuracy << ", ONNX Runtime " << onnx_accuracy << "; predictions that differ: " << disagreements
              << "; largest score difference " << std::scientific << std::setprecision(2) << largest_difference << '\n';
    const bool agree = disagreements == 0 && xgrad_accuracy == onnx_accuracy;
    if (smoke)
    {
        const bool passed = agree && xgrad_accuracy > 0.5;
        std::cout << (passed ? "smoke test passed\n" : "smoke test FAILED\n");
        return passed ? 0 : 1;
    }
    return agree ? 0 : 1;
}
