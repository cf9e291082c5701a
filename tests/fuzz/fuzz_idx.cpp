// data::read_idx on any bytes, as images (float) and as labels (int64).  zlib reads a file that is not
// gzip as it is, so this target sees plain IDX files; fuzz_idx_gzip gives it compressed streams.
#include <cstddef>
#include <cstdint>

#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static xgrad_fuzz::InputFile file(".idx");
    const std::string& path = file.write(data, size);
    xgrad_fuzz::expect_typed_errors([&] { data::read_idx<float>(path); });
    xgrad_fuzz::expect_typed_errors([&] { data::read_idx<std::int64_t>(path); });
    return 0;
}
