// 05 — A multilayer perceptron on Fashion-MNIST, with the training loop written out by hand.
//
// What it teaches: the plain loop every framework hides — batches, forward, loss, zero_grad, backward,
// step — plus the habits that make results trustworthy: a held-out validation set (stratified) to choose
// the epoch count, a learning-rate schedule, and one final look at the test set.
//
//     ./05_fashion_mnist_mlp                  # about 89% test accuracy
//     ./05_fashion_mnist_mlp --smoke          # a few seconds: checks that it learns
#include <iomanip>
#include <iostream>
#include <numeric>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    // Images (N, 1, 28, 28) flattened to (N, 784), with their labels, at the given rows.
    data::TensorDataset<float> flattened(const data::ImageSet<float>& set, const std::vector<std::size_t>& indices)
    {
        const auto batch = data::TensorDataset<float>(set.images, set.labels).get_batch(indices);
        return {reshape(batch.inputs, {-1, 784}).value(), batch.targets};
    }

    std::vector<std::size_t> first(std::size_t n)
    {
        std::vector<std::size_t> indices(n);
        std::iota(indices.begin(), indices.end(), std::size_t(0));
        return indices;
    }

    // Accuracy of the model's arg-max predictions over a loader, in eval mode and without a graph.
    double accuracy_on(nn::Module<float>& model, data::DataLoader<float>& loader)
    {
        model.eval();
        NoGradGuard no_grad;
        double correct = 0;
        std::size_t seen = 0;
        for (const auto& batch : loader)
        {
            correct += metrics::accuracy(model(batch.inputs).value(), batch.targets) * static_cast<double>(batch.size());
            seen += batch.size();
        }
        model.train();
        return correct / static_cast<double>(seen);
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist";
    std::size_t epochs = 10, batch_size = 64, hidden = 256;
    double lr = 0.05;
    bool smoke = false;
    CommandLine cli{"Train an MLP on Fashion-MNIST with a hand-written loop"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--epochs", epochs, "Passes over the training set");
    cli.add_option("--batch-size", batch_size, "Images per step");
    cli.add_option("--hidden", hidden, "Units in the first hidden layer");
    cli.add_option("--lr", lr, "Initial SGD learning rate (momentum 0.9, cosine schedule)");
    cli.add_flag("--smoke", smoke, "A tiny run on 3,000 images that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    const auto full_train = data::load_mnist<float>(directory, true);
    const auto test = data::load_mnist<float>(directory, false);
    const std::size_t train_count = smoke ? 3000 : full_train.labels.size();
    if (smoke)
        epochs = 2;
    const IndexArray labels = xt::view(full_train.labels, xt::range(0, train_count));
    const auto split = data::train_test_split(train_count, 0.1, /*seed=*/3, &labels);
    const auto train_set = flattened(full_train, split.train);
    const auto validation_set = flattened(full_train, split.test);
    const auto test_set = flattened(test, first(test.labels.size()));

    manual_seed(5);
    nn::Sequential model{nn::Linear(784, hidden), nn::ReLU(), nn::Dropout(0.2), nn::Linear(hidden, 128), nn::ReLU(),
                         nn::Linear(128, 10)};
    std::cout << model.summary();
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(lr).momentum(0.9).nesterov(true));
    optim::CosineAnnealingLR<optim::SGD<float>> schedule(optimizer, epochs);
    data::DataLoader<float> train_loader(train_set, {batch_size, /*shuffle=*/true, false, /*seed=*/11});
    data::DataLoader<float> validation_loader(validation_set, {1000});
    data::DataLoader<float> test_loader(test_set, {1000});

    double first_loss = 0, last_loss = 0;
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
    {
        double loss_sum = 0;
        for (const auto& batch : train_loader)
        {
            const Tensor<float> loss = cross_entropy(model(batch.inputs), batch.targets);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            loss_sum += loss.item() * static_cast<double>(batch.size());
        }
        schedule.step();
        last_loss = loss_sum / static_cast<double>(train_set.size());
        if (epoch == 1)
            first_loss = last_loss;
        std::cout << "epoch " << std::setw(2) << epoch << "  train loss " << std::fixed << std::setprecision(4)
                  << last_loss << "  validation accuracy " << accuracy_on(model, validation_loader) << "  lr "
                  << schedule.get_last_lr()[0] << '\n';
    }
    const double test_accuracy = accuracy_on(model, test_loader);
    std::cout << "test accuracy " << test_accuracy << '\n';
    if (smoke)
    {
        const bool learned = last_loss < first_loss && test_accuracy > 0.6;
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn\n");
        return learned ? 0 : 1;
    }
    return 0;
}
