// Byte-level byte-pair encoding, GPT-2's idea: the base vocabulary is the 256 bytes, so any input, UTF-8 or
// binary, encodes, and decode(encode(s)) == s exactly.  Training merges the most frequent adjacent pair of
// tokens again and again; each merge makes a new token, and encoding applies the merges in the order they
// were learned (their rank).  Special tokens ("<|endoftext|>") are found in the input first and never split.
//   ids: 0-255 the bytes, 256 + r the token merge r made, then the special tokens in their order.
// The vocabulary is saved as JSON (atomically) and loaded as untrusted input: every field is checked.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/json_excerpt.hpp"

namespace xgrad::text
{
    // split_words: cut the text into words before training and encoding, so that no merge crosses a word
    //   boundary; a word is a run of whitespace followed by a run of anything else (" world"), so the words
    //   put back together are the text.  Off, each stretch between special tokens is one sequence.
    // min_frequency: training stops when the most frequent pair occurs fewer times than this.
    class BpeOptions : public ChainedOptions<BpeOptions>
    {
        XGRAD_OPTION(bool, split_words){true};
        XGRAD_OPTION(std::int64_t, min_frequency){2};
        XGRAD_OPTION(std::vector<std::string>, special_tokens){};
    };

    namespace detail
    {
        // Limits on what a vocabulary file may declare: far above real vocabularies (GPT-2's has 50,257
        // tokens), far below what would exhaust memory.
        constexpr std::uint64_t max_vocabulary_file_bytes = 256u << 20;
        constexpr std::size_t max_bpe_tokens = std::size_t(1) << 24;
        constexpr std::size_t max_special_token_bytes = 1024;

        using TokenPair = std::pair<std::int64_t, std::int64_t>;

        inline std::uint64_t pair_key(std::int64_t left, std::int64_t right)
        {
            return (std::uint64_t(left) << 32) | std::uint64_t(right);
        }

        inline bool is_space(unsigned char byte)
        {
            return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\v' || byte == '\f';
        }

        // Calls `word(begin, end)` for each word of text[begin, end): whitespace, then non-whitespace.
        template <class Word>
        void for_each_word(const std::string& text, std::size_t begin, std::size_t end, Word&& word)
        {
            while (begin < end)
            {
                std::size_t cut = begin;
                while (cut < end && is_space(static_cast<unsigned char>(text[cut])))
                    ++cut;
                while (cut < end && !is_space(static_cast<unsigned char>(text[cut])))
                    ++cut;
                word(begin, cut);
                begin = cut;
            }
        }

        inline std::string to_hex(const std::string& bytes)
        {
            const char* digits = "0123456789abcdef";
            std::string hex;
            hex.reserve(2 * bytes.size());
            for (const char c : bytes)
                hex += {digits[static_cast<unsigned char>(c) >> 4], digits[static_cast<unsigned char>(c) & 0xf]};
            return hex;
        }

        // The bytes `hex` spells, or false when it is not an even number of hex digits.
        inline bool from_hex(const std::string& hex, std::string& bytes)
        {
            const auto digit = [](char c) {
                return c >= '0' && c <= '9'   ? c - '0'
                       : c >= 'a' && c <= 'f' ? c - 'a' + 10
                       : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
            };
            if (hex.size() % 2 != 0)
                return false;
            bytes.clear();
            for (std::size_t i = 0; i < hex.size(); i += 2)
            {
                const int high = digit(hex[i]), low = digit(hex[i + 1]);
                if (high < 0 || low < 0)
                    return false;
                bytes += char(high * 16 + low);
            }
            return true;
        }
    }

    class BpeTokenizer
    {
    public:
        // Only the 256 bytes: no merge, no special token.
        BpeTokenizer() : BpeTokenizer({}, {}, true) {}

