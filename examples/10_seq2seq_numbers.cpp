// 10 — An encoder-decoder transformer that learns to read numbers written in words.
//
// What it teaches: sequence-to-sequence learning with nn::Transformer, as machine translation does it.  The
// encoder reads the words ("three hundred and forty-two"), the decoder writes the digits ("342") one at a
// time, each step looking at the digits written so far (self-attention under the causal mask of
// generate_square_subsequent_mask) and at the encoder's output (cross-attention).  Training uses teacher
// forcing: the decoder gets the true digits, shifted right behind a start token, and learns every next digit
// at once.  Inputs and outputs differ in length, so a batch is padded, and key padding masks keep attention
// off the padding; the loss ignores it.  At test time there are no true digits to feed: greedy decoding
// writes the likeliest digit, feeds it back and goes on until the end token.  The task is made on the fly; a
// fixed set of numbers is held out, never seen in training, and the exact-match accuracy on them measures
// whether the model learned the rules of English numbers rather than the numbers it saw.
//
//     ./10_seq2seq_numbers                  # exact-match accuracy on the held-out numbers, and examples
//     ./10_seq2seq_numbers --max 999999     # up to a million (longer inputs: train longer)
//     ./10_seq2seq_numbers --smoke          # a few seconds: checks that it learns
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>

#include "command_line.hpp"

using namespace xgrad;

