// A character tokenizer: one id per Unicode code point seen in a corpus, after the special tokens.  Text is
// read as UTF-8 (strict: overlong forms, surrogates and stray continuation bytes are refused), so a student
// sees "é" as one token, not two bytes; for arbitrary bytes use the byte-level BpeTokenizer (text/bpe.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"

namespace xgrad::text
{
    namespace detail
    {
        // The code points of UTF-8 `text`; a malformed sequence is a value_error naming its byte offset.
        inline std::vector<char32_t> utf8_code_points(const std::string& text, const char* who)
        {
            std::vector<char32_t> points;
            points.reserve(text.size());
            const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
            for (std::size_t i = 0; i < text.size();)
            {
                const unsigned char lead = byte(i);
                std::size_t length = lead < 0x80                   ? 1
                                     : lead >= 0xc2 && lead < 0xe0 ? 2
                                     : lead >= 0xe0 && lead < 0xf0 ? 3
                                     : lead >= 0xf0 && lead < 0xf5 ? 4
                                                                   : 0;
                char32_t point = length == 1   ? lead
                                 : length == 2 ? lead & 0x1f
                                 : length == 3 ? lead & 0x0f
                                               : lead & 0x07;
                for (std::size_t k = 1; length != 0 && k < length; ++k)
                {
                    if (i + k >= text.size() || (byte(i + k) & 0xc0) != 0x80)
                        length = 0;
                    else
                        point = (point << 6) | (byte(i + k) & 0x3f);
                }
                const bool overlong = (length == 3 && point < 0x800) || (length == 4 && point < 0x10000);
                const bool surrogate = point >= 0xd800 && point <= 0xdfff;
                if (length == 0 || overlong || surrogate || point > 0x10ffff)
                    throw value_error(std::string(who) + ": the text is not valid UTF-8 at byte " + std::to_string(i));
                points.push_back(point);
                i += length;
            }
            return points;
        }

        inline void append_utf8(std::string& out, char32_t point)
        {
            if (point < 0x80)
                out += char(point);
            else if (point < 0x800)
                out += {char(0xc0 | (point >> 6)), char(0x80 | (point & 0x3f))};
            else if (point < 0x10000)
                out += {char(0xe0 | (point >> 12)), char(0x80 | ((point >> 6) & 0x3f)), char(0x80 | (point & 0x3f))};
            else
                out += {char(0xf0 | (point >> 18)), char(0x80 | ((point >> 12) & 0x3f)),
                        char(0x80 | ((point >> 6) & 0x3f)), char(0x80 | (point & 0x3f))};
        }
    }

    // The special tokens come first, in this order (ids 0, 1, ...); `unknown_token` names the one that stands
    // for characters outside the vocabulary ("" for none: encoding such a character is then a value_error).
    class CharTokenizerOptions : public ChainedOptions<CharTokenizerOptions>
    {
        XGRAD_OPTION(std::vector<std::string>, special_tokens){"<pad>", "<bos>", "<eos>", "<unk>"};
        XGRAD_OPTION(std::string, unknown_token){"<unk>"};
    };

    // ids: the special tokens, then the corpus's distinct code points in increasing order.
    class CharTokenizer
    {
    public:
        explicit CharTokenizer(const std::string& corpus, const CharTokenizerOptions& options = {})
            : special_tokens_(options.special_tokens())
        {
            for (std::size_t i = 0; i < special_tokens_.size(); ++i)
            {
                if (special_tokens_[i].empty())
                    throw value_error("CharTokenizer: special token " + std::to_string(i) + " is empty");
                if (std::find(special_tokens_.begin(), special_tokens_.begin() + i, special_tokens_[i]) !=
                    special_tokens_.begin() + i)
                    throw value_error("CharTokenizer: special token " + special_tokens_[i] + " is listed twice");
            }
            if (!options.unknown_token().empty())
            {
                const auto unknown = std::find(special_tokens_.begin(), special_tokens_.end(), options.unknown_token());
                if (unknown == special_tokens_.end())
                    throw value_error("CharTokenizer: the unknown token " + options.unknown_token() +
                                      " is not one of the special tokens");
                unknown_id_ = unknown - special_tokens_.begin();
            }
            characters_ = detail::utf8_code_points(corpus, "CharTokenizer");
            std::sort(characters_.begin(), characters_.end());
            characters_.erase(std::unique(characters_.begin(), characters_.end()), characters_.end());
            for (std::size_t i = 0; i < characters_.size(); ++i)
                ids_[characters_[i]] = std::int64_t(special_tokens_.size() + i);
        }

        // One id per code point of `text`; no special token is recognised in it (see special_id).
        std::vector<std::int64_t> encode(const std::string& text) const
        {
            std::vector<std::int64_t> ids;
            for (const char32_t point : detail::utf8_code_points(text, "CharTokenizer::encode"))
            {
                const auto found = ids_.find(point);
                if (found != ids_.end())
                    ids.push_back(found->second);
                else if (unknown_id_ >= 0)
                    ids.push_back(unknown_id_);
                else
                    throw value_error("CharTokenizer::encode: code point U+" + hex(point) +
                                      " is not in the vocabulary, and there is no unknown token");
            }
            return ids;
        }

        // The text of `ids`; a special token is written as its name ("<eos>") unless `skip_special_tokens`.
        std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = false) const
        {
            std::string text;
            for (const std::int64_t id : ids)
            {
                if (id < 0 || id >= vocab_size())
                    throw value_error("CharTokenizer::decode: id " + std::to_string(id) + " is outside [0, " +
                                      std::to_string(vocab_size()) + ")");
                if (std::size_t(id) >= special_tokens_.size())
                    detail::append_utf8(text, characters_[std::size_t(id) - special_tokens_.size()]);
                else if (!skip_special_tokens)
                    text += special_tokens_[std::size_t(id)];
            }
            return text;
        }

        std::int64_t vocab_size() const { return std::int64_t(special_tokens_.size() + characters_.size()); }

        // The id of a special token by name ("<pad>"); a value_error if there is no such token.
        std::int64_t special_id(const std::string& token) const
        {
            const auto found = std::find(special_tokens_.begin(), special_tokens_.end(), token);
            if (found == special_tokens_.end())
                throw value_error("CharTokenizer::special_id: no special token " + token);
            return found - special_tokens_.begin();
        }

        const std::vector<std::string>& special_tokens() const { return special_tokens_; }

    private:
        static std::string hex(char32_t point)
        {
            const char* digits = "0123456789ABCDEF";
            std::string out;
            for (int shift = point > 0xffff ? 20 : 12; shift >= 0; shift -= 4)
                out += digits[(point >> shift) & 0xf];
            return out;
        }

        std::vector<std::string> special_tokens_;
        std::vector<char32_t> characters_;       // characters_[id - special_tokens_.size()], increasing
        std::map<char32_t, std::int64_t> ids_;   // code point -> id
        std::int64_t unknown_id_ = -1;           // -1: no unknown token
    };
}
