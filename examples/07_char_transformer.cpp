// 07 — A character-level transformer language model that learns to spell English-like words.
//
// What it teaches: the parts of a GPT in miniature.  Characters become vectors (an embedding), learned
// position vectors say where each one is, causal self-attention lets every position look only at earlier
// ones, and a linear head predicts the next character.  Trained on /usr/share/dict/words (Debian package
// wamerican) in dictionary order, where neighbouring words share stems, attention learns to copy from the
// words before (a bigram model cannot: it stays near 2.3 nats/char).  It reports the validation loss in
// nats per character on held-out blocks of words, then samples new words.  The model, the data and the
// training loop are in char_model.hpp, shared with example 09's LSTM, which learns the same task.
//
//     ./07_char_transformer --steps 500       # validation loss about 1.6 nats/char (PyTorch: 1.62)
//     ./07_char_transformer --smoke           # a few seconds: checks that it learns
#include <iostream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "char_model.hpp"
#include "command_line.hpp"

using namespace xgrad;
using namespace char_model;

int main(int argc, char** argv)
{
    std::string words_path = "/usr/share/dict/words";
    Training training;
    std::size_t d_model = 64, heads = 4, layers = 2, feed_forward = 256;
    double temperature = 0.8;
    bool smoke = false;
    CommandLine cli{"A character-level causal transformer that learns to make up words"};
    cli.add_option("--words", words_path, "One word per line (package wamerican)");
    cli.add_option("--steps", training.steps, "Training steps");
    cli.add_option("--batch", training.batch, "Windows per step");
    cli.add_option("--context", training.context, "Characters per window");
    cli.add_option("--d-model", d_model, "Width of the model");
    cli.add_option("--heads", heads, "Attention heads");
    cli.add_option("--layers", layers, "Transformer layers");
    cli.add_option("--feed-forward", feed_forward, "Width of the feed-forward layers");
    cli.add_option("--lr", training.lr, "AdamW learning rate");
    cli.add_option("--temperature", temperature, "Sampling temperature (lower: safer words)");
    cli.add_flag("--smoke", smoke, "A short run that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (smoke)
        training.steps = 60;

    const Corpus corpus = read_words(words_path);
    std::cout << corpus.train_text.size() << " training characters, vocabulary of " << corpus.vocabulary.size() << '\n';

    manual_seed(1);
    CharTransformer model(corpus.vocabulary.size(), d_model, heads, layers, feed_forward, training.context);
    std::cout << "Trainable parameters: " << model.parameter_count() << '\n';
    const TrainingResult result = train_language_model(model, corpus, training);
    print_new_words(model, corpus, training.context, temperature, 12);
    return smoke ? smoke_exit_code(result) : 0;
}
