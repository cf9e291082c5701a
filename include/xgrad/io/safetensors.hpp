// Weights in the safetensors format, readable by PyTorch (safetensors.torch.load_file) and numpy:
//   8 bytes: little-endian u64 header length N;  N bytes: JSON header
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}};
//   then the raw little-endian data, offsets relative to the end of the header.
// Files are untrusted on load: every size and offset is checked before anything is allocated or read.
// Saving is atomic (io/atomic_file.hpp): the old file or the new one, never a part, and no temporary left behind.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "../config.hpp"
#include "../core/state_dict.hpp"
#include "../core/types.hpp"
#include "../error.hpp"
#include "atomic_file.hpp"
#include "json_excerpt.hpp"

namespace xgrad::io
{
    namespace detail
    {
        // Larger headers are refused: a corrupt length must not make us allocate gigabytes.
        constexpr std::uint64_t max_header_bytes = 100u << 20;

        // A size or offset from the header: a JSON integer in [0, 2^64) written without a fraction or exponent.
        // Anything else (-4, 48.5, 1e30, 2^64, "4") is refused, never converted: the conversion would truncate,
        // wrap around, or be undefined.
        inline std::optional<std::uint64_t> header_count(const nlohmann::json& value)
        {
            if (!value.is_number_unsigned())
                return std::nullopt;
            return value.get<std::uint64_t>();
        }

        template <class T>
        const char* dtype_name()
        {
            return std::is_same<T, float>::value ? "F32" : "F64";
        }

        inline std::size_t dtype_size(const std::string& dtype, const std::string& path, const std::string& name)
        {
            if (dtype == "F32")
                return 4;
            if (dtype == "F64")
                return 8;
            throw io_error("load_safetensors: " + path + ": tensor '" + name + "' has dtype " + dtype +
                           ", but only F32 and F64 are supported");
        }

        inline void u64_le(std::uint64_t value, unsigned char* bytes)
        {
            for (int i = 0; i < 8; ++i)
                bytes[i] = static_cast<unsigned char>((value >> (8 * i)) & 0xff);
        }

        inline std::uint64_t read_u64_le(const unsigned char* bytes)
        {
            std::uint64_t value = 0;
            for (int i = 7; i >= 0; --i)
                value = (value << 8) | bytes[i];
            return value;
        }

        inline bool host_is_little_endian()
        {
            const std::uint16_t probe = 1;
            unsigned char first;
            std::memcpy(&first, &probe, 1);
            return first == 1;
        }
    }

    // Writes `state` (name -> array, e.g. model.state_dict()) to `path` with optional string metadata.
    template <class T>
    void save_safetensors(const StateDict<T>& state, const std::string& path,
                          const std::map<std::string, std::string>& metadata = {})
    {
        static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "F32 or F64 only");
        if (!detail::host_is_little_endian())
            throw io_error("save_safetensors: big-endian hosts are not supported");
        nlohmann::ordered_json header = nlohmann::ordered_json::object();   // "{}" when empty, not "null"
        if (!metadata.empty())
            header["__metadata__"] = metadata;
        std::uint64_t offset = 0;
        for (const auto& [name, value] : state)
        {
            const std::uint64_t bytes = value.size() * sizeof(T);
            header[name] = {{"dtype", detail::dtype_name<T>()},
                            {"shape", std::vector<std::size_t>(value.shape().begin(), value.shape().end())},
                            {"data_offsets", {offset, offset + bytes}}};
            offset += bytes;
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');   // pad so the data starts 8-byte aligned

        AtomicFileWriter out(path, "save_safetensors");
        unsigned char length[8];
        detail::u64_le(text.size(), length);
        out.write(length, 8);
        out.write(text.data(), text.size());
        for (const auto& [name, value] : state)
            if (value.size() > 0)   // an empty tensor has no data (and may have a null pointer)
                out.write(value.data(), value.size() * sizeof(T));
        out.commit();
    }

