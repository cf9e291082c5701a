// 07 — A character-level transformer language model that learns to spell English-like words.
//
// What it teaches: the parts of a GPT in miniature.  Characters become vectors (an embedding), learned
// position vectors say where each one is, causal self-attention lets every position look only at earlier
// ones, and a linear head predicts the next character.  Trained on /usr/share/dict/words (Debian package
// wamerican) in dictionary order, where neighbouring words share stems, attention learns to copy from the
// words before (a bigram model cannot: it stays near 2.3 nats/char).  It reports the validation loss in
// nats per character on held-out blocks of words, then samples new words.
//
//     ./07_char_transformer --steps 500       # validation loss about 1.6 nats/char (PyTorch: 1.62)
//     ./07_char_transformer --smoke           # a few seconds: checks that it learns
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>

#include <xgrad/xgrad.hpp>

#include "char_model.hpp"
#include "command_line.hpp"

using namespace xgrad;

namespace
{
    using namespace char_model;

    // Samples one word, a character at a time, from the softmax of the last position's logits.
    std::string sample_word(CharTransformer& model, const Corpus& corpus, std::size_t context, double temperature,
                            Generator& rng)
    {
        NoGradGuard no_grad;
        std::string text = "\n";
        while (text.size() < context)
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
}

int main(int argc, char** argv)
{
    std::string words_path = "/usr/share/dict/words";
    std::size_t steps = 500, batch = 32, context = 32, d_model = 64, heads = 4, layers = 2, feed_forward = 256;
    double lr = 3e-3, temperature = 0.8;
    bool smoke = false;
    CommandLine cli{"A character-level causal transformer that learns to make up words"};
    cli.add_option("--words", words_path, "One word per line (package wamerican)");
    cli.add_option("--steps", steps, "Training steps");
    cli.add_option("--batch", batch, "Windows per step");
    cli.add_option("--context", context, "Characters per window");
    cli.add_option("--d-model", d_model, "Width of the model");
    cli.add_option("--heads", heads, "Attention heads");
    cli.add_option("--layers", layers, "Transformer layers");
    cli.add_option("--feed-forward", feed_forward, "Width of the feed-forward layers");
    cli.add_option("--lr", lr, "AdamW learning rate");
    cli.add_option("--temperature", temperature, "Sampling temperature (lower: safer words)");
    cli.add_flag("--smoke", smoke, "A short run that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (smoke)
        steps = 60;

    const Corpus corpus = read_words(words_path);
    std::cout << corpus.train_text.size() << " training characters, vocabulary of " << corpus.vocabulary.size() << '\n';

    manual_seed(1);
    CharTransformer model(corpus.vocabulary.size(), d_model, heads, layers, feed_forward, context);
    std::cout << "Trainable parameters: " << model.parameter_count() << '\n';
    optim::AdamW<float> optimizer(model.parameters(), optim::AdamWOptions(lr).weight_decay(0.01));
    optim::CosineAnnealingLR<optim::AdamW<float>> schedule(optimizer, steps, lr / 10);
    Generator rng(2);

    const double initial = validation_loss(model, corpus, batch, context);
    std::cout << "step    0  validation loss " << std::fixed << std::setprecision(4) << initial << " nats/char\n";
    double final_loss = initial;
    for (std::size_t step = 1; step <= steps; ++step)
    {
        const auto [inputs, targets] = random_windows(corpus.train_text, corpus, batch, context, rng);
        const Tensor<float> loss = next_char_loss(model, inputs, targets);
        optimizer.zero_grad();
        loss.backward();
        optim::clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        schedule.step();
        if (step % 100 == 0 || step == steps)
        {
            final_loss = validation_loss(model, corpus, batch, context);
            std::cout << "step " << std::setw(4) << step << "  train loss " << loss.item() << "  validation loss "
                      << final_loss << " nats/char\n";
        }
    }

    std::cout << "\nNew words:";
    Generator sampler(3);
    for (int i = 0; i < 12; ++i)
        std::cout << (i % 6 ? "  " : "\n  ") << sample_word(model, corpus, context, temperature, sampler);
    std::cout << '\n';
    if (smoke)
    {
        const bool learned = final_loss < initial - 0.5;
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn\n");
        return learned ? 0 : 1;
    }
    return 0;
}