        // Learns merges from `corpus` until the vocabulary (bytes, merges and special tokens) has
        // `vocab_size` tokens, or no pair occurs `min_frequency` times.  The most frequent pair is merged
        // first; among pairs equally frequent, the one with the smallest (left id, right id).  The special
        // tokens are cut out of the corpus first, so none of their bytes take part in a merge.
        static BpeTokenizer train(const std::string& corpus, std::int64_t vocab_size, const BpeOptions& options = {})
        {
            const BpeTokenizer splitter({}, options.special_tokens(), options.split_words());
            const std::int64_t merge_budget = vocab_size - 256 - std::int64_t(options.special_tokens().size());
            if (merge_budget < 0 || std::size_t(vocab_size) > detail::max_bpe_tokens)
                throw value_error("BpeTokenizer::train: vocab_size " + std::to_string(vocab_size) +
                                  " must hold the 256 bytes and the " +
                                  std::to_string(options.special_tokens().size()) + " special tokens, and be at most " +
                                  std::to_string(detail::max_bpe_tokens));
            if (options.min_frequency() < 1)
                throw value_error("BpeTokenizer::train: min_frequency must be at least 1, got " +
                                  std::to_string(options.min_frequency()));

            // The distinct words with their counts: merging works on each distinct word once.
            std::unordered_map<std::string, std::int64_t> word_counts;
            splitter.for_each_piece(
                corpus, [&](std::size_t begin, std::size_t end) { ++word_counts[corpus.substr(begin, end - begin)]; },
                [](std::int64_t) {});
            std::vector<std::pair<std::string, std::int64_t>> sorted_words(word_counts.begin(), word_counts.end());
            std::sort(sorted_words.begin(), sorted_words.end());   // the same order on every standard library
            Trainer trainer(sorted_words);
            std::vector<detail::TokenPair> merges;
            for (std::int64_t r = 0; r < merge_budget; ++r)
            {
                const auto best = trainer.most_frequent_pair(options.min_frequency());
                if (!best)
                    break;
                trainer.merge(*best, 256 + r);
                merges.push_back(*best);
            }
            return BpeTokenizer(merges, options.special_tokens(), options.split_words());
        }

        // Keeps a cache of the words it has encoded (split_words): one tokenizer must not encode on several
        // threads at once; copies are independent.
        std::vector<std::int64_t> encode(const std::string& text) const
        {
            std::vector<std::int64_t> ids;
            for_each_piece(
                text,
                [&](std::size_t begin, std::size_t end) {
                    if (!split_words_)
                    {
                        const auto piece = encode_piece(text, begin, end);
                        ids.insert(ids.end(), piece.begin(), piece.end());
                        return;
                    }
                    std::string word = text.substr(begin, end - begin);
                    auto cached = cache_.find(word);
                    if (cached == cache_.end())
                    {
                        if (cache_.size() >= max_cached_words)
                            cache_.clear();
                        cached = cache_.emplace(std::move(word), encode_piece(text, begin, end)).first;
                    }
                    ids.insert(ids.end(), cached->second.begin(), cached->second.end());
                },
                [&](std::int64_t special) { ids.push_back(special); });
            return ids;
        }

        std::string decode(const std::vector<std::int64_t>& ids) const
        {
            std::string text;
            for (const std::int64_t id : ids)
                text += id_to_token(id);
            return text;
        }

        std::int64_t vocab_size() const { return std::int64_t(tokens_.size()); }

        // The bytes of token `id` (a special token's text for its id).
        const std::string& id_to_token(std::int64_t id) const
        {
            if (id < 0 || id >= vocab_size())
                throw value_error("BpeTokenizer: id " + std::to_string(id) + " is outside [0, " +
                                  std::to_string(vocab_size()) + ")");
            return tokens_[std::size_t(id)];
        }

        // The id of a special token by its text; a value_error if it is not one.
        std::int64_t special_id(const std::string& token) const
        {
            const auto found = std::find(special_tokens_.begin(), special_tokens_.end(), token);
            if (found == special_tokens_.end())
                throw value_error("BpeTokenizer::special_id: no special token " + token);
            return first_special_id() + (found - special_tokens_.begin());
        }

        // merges()[r]: the pair of ids merge r joins into token 256 + r.
        const std::vector<detail::TokenPair>& merges() const { return merges_; }
        const std::vector<std::string>& special_tokens() const { return special_tokens_; }
        bool split_words() const { return split_words_; }

