// 09 — A character-level LSTM language model, side by side with example 07's transformer.
//
// What it teaches: the recurrent way to model a sequence.  Where 07's transformer looks back at every
// earlier character at once through attention, an LSTM reads the characters one at a time and carries what
// it has seen in two state vectors: h, what it shows the next layer, and the cell c, a memory that the
// forget and input gates keep, erase or add to at each step.  The data, the held-out blocks of words, the
// training windows, the number of steps, the optimiser (its learning rate aside) and the loss (nats per
// character on the held-out words) are exactly 07's (char_model.hpp), so the two numbers compare: the same
// budget for the two ways of looking back.
// Every window starts from a zero state, so the LSTM, like the transformer, sees only the window's own
// characters; gradients flow back through all of them (backpropagation through time).
//
//     ./09_char_lstm                     # prints the validation loss and the training time, then new words
//     ./09_char_lstm --hidden 256        # a wider LSTM
//     ./09_char_lstm --smoke             # a few seconds: checks that it learns
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
    run.training.lr = 1e-2;   // an LSTM takes a larger step than 07's transformer
    std::size_t embedding_size = 64, hidden = 128, layers = 2;
    CommandLine cli{"A character-level LSTM that learns to make up words (example 07's task)"};
    add_run_options(cli, run);
    cli.add_option("--embedding", embedding_size, "Width of the character vectors");
    cli.add_option("--hidden", hidden, "Width of the LSTM's state");
    cli.add_option("--layers", layers, "Stacked LSTM layers");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;

    const Corpus corpus = start_run(run);
    manual_seed(1);
    CharLSTM model(corpus.vocabulary.size(), embedding_size, hidden, layers);
    return finish_run(model, corpus, run);
}
