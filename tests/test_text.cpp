// Tokenisation: the character tokenizer (code points, special tokens, unknown characters), byte-level BPE
// (round trips on any bytes, merges checked by hand and against a plain recount-every-merge trainer, special
// tokens kept whole, save and load, corrupt or lying vocabulary files refused with io_error), and
// pad_sequence's layouts, lengths and mask (which MultiheadAttention takes as its key_padding_mask).
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/text.hpp>
#include <xtensor/xview.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;
using text::BpeOptions;
using text::BpeTokenizer;
using Ids = std::vector<std::int64_t>;
using Merges = std::vector<std::pair<std::int64_t, std::int64_t>>;

namespace
{
    std::string random_bytes(std::size_t count, std::mt19937& rng)
    {
        std::uniform_int_distribution<int> byte(0, 255);
        std::string bytes;
        for (std::size_t i = 0; i < count; ++i)
            bytes += char(byte(rng));
        return bytes;
    }

    // Words from a small alphabet, with spaces and newlines: many repeated pairs and many ties.
    std::string random_text(std::size_t words, std::mt19937& rng)
    {
        std::uniform_int_distribution<int> letter(0, 3), length(1, 6), gap(0, 5);
        std::string text;
        for (std::size_t w = 0; w < words; ++w)
        {
            text += gap(rng) == 0 ? "\n" : gap(rng) == 1 ? "  " : " ";
            for (int i = length(rng); i > 0; --i)
                text += char('a' + letter(rng));
        }
        return text;
    }

    // The words split_words makes, cut by a loop of its own: whitespace, then non-whitespace.
    std::vector<std::string> reference_words(const std::string& text)
    {
        const auto space = [](char c) {
            return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
        };
        std::vector<std::string> words;
        for (std::size_t i = 0; i < text.size();)
        {
            std::string word;
            while (i < text.size() && space(text[i]))
                word += text[i++];
            while (i < text.size() && !space(text[i]))
                word += text[i++];
            words.push_back(word);
        }
        return words;
    }

    std::vector<Ids> as_ids(const std::vector<std::string>& words)
    {
        std::vector<Ids> ids;
        for (const auto& word : words)
            ids.emplace_back(word.begin(), word.end());
        for (auto& word : ids)
            for (auto& id : word)
                id = static_cast<unsigned char>(id);
        return ids;
    }

    // Every occurrence of (left, right) in `word`, left to right and not overlapping, replaced by `merged`.
    Ids apply_merge(const Ids& word, std::int64_t left, std::int64_t right, std::int64_t merged)
    {
        Ids out;
        for (std::size_t i = 0; i < word.size();)
            if (i + 1 < word.size() && word[i] == left && word[i + 1] == right)
            {
                out.push_back(merged);
                i += 2;
            }
            else
                out.push_back(word[i++]);
        return out;
    }

    // BPE training as the textbook states it: count every pair of every word again before each merge.
    Merges reference_train(const std::string& corpus, std::size_t merges_wanted, std::int64_t min_frequency)
    {
        std::vector<Ids> words = as_ids(reference_words(corpus));
        Merges merges;
        while (merges.size() < merges_wanted)
        {
            std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> counts;   // in increasing pair order
            for (const auto& word : words)
                for (std::size_t i = 0; i + 1 < word.size(); ++i)
                    ++counts[{word[i], word[i + 1]}];
            std::pair<std::int64_t, std::int64_t> best{-1, -1};
            std::int64_t best_count = 0;
            for (const auto& entry : counts)
                if (entry.second > best_count)   // strictly: a tie keeps the smaller pair
                {
                    best = entry.first;
                    best_count = entry.second;
                }
            if (best_count < min_frequency)
                break;
            for (auto& word : words)
                word = apply_merge(word, best.first, best.second, 256 + std::int64_t(merges.size()));
            merges.push_back(best);
        }
        return merges;
    }

