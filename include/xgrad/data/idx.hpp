// The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed (zlib reads both):
//   magic: 0x00 0x00 <type> <ndim>;  ndim big-endian u32 dims;  the data, big-endian, row-major.
// The file is untrusted: the magic, type and dims are checked, and every dimension bounded, before anything
// is allocated; memory grows only as data arrives; a short or overlong file, or an element that does not fit
// the requested type (a label of 2.5 or NaN), is an io_error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <zlib.h>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"

namespace xgrad::data
{
    namespace detail
    {
        // Larger IDX payloads are refused (MNIST's training images are 47 MB).
        constexpr std::uint64_t max_idx_bytes = std::uint64_t(4) << 30;

        class GzipReader
        {
        public:
            explicit GzipReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb"))
            {
                if (file_ == nullptr)
                    throw io_error("read_idx: cannot open " + path);
            }
            ~GzipReader() { gzclose(file_); }
            GzipReader(const GzipReader&) = delete;
            GzipReader& operator=(const GzipReader&) = delete;

            // Reads exactly `bytes` bytes, or throws naming what was being read.
            void read(void* target, std::uint64_t bytes, const char* what)
            {
                auto* out = static_cast<unsigned char*>(target);
                while (bytes > 0)
                {
                    const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(bytes, 1u << 30));
                    const int got = gzread(file_, out, chunk);
                    if (got <= 0)
                    {
                        int code = 0;
                        const char* message = gzerror(file_, &code);
                        throw io_error("read_idx: " + path_ + ": " +
                                       (code != Z_OK && code != Z_BUF_ERROR ? std::string("corrupt data (") + message + ")"
                                                                           : std::string("file ends early")) +
                                       " while reading " + what);
                    }
                    out += got;
                    bytes -= static_cast<std::uint64_t>(got);
                }
            }
            // True at a clean end.  zlib reports a gzip stream cut short (its checksum never verified) or a
            // corrupt one only through gzerror, not through gzread's count.
            bool at_end()
            {
                unsigned char extra;
                const int got = gzread(file_, &extra, 1);
                int code = Z_OK;
                const char* message = gzerror(file_, &code);
                if (code != Z_OK)
                    throw io_error("read_idx: " + path_ + ": " +
                                   (code == Z_BUF_ERROR ? std::string("file ends early")
                                                        : std::string("corrupt data (") + message + ")") +
                                   " after the data");
                return got == 0;
            }

        private:
            std::string path_;
            gzFile file_;
        };

        inline std::uint64_t big_endian(const unsigned char* bytes, std::size_t size)
        {
            std::uint64_t value = 0;
            for (std::size_t i = 0; i < size; ++i)
                value = (value << 8) | bytes[i];
            return value;
        }

        // Element size of an IDX type code, or 0 for an unknown one.
        inline std::size_t idx_element_size(unsigned char type)
        {
            switch (type)
            {
            case 0x08: case 0x09: return 1;   // unsigned / signed byte
            case 0x0B: return 2;              // i16
            case 0x0C: case 0x0D: return 4;   // i32 / f32
            case 0x0E: return 8;              // f64
            default: return 0;
            }
        }

        // `value` (element `index` of the file at `path`) as a V, refused where the conversion would not be
        // exact or defined: a label must be a whole number that V holds (NaN, 2.5 and 1e30 are not), and a
        // finite double must lie in V's range.
        template <class V>
        V idx_value(double value, const std::string& path, std::size_t index)
        {
            bool fits;
            if constexpr (std::is_integral_v<V>)
                fits = value == std::floor(value) && std::abs(value) <= 9007199254740992.0 &&   // 2^53; false for NaN
                       value >= double(std::numeric_limits<V>::lowest()) &&
                       value <= double(std::numeric_limits<V>::max());
            else
                fits = !std::isfinite(value) || std::abs(value) <= double(std::numeric_limits<V>::max());
            if (!fits)
                throw io_error("read_idx: " + path + ": element " + std::to_string(index) + " (" +
                               std::to_string(value) + ") does not fit " +
                               (std::is_integral_v<V> ? "an integer label" : "the element type"));
            return static_cast<V>(value);
        }