namespace
{
    const std::vector<std::string> ones = {"zero",    "one",     "two",       "three",    "four",
                                           "five",    "six",     "seven",     "eight",    "nine",
                                           "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                           "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    const std::vector<std::string> tens = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

    std::string below_hundred(int n)
    {
        return n < 20 ? ones[n] : tens[n / 10] + (n % 10 ? "-" + ones[n % 10] : "");
    }

    std::string below_thousand(int n)
    {
        if (n < 100)
            return below_hundred(n);
        return ones[n / 100] + " hundred" + (n % 100 ? " and " + below_hundred(n % 100) : "");
    }

    // British English: 342 -> "three hundred and forty-two", 2005 -> "two thousand and five".  n < 10^6.
    std::string spell(int n)
    {
        if (n < 1000)
            return below_thousand(n);
        const int rest = n % 1000;
        const std::string thousands = below_thousand(n / 1000) + " thousand";
        if (rest == 0)
            return thousands;
        return thousands + (rest < 100 ? " and " : " ") + below_thousand(rest);
    }

    // Source tokens: the words (a hyphen splits "forty-two" into two), after the padding id 0.
    // Target tokens: padding, start, end and the ten digits.
    constexpr std::int64_t pad = 0, start = 1, end = 2, first_digit = 3;
    constexpr std::size_t target_vocabulary = 13;

    class Vocabulary
    {
    public:
        Vocabulary()
        {
            std::vector<std::string> words = ones;
            words.insert(words.end(), tens.begin() + 2, tens.end());
            words.insert(words.end(), {"hundred", "thousand", "and"});
            for (const auto& word : words)
                ids_.emplace(word, static_cast<std::int64_t>(ids_.size() + 1));
        }
        std::size_t size() const { return ids_.size() + 1; }

        std::vector<std::int64_t> encode(const std::string& text) const
        {
            std::vector<std::int64_t> tokens;
            std::string word;
            for (char c : text + ' ')
                if (c == ' ' || c == '-')
                {
                    tokens.push_back(ids_.at(word));
                    word.clear();
                }
                else
                    word += c;
            return tokens;
        }

    private:
        std::map<std::string, std::int64_t> ids_;
    };

    // A padded batch: what teacher forcing needs, and the masks.
    struct Batch
    {
        IndexArray source;                 // (N, S) word ids, pad after each input's end
        xt::xarray<bool> source_padding;   // (N, S) true at the padding
        IndexArray decoder_input;          // (N, T) start, d1, d2, ..., then pad
        xt::xarray<bool> target_padding;   // (N, T) true at the padding
        IndexArray decoder_target;         // (N, T) d1, d2, ..., end, then pad (ignored by the loss)
    };

    Batch make_batch(const std::vector<int>& numbers, const Vocabulary& vocabulary)
    {
        std::vector<std::vector<std::int64_t>> sources;
        std::vector<std::string> digits;
        std::size_t source_length = 0, target_length = 0;
        for (int n : numbers)
        {
            sources.push_back(vocabulary.encode(spell(n)));
            digits.push_back(std::to_string(n));
            source_length = std::max(source_length, sources.back().size());
            target_length = std::max(target_length, digits.back().size() + 1);
        }
        const std::size_t count = numbers.size();
        Batch batch{IndexArray::from_shape({count, source_length}), xt::xarray<bool>::from_shape({count, source_length}),
                    IndexArray::from_shape({count, target_length}), xt::xarray<bool>::from_shape({count, target_length}),
                    IndexArray::from_shape({count, target_length})};
        batch.source.fill(pad);
        batch.decoder_input.fill(pad);
        batch.decoder_target.fill(pad);
        for (std::size_t i = 0; i < count; ++i)
        {
            for (std::size_t s = 0; s < source_length; ++s)
            {
                batch.source_padding(i, s) = s >= sources[i].size();
                if (s < sources[i].size())
                    batch.source(i, s) = sources[i][s];
            }
            const std::string& number = digits[i];
            for (std::size_t t = 0; t < target_length; ++t)
            {
                batch.target_padding(i, t) = t > number.size();
                if (t <= number.size())
                {
                    batch.decoder_input(i, t) = t == 0 ? start : first_digit + (number[t - 1] - '0');
                    batch.decoder_target(i, t) = t == number.size() ? end : first_digit + (number[t] - '0');
                }
            }
        }
        return batch;
    }

    // Word and digit embeddings with fixed sinusoidal positions -> nn::Transformer -> digit logits.
    class NumberReader : public nn::Module<float>
    {
    public:
        NumberReader(std::size_t source_vocabulary, const nn::TransformerOptions& options)
        {
            source_embedding = register_module("source_embedding", nn::Embedding<float>(source_vocabulary, options.d_model));
            target_embedding = register_module("target_embedding", nn::Embedding<float>(target_vocabulary, options.d_model));
            positions = register_module("positions", nn::SinusoidalPositionalEncoding<float>(options.d_model, 64));
            transformer = register_module("transformer", nn::Transformer<float>(options));
            head = register_module("head", nn::Linear<float>(options.d_model, target_vocabulary));
        }

        // source: (N, S), source_padding (N, S) -> memory (N, S, d_model)
        Tensor<float> encode(const IndexArray& source, const xt::xarray<bool>& source_padding)
        {
            return transformer->encoder->forward(positions->forward(source_embedding->forward(source)), std::nullopt,
                                                 source_padding);
        }

        // decoder_input: (N, T), memory (N, S, d_model) -> next-digit logits (N, T, target_vocabulary).  Each
        // position sees the digits up to itself (the causal mask) and every word that is not padding.
        Tensor<float> decode(const IndexArray& decoder_input, const nn::AttentionMask<float>& target_padding,
                             const Tensor<float>& memory, const xt::xarray<bool>& source_padding)
        {
            const Tensor<float> causal = nn::Transformer<float>::generate_square_subsequent_mask(decoder_input.shape(1));
            const Tensor<float> target = positions->forward(target_embedding->forward(decoder_input));   // (N, T, d_model)
            return head->forward(transformer->decoder->forward(target, memory, causal, std::nullopt, target_padding,
                                                               source_padding));
        }

        // Teacher forcing: logits (N, T, target_vocabulary) for every next digit of the batch at once.
        Tensor<float> forward(const Batch& batch)
        {
            return decode(batch.decoder_input, batch.target_padding, encode(batch.source, batch.source_padding),
                          batch.source_padding);
        }
        Tensor<float> forward(const Tensor<float>&) override
        {
            throw value_error("NumberReader needs a batch of words and digits: call forward(batch)");
        }
        std::string type_name() const override { return "NumberReader"; }

        std::shared_ptr<nn::Embedding<float>> source_embedding, target_embedding;
        std::shared_ptr<nn::SinusoidalPositionalEncoding<float>> positions;
        std::shared_ptr<nn::Transformer<float>> transformer;
        std::shared_ptr<nn::Linear<float>> head;
    };

    Tensor<float> teacher_forcing_loss(NumberReader& model, const Batch& batch)
    {
        const Tensor<float> logits = model.forward(batch);   // (N, T, V)
        IndexArray flat_targets = batch.decoder_target;
        flat_targets.reshape({flat_targets.size()});
        return cross_entropy(reshape(logits, {-1, static_cast<std::ptrdiff_t>(target_vocabulary)}), flat_targets,
                             Reduction::mean, 0.0f, /*ignore_index=*/pad);
    }

    // Greedy decoding: from the start token, append the likeliest next token until every row has ended or
    // `max_length` tokens are written.  Returns each row's digits before its end token.
    std::vector<std::string> greedy_decode(NumberReader& model, const std::vector<int>& numbers,
                                           const Vocabulary& vocabulary, std::size_t max_length)
    {
        NoGradGuard no_grad;
        model.eval();
        const Batch batch = make_batch(numbers, vocabulary);
        const Tensor<float> memory = model.encode(batch.source, batch.source_padding);   // (N, S, d_model)
        const std::size_t count = numbers.size();
        IndexArray written = IndexArray::from_shape({count, std::size_t(1)});   // (N, t)
        written.fill(start);
        std::vector<std::string> read(count);
        std::vector<bool> ended(count, false);
        for (std::size_t t = 1; t <= max_length && std::count(ended.begin(), ended.end(), false) > 0; ++t)
        {
            const auto logits = model.decode(written, std::nullopt, memory, batch.source_padding).value();   // (N, t, V)
            IndexArray longer = IndexArray::from_shape({count, t + 1});
            xt::view(longer, xt::all(), xt::range(0, t)) = written;
            for (std::size_t i = 0; i < count; ++i)
            {
                std::int64_t best = 0;
                for (std::size_t v = 1; v < target_vocabulary; ++v)
                    if (logits(i, t - 1, v) > logits(i, t - 1, static_cast<std::size_t>(best)))
                        best = static_cast<std::int64_t>(v);
                longer(i, t) = best;
                if (best < first_digit)
                    ended[i] = true;
                else if (!ended[i])
                    read[i] += static_cast<char>('0' + (best - first_digit));
            }
            written = longer;
        }
        model.train();
        return read;
    }

    double exact_match(const std::vector<int>& numbers, const std::vector<std::string>& read)
    {
        std::size_t correct = 0;
        for (std::size_t i = 0; i < numbers.size(); ++i)
            correct += read[i] == std::to_string(numbers[i]);
        return static_cast<double>(correct) / static_cast<double>(numbers.size());
    }
}

int main(int argc, char** argv)
{
    std::int64_t max_number = 9999;
    std::size_t held_out_count = 500, steps = 1500, batch_size = 64;
    nn::TransformerOptions options;
    options.d_model = 64;
    options.nhead = 4;
    options.num_encoder_layers = 2;
    options.num_decoder_layers = 2;
    options.dim_feedforward = 128;
    options.dropout = 0.0;
    options.norm_first = true;
    double lr = 1e-3;
    bool smoke = false;
    CommandLine cli{"An encoder-decoder transformer that reads numbers written in words: words in, digits out"};
    cli.add_option("--max", max_number, "Numbers from 0 to this", std::int64_t(9), std::int64_t(999999));
    cli.add_option("--held-out", held_out_count, "Numbers kept out of training, to test on");
    cli.add_option("--steps", steps, "Training steps");
    cli.add_option("--batch", batch_size, "Numbers per step");
    cli.add_option("--d-model", options.d_model, "Width of the model");
    cli.add_option("--heads", options.nhead, "Attention heads");
    cli.add_option("--encoder-layers", options.num_encoder_layers, "Encoder layers");
    cli.add_option("--decoder-layers", options.num_decoder_layers, "Decoder layers");
    cli.add_option("--feed-forward", options.dim_feedforward, "Width of the feed-forward layers");
    cli.add_option("--lr", lr, "AdamW learning rate");
    cli.add_flag("--smoke", smoke, "A short run that checks the model learns (for CI)");
    if (const auto exit_code = cli.parse(argc, argv))
        return *exit_code;
    if (smoke)
    {
        max_number = 999;
        held_out_count = 100;
        steps = 300;
    }
    if (held_out_count * 2 > static_cast<std::size_t>(max_number) + 1)
    {
        std::cerr << "--held-out must leave at least half of the numbers for training\n";
        return 2;
    }

    // The same numbers are held out on every run: a fixed shuffle of 0..max, its first held_out_count.
    std::vector<int> numbers;
    for (int n = 0; n <= static_cast<int>(max_number); ++n)
        numbers.push_back(n);
    Generator shuffler(5);
    for (std::size_t i = numbers.size() - 1; i > 0; --i)
        std::swap(numbers[i], numbers[static_cast<std::size_t>(xgrad::detail::uniform01<double>(shuffler) *
                                                               static_cast<double>(i + 1))]);
    const std::vector<int> held_out(numbers.begin(), numbers.begin() + static_cast<std::ptrdiff_t>(held_out_count));
    const std::vector<int> training(numbers.begin() + static_cast<std::ptrdiff_t>(held_out_count), numbers.end());
    const std::size_t max_digits = std::to_string(max_number).size();
    std::cout << training.size() << " numbers to train on, " << held_out.size() << " held out, e.g. "
              << held_out[0] << " = \"" << spell(held_out[0]) << "\"\n";

    const Vocabulary vocabulary;
    manual_seed(1);
    NumberReader model(vocabulary.size(), options);
    std::cout << "Trainable parameters: " << model.parameter_count() << '\n';
    optim::AdamW<float> optimizer(model.parameters(), optim::AdamWOptions(lr).weight_decay(0.01));
    optim::CosineAnnealingLR<optim::AdamW<float>> schedule(optimizer, steps, lr / 10);
    Generator rng(2);

    const auto started = std::chrono::steady_clock::now();
    std::vector<int> drawn(batch_size);
    std::cout << std::fixed << std::setprecision(4);
    for (std::size_t step = 1; step <= steps; ++step)
    {
        for (int& n : drawn)
            n = training[static_cast<std::size_t>(xgrad::detail::uniform01<double>(rng) * static_cast<double>(training.size()))];
        const Tensor<float> loss = teacher_forcing_loss(model, make_batch(drawn, vocabulary));
        optimizer.zero_grad();
        loss.backward();
        optim::clip_grad_norm_(model.parameters(), 1.0);
        optimizer.step();
        schedule.step();
        if (step % 100 == 0 || step == steps)
            std::cout << "step " << std::setw(5) << step << "  loss " << loss.item() << " nats/token\n";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const std::vector<std::string> read = greedy_decode(model, held_out, vocabulary, max_digits + 1);
    const double accuracy = exact_match(held_out, read);
    std::cout << "Trained in " << std::setprecision(1) << seconds << " s\n"
              << "Exact match on the " << held_out.size() << " held-out numbers (greedy decoding): "
              << 100 * accuracy << "%\n\n";
    for (std::size_t i = 0; i < std::min<std::size_t>(8, held_out.size()); ++i)
        std::cout << "  " << std::setw(48) << std::left << spell(held_out[i]) << std::right << " -> " << std::setw(7)
                  << read[i] << (read[i] == std::to_string(held_out[i]) ? "" : "   wrong") << '\n';
    if (smoke)
    {
        const bool learned = accuracy > 0.5;
        std::cout << (learned ? "smoke test passed\n" : "smoke test FAILED: the model did not learn to read numbers\n");
        return learned ? 0 : 1;
    }
    return 0;
}
