// What every fuzz target shares: the input written to a file (the parsers read paths), and the rule they
// check — a malformed input is a typed xgrad error, anything else (another exception, a crash, a sanitizer
// report, a leak) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <xgrad/error.hpp>

namespace xgrad_fuzz
{
    // A file of this process's in the temporary directory, rewritten for each input, removed at exit.
    class InputFile
    {
    public:
        explicit InputFile(const std::string& suffix)
            : path_((std::filesystem::temp_directory_path() /
                     ("xgrad_fuzz_" + std::to_string(::getpid()) + suffix)).string())
        {
        }
        ~InputFile() { std::remove(path_.c_str()); }
        InputFile(const InputFile&) = delete;
        InputFile& operator=(const InputFile&) = delete;

        const std::string& write(const std::uint8_t* data, std::size_t size)
        {
            std::FILE* out = std::fopen(path_.c_str(), "wb");
            if (out == nullptr || (size > 0 && std::fwrite(data, 1, size, out) != size) || std::fclose(out) != 0)
                std::abort();   // the fuzzing machine, not the input: stop loudly
            return path_;
        }
        const std::string& path() const { return path_; }

    private:
        std::string path_;
    };

    // Runs `parse`; xgrad's typed errors are the expected answer to a malformed input, and any other
    // exception aborts, which the fuzzer reports with the input.
    template <class Parse>
    void expect_typed_errors(Parse&& parse)
    {
        try
        {
            parse();
        }
        catch (const xgrad::error&)
        {
        }
        catch (const std::exception& other)
        {
            std::fprintf(stderr, "untyped exception: %s\n", other.what());
            std::abort();
        }
    }
}
