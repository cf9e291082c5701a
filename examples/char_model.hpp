// The character-level language models of examples 07 and 09, shared with the PyTorch comparison in
// benchmarks/compare: the word list as a character stream, random training windows, the two models (the
// transformer: embedding + learned positions -> pre-norm causal transformer encoder -> next-character logits;
// the LSTM: embedding -> stacked LSTM -> next-character logits), and, for
// any model whose forward takes ids (B, T) to next-character logits (B, T, vocabulary), the loss, the
// validation loss, the training loop and word sampling.
#pragma once

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace char_model
{
    using namespace xgrad;

    // The words as one stream of characters, each word ended by '\n', with the vocabulary.
    struct Corpus
    {
        std::string train_text, validation_text;
        std::string vocabulary;                 // id -> character
        std::map<char, std::int64_t> ids;       // character -> id
    };

    // The words stay in dictionary order, so related words sit together ("abandon", "abandoned",
    // "abandoning"): attention can learn to copy from the words before.  Every `held_out_every`-th block of
    // `block_size` words is the validation text, unseen in training.
    inline Corpus read_words(const std::string& path, std::size_t block_size = 500, std::size_t held_out_every = 10)
    {
        std::ifstream in(path);
        if (!in)
            throw io_error("read_words: cannot open " + path + " (apt-get install wamerican)");
        std::vector<std::string> words;
        for (std::string word; std::getline(in, word);)
            if (!word.empty() && word.find('\'') == std::string::npos)   // skip possessives ("cat's")
                words.push_back(word);
        Corpus corpus;
        for (std::size_t i = 0; i < words.size(); ++i)
        {
            const bool held_out = (i / block_size) % held_out_every == held_out_every / 2;
            (held_out ? corpus.validation_text : corpus.train_text) += words[i] + '\n';
        }
        for (char c : corpus.train_text + corpus.validation_text)
            if (corpus.ids.emplace(c, 0).second)
                corpus.vocabulary += c;
        std::sort(corpus.vocabulary.begin(), corpus.vocabulary.end());
        for (std::size_t i = 0; i < corpus.vocabulary.size(); ++i)
            corpus.ids[corpus.vocabulary[i]] = static_cast<std::int64_t>(i);
        return corpus;
    }

    // A batch of random windows: inputs (B, T) and the next characters (B, T).
    inline std::pair<IndexArray, IndexArray> random_windows(const std::string& text, const Corpus& corpus,
                                                     std::size_t batch, std::size_t context, Generator& rng)
    {
        IndexArray inputs = IndexArray::from_shape({batch, context}), targets = IndexArray::from_shape({batch, context});
        for (std::size_t b = 0; b < batch; ++b)
        {
            const auto start = static_cast<std::size_t>(xgrad::detail::uniform01<double>(rng) *
                                                        static_cast<double>(text.size() - context - 1));
            for (std::size_t t = 0; t < context; ++t)
            {
                inputs(b, t) = corpus.ids.at(text[start + t]);
                targets(b, t) = corpus.ids.at(text[start + t + 1]);
            }
        }
        return {inputs, targets};
    }

    // Embedding + learned positions -> pre-norm causal transformer encoder -> next-character logits.
    class CharTransformer : public nn::Module<float>
    {
    public:
        CharTransformer(std::size_t vocabulary, std::size_t d_model, std::size_t heads, std::size_t layers,
                        std::size_t feed_forward, std::size_t context)
        {
            embedding = register_module("embedding", nn::Embedding<float>(vocabulary, d_model));
            positions = register_module("positions", nn::LearnedPositionalEncoding<float>(d_model, context));
            const nn::TransformerEncoderLayer<float> layer(
                nn::TransformerEncoderLayerOptions{d_model, heads, feed_forward, /*dropout=*/0.0, nn::Activation::gelu, 1e-5, true});
            encoder = register_module("encoder", nn::TransformerEncoder<float>(layer, layers, /*final_norm=*/true));
            head = register_module("head", nn::Linear<float>(d_model, vocabulary));
        }

        // ids: (B, T) -> logits (B, T, vocabulary)
        Tensor<float> forward(const IndexArray& ids)
        {
            const Tensor<float> x = positions->forward(embedding->forward(ids));   // (B, T, d_model)
            return head->forward(encoder->forward(x, std::nullopt, std::nullopt, /*is_causal=*/true));
        }
        // The same with the ids in a tensor (whole numbers), which a recorded graph shows as its input (ONNX export).
        Tensor<float> forward(const Tensor<float>& ids) override
        {
            const Tensor<float> x = positions->forward(embedding->forward(ids));   // (B, T, d_model)
            return head->forward(encoder->forward(x, std::nullopt, std::nullopt, /*is_causal=*/true));
        }
        std::string type_name() const override { return "CharTransformer"; }

        std::shared_ptr<nn::Embedding<float>> embedding;
        std::shared_ptr<nn::LearnedPositionalEncoding<float>> positions;
        std::shared_ptr<nn::TransformerEncoder<float>> encoder;
        std::shared_ptr<nn::Linear<float>> head;
    };

    // Embedding -> stacked LSTM over the window -> next-character logits.
    class CharLSTM : public nn::Module<float>
    {
    public:
        CharLSTM(std::size_t vocabulary, std::size_t embedding_size, std::size_t hidden, std::size_t layers)
        {
            embedding = register_module("embedding", nn::Embedding<float>(vocabulary, embedding_size));
            lstm = register_module("lstm", nn::LSTM<float>(embedding_size, hidden,
                                                           nn::RecurrentOptions().num_layers(layers).batch_first(true)));
            head = register_module("head", nn::Linear<float>(hidden, vocabulary));
        }

        // ids: (B, T) -> logits (B, T, vocabulary)
        Tensor<float> forward(const IndexArray& ids) { return next_char_logits(embedding->forward(ids)); }
        // ids as whole numbers in a float tensor (B, T)
        Tensor<float> forward(const Tensor<float>& ids) override { return next_char_logits(embedding->forward(ids)); }
        std::string type_name() const override { return "CharLSTM"; }

        std::shared_ptr<nn::Embedding<float>> embedding;
        std::shared_ptr<nn::LSTM<float>> lstm;
        std::shared_ptr<nn::Linear<float>> head;

    private:
        // embedded: (B, T, embedding_size) -> (B, T, vocabulary)
        Tensor<float> next_char_logits(const Tensor<float>& embedded)
        {
            return head->forward(lstm->forward(embedded));   // the LSTM's output h at every step: (B, T, hidden)
        }
    };

    // Mean cross-entropy of the next characters, in nats per character.
    template <class Model>
    Tensor<float> next_char_loss(Model& model, const IndexArray& inputs, const IndexArray& targets)
    {
        const Tensor<float> logits = model.forward(inputs);   // (B, T, V)
        const auto vocabulary = static_cast<std::ptrdiff_t>(logits.shape(-1));
        IndexArray flat_targets = targets;
        flat_targets.reshape({targets.size()});
        return cross_entropy(reshape(logits, {-1, vocabulary}), flat_targets);
    }

    // Mean validation loss over a fixed set of windows (the same every time: comparable across steps and
    // across models).
    template <class Model>
    double validation_loss(Model& model, const Corpus& corpus, std::size_t batch, std::size_t context)
    {
        NoGradGuard no_grad;
        model.eval();
        Generator fixed(99);
        double total = 0;
        const int batches = 10;
        for (int i = 0; i < batches; ++i)
        {
            const auto [inputs, targets] = random_windows(corpus.validation_text, corpus, batch, context, fixed);
            total += next_char_loss(model, inputs, targets).item();
        }
        model.train();
        return total / batches;
    }

    // Samples one word of fewer than `max_length` characters, a character at a time, from the softmax of the
    // last position's logits, starting after a '\n' and stopping at the next.
    template <class Model>
    std::string sample_word(Model& model, const Corpus& corpus, std::size_t max_length, double temperature,
                            Generator& rng)
    {
        NoGradGuard no_grad;
        std::string text = "\n";
        while (text.size() < max_length)
        {
            IndexArray ids = IndexArray::from_shape({std::size_t(1), text.size()});
            for (std::size_t t = 0; t < text.size(); ++t)
                ids(0, t) = corpus.ids.at(text[t]);
            const Tensor<float> logits = model.forward(ids);   // (1, t, V)
            const Tensor<float> last = narrow(logits, 1, text.size() - 1, 1);
            const auto probabilities = softmax(mul(last, float(1.0 / temperature)), -1).value();
            double draw = xgrad::detail::uniform01<double>(rng), cumulative = 0;
            std::size_t next = 0;
            for (; next + 1 < corpus.vocabulary.size(); ++next)
                if ((cumulative += probabilities(next)) > draw)
                    break;
            if (corpus.vocabulary[next] == '\n')
                break;
            text += corpus.vocabulary[next];
        }
        return text.substr(1);
    }

    // How both examples train: AdamW with a cosine learning rate, on random windows of the training text.
    struct Training
    {
        std::size_t steps = 500;
        std::size_t batch = 32;     // windows per step
        std::size_t context = 32;   // characters per window
        double lr = 3e-3;
    };

    struct TrainingResult
    {
        double initial_loss;   // validation loss before training, nats/char
        double final_loss;     // after
        double seconds;        // wall time of the training steps and their validation
    };

    // Trains `model`, printing the validation loss every 100 steps and at the end.
    template <class Model>
    TrainingResult train_language_model(Model& model, const Corpus& corpus, const Training& training)
    {
        optim::AdamW<float> optimizer(model.parameters(), optim::AdamWOptions(training.lr).weight_decay(0.01));
        optim::CosineAnnealingLR<optim::AdamW<float>> schedule(optimizer, training.steps, training.lr / 10);
        Generator rng(2);
        const auto start = std::chrono::steady_clock::now();
        TrainingResult result{};
        result.initial_loss = validation_loss(model, corpus, training.batch, training.context);
        result.final_loss = result.initial_loss;
        std::cout << "step    0  validation loss " << std::fixed << std::setprecision(4) << result.initial_loss
                  << " nats/char\n";
        for (std::size_t step = 1; step <= training.steps; ++step)
        {
            const auto [inputs, targets] = random_windows(corpus.train_text, corpus, training.batch, training.context, rng);
            const Tensor<float> loss = next_char_loss(model, inputs, targets);
            optimizer.zero_grad();
            loss.backward();
            optim::clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            schedule.step();
            if (step % 100 == 0 || step == training.steps)
            {
                result.final_loss = validation_loss(model, corpus, training.batch, training.context);
                std::cout << "step " << std::setw(4) << step << "  train loss " << loss.item() << "  validation loss "
                          << result.final_loss << " nats/char\n";
            }
        }
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "Trained in " << std::setprecision(1) << result.seconds << " s\n" << std::setprecision(4);
        return result;
    }

    // Prints `count` sampled words, six to a line.
    template <class Model>
    void print_new_words(Model& model, const Corpus& corpus, std::size_t max_length, double temperature, int count)
    {
        std::cout << "\nNew words:";
        Generator sampler(3);
        for (int i = 0; i < count; ++i)
            std::cout << (i % 6 ? "  " : "\n  ") << sample_word(model, corpus, max_length, temperature, sampler);
        std::cout << '\n';
    }

    // A smoke run's verdict as an exit code: 0 when training took the validation loss down by half a nat per
    // character, 1 otherwise.
    inline int smoke_exit_code(const TrainingResult& result)
    {
        const bool learned = result.final_loss < result.initial_loss - 0.5;
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn\n");
        return learned ? 0 : 1;
    }

    // What a run of 07 or 09 is besides its model: the words, the training budget, sampling, the smoke mode.
    struct LanguageModelRun
    {
        std::string words_path = "/usr/share/dict/words";
        Training training;
        double temperature = 0.8;
        bool smoke = false;
    };

    // The command-line options of a LanguageModelRun (on the examples' CommandLine); each example adds its
    // model's own.
    template <class CommandLine>
    void add_run_options(CommandLine& cli, LanguageModelRun& run)
    {
        cli.add_option("--words", run.words_path, "One word per line (package wamerican)");
        cli.add_option("--steps", run.training.steps, "Training steps");
        cli.add_option("--batch", run.training.batch, "Windows per step");
        cli.add_option("--context", run.training.context, "Characters per window");
        cli.add_option("--lr", run.training.lr, "AdamW learning rate");
        cli.add_option("--temperature", run.temperature, "Sampling temperature (lower: safer words)");
        cli.add_flag("--smoke", run.smoke, "A short run that checks the model learns (for CI)");
    }

    // Reads the words (a smoke run trains for 60 steps only) and says how much text there is.
    inline Corpus start_run(LanguageModelRun& run)
    {
        if (run.smoke)
            run.training.steps = 60;
        Corpus corpus = read_words(run.words_path);
        std::cout << corpus.train_text.size() << " training characters, vocabulary of " << corpus.vocabulary.size()
                  << '\n';
        return corpus;
    }

    // Trains the model, prints new words, and returns the program's exit code.
    template <class Model>
    int finish_run(Model& model, const Corpus& corpus, const LanguageModelRun& run)
    {
        std::cout << "Trainable parameters: " << model.parameter_count() << '\n';
        const TrainingResult result = train_language_model(model, corpus, run.training);
        print_new_words(model, corpus, run.training.context, run.temperature, 12);
        return run.smoke ? smoke_exit_code(result) : 0;
    }
}
