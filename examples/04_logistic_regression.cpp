// 04 — Logistic regression on an imbalanced task, and why accuracy is not enough.
//
// What it teaches: "is this Fashion-MNIST image a bag?" — only 10% of images are — so a model that always
// answers "no" is 90% accurate and useless.  A logistic regression (one linear layer + sigmoid, trained
// with binary cross-entropy) is evaluated with precision, recall, F1, ROC-AUC, average precision and the
// confusion matrix, and the decision threshold is swept to show how it trades precision for recall.
//
//     ./04_logistic_regression --positive-class 8 --epochs 3
#include <iomanip>
#include <iostream>

#include <xgrad/data.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    const char* const class_names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

    // Images flattened to (N, 784) and labels turned into 1 (the positive class) or 0 (the rest).
    data::TensorDataset<float, xt::xarray<float>> one_against_rest(const data::ImageSet<float>& set, std::int64_t positive,
                                                                   std::size_t limit)
    {
        const std::size_t n = std::min(limit, set.labels.size());
        xt::xarray<float> images = xt::view(set.images, xt::range(0, n));
        images.reshape({n, std::size_t(784)});
        xt::xarray<float> targets = xt::zeros<float>({n, std::size_t(1)});
        for (std::size_t i = 0; i < n; ++i)
            targets(i, 0) = set.labels(i) == positive ? 1.f : 0.f;
        return {std::move(images), std::move(targets)};
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist";
    std::int64_t positive = 8;
    std::size_t epochs = 3, limit = 60000;
    double lr = 1e-3;
    CommandLine cli{"Logistic regression on an imbalanced one-class-against-the-rest task"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--positive-class", positive, "The class to detect (0-9; 8 = Bag)", std::int64_t{0},
                   std::int64_t{9});
    cli.add_option("--epochs", epochs, "Passes over the training set");
    cli.add_option("--limit", limit, "Use at most this many training images (smaller is faster)");
    cli.add_option("--lr", lr, "Adam learning rate");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    const auto train_set = one_against_rest(data::load_mnist<float>(directory, true), positive, limit);
    const auto test_set = one_against_rest(data::load_mnist<float>(directory, false), positive, 10000);
    std::cout << "Detecting '" << class_names[positive] << "': " << xt::sum(train_set.targets())() << " positives in "
              << train_set.size() << " training images\n";

    manual_seed(0);
    nn::Linear<float> model(784, 1);
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(lr));
    data::DataLoader<float, xt::xarray<float>> loader(train_set, {128, true, false, 1});
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
    {
        double total = 0;
        for (const auto& batch : loader)
        {
            const Tensor<float> loss =
                binary_cross_entropy_with_logits(model(batch.inputs), Tensor<float>(batch.targets));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            total += loss.item() * static_cast<double>(batch.size());
        }
        std::cout << "epoch " << epoch << "  training loss " << total / static_cast<double>(train_set.size()) << '\n';
    }

    // Scores on the test set: the probability of the positive class.
    NoGradGuard inference;
    const xt::xarray<float> scores = xt::flatten(sigmoid(model(Tensor<float>(test_set.inputs()))).value());
    const IndexArray truth = xt::cast<std::int64_t>(xt::flatten(test_set.targets()));
    auto predict = [&](float threshold) { return IndexArray(xt::cast<std::int64_t>(scores >= threshold)); };

    std::cout << std::fixed << std::setprecision(4);
    const IndexArray always_no = xt::zeros<std::int64_t>({truth.size()});
    std::cout << "\nAlways answering 'no' would be " << metrics::accuracy(always_no, truth) << " accurate.\n";
    const metrics::ConfusionMatrix matrix(predict(0.5f), truth, 2);
    const auto report = metrics::classification_report(matrix);
    std::cout << "At threshold 0.5: accuracy " << metrics::accuracy(predict(0.5f), truth) << ", precision "
              << report.per_class[1].precision << ", recall " << report.per_class[1].recall << ", F1 "
              << report.per_class[1].f1 << "\nROC-AUC " << metrics::roc_auc(scores, truth) << ", average precision "
              << metrics::average_precision(scores, truth) << "\n\nConfusion matrix:\n"
              << matrix.to_string({"rest", class_names[positive]}) << '\n';

    std::cout << "threshold  precision  recall      F1\n";
    for (float threshold : {0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 0.9f})
    {
        const auto r = metrics::classification_report(predict(threshold), truth, 2).per_class[1];
        std::cout << std::setw(9) << threshold << std::setw(11) << r.precision << std::setw(8) << r.recall
                  << std::setw(8) << r.f1 << '\n';
    }
    std::cout << "A lower threshold finds more of the positives (recall) at the price of more false alarms "
                 "(precision).\n";
}
