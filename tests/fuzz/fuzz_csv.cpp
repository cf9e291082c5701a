// data::read_csv with fuzzed options: the first byte chooses header (bit 0), the delimiter (bits 1-2:
// ',', ';', tab, space) and the label column (bits 3-4: none, by name "label", by index "0", by the
// index text the second byte's digits give); the rest is the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    const std::uint8_t choice = data[0];
    data::CsvOptions options;
    options.header = (choice & 1) != 0;
    options.delimiter = ",;\t "[(choice >> 1) & 3];
    switch ((choice >> 3) & 3)
    {
    case 0: break;
    case 1: options.label_column = "label"; break;
    case 2: options.label_column = "0"; break;
    default: options.label_column = std::to_string(data[1]) + std::string(data[1] % 16, '9'); break;
    }
    static xgrad_fuzz::InputFile file(".csv");
    const std::string& path = file.write(data + 2, size - 2);
    xgrad_fuzz::expect_typed_errors([&] { data::read_csv<float>(path, options); });
    xgrad_fuzz::expect_typed_errors([&] { data::read_csv<double>(path, options); });
    return 0;
}
