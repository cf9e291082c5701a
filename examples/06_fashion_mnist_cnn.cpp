// 06 — A convolutional network on Fashion-MNIST: the full workflow, end to end.
//
// What it teaches: how a real image classifier is trained and judged.  A small CNN (two conv + max-pool
// stages, dropout, two dense layers) learns from 55,000 images while 5,000 held-out images (stratified)
// watch for overfitting; a cosine schedule anneals the learning rate; a progress bar reports each epoch;
// the best weights (by validation loss) are kept and saved as safetensors, which PyTorch can load; the
// test set gets per-class precision, recall, F1 and a confusion matrix; the learning curves are written as an
// SVG picture; and a training report (one HTML page: curves, confusion matrix as a heatmap, per-class bars,
// ROC curves, the model, the settings, timing and the profiler's top ops of the first epoch) is written beside them.
//
//     ./06_fashion_mnist_cnn                 # about 92% test accuracy after 10 epochs (README: time, figures)
//     ./06_fashion_mnist_cnn --smoke         # a few seconds: checks that it learns
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <xgrad/data.hpp>
#include <xgrad/io.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/parallel.hpp>
#include <xgrad/train.hpp>
#include <xgrad/viz/plot.hpp>
#include <xgrad/xgrad.hpp>

#include "command_line.hpp"
#include "fashion_cnn.hpp"

using namespace xgrad;

namespace
{
    const std::vector<std::string> class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

    // The rows of a set at `indices`, as a dataset.
    data::TensorDataset<float> rows(const data::ImageSet<float>& set, const std::vector<std::size_t>& indices)
    {
        const auto batch = data::TensorDataset<float>(set.images, set.labels).get_batch(indices);
        return {batch.inputs.value(), batch.targets};
    }
}

