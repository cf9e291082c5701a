// text::BpeTokenizer::load on any bytes; a vocabulary that loads must then encode and decode inputs with
// its own special tokens exactly (a mismatch aborts), and save and load again to the same merges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <xgrad/text.hpp>

#include "fuzz_support.hpp"

using xgrad::text::BpeTokenizer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static xgrad_fuzz::InputFile file(".json");
    static xgrad_fuzz::InputFile saved(".saved.json");
    const std::string& path = file.write(data, size);
    xgrad_fuzz::expect_typed_errors([&] {
        const BpeTokenizer tokenizer = BpeTokenizer::load(path);
        std::string input(reinterpret_cast<const char*>(data), size);
        for (const std::string& special : tokenizer.special_tokens())
            input += special + "a b";
        if (tokenizer.decode(tokenizer.encode(input)) != input)
            std::abort();
        tokenizer.save(saved.path());
        if (BpeTokenizer::load(saved.path()).merges() != tokenizer.merges())
            std::abort();
    });
    return 0;
}