        // {"format": "xgrad-bpe", "version": 1, "split_words": true, "vocab_size": 259,
        //  "merges": [[97, 97], [256, 98]], "special_tokens": [{"id": 258, "hex": "3c7c656e...3e"}]}
        // Special tokens are written as hex so that any bytes survive.
        void save(const std::string& path) const
        {
            nlohmann::ordered_json file;
            file["format"] = "xgrad-bpe";
            file["version"] = 1;
            file["split_words"] = split_words_;
            file["vocab_size"] = vocab_size();
            file["merges"] = nlohmann::ordered_json::array();
            for (const auto& [left, right] : merges_)
                file["merges"].push_back({left, right});
            file["special_tokens"] = nlohmann::ordered_json::array();
            for (std::size_t i = 0; i < special_tokens_.size(); ++i)
                file["special_tokens"].push_back(
                    {{"id", first_special_id() + std::int64_t(i)}, {"hex", detail::to_hex(special_tokens_[i])}});
            const std::string text = file.dump() + "\n";
            io::AtomicFileWriter out(path, "BpeTokenizer::save");
            out.write(text.data(), text.size());
            out.commit();
        }

        // Reads a file save() wrote.  The file is untrusted: a wrong type, a count out of range, a merge of
        // ids that do not exist yet, a merge or special token given twice, or a declared size that does not
        // match the lists is an io_error naming the file and the problem.
        static BpeTokenizer load(const std::string& path)
        {
            const auto fail = [&](const std::string& what) {
                return io_error("BpeTokenizer::load: " + path + ": " + what);
            };
            std::ifstream in(path, std::ios::binary);
            if (!in)
                throw fail("cannot open the file");
            in.seekg(0, std::ios::end);
            const std::streamoff file_size = in.tellg();
            in.seekg(0);
            if (file_size < 0 || std::uint64_t(file_size) > detail::max_vocabulary_file_bytes)
                throw fail("the file is larger than the " + std::to_string(detail::max_vocabulary_file_bytes) +
                           "-byte limit");
            std::string text(std::size_t(file_size), '\0');
            if (!in.read(text.data(), file_size))
                throw fail("reading failed");
            nlohmann::json file;
            try
            {
                file = nlohmann::json::parse(text);
            }
            catch (const nlohmann::json::exception& e)
            {
                throw fail(std::string("not valid JSON (") + e.what() + ")");
            }
            if (!file.is_object())
                throw fail("not a JSON object");
            const auto field = [&](const char* name) -> const nlohmann::json& {
                const auto found = file.find(name);
                if (found == file.end())
                    throw fail(std::string("the field \"") + name + "\" is missing");
                return *found;
            };
            if (field("format") != "xgrad-bpe")
                throw fail("\"format\" is " + io::detail::json_excerpt(field("format")) + ", not \"xgrad-bpe\"");
            if (!field("version").is_number_unsigned() || field("version") != 1)
                throw fail("\"version\" is " + io::detail::json_excerpt(field("version")) + "; only version 1 is read");
            if (!field("split_words").is_boolean())
                throw fail("\"split_words\" is not true or false");
            const nlohmann::json& declared_size = field("vocab_size");
            const nlohmann::json& merges = field("merges");
            const nlohmann::json& specials = field("special_tokens");
            if (!declared_size.is_number_unsigned() || declared_size.get<std::uint64_t>() > detail::max_bpe_tokens)
                throw fail("\"vocab_size\" " + io::detail::json_excerpt(declared_size) +
                           " is not a whole number of at most " + std::to_string(detail::max_bpe_tokens));
            if (!merges.is_array() || !specials.is_array())
                throw fail("\"merges\" and \"special_tokens\" must be arrays");
            if (declared_size.get<std::uint64_t>() != 256 + merges.size() + specials.size())
                throw fail("\"vocab_size\" " + io::detail::json_excerpt(declared_size) + " is not 256 bytes + " +
                           std::to_string(merges.size()) + " merges + " + std::to_string(specials.size()) +
                           " special tokens");

            std::vector<detail::TokenPair> pairs;
            pairs.reserve(merges.size());
            for (std::size_t r = 0; r < merges.size(); ++r)
            {
                const nlohmann::json& merge = merges[r];
                const std::uint64_t existing = 256 + r;   // merge r may join only the bytes and earlier merges
                if (!merge.is_array() || merge.size() != 2 || !merge[0].is_number_unsigned() ||
                    !merge[1].is_number_unsigned() || merge[0].get<std::uint64_t>() >= existing ||
                    merge[1].get<std::uint64_t>() >= existing)
                    throw fail("merge " + std::to_string(r) + " is " + io::detail::json_excerpt(merge) +
                               ", not a pair of ids below " + std::to_string(existing));
                pairs.emplace_back(merge[0].get<std::int64_t>(), merge[1].get<std::int64_t>());
            }
            std::vector<std::string> special_tokens;
            for (std::size_t i = 0; i < specials.size(); ++i)
            {
                const nlohmann::json& special = specials[i];
                const std::uint64_t id = 256 + merges.size() + i;
                std::string bytes;
                if (!special.is_object() || special.size() != 2 || !special.contains("id") ||
                    !special.contains("hex") || !special["id"].is_number_unsigned() || special["id"] != id ||
                    !special["hex"].is_string() ||
                    special["hex"].get_ref<const std::string&>().size() > 2 * detail::max_special_token_bytes ||
                    !detail::from_hex(special["hex"].get<std::string>(), bytes) || bytes.empty())
                    throw fail("special token " + std::to_string(i) + " is " + io::detail::json_excerpt(special) +
                               ", not {\"id\": " + std::to_string(id) + ", \"hex\": <1 to " +
                               std::to_string(detail::max_special_token_bytes) + " bytes in hex>}");
                special_tokens.push_back(std::move(bytes));
            }
            try
            {
                return BpeTokenizer(pairs, special_tokens, field("split_words").get<bool>());
            }
            catch (const value_error& e)
            {
                throw fail(e.what());
            }
        }

