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
    LanguageModelRun run;
    std::size_t d_model = 64, heads = 4, layers = 2, feed_forward = 256;
    CommandLine cli{"A character-level causal transformer that learns to make up words"};
    add_run_options(cli, run);
    cli.add_option("--d-model", d_model, "Width of the model");
    cli.add_option("--heads", heads, "Attention heads");
    cli.add_option("--layers", layers, "Transformer layers");
    cli.add_option("--feed-forward", feed_forward, "Width of the feed-forward layers");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    const Corpus corpus = start_run(run);
    manual_seed(1);
    CharTransformer model(corpus.vocabulary.size(), d_model, heads, layers, feed_forward, run.training.context);
    return finish_run(model, corpus, run);
}