    // Encoding as the textbook states it: each merge in rank order over every word.
    Ids reference_encode(const Merges& merges, const std::string& text)
    {
        Ids ids;
        for (Ids word : as_ids(reference_words(text)))
        {
            for (std::size_t r = 0; r < merges.size(); ++r)
                word = apply_merge(word, merges[r].first, merges[r].second, 256 + std::int64_t(r));
            ids.insert(ids.end(), word.begin(), word.end());
        }
        return ids;
    }

    void write_file(const std::string& path, const std::string& contents)
    {
        std::ofstream out(path, std::ios::binary);
        out << contents;
    }
}

TEST_CASE("CharTokenizer: code points after the special tokens, round trips, unknown characters")
{
    const std::string corpus = "héllo wörld, 日本 😀";
    const text::CharTokenizer tokenizer(corpus);
    // 4 special tokens + h é l o ' ' w ö r d , 日 本 😀
    CHECK(tokenizer.vocab_size() == 4 + 13);
    CHECK(tokenizer.special_id("<pad>") == 0);
    CHECK(tokenizer.special_id("<unk>") == 3);
    CHECK(tokenizer.encode(" ") == Ids{4});    // ' ' is the smallest code point of the corpus
    CHECK(tokenizer.encode("😀") == Ids{16});   // and U+1F600 the largest
    const Ids ids = tokenizer.encode("wörld 日本");
    CHECK(ids.size() == 8);
    CHECK(tokenizer.decode(ids) == "wörld 日本");
    CHECK(tokenizer.encode("") == Ids{});
    CHECK(tokenizer.decode({}) == "");
    CHECK(tokenizer.encode("hÿ") == Ids{tokenizer.encode("h")[0], 3});   // ÿ is unknown
    CHECK(tokenizer.decode({1, tokenizer.encode("h")[0], 2}) == "<bos>h<eos>");
    CHECK(tokenizer.decode({1, tokenizer.encode("h")[0], 2}, true) == "h");
    CHECK_THROWS_AS(tokenizer.decode({17}), value_error);
    CHECK_THROWS_AS(tokenizer.decode({-1}), value_error);
    CHECK_THROWS_AS(tokenizer.special_id("<mask>"), value_error);
    check_error<value_error>([&] { tokenizer.encode("ab\xff"); }, {"not valid UTF-8", "byte 2"});
    CHECK_THROWS_AS(tokenizer.encode("\xc0\x80"), value_error);       // overlong NUL
    CHECK_THROWS_AS(tokenizer.encode("\xed\xa0\x80"), value_error);   // a surrogate
    CHECK_THROWS_AS(tokenizer.encode("\xe6\x97"), value_error);       // cut short
}

TEST_CASE("CharTokenizer: configured special tokens, and no unknown token")
{
    const text::CharTokenizer tokenizer("abc", text::CharTokenizerOptions().special_tokens({"<s>"}).unknown_token(""));
    CHECK(tokenizer.vocab_size() == 4);
    CHECK(tokenizer.encode("cab") == Ids{3, 1, 2});
    check_error<value_error>([&] { tokenizer.encode("abd"); }, {"U+0064", "no unknown token"});
    CHECK_THROWS_AS(text::CharTokenizer("a", text::CharTokenizerOptions().special_tokens({"<s>"})), value_error);
    CHECK_THROWS_AS(
        text::CharTokenizer("a", text::CharTokenizerOptions().special_tokens({"<s>", "<s>"}).unknown_token("")),
        value_error);
}