    private:
        static constexpr std::size_t max_cached_words = 1 << 16;

        // The pair counts of training, kept up to date merge by merge: a merge rewrites only the words that
        // hold its pair, and changes the counts of the pairs around each occurrence.
        class Trainer
        {
        public:
            explicit Trainer(const std::vector<std::pair<std::string, std::int64_t>>& words)
            {
                for (const auto& [word, count] : words)
                {
                    words_.emplace_back(word.begin(), word.end());
                    for (auto& id : words_.back())
                        id = static_cast<unsigned char>(id);
                    counts_.push_back(count);
                    last_visit_.push_back(-1);
                }
                for (std::size_t w = 0; w < words_.size(); ++w)
                    for (std::size_t i = 0; i + 1 < words_[w].size(); ++i)
                        add(words_[w][i], words_[w][i + 1], counts_[w], w);
                for (const auto& [key, count] : pair_counts_)
                    queue_.push({count, std::int64_t(key >> 32), std::int64_t(key & 0xffffffff)});
            }

            // The most frequent pair occurring at least `min_frequency` times; ties go to the smallest ids.
            std::optional<detail::TokenPair> most_frequent_pair(std::int64_t min_frequency)
            {
                while (!queue_.empty())
                {
                    const auto [count, left, right] = queue_.top();
                    const auto current = pair_counts_.find(detail::pair_key(left, right));
                    if (current != pair_counts_.end() && current->second == count)
                        return count >= min_frequency ? std::optional<detail::TokenPair>({left, right}) : std::nullopt;
                    queue_.pop();   // a count that has changed since: its new count has its own entry
                }
                return std::nullopt;
            }

