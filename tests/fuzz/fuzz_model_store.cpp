// io::ModelStore on any manifest: the bytes are written as the manifest.json of a store holding two valid
// versions, then the store is listed, its production version loaded, a version promoted and rolled back; the
// same bytes are also read as a version's metadata.json. Every malformed manifest or metadata must be a typed
// error; a valid manifest must load what it names.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <xgrad/io/model_store.hpp>
#include <xgrad/xgrad.hpp>

#include "fuzz_support.hpp"

using namespace xgrad;

namespace
{
    // A store of this process's with versions 1 and 2 of a small model (made once).
    const io::ModelStore& store()
    {
        static const std::string directory =
            (std::filesystem::temp_directory_path() / ("xgrad_fuzz_store_" + std::to_string(::getpid()))).string();
        static const io::ModelStore made = [] {
            std::filesystem::remove_all(directory);
            io::ModelStore fresh(directory);
            nn::Sequential<float> model(nn::Linear(3, 2));
            fresh.save(model, {});
            fresh.save(model, {});
            return fresh;
        }();
        static const struct Cleanup
        {
            ~Cleanup() { std::filesystem::remove_all(directory); }
        } cleanup;
        return made;
    }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    io::ModelStore target = store();
    const std::string text(reinterpret_cast<const char*>(data), size);
    xgrad_fuzz::expect_typed_errors([&] {
        io::write_file_atomically(target.manifest_path(), text, "fuzz");
        target.list();
        nn::Sequential<float> model(nn::Linear(3, 2));
        target.load_production(model);
        target.promote(1);
        target.rollback();
    });
    xgrad_fuzz::expect_typed_errors([&] { io::detail::parse_metadata(text, "metadata.json"); });
    return 0;
}