TEST_CASE("BpeTokenizer: the merges of \"aaabdaaabac\", worked by hand")
{
    // Pair counts: aa 4 (overlapping), ab 2, the rest 1 -> merge (a, a) = 256: aa a b d aa a b a c.
    // Then (aa, a) 2 and (a, b) 2 tie; the smaller ids win: (97, 98) = 257: aa ab d aa ab a c.
    // Then (aa, ab) 2 = 258; every pair left occurs once, below min_frequency 2.
    const BpeTokenizer tokenizer = BpeTokenizer::train("aaabdaaabac", 1000);
    CHECK(tokenizer.merges() == Merges{{97, 97}, {97, 98}, {256, 257}});
    CHECK(tokenizer.vocab_size() == 259);
    CHECK(tokenizer.id_to_token(256) == "aa");
    CHECK(tokenizer.id_to_token(257) == "ab");
    CHECK(tokenizer.id_to_token(258) == "aaab");
    CHECK(tokenizer.encode("aaabdaaabac") == Ids{258, 'd', 258, 'a', 'c'});
    CHECK(tokenizer.encode("aaaa") == Ids{256, 256});
    CHECK(tokenizer.encode("aaa") == Ids{256, 'a'});   // left to right
    // A smaller vocabulary stops early; min_frequency 1 goes on with pairs seen once.
    CHECK(BpeTokenizer::train("aaabdaaabac", 257).merges() == Merges{{97, 97}});
    CHECK(BpeTokenizer::train("aaabdaaabac", 1000, BpeOptions().min_frequency(1)).merges().size() == 7);
}

TEST_CASE("BpeTokenizer: training and encoding equal the recount-every-merge reference")
{
    std::mt19937 rng(7);
    for (int trial = 0; trial < 20; ++trial)
    {
        const std::string corpus = random_text(200, rng);
        const std::int64_t min_frequency = 1 + trial % 3;
        const BpeTokenizer tokenizer = BpeTokenizer::train(corpus, 256 + 60, BpeOptions().min_frequency(min_frequency));
        const Merges expected = reference_train(corpus, 60, min_frequency);
        INFO("trial " << trial);
        REQUIRE(tokenizer.merges() == expected);
        CHECK(tokenizer.encode(corpus) == reference_encode(expected, corpus));
        const std::string unseen = random_text(50, rng);
        CHECK(tokenizer.encode(unseen) == reference_encode(expected, unseen));
        CHECK(tokenizer.decode(tokenizer.encode(unseen)) == unseen);
    }
}

TEST_CASE("BpeTokenizer: exact round trips on any bytes")
{
    std::mt19937 rng(3);
    const std::string corpus = random_text(500, rng) + random_bytes(2000, rng);
    const std::string utf8 = "naïve café — 日本語のテキスト 😀 \xe2\x82\xac\n\ttabs";
    const std::vector<std::string> inputs{"",
                                          std::string(1, '\0'),
                                          std::string("\x00\xff\x00\xff", 4),
                                          "\xc0\x80\xed\xa0\x80\xff\xfe invalid UTF-8 \x80",
                                          utf8,
                                          random_bytes(5000, rng),
                                          random_text(300, rng)};
    for (const bool split_words : {true, false})
    {
        const BpeTokenizer tokenizer =
            BpeTokenizer::train(corpus + utf8, 600, BpeOptions().split_words(split_words).min_frequency(1));
        CHECK(tokenizer.vocab_size() == 600);
        for (const auto& input : inputs)
        {
            INFO("split_words " << split_words << ", input of " << input.size() << " bytes");
            const Ids ids = tokenizer.encode(input);
            CHECK(tokenizer.decode(ids) == input);
            CHECK(ids.size() <= input.size());
        }
    }
    const BpeTokenizer bytes_only;
    CHECK(bytes_only.vocab_size() == 256);
    CHECK(bytes_only.encode(std::string("\x00\xff", 2)) == Ids{0, 255});
    CHECK(bytes_only.encode("") == Ids{});
    CHECK(bytes_only.decode({}) == "");
    CHECK_THROWS_AS(bytes_only.decode({256}), value_error);
    CHECK_THROWS_AS(bytes_only.id_to_token(-1), value_error);
}