            // Replaces every occurrence of `pair` (left to right, not overlapping) with token `merged`.
            void merge(const detail::TokenPair& pair, std::int64_t merged)
            {
                const auto [left, right] = pair;
                const std::vector<std::size_t> holders = std::move(where_[detail::pair_key(left, right)]);
                where_.erase(detail::pair_key(left, right));
                for (const std::size_t w : holders)
                {
                    if (last_visit_[w] == merged)   // listed twice
                        continue;
                    last_visit_[w] = merged;
                    const std::vector<std::int64_t>& word = words_[w];
                    const std::int64_t count = counts_[w];
                    std::vector<std::int64_t> rewritten;
                    rewritten.reserve(word.size());
                    for (std::size_t i = 0; i < word.size();)
                    {
                        if (i + 1 < word.size() && word[i] == left && word[i + 1] == right)
                        {
                            add(left, right, -count, w);
                            if (!rewritten.empty())   // (before, left) becomes (before, merged)
                            {
                                add(rewritten.back(), left, -count, w);
                                add(rewritten.back(), merged, count, w);
                            }
                            if (i + 2 < word.size())   // (right, after) becomes (merged, after)
                            {
                                add(right, word[i + 2], -count, w);
                                add(merged, word[i + 2], count, w);
                            }
                            rewritten.push_back(merged);
                            i += 2;
                        }
                        else
                            rewritten.push_back(word[i++]);
                    }
                    words_[w] = std::move(rewritten);
                }
                std::sort(changed_.begin(), changed_.end());
                changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
                for (const std::uint64_t key : changed_)
                {
                    const auto found = pair_counts_.find(key);
                    if (found != pair_counts_.end())
                        queue_.push({found->second, std::int64_t(key >> 32), std::int64_t(key & 0xffffffff)});
                }
                changed_.clear();
            }

        private:
            void add(std::int64_t left, std::int64_t right, std::int64_t count, std::size_t word)
            {
                const std::uint64_t key = detail::pair_key(left, right);
                std::int64_t& total = pair_counts_[key];
                total += count;
                if (total == 0)
                    pair_counts_.erase(key);
                else if (count > 0)
                {
                    std::vector<std::size_t>& holders = where_[key];
                    if (holders.empty() || holders.back() != word)   // a word's changes come together
                        holders.push_back(word);
                }
                changed_.push_back(key);
            }

            // Higher count first, then the smaller left id, then the smaller right id.
            struct Candidate
            {
                std::int64_t count, left, right;
                bool operator<(const Candidate& other) const
                {
                    return std::tie(count, other.left, other.right) < std::tie(other.count, left, right);
                }
            };

            std::vector<std::vector<std::int64_t>> words_;   // each distinct word as its current token ids
            std::vector<std::int64_t> counts_;               // how often each word occurs
            std::vector<std::int64_t> last_visit_;           // the last merge that rewrote each word
            std::unordered_map<std::uint64_t, std::int64_t> pair_counts_;
            std::unordered_map<std::uint64_t, std::vector<std::size_t>> where_;   // pair -> words that held it
            std::priority_queue<Candidate> queue_;   // stale entries skipped: their count no longer matches
            std::vector<std::uint64_t> changed_;     // pairs whose count the current merge changed
        };

        // Checks the merges (each joins existing ids, none twice) and the special tokens (non-empty, distinct).
        BpeTokenizer(const std::vector<detail::TokenPair>& merges, const std::vector<std::string>& special_tokens,
                     bool split_words)
            : special_tokens_(special_tokens), split_words_(split_words)
        {
            tokens_.reserve(256 + merges.size() + special_tokens.size());
            for (int byte = 0; byte < 256; ++byte)
                tokens_.push_back(std::string(1, char(byte)));
            for (const auto& merge : merges)
                add_merge(merge);
            for (std::size_t i = 0; i < special_tokens_.size(); ++i)
                if (special_tokens_[i].empty() || std::find(special_tokens_.begin(), special_tokens_.begin() + i,
                                                            special_tokens_[i]) != special_tokens_.begin() + i)
                    throw value_error("BpeTokenizer: special token " + std::to_string(i) + " is empty or given twice");
            tokens_.insert(tokens_.end(), special_tokens_.begin(), special_tokens_.end());
        }

        void add_merge(const detail::TokenPair& merge)
        {
            const auto [left, right] = merge;
            const std::int64_t existing = std::int64_t(tokens_.size());
            if (left < 0 || right < 0 || left >= existing || right >= existing)
                throw value_error("BpeTokenizer: merge " + std::to_string(merges_.size()) + " joins ids " +
                                  std::to_string(left) + " and " + std::to_string(right) + ", not both below " +
                                  std::to_string(existing));
            if (!ranks_.emplace(detail::pair_key(left, right), std::int64_t(merges_.size())).second)
                throw value_error("BpeTokenizer: the merge (" + std::to_string(left) + ", " + std::to_string(right) +
                                  ") is given twice");
            merges_.push_back(merge);
            tokens_.push_back(tokens_[std::size_t(left)] + tokens_[std::size_t(right)]);
        }

