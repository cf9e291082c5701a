// 17 — Gradient flow: why deep networks of sigmoids barely learn, and what ReLU and He initialisation change.
//
// What it teaches: backpropagation multiplies the gradient, layer after layer on its way to the input, by the
// layer's weights and by the derivative of its activation.  The sigmoid's derivative is at most 1/4, and with
// PyTorch's default initialisation (weights uniform in ±1/√fan_in) each layer shrinks the gradient about
// sevenfold: after ten layers the first layer's gradient is millions of times smaller than the last one's, and
// the first layers hardly move — the gradient has vanished.  ReLU's derivative is 1 wherever the unit is active,
// and He (Kaiming) initialisation (weights of standard deviation √(2/fan_in)) is chosen so that the gradient keeps
// its size from layer to layer: every layer learns.
//
// The same deep MLP (784 → ten hidden layers of 128 → 10) is trained twice on Fashion-MNIST, once with sigmoids
// and the default initialisation, once with ReLUs and He initialisation.  A GradientFlow callback records each
// layer's gradient norm, weight norm and update size every 10 steps, and a histogram of the gradient's
// magnitudes at steps 1 and the last; the pictures are written as SVG, and the tutorial's section "Seeing
// gradients flow" reads them.
//
//     ./17_gradient_flow                  # two runs of 3 epochs on 20,000 images; writes gradient_flow_*.svg
//     ./17_gradient_flow --smoke          # a few seconds: checks that the sigmoids' gradient vanishes and the ReLUs' does not
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <xgrad/data.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/train.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    struct Run
    {
        double first_to_last = 0.0;   // gradient norm of the first layer over that of the last, at step 1
        double test_accuracy = 0.0;
    };

    // 784 → `depth` hidden layers of `width` → 10, with sigmoids and PyTorch's default initialisation, or with
    // ReLUs and He initialisation (biases zero).
    nn::Sequential<float> deep_mlp(bool relu, std::size_t depth, std::size_t width)
    {
        nn::Sequential<float> model;
        std::size_t in = 28 * 28;
        for (std::size_t layer = 0; layer < depth; ++layer)
        {
            nn::Linear<float> linear(in, width);
            if (relu)
            {
                nn::init::kaiming_normal_(linear.weight, 0.0, "fan_in", "relu");
                nn::init::zeros_(linear.bias);
            }
            model.push_back(std::move(linear));
            if (relu)
                model.push_back(nn::ReLU<float>());
            else
                model.push_back(nn::Sigmoid<float>());
            in = width;
        }
        model.push_back(nn::Linear<float>(in, 10));
        return model;
    }

    Run train_and_draw(bool relu, const data::TensorDataset<float>& train_set, data::DataLoader<float>& test_loader,
                       std::size_t epochs, std::size_t depth, std::size_t width, double lr, const std::string& out_dir)
    {
        const std::string name = relu ? "ReLU + He initialisation" : "sigmoid + default initialisation";
        std::cout << "\n=== " << depth << " hidden layers, " << name << " ===\n";
        manual_seed(17);
        nn::Sequential<float> model = deep_mlp(relu, depth, width);
        optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(lr).momentum(0.9));
        data::DataLoader<float> loader(train_set, {64, /*shuffle=*/true, false, 17});
        const std::size_t steps = epochs * loader.size();

        train::GradientFlowOptions flow_options;
        flow_options.every = 10;
        flow_options.histogram_steps = {1, steps};
        auto flow = std::make_shared<train::GradientFlow<float>>(model, flow_options);
        train::FitOptions<float, IndexArray> options;
        options.epochs = epochs;
        options.callbacks = {std::make_shared<train::ProgressBar>(), flow};
        auto loss = [](const Tensor<float>& logits, const IndexArray& labels) { return cross_entropy(logits, labels); };
        train::fit(model, loss, optimizer, loader, options);

        const auto& layers = flow->layers();
        Run run;
        run.first_to_last = layers.front().gradient_norm.front() / layers.back().gradient_norm.front();
        run.test_accuracy = train::evaluate(model, loss, test_loader).accuracy;
        std::cout << "Gradient norm per layer at step 1 (layer 1 is next to the input):\n";
        for (const auto& layer : layers)
            std::cout << "  " << std::left << std::setw(22) << layer.name << std::right << std::scientific
                      << std::setprecision(2) << layer.gradient_norm.front() << '\n';
        std::cout << std::defaultfloat << "First layer's gradient / last layer's at step 1: " << std::setprecision(3)
                  << run.first_to_last << "\nAt the end of training:\n"
                  << flow->table() << "Test accuracy: " << std::fixed << std::setprecision(4) << run.test_accuracy
                  << std::defaultfloat << '\n';
        const std::string path = out_dir + (relu ? "/gradient_flow_relu.svg" : "/gradient_flow_sigmoid.svg");
        flow->save_svg(path, (relu ? "ReLU: " : "Sigmoid: "));
        std::cout << "Pictures written to " << path << '\n';
        return run;
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist", out_dir = ".";
    std::size_t epochs = 3, train_count = 20000, depth = 10, width = 128;
    double lr = 0.01;
    bool smoke = false;
    CommandLine cli{"Train a deep MLP with sigmoids and with ReLUs and draw how its gradients flow"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--out", out_dir, "Where to write the pictures");
    cli.add_option("--epochs", epochs, "Passes over the training images", std::size_t(1), std::size_t(100));
    cli.add_option("--train-count", train_count, "Training images (the first of the training set)", std::size_t(64),
                   std::size_t(60000));
    cli.add_option("--depth", depth, "Hidden layers", std::size_t(1), std::size_t(50));
    cli.add_option("--width", width, "Units per hidden layer", std::size_t(2), std::size_t(4096));
    cli.add_option("--lr", lr, "SGD learning rate (momentum 0.9)");
    cli.add_flag("--smoke", smoke, "A tiny run (2,000 images, 1 epoch) that checks the gradients (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (smoke)
    {
        train_count = 2000;
        epochs = 1;
    }

    const auto full_train = data::load_mnist<float>(directory, true);
    const auto test = data::load_mnist<float>(directory, false);
    // The first images of each set, each as a row of 784 pixels.
    const auto flat_rows = [](const data::ImageSet<float>& set, std::size_t count) {
        xt::xarray<float> rows = xt::view(set.images, xt::range(0, count));
        rows.reshape({count, std::size_t(28 * 28)});
        const IndexArray labels = xt::view(set.labels, xt::range(0, count));
        return data::TensorDataset<float>(rows, labels);
    };
    const data::TensorDataset<float> train_set = flat_rows(full_train, train_count);
    const data::TensorDataset<float> test_set = flat_rows(test, smoke ? 2000 : test.labels.size());
    data::DataLoader<float> test_loader(test_set, {500});
    std::filesystem::create_directories(out_dir);

    const Run sigmoid = train_and_draw(false, train_set, test_loader, epochs, depth, width, lr, out_dir);
    const Run relu = train_and_draw(true, train_set, test_loader, epochs, depth, width, lr, out_dir);
    std::cout << "\nAt step 1 the first layer's gradient was " << std::setprecision(3) << sigmoid.first_to_last
              << " of the last layer's with sigmoids, " << relu.first_to_last << " with ReLUs.\n"
              << "Test accuracy: " << std::fixed << std::setprecision(4) << sigmoid.test_accuracy << " (sigmoid), "
              << relu.test_accuracy << " (ReLU)\n";

    if (smoke)
    {
        // What the pictures show, as numbers: the gradient vanishes through ten sigmoid layers, not through ReLUs.
        const bool vanishes = sigmoid.first_to_last < 1e-3, flows = relu.first_to_last > 0.05;
        std::cout << (vanishes && flows ? "smoke test passed\n"
                                        : "smoke test FAILED: the gradients did not behave as the example says\n");
        return vanishes && flows ? 0 : 1;
    }
    return 0;
}
