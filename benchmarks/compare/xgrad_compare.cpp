// The xgrad side of the PyTorch comparison (benchmarks/compare/run.sh runs both): one of five training
// workloads, timed over training only, printed as one JSON line with samples/s, the quality figure and the
// peak resident memory. mlp, cnn: one epoch of Fashion-MNIST, then test accuracy; transformer, lstm: 500 steps
// of the character language models of examples 07 and 09, then validation loss; decoder: 300 steps of one
// Transformer decoder layer learning to average its memory, then the mean loss of its last 20 steps.
//   xgrad_compare --workload mlp|cnn|transformer|lstm|decoder --threads N [--batches K] [--profile TRACE.json]
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

    // `steps` steps of a character language model on random windows of the word list, then its validation loss.
    template <class Model, class Optim>
    Measurement language_model_steps(Model& model, Optim& optimizer, const char_model::Corpus& corpus,
                                     std::size_t steps, std::optional<profiler::Profile>* profile)
    {
        using namespace char_model;
        const std::size_t batch = 32, context = 32;
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

    Measurement transformer(std::size_t steps, std::optional<profiler::Profile>* profile)
    {
        const char_model::Corpus corpus = char_model::read_words("/usr/share/dict/words");
        char_model::CharTransformer model(corpus.vocabulary.size(), 64, 4, 2, 256, 32);
        optim::AdamW<float> optimizer(model.parameters(), optim::AdamWOptions(3e-3));
        return language_model_steps(model, optimizer, corpus, steps, profile);
    }

    // Example 09's LSTM at its defaults: embedding 64, two layers of 128.
    Measurement lstm(std::size_t steps, std::optional<profiler::Profile>* profile)
    {
        const char_model::Corpus corpus = char_model::read_words("/usr/share/dict/words");
        char_model::CharLSTM model(corpus.vocabulary.size(), 64, 128, 2);
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(1e-2));
        return language_model_steps(model, optimizer, corpus, steps, profile);
    }

    // One pre-norm decoder layer (d_model 64, 4 heads, feed-forward 256, no dropout) on batches of 32 random
    // targets and memories of 32 steps, with the causal target mask, trained to output the mean of its memory
    // (which only the cross-attention sees): the forward and backward of a decoder layer, timed.
    Measurement decoder(std::size_t steps, std::optional<profiler::Profile>* profile)
    {
        const std::size_t batch = 32, length = 32, d_model = 64, quality_steps = 20;
        nn::TransformerDecoderLayer<float> layer(
            nn::TransformerDecoderLayerOptions{d_model, 4, 256, /*dropout=*/0.0, nn::Activation::relu, 1e-5, true});
        optim::Adam<float> optimizer(layer.parameters(), optim::AdamOptions(1e-3));
        const Tensor<float> causal = nn::Transformer<float>::generate_square_subsequent_mask(length);
        Generator rng(3);
        Measurement m;
        if (profile)
            profile->emplace();
        const auto start = Clock::now();
        for (std::size_t step = 0; step < steps; ++step)
        {
            const Tensor<float> target = randn<float>({batch, length, d_model}, rng);   // (N, T, d_model)
            const Tensor<float> memory = randn<float>({batch, length, d_model}, rng);   // (N, S, d_model), S = T
            // The mean of the memory over its steps, at every target step: what uniform cross-attention gives.
            const Tensor<float> memory_mean = broadcast_to(mean(memory, 1, true), {batch, length, d_model});
            const Tensor<float> loss = mse_loss(layer.forward(target, memory, causal), memory_mean);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            m.samples += batch;
            if (step + quality_steps >= steps)
                m.quality += double(loss.item()) / double(std::min(steps, quality_steps));
        }
        m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (profile)
            (*profile)->stop();
        return m;
    }
}

int main(int argc, char** argv)
{
    std::string workload = "mlp";
    std::size_t threads = 1, batches = 0;
    std::string trace_path;
    CLI::App app{"One xgrad training workload of the PyTorch comparison, as a JSON line"};
    app.add_option("--workload", workload, "mlp, cnn, transformer, lstm or decoder")
        ->check(CLI::IsMember({"mlp", "cnn", "transformer", "lstm", "decoder"}));
    app.add_option("--threads", threads, "Worker threads");
    app.add_option("--batches", batches,
                   "Stop after this many batches (0: one epoch; transformer, lstm: 500 steps; decoder: 300)");
    app.add_option("--profile", trace_path, "Profile the run: op table to stderr, Chrome trace to this file");
    CLI11_PARSE(app, argc, argv);
    set_num_threads(threads);
    manual_seed(0);

    std::optional<profiler::Profile> profile;   // the workload starts it around its training loop, when asked
    auto* profiling = trace_path.empty() ? nullptr : &profile;
    const Measurement m = workload == "mlp"           ? mlp(batches, profiling)
                          : workload == "cnn"         ? cnn(batches, profiling)
                          : workload == "transformer" ? transformer(batches ? batches : 500, profiling)
                          : workload == "lstm"        ? lstm(batches ? batches : 500, profiling)
                                                      : decoder(batches ? batches : 300, profiling);
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
