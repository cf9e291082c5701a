// The xgrad side of the PyTorch comparison (benchmarks/compare/run.sh runs both): one of three training
// workloads, timed over training only, printed as one JSON line with samples/s, the quality figure (test
// accuracy after one epoch, or validation loss after 500 steps) and the peak resident memory.
//   xgrad_compare --workload mlp|cnn|transformer --threads N [--batches K] [--profile TRACE.json]
// With --profile, the profiler's table of ops (by self time) goes to stderr and its Chrome trace to TRACE.json.
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include <xgrad/xgrad.hpp>

#include "../../examples/char_model.hpp"

using namespace xgrad;

namespace
{
    // Peak resident set size of this process, in MiB (VmHWM in /proc/self/status).
    double peak_rss_mib()
    {
        std::ifstream status("/proc/self/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("VmHWM:", 0) == 0)
                return std::stod(line.substr(6)) / 1024.0;
        return -1.0;
    }

    struct Measurement
    {
        std::size_t samples = 0;
        double seconds = 0, quality = 0;
    };

    using Clock = std::chrono::steady_clock;

    // One epoch (or `max_batches`) of an image classifier, then its test accuracy.
    template <class Optim>
    Measurement image_epoch(nn::Sequential<float>& model, Optim& optimizer, bool flatten_images, std::size_t max_batches,
                            std::optional<profiler::Profile>* profile)
    {
        const std::string directory = "/usr/share/datasets/fashion-mnist";
        auto train = data::load_mnist<float>(directory, true), test = data::load_mnist<float>(directory, false);
        // The images move into the datasets (reshaped in place): one copy of the data set, as PyTorch's side holds.
        auto shaped = [&](xt::xarray<float>&& images) {
            if (flatten_images)
                images.reshape({images.shape()[0], std::size_t(784)});
            return std::move(images);
        };
        const data::TensorDataset<float> train_set(shaped(std::move(train.images)), std::move(train.labels)),
            test_set(shaped(std::move(test.images)), std::move(test.labels));
        data::DataLoader<float> loader(train_set, {64, true, false, 1}), test_loader(test_set, {1000});
        Measurement m;
        if (profile)
            profile->emplace();   // from here: training only, not the data loading above or the test below
        const auto start = Clock::now();
        std::size_t batches = 0;
        for (const auto& batch : loader)
        {
            const Tensor<float> loss = cross_entropy(model(batch.inputs), batch.targets);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            m.samples += batch.size();
            if (++batches == max_batches)
                break;
        }
        m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (profile)
            (*profile)->stop();
        model.eval();
        NoGradGuard no_grad;
        double correct = 0;
        for (const auto& batch : test_loader)
            correct += metrics::accuracy(model(batch.inputs).value(), batch.targets) * static_cast<double>(batch.size());
        m.quality = correct / static_cast<double>(test_set.size());
        return m;
    }

    Measurement mlp(std::size_t max_batches, std::optional<profiler::Profile>* profile)
    {
        nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10)};
        optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.01).momentum(0.9));
        return image_epoch(model, optimizer, true, max_batches, profile);
    }

    Measurement cnn(std::size_t max_batches, std::optional<profiler::Profile>* profile)
    {
        const auto same = nn::Conv2dOptions().padding(1);
        nn::Sequential model{nn::Conv2d(1, 32, 3, same), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, same),
                             nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(),
                             nn::Dropout(0.5), nn::Linear(128, 10)};
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(1e-3));
        return image_epoch(model, optimizer, false, max_batches, profile);
    }

    Measurement transformer(std::size_t steps, std::optional<profiler::Profile>* profile)
    {
        using namespace char_model;
        const std::size_t batch = 32, context = 32;
        const Corpus corpus = read_words("/usr/share/dict/words");
        CharTransformer model(corpus.vocabulary.size(), 64, 4, 2, 256, context);
        optim::AdamW<float> optimizer(model.parameters(), optim::AdamWOptions(3e-3));
        Generator rng(2);
        Measurement m;
        if (profile)
            profile->emplace();
        const auto start = Clock::now();
        for (std::size_t step = 0; step < steps; ++step)
        {
            const auto [inputs, targets] = random_windows(corpus.train_text, corpus, batch, context, rng);
            const Tensor<float> loss = next_char_loss(model, inputs, targets);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            m.samples += batch;
        }
        m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (profile)
            (*profile)->stop();
        m.quality = validation_loss(model, corpus, batch, context);
        return m;
    }
}

int main(int argc, char** argv)
{
    std::string workload = "mlp";
    std::size_t threads = 1, batches = 0;
    std::string trace_path;
    CLI::App app{"One xgrad training workload of the PyTorch comparison, as a JSON line"};
    app.add_option("--workload", workload, "mlp, cnn or transformer")->check(CLI::IsMember({"mlp", "cnn", "transformer"}));
    app.add_option("--threads", threads, "Worker threads");
    app.add_option("--batches", batches, "Stop after this many batches (0: one epoch; transformer: 500 steps)");
    app.add_option("--profile", trace_path, "Profile the run: op table to stderr, Chrome trace to this file");
    CLI11_PARSE(app, argc, argv);
    set_num_threads(threads);
    manual_seed(0);

    std::optional<profiler::Profile> profile;   // the workload starts it around its training loop, when asked
    auto* profiling = trace_path.empty() ? nullptr : &profile;
    const Measurement m = workload == "mlp" ? mlp(batches, profiling)
                          : workload == "cnn" ? cnn(batches, profiling)
                                              : transformer(batches ? batches : 500, profiling);
    if (profile)
    {
        std::cerr << profile->table(25);
        profile->export_chrome_trace(trace_path);
    }
    std::cout << "{\"framework\": \"xgrad\", \"workload\": \"" << workload << "\", \"threads\": " << threads
              << ", \"samples\": " << m.samples << ", \"seconds\": " << m.seconds
              << ", \"samples_per_s\": " << static_cast<double>(m.samples) / m.seconds << ", \"quality\": " << m.quality
              << ", \"peak_rss_mib\": " << peak_rss_mib() << "}" << std::endl;
}