TEST_CASE("BpeTokenizer: deterministic, and merges stay inside words when split_words")
{
    std::mt19937 rng(11);
    const std::string corpus = random_text(2000, rng);
    const BpeTokenizer first = BpeTokenizer::train(corpus, 400), second = BpeTokenizer::train(corpus, 400);
    CHECK(first.merges() == second.merges());
    const std::string input = random_text(400, rng);
    const Ids cold = first.encode(input);
    CHECK(first.encode(input) == cold);   // now from the word cache
    CHECK(second.encode(input) == cold);
    for (std::int64_t id = 256; id < first.vocab_size(); ++id)
    {
        // Whitespace only leads a token: nothing but whitespace may come before it.
        const std::string token = first.id_to_token(id);
        const std::size_t last_space = token.find_last_of(" \n");
        CHECK((last_space == std::string::npos || token.find_first_not_of(" \n") > last_space));
    }
    const BpeTokenizer across = BpeTokenizer::train("ab ab ab ab", 300, BpeOptions().split_words(false));
    // ab 4; then (256, 32) and (32, 256) both 3, the smaller left id wins; then " ab" twice in a row.
    CHECK(across.merges() == Merges{{97, 98}, {32, 256}, {257, 257}});   // "ab", " ab", " ab ab"
}

TEST_CASE("BpeTokenizer: special tokens are found in the input and never split")
{
    const std::string end = "<|endoftext|>";
    std::string corpus;
    for (int i = 0; i < 50; ++i)
        corpus += "the end of the text" + end + end;
    const BpeTokenizer tokenizer = BpeTokenizer::train(corpus, 300, BpeOptions().special_tokens({end, "<|pad|>"}));
    CHECK(tokenizer.vocab_size() < 300);   // the words run out of pairs seen twice
    const std::int64_t end_id = tokenizer.special_id(end);
    CHECK(end_id == tokenizer.vocab_size() - 2);
    CHECK(tokenizer.special_id("<|pad|>") == end_id + 1);
    CHECK(tokenizer.id_to_token(end_id) == end);
    for (std::int64_t id = 256; id < end_id; ++id)   // the corpus's special tokens took part in no merge
        CHECK(tokenizer.id_to_token(id).find_first_of("<|>") == std::string::npos);
    const std::string input = "a" + end + end + "<|pad|>b<|endoftext" + end;
    const Ids ids = tokenizer.encode(input);
    CHECK(std::count(ids.begin(), ids.end(), end_id) == 3);
    CHECK(std::count(ids.begin(), ids.end(), end_id + 1) == 1);
    CHECK(ids[0] == 'a');
    CHECK(ids[1] == end_id);
    CHECK(ids.back() == end_id);
    CHECK(tokenizer.decode(ids) == input);
    // At one position the longer special token wins.
    const BpeTokenizer nested = BpeTokenizer::train("", 259, BpeOptions().special_tokens({"<a>", "<a><b>", "<b>"}));
    CHECK(nested.encode("x<a><b><b><a>") == Ids{'x', 257, 258, 256});
    CHECK_THROWS_AS(BpeTokenizer::train("", 300, BpeOptions().special_tokens({""})), value_error);
    CHECK_THROWS_AS(BpeTokenizer::train("", 300, BpeOptions().special_tokens({"<s>", "<s>"})), value_error);
    CHECK_THROWS_AS(BpeTokenizer::train("", 256, BpeOptions().special_tokens({"<s>"})), value_error);
    CHECK_THROWS_AS(BpeTokenizer::train("abc", 300, BpeOptions().min_frequency(0)), value_error);
}

