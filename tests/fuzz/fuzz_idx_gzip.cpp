// data::read_idx on gzip streams: the input is compressed (so that the fuzzer's mutations reach the IDX
// parser behind zlib), then the first bytes of the compressed file are flipped as the input's first byte
// says (so that corrupt, cut and overlong gzip streams are read too).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <zlib.h>

#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    static xgrad_fuzz::InputFile file(".idx.gz");
    {
        gzFile out = gzopen(file.path().c_str(), "wb");
        if (out == nullptr || (size > 1 && gzwrite(out, data + 1, unsigned(size - 1)) != int(size - 1)) ||
            gzclose(out) != Z_OK)
            std::abort();
    }
    // data[0]: 0 leaves the stream whole; otherwise it cuts the file to data[0] % 64 bytes less, or corrupts
    // the byte at offset data[0], as its top bit says.
    if (data[0] != 0)
    {
        std::FILE* in = std::fopen(file.path().c_str(), "rb");
        std::vector<std::uint8_t> bytes;
        for (int c; in != nullptr && (c = std::fgetc(in)) != EOF;)
            bytes.push_back(std::uint8_t(c));
        if (in != nullptr)
            std::fclose(in);
        if (data[0] & 0x80)
            bytes.resize(bytes.size() - std::min<std::size_t>(bytes.size(), data[0] % 64));
        else if (data[0] < bytes.size())
            bytes[data[0]] ^= 0x5a;
        file.write(bytes.data(), bytes.size());
    }
    xgrad_fuzz::expect_typed_errors([&] { data::read_idx<float>(file.path()); });
    xgrad_fuzz::expect_typed_errors([&] { data::read_idx<std::int64_t>(file.path()); });
    return 0;
}
