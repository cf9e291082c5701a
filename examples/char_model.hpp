// The character-level language model of example 07, shared with the PyTorch comparison in
// benchmarks/compare: the word list as a character stream, random training windows, and the model
// (embedding + learned positions -> pre-norm causal transformer encoder -> next-character logits).
#pragma once

#include <algorithm>
#include <fstream>
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
        Tensor<float> forward(const Tensor<float>& ids) override { return embedding->forward(ids); }
        std::string type_name() const override { return "CharTransformer"; }

        std::shared_ptr<nn::Embedding<float>> embedding;
        std::shared_ptr<nn::LearnedPositionalEncoding<float>> positions;
        std::shared_ptr<nn::TransformerEncoder<float>> encoder;
        std::shared_ptr<nn::Linear<float>> head;
    };

    inline Tensor<float> next_char_loss(CharTransformer& model, const IndexArray& inputs, const IndexArray& targets)
    {
        const Tensor<float> logits = model.forward(inputs);   // (B, T, V)
        const auto vocabulary = static_cast<std::ptrdiff_t>(logits.shape(-1));
        IndexArray flat_targets = targets;
        flat_targets.reshape({targets.size()});
        return cross_entropy(reshape(logits, {-1, vocabulary}), flat_targets);
    }

    // Mean validation loss over a fixed set of windows (the same every time: comparable across steps).
    inline double validation_loss(CharTransformer& model, const Corpus& corpus, std::size_t batch, std::size_t context)
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
}