TEST_CASE("BpeTokenizer: save then load gives the same tokenizer")
{
    TempDir dir;
    std::mt19937 rng(5);
    const std::string corpus = random_text(1000, rng) + random_bytes(500, rng);
    for (const bool split_words : {true, false})
    {
        const BpeTokenizer saved =
            BpeTokenizer::train(corpus, 500,
                                BpeOptions()
                                    .split_words(split_words)
                                    .min_frequency(1)
                                    .special_tokens({"<|endoftext|>", std::string("\x00\xff", 2)}));
        saved.save(dir.file("vocab.json"));
        CHECK(dir.temporaries().empty());
        const BpeTokenizer loaded = BpeTokenizer::load(dir.file("vocab.json"));
        CHECK(loaded.merges() == saved.merges());
        CHECK(loaded.special_tokens() == saved.special_tokens());
        CHECK(loaded.split_words() == split_words);
        CHECK(loaded.vocab_size() == 500);
        const std::string input = random_text(200, rng) + "<|endoftext|>" + random_bytes(300, rng);
        CHECK(loaded.encode(input) == saved.encode(input));
        CHECK(loaded.decode(loaded.encode(input)) == input);
    }
    const nlohmann::json file = nlohmann::json::parse(std::ifstream(dir.file("vocab.json")));
    CHECK(file["format"] == "xgrad-bpe");
    CHECK(file["special_tokens"][1]["hex"] == "00ff");
    CHECK(file["special_tokens"][1]["id"] == 499);
}

TEST_CASE("BpeTokenizer::load refuses corrupt and lying files with io_error")
{
    TempDir dir;
    const BpeTokenizer valid = BpeTokenizer::train("aaabdaaabac", 300, BpeOptions().special_tokens({"<s>"}));
    valid.save(dir.file("valid.json"));
    const nlohmann::json good = nlohmann::json::parse(std::ifstream(dir.file("valid.json")));
    REQUIRE(good["vocab_size"] == 260);
    REQUIRE(BpeTokenizer::load(dir.file("valid.json")).merges() == valid.merges());

    const std::string path = dir.file("bad.json");
    const auto refused = [&](const std::string& contents, const std::string& problem) {
        write_file(path, contents);
        INFO("file: " << contents.substr(0, 300));
        CHECK_THROWS_AS(BpeTokenizer::load(path), io_error);
        check_error<io_error>([&] { BpeTokenizer::load(path); }, {path, problem});
    };
    const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        nlohmann::json file = good;
        edit(file);
        return file.dump();
    };
    check_error<io_error>([&] { BpeTokenizer::load(dir.file("missing.json")); }, {"missing.json", "cannot open"});
    const std::string text = good.dump();
    refused(text.substr(0, text.size() / 2), "not valid JSON");
    refused("", "not valid JSON");
    refused("[1, 2]", "not a JSON object");
    refused(edited([](nlohmann::json& f) { f.erase("merges"); }), "\"merges\" is missing");
    refused(edited([](nlohmann::json& f) { f["format"] = "gpt2"; }), "format");
    refused(edited([](nlohmann::json& f) { f["version"] = 2; }), "version");
    refused(edited([](nlohmann::json& f) { f["version"] = "1"; }), "version");
    refused(edited([](nlohmann::json& f) { f["split_words"] = 1; }), "split_words");
    refused(edited([](nlohmann::json& f) { f["merges"] = "aa"; }), "must be arrays");
    refused(edited([](nlohmann::json& f) { f["special_tokens"] = nlohmann::json::object(); }), "must be arrays");
    refused(edited([](nlohmann::json& f) { f["merges"][0] = {97.0, 97}; }), "merge 0");
    refused(edited([](nlohmann::json& f) { f["merges"][1] = {-1, 97}; }), "merge 1");
    refused(edited([](nlohmann::json& f) { f["merges"][1] = {97}; }), "merge 1");
    refused(edited([](nlohmann::json& f) { f["merges"][1] = {97, "b"}; }), "merge 1");
    refused(edited([](nlohmann::json& f) {
                f["merges"][1] = {257, 97};
            }),
            "not a pair of ids below 257");   // not made yet
    refused(edited([](nlohmann::json& f) { f["merges"][2] = {256, std::uint64_t(1) << 40}; }), "merge 2");
    refused(edited([](nlohmann::json& f) { f["merges"][2] = {97, 97}; }), "given twice");
    refused(edited([](nlohmann::json& f) { f["vocab_size"] = 261; }), "vocab_size");
    refused(edited([](nlohmann::json& f) { f["vocab_size"] = 260.0; }), "vocab_size");
    refused(edited([](nlohmann::json& f) { f["vocab_size"] = -260; }), "vocab_size");
    refused(edited([](nlohmann::json& f) { f["vocab_size"] = std::uint64_t(1) << 62; }), "vocab_size");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["id"] = 300; }), "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["id"] = "259"; }), "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["hex"] = "3c7"; }), "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["hex"] = "zz"; }), "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["hex"] = ""; }), "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["hex"] = std::string(4000, 'a'); }),
            "special token 0");
    refused(edited([](nlohmann::json& f) { f["special_tokens"][0]["extra"] = 1; }), "special token 0");
    refused(edited([](nlohmann::json& f) {
                f["special_tokens"].push_back({{"id", 260}, {"hex", "3c733e"}});
                f["vocab_size"] = 261;
            }),
            "given twice");
    // Values nested deeper than a recursive dump of them could go: described, not dumped.
    const std::string nested = std::string(100000, '[') + std::string(100000, ']');
    refused("{\"format\": " + nested + "}", "\"format\" is an array of 1 element,");
    refused(edited([](nlohmann::json& f) { f["merges"][0] = {1, 2, 3, 4, 5}; }), "merge 0 is an array of 5 elements");
}