    // Reads a safetensors file into a StateDict<T>, converting F32/F64 data to T.  Any inconsistency (short
    // file, header length past the end, bad JSON, offsets outside the data or overlapping, a byte count that
    // does not match dtype and shape) throws io_error naming the file and the problem.
    // The file's "__metadata__" strings are stored into *metadata when it is given.
    template <class T>
    StateDict<T> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr)
    {
        auto fail = [&](const std::string& what) { return io_error("load_safetensors: " + path + ": " + what); };
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw fail("cannot open the file");
        in.seekg(0, std::ios::end);
        const auto file_size = static_cast<std::uint64_t>(in.tellg());
        in.seekg(0);
        if (file_size < 8)
            throw fail("file is " + std::to_string(file_size) + " bytes, too short for a header length");
        unsigned char length_bytes[8];
        in.read(reinterpret_cast<char*>(length_bytes), 8);
        const std::uint64_t header_size = detail::read_u64_le(length_bytes);
        if (header_size > detail::max_header_bytes || header_size > file_size - 8)
            throw fail("header length " + std::to_string(header_size) + " exceeds the file (" +
                       std::to_string(file_size) + " bytes) or the " + std::to_string(detail::max_header_bytes) +
                       "-byte limit");
        std::string text(header_size, '\0');
        in.read(text.data(), static_cast<std::streamsize>(header_size));
        nlohmann::json header;
        try
        {
            header = nlohmann::json::parse(text);
        }
        catch (const nlohmann::json::exception& e)
        {
            throw fail(std::string("the header is not valid JSON (") + e.what() + ")");
        }
        if (!header.is_object())
            throw fail("the header is not a JSON object");
        const std::uint64_t data_size = file_size - 8 - header_size;

        struct Entry
        {
            std::string name, dtype;
            Shape shape;
            std::uint64_t begin, end;
        };
        std::vector<Entry> entries;
        for (const auto& [name, info] : header.items())
        {
            if (name == "__metadata__")
            {
                if (!info.is_object())
                    throw fail("__metadata__ is not a JSON object of strings");
                if (metadata != nullptr)
                    for (const auto& [key, text] : info.items())
                    {
                        if (!text.is_string())
                            throw fail("metadata entry '" + key + "' is not a string");
                        (*metadata)[key] = text.template get<std::string>();
                    }
                continue;
            }
            if (!info.is_object() || !info.contains("dtype") || !info["dtype"].is_string() || !info.contains("shape") ||
                !info["shape"].is_array() || !info.contains("data_offsets") || !info["data_offsets"].is_array() ||
                info["data_offsets"].size() != 2)
                throw fail("tensor '" + name + "' has a malformed entry (it needs a dtype string, a shape array and "
                           "two data_offsets): " + detail::json_excerpt(info));
            Entry parsed{name, info["dtype"].template get<std::string>(), {}, 0, 0};
            for (const auto& extent : info["shape"])
            {
                const auto value = detail::header_count(extent);
                if (!value)
                    throw fail("tensor '" + name + "' has a malformed shape entry " + detail::json_excerpt(extent) +
                               " (not a whole number of elements)");
                parsed.shape.push_back(static_cast<std::size_t>(*value));
            }
            const auto begin = detail::header_count(info["data_offsets"][0]), end = detail::header_count(info["data_offsets"][1]);
            if (!begin || !end)
                throw fail("tensor '" + name + "' has malformed data_offsets " +
                           detail::json_excerpt(info["data_offsets"]) +
                           " (not whole numbers of bytes)");
            parsed.begin = *begin;
            parsed.end = *end;
            entries.push_back(std::move(parsed));
            const Entry& entry = entries.back();
            // At most 2^60 elements, so that the byte count (up to 8 per element) cannot wrap around; the extents
            // other than 0 are bounded alike, since a 0 hides them from the count but xtensor's strides multiply
            // them all: (0, 2^32, 2^32) is refused too.
            constexpr std::uint64_t max_elements = std::uint64_t(1) << 60;
            std::uint64_t nonzero_product = 1;
            bool has_zero_extent = false;
            for (auto extent : entry.shape)
            {
                if (extent == 0)
                {
                    has_zero_extent = true;
                    continue;
                }
                if (nonzero_product > max_elements / extent)
                    throw fail("tensor '" + name + "' has an impossibly large shape " + shape_string(entry.shape));
                nonzero_product *= extent;
            }
            const std::uint64_t count = has_zero_extent ? 0 : nonzero_product;
            const std::uint64_t expected = count * detail::dtype_size(entry.dtype, path, name);
            if (entry.end < entry.begin || entry.end > data_size)
                throw fail("tensor '" + name + "' has data_offsets [" + std::to_string(entry.begin) + ", " +
                           std::to_string(entry.end) + ") outside the " + std::to_string(data_size) + " data bytes");
            if (entry.end - entry.begin != expected)
                throw fail("tensor '" + name + "' holds " + std::to_string(entry.end - entry.begin) +
                           " bytes, but dtype " + entry.dtype + " and shape " + shape_string(entry.shape) + " need " +
                           std::to_string(expected));
        }
        // The data ranges must tile the data section exactly, as the format requires: no overlap, no hole,
        // nothing after the last tensor.
        std::vector<const Entry*> by_offset;
        for (const auto& entry : entries)
            by_offset.push_back(&entry);
        // By (begin, end): an empty tensor at the offset where another starts comes first, as xgrad writes it.
        std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
            return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
        });
        std::uint64_t covered = 0;
        for (const Entry* entry : by_offset)
        {
            if (entry->begin < covered)
                throw fail("tensor '" + entry->name + "' overlaps the tensor before it");
            if (entry->begin > covered)
                throw fail("the data has a hole before tensor '" + entry->name + "'");
            covered = entry->end;
        }
        if (covered != data_size)
            throw fail(std::to_string(data_size - covered) + " bytes after the last tensor belong to none");

        if (!detail::host_is_little_endian())
            throw io_error("load_safetensors: big-endian hosts are not supported");
        StateDict<T> state;
        const std::uint64_t data_start = 8 + header_size;
        for (const auto& entry : entries)
        {
            xt::xarray<T> value(entry.shape);
            in.seekg(static_cast<std::streamoff>(data_start + entry.begin));
            auto read_as = [&](auto element) {
                using Stored = decltype(element);
                std::vector<Stored> raw(value.size());
                in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size() * sizeof(Stored)));
                std::copy(raw.begin(), raw.end(), value.begin());
            };
            if (entry.dtype == "F32")
                read_as(float{});
            else
                read_as(double{});
            if (!in)
                throw fail("reading the data of '" + entry.name + "' failed (truncated file?)");
            state.insert(entry.name, std::move(value));
        }
        return state;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_IO_SAFETENSORS_TEMPLATES(EXTERN, T)                                                                     \
    EXTERN template void io::save_safetensors<T>(const StateDict<T>&, const std::string&,                             \
                                                 const std::map<std::string, std::string>&);                          \
    EXTERN template StateDict<T> io::load_safetensors<T>(const std::string&, std::map<std::string, std::string>*);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_IO_SAFETENSORS_TEMPLATES)
}