int main(int argc, char** argv)
{
    std::string directory = "/usr/share/datasets/fashion-mnist", out_dir = ".";
    std::size_t epochs = 10, batch_size = 64, threads = 0, profiled_epochs = 1;
    double lr = 2e-3;
    bool smoke = false;
    CommandLine cli{"Train a CNN on Fashion-MNIST and evaluate it"};
    cli.add_option("--data", directory, "Directory with the Fashion-MNIST IDX files (package dataset-fashion-mnist)");
    cli.add_option("--out", out_dir, "Where to write the weights, the learning curves and the report");
    cli.add_option("--epochs", epochs, "Passes over the training set");
    cli.add_option("--batch-size", batch_size, "Images per step");
    cli.add_option("--lr", lr, "Adam learning rate");
    cli.add_option("--threads", threads, "Worker threads (default: all cores, or XGRAD_NUM_THREADS)");
    cli.add_option("--profile-epochs", profiled_epochs, "Epochs the profiler records for the report (0: none)");
    cli.add_flag("--smoke", smoke, "A tiny run on 2,000 images that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (threads > 0)
        set_num_threads(threads);

    const auto full_train = data::load_mnist<float>(directory, true);
    const auto test = data::load_mnist<float>(directory, false);
    std::size_t train_count = full_train.labels.size();
    if (smoke)
    {
        train_count = 2000;
        epochs = 1;
    }
    const IndexArray used_labels = xt::view(full_train.labels, xt::range(0, train_count));
    const auto split = data::train_test_split(train_count, smoke ? 0.25 : 5000.0 / 60000.0, /*seed=*/1, &used_labels);
    const auto train_set = rows(full_train, split.train);
    const auto validation_set = rows(full_train, split.test);
    const data::TensorDataset<float> test_set(test.images, test.labels);
    std::cout << "Training on " << train_set.size() << " images, validating on " << validation_set.size()
              << ", testing on " << test_set.size() << "; " << get_num_threads() << " threads\n";

    manual_seed(42);
    nn::Sequential<float> model = fashion_cnn::make_model();
    std::cout << model.summary();
    optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(lr));
    data::DataLoader<float> train_loader(train_set, {batch_size, true, false, 7});
    data::DataLoader<float> validation_loader(validation_set, {500});
    data::DataLoader<float> test_loader(test_set, {500});

    std::filesystem::create_directories(out_dir);
    const std::string weights_path = out_dir + "/fashion_mnist_cnn.safetensors";
    auto early_stopping = std::make_shared<train::EarlyStopping<float>>(model, "val_loss", /*patience=*/3);
    train::FitOptions<float, IndexArray> options;
    options.epochs = epochs;
    options.validation = &validation_loader;
    // The learning rate follows a cosine from lr down to 0 over the run: large steps early, fine ones late.
    optim::CosineAnnealingLR<optim::Adam<float>> schedule(optimizer, epochs);
    // The report comes last: it evaluates the test set when training ends, after early stopping has put the
    // best weights back.
    std::ostringstream lr_text;
    lr_text << lr;
    train::TrainingReportOptions report_options;
    report_options.title = "Fashion-MNIST CNN (example 06)";
    report_options.class_names = class_names;
    report_options.profiled_epochs = profiled_epochs;
    report_options.hyperparameters = {
        {"optimizer", "Adam, lr " + lr_text.str() + ", cosine annealing to 0 over " +
                          std::to_string(epochs) + " epochs"},
        {"batch size", std::to_string(batch_size)},
        {"early stopping", "on validation loss, patience 3, best weights restored"},
        {"images", std::to_string(train_set.size()) + " training, " + std::to_string(validation_set.size()) +
                       " validation (stratified), " + std::to_string(test_set.size()) + " test"},
        {"threads", std::to_string(get_num_threads())}};
    const std::string report_path = out_dir + "/fashion_mnist_cnn_report.html";
    auto report = std::make_shared<train::TrainingReport<float>>(model, report_path, &test_loader, report_options);
    options.callbacks = {std::make_shared<train::ProgressBar>(), early_stopping,
                         std::make_shared<train::LRSchedulerCallback<decltype(schedule)>>(schedule), report};
    auto cross_entropy_loss = [](const Tensor<float>& logits, const IndexArray& labels) {
        return cross_entropy(logits, labels);
    };
    const auto history = train::fit(model, cross_entropy_loss, optimizer, train_loader, options);
    io::save_safetensors(model.state_dict(), weights_path, {{"model", "xgrad 06_fashion_mnist_cnn"}});
    std::cout << "Kept the weights of epoch " << early_stopping->best_epoch() << " (lowest validation loss), saved to "
              << weights_path << '\n';

    // Test-set evaluation: the report's scores for every test image, then the metrics.
    const IndexArray predicted = metrics::argmax(report->contents().evaluation->scores);
    const double test_accuracy = metrics::accuracy(predicted, test.labels);
    const metrics::ConfusionMatrix matrix(predicted, test.labels, 10);
    std::cout << "\nTest accuracy " << std::fixed << std::setprecision(4) << test_accuracy << "\n\n"
              << metrics::classification_report(matrix).to_string(class_names) << "\nConfusion matrix (rows: true class):\n"
              << matrix.to_string({"top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"});

    // Learning curves.
    viz::LineChart loss{"Loss", "epoch", "cross-entropy (nats)", {{"train", {}}, {"validation", {}}}};
    viz::LineChart accuracy{"Accuracy", "epoch", "accuracy (share correct)", {{"train", {}}, {"validation", {}}}};
    for (const auto& logs : history)
    {
        loss.series[0].values.push_back(logs.at("loss"));
        loss.series[1].values.push_back(logs.at("val_loss"));
        accuracy.series[0].values.push_back(logs.at("accuracy"));
        accuracy.series[1].values.push_back(logs.at("val_accuracy"));
    }
    const std::string curves_path = out_dir + "/fashion_mnist_cnn_curves.svg";
    viz::save_svg(curves_path, {loss, accuracy});
    std::cout << "Learning curves written to " << curves_path << "; the training report to " << report_path << '\n';

    if (smoke)
    {
        const bool learned = test_accuracy > 0.5 && history.back().at("loss") < 2.0;
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn\n");
        return learned ? 0 : 1;
    }
    return 0;
}