TEST_CASE("pad_sequence: layouts, values, lengths and the padding mask")
{
    const std::vector<Ids> sequences{{1, 2, 3}, {4}, {}, {5, 6}};
    const text::PaddedBatch rows = text::pad_sequence(sequences, -1, true);
    CHECK(rows.ids == IndexArray{{1, 2, 3}, {4, -1, -1}, {-1, -1, -1}, {5, 6, -1}});
    CHECK(rows.lengths == std::vector<std::size_t>{3, 1, 0, 2});
    CHECK(rows.padding_mask ==
          xt::xarray<bool>{{false, false, false}, {false, true, true}, {true, true, true}, {false, false, true}});
    const text::PaddedBatch columns = text::pad_sequence(sequences);   // PyTorch's defaults: 0, (L, N)
    CHECK(columns.ids == IndexArray{{1, 4, 0, 5}, {2, 0, 0, 6}, {3, 0, 0, 0}});
    CHECK(columns.padding_mask == rows.padding_mask);   // (N, L) in both layouts, as key_padding_mask
    CHECK(columns.lengths == rows.lengths);
    const text::PaddedBatch empty = text::pad_sequence({{}, {}}, 0, true);
    CHECK(empty.ids.shape(0) == 2);
    CHECK(empty.ids.shape(1) == 0);
    CHECK(empty.padding_mask.shape(0) == 2);
    CHECK(empty.padding_mask.shape(1) == 0);
    CHECK_THROWS_AS(text::pad_sequence({}), value_error);
}

TEST_CASE("pad_sequence: the mask hides the padding from MultiheadAttention")
{
    // Each sequence attended to within the padded batch gives what it gives alone, whatever the padding id.
    manual_seed(2);
    nn::Embedding<double> embedding(10, 8);
    nn::MultiheadAttention<double> attention(8, 2);
    const std::vector<Ids> sequences{{1, 2, 3, 4}, {5, 6}, {7}};
    const text::PaddedBatch batch = text::pad_sequence(sequences, 9, true);
    const Tensor<double> x = embedding(batch.ids);   // (N, L, E)
    const Tensor<double> padded = attention.forward(x, x, x, batch.padding_mask);
    for (std::size_t n = 0; n < sequences.size(); ++n)
    {
        IndexArray alone = IndexArray::from_shape({1, sequences[n].size()});
        std::copy(sequences[n].begin(), sequences[n].end(), alone.begin());
        const Tensor<double> y = embedding(alone);   // (1, length, E)
        const Tensor<double> expected = attention.forward(y, y, y);
        INFO("sequence " << n);
        check_close(xt::xarray<double>(xt::view(padded.value(), n, xt::range(0, sequences[n].size()), xt::all())),
                    xt::xarray<double>(xt::view(expected.value(), 0, xt::all(), xt::all())), 1e-12);
    }
}