        // One big-endian element of `type` at `bytes`, as a double.
        inline double idx_element(unsigned char type, const unsigned char* bytes)
        {
            const std::uint64_t raw = big_endian(bytes, idx_element_size(type));
            switch (type)
            {
            case 0x08: return static_cast<double>(raw);
            case 0x09: return static_cast<double>(static_cast<std::int8_t>(raw));
            case 0x0B: return static_cast<double>(static_cast<std::int16_t>(raw));
            case 0x0C: return static_cast<double>(static_cast<std::int32_t>(raw));
            case 0x0D:
            {
                const auto bits = static_cast<std::uint32_t>(raw);
                float value;
                std::memcpy(&value, &bits, 4);
                return value;
            }
            default:
            {
                double value;
                std::memcpy(&value, &raw, 8);
                return value;
            }
            }
        }
    }

    // Reads an IDX file (.gz or plain) into an array of V (float for images, std::int64_t for labels).
    template <class V>
    xt::xarray<V> read_idx(const std::string& path)
    {
        detail::GzipReader in(path);
        unsigned char magic[4];
        in.read(magic, 4, "the magic number");
        const std::size_t element_size = detail::idx_element_size(magic[2]);
        if (magic[0] != 0 || magic[1] != 0 || element_size == 0 || magic[3] == 0)
            throw io_error("read_idx: " + path + " is not an IDX file (bad magic number)");
        // Every dimension is bounded, those after a zero too (a zero counts as one): the array's strides are
        // products of them.  The bound covers the file's elements and the array built from them, whichever
        // is wider.  (volume stays at most 2^32 and each extent below it: their product cannot overflow.)
        Shape shape(magic[3]);
        std::uint64_t count = 1, volume = 1;
        const std::uint64_t widest = std::max<std::uint64_t>(element_size, sizeof(V));
        for (auto& extent : shape)
        {
            unsigned char bytes[4];
            in.read(bytes, 4, "the dimensions");
            extent = static_cast<std::size_t>(detail::big_endian(bytes, 4));
            count *= extent;
            volume *= std::max<std::uint64_t>(extent, 1);
            if (volume > detail::max_idx_bytes / widest)
                throw io_error("read_idx: " + path + ": dimensions " + shape_string(shape) + " are implausibly large");
        }
        // Read into a buffer that doubles as data arrives: a short file that claims gigabytes fails having
        // allocated at most twice what it holds (plus 1 MiB).
        const std::uint64_t data_bytes = count * element_size;
        std::vector<unsigned char> raw;
        std::uint64_t chunk = std::uint64_t(1) << 20;
        while (raw.size() < data_bytes)
        {
            const std::size_t start = raw.size();
            raw.resize(start + static_cast<std::size_t>(std::min<std::uint64_t>(data_bytes - start, chunk)));
            in.read(raw.data() + start, raw.size() - start, "the data");
            chunk = raw.size();
        }
        if (!in.at_end())
            throw io_error("read_idx: " + path + ": the file is longer than its dimensions " + shape_string(shape) + " say");
        xt::xarray<V> result(shape);
        for (std::size_t i = 0; i < count; ++i)
            result.data()[i] =
                detail::idx_value<V>(detail::idx_element(magic[2], raw.data() + i * element_size), path, i);
        return result;
    }

    // A labelled image set: images (N, 1, H, W) scaled to [0, 1] and labels (N).
    template <class T = float>
    struct ImageSet
    {
        xt::xarray<T> images;
        IndexArray labels;
    };

    // MNIST or Fashion-MNIST from `directory` (file names as distributed, .gz or not): the "train" or
    // "t10k" (test) split.  Debian's dataset-fashion-mnist installs to /usr/share/datasets/fashion-mnist.
    template <class T = float>
    ImageSet<T> load_mnist(const std::string& directory, bool train = true)
    {
        const std::string prefix = directory + "/" + (train ? "train" : "t10k");
        auto existing = [](const std::string& base) {
            if (gzFile probe = gzopen((base + ".gz").c_str(), "rb"))
            {
                gzclose(probe);
                return base + ".gz";
            }
            return base;
        };
        ImageSet<T> set{read_idx<T>(existing(prefix + "-images-idx3-ubyte")),
                        read_idx<std::int64_t>(existing(prefix + "-labels-idx1-ubyte"))};
        if (set.images.dimension() != 3 || set.labels.dimension() != 1 || set.images.shape()[0] != set.labels.shape()[0])
            throw io_error("load_mnist: " + prefix + ": images " + shape_string(set.images.shape()) + " and labels " +
                           shape_string(set.labels.shape()) + " do not match");
        set.images /= T(255);
        set.images.reshape({set.images.shape()[0], 1, set.images.shape()[1], set.images.shape()[2]});
        return set;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_DATA_IDX_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template data::ImageSet<T> data::load_mnist<T>(const std::string&, bool);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_DATA_IDX_TEMPLATES)
}
