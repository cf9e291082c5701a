// Replays every fuzz target's committed inputs — its seed corpus (tests/fuzz/corpus/<target>) and the
// minimal inputs of the defects it found (tests/fuzz/regressions/<target>) — as an ordinary test, so that
// each build, the sanitizer build included, checks them.  The targets' entry points are renamed
// xgrad_fuzz_<target> for this executable (tests/fuzz/CMakeLists.txt); a finding aborts the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define XGRAD_FUZZ_ENTRY(target) extern "C" int xgrad_fuzz_##target(const std::uint8_t* data, std::size_t size);
XGRAD_FUZZ_ENTRY(safetensors)
XGRAD_FUZZ_ENTRY(checkpoint)
XGRAD_FUZZ_ENTRY(idx)
XGRAD_FUZZ_ENTRY(idx_gzip)
XGRAD_FUZZ_ENTRY(csv)
XGRAD_FUZZ_ENTRY(bpe_vocabulary)
XGRAD_FUZZ_ENTRY(model_store)
XGRAD_FUZZ_ENTRY(predict_request)

namespace
{
    using Entry = int (*)(const std::uint8_t*, std::size_t);

    // Runs `entry` on every file under the target's corpus and regressions folders; returns how many.
    std::size_t replay(const std::string& target, Entry entry)
    {
        const std::filesystem::path root = XGRAD_FUZZ_INPUTS;
        std::vector<std::filesystem::path> inputs;
        for (const char* folder : {"corpus", "regressions"})
            if (std::filesystem::is_directory(root / folder / target))
                for (const auto& file : std::filesystem::directory_iterator(root / folder / target))
                    inputs.push_back(file.path());
        std::sort(inputs.begin(), inputs.end());
        for (const auto& input : inputs)
        {
            INFO("input " << input.string());
            std::ifstream in(input, std::ios::binary);
            REQUIRE(in.is_open());
            const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            CHECK(entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
        }
        return inputs.size();
    }
}

TEST_CASE("fuzz inputs replay without a finding")
{
    const std::vector<std::pair<std::string, Entry>> targets{{"safetensors", xgrad_fuzz_safetensors},
                                                             {"checkpoint", xgrad_fuzz_checkpoint},
                                                             {"idx", xgrad_fuzz_idx},
                                                             {"idx_gzip", xgrad_fuzz_idx_gzip},
                                                             {"csv", xgrad_fuzz_csv},
                                                             {"bpe_vocabulary", xgrad_fuzz_bpe_vocabulary},
                                                             {"model_store", xgrad_fuzz_model_store},
                                                             {"predict_request", xgrad_fuzz_predict_request}};
    for (const auto& target : targets)   // no structured binding: INFO captures it in a lambda
    {
        INFO("target " << target.first);
        CHECK(replay(target.first, target.second) >= 3);   // every target has seeds and regression inputs
    }
}