        std::int64_t first_special_id() const { return std::int64_t(256 + merges_.size()); }

        // Cuts `text` at its special tokens (at each position the earliest, then the longest, match) and calls
        // `piece(begin, end)` for each word between them (each stretch, without split_words) and
        // `special(id)` for each special token, in text order.
        template <class Piece, class Special>
        void for_each_piece(const std::string& text, Piece&& piece, Special&& special) const
        {
            const auto pieces = [&](std::size_t begin, std::size_t end) {
                if (split_words_)
                    detail::for_each_word(text, begin, end, piece);
                else if (begin < end)
                    piece(begin, end);
            };
            // next_match[s]: where special token s next occurs at or after the current position (npos: never).
            std::vector<std::size_t> next_match;
            for (const std::string& token : special_tokens_)
                next_match.push_back(text.find(token));
            std::size_t position = 0;
            while (true)
            {
                std::size_t match = std::string::npos, matched = 0;
                for (std::size_t s = 0; s < special_tokens_.size(); ++s)
                {
                    if (next_match[s] != std::string::npos && next_match[s] < position)
                        next_match[s] = text.find(special_tokens_[s], position);
                    if (next_match[s] < match || (next_match[s] == match && match != std::string::npos &&
                                                  special_tokens_[s].size() > special_tokens_[matched].size()))
                    {
                        match = next_match[s];
                        matched = s;
                    }
                }
                if (match == std::string::npos)
                    break;
                pieces(position, match);
                special(first_special_id() + std::int64_t(matched));
                position = match + special_tokens_[matched].size();
            }
            pieces(position, text.size());
        }

        // The merges applied to text[begin, end) in rank order, occurrences of one rank left to right: a heap of
        // adjacent pairs by (rank, position) over a linked list of tokens, so a long input costs n log n.
        std::vector<std::int64_t> encode_piece(const std::string& text, std::size_t begin, std::size_t end) const
        {
            const std::size_t n = end - begin;
            std::vector<std::int64_t> ids(n);
            std::vector<std::size_t> next(n), previous(n);
            for (std::size_t i = 0; i < n; ++i)
            {
                ids[i] = static_cast<unsigned char>(text[begin + i]);
                next[i] = i + 1;       // n: none
                previous[i] = i - 1;   // wraps to npos at 0: none
            }
            using Candidate =
                std::tuple<std::int64_t, std::size_t, std::int64_t, std::int64_t>;   // rank, position, ids
            std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
            const auto push = [&](std::size_t i) {
                if (i < n && next[i] < n)
                {
                    const auto rank = ranks_.find(detail::pair_key(ids[i], ids[next[i]]));
                    if (rank != ranks_.end())
                        queue.emplace(rank->second, i, ids[i], ids[next[i]]);
                }
            };
            for (std::size_t i = 0; i + 1 < n; ++i)
                push(i);
            while (!queue.empty())
            {
                const auto [rank, i, left, right] = queue.top();
                queue.pop();
                if (ids[i] != left || next[i] >= n || ids[next[i]] != right)   // merged away since
                    continue;
                const std::size_t absorbed = next[i];
                ids[i] = 256 + rank;
                ids[absorbed] = -1;
                next[i] = next[absorbed];
                if (next[i] < n)
                    previous[next[i]] = i;
                push(previous[i]);
                push(i);
            }
            std::vector<std::int64_t> merged;
            for (std::size_t i = 0; i < n; i = next[i])
                merged.push_back(ids[i]);
            return merged;
        }

        std::vector<std::string> tokens_;   // the bytes of each id
        std::vector<detail::TokenPair> merges_;
        std::unordered_map<std::uint64_t, std::int64_t> ranks_;   // pair_key(left, right) -> merge rank
        std::vector<std::string> special_tokens_;
        bool split_words_ = true;
        mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;   // word -> ids (split_words)
    };
}
