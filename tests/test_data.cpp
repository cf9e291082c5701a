// Data: DataLoader batching and seeded shuffling, Subset, IDX files (plain and gzip, written here, and
// corrupt ones that must fail with io_error), Fashion-MNIST when installed, CSV with its errors, splits
// (train/test, stratified, k-fold) and StandardScaler.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <zlib.h>

#include <xtensor/xview.hpp>

#include <xgrad/data.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;
namespace fs = std::filesystem;

namespace
{
    void write_gzip(const std::string& path, const std::string& bytes)
    {
        gzFile out = gzopen(path.c_str(), "wb");
        REQUIRE(out != nullptr);
        if (!bytes.empty())
            REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
        REQUIRE(gzclose(out) == Z_OK);
    }

    std::string big_endian(std::uint64_t value, std::size_t size)
    {
        std::string bytes(size, '\0');
        for (std::size_t i = 0; i < size; ++i)
            bytes[size - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
        return bytes;
    }

    // An IDX file: magic 00 00 <type> <ndim>, big-endian u32 dims, then `data` (already big-endian).
    std::string idx_file(unsigned char type, const std::vector<std::uint32_t>& dims, const std::string& data)
    {
        std::string bytes{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
        for (auto d : dims)
            bytes += big_endian(d, 4);
        return bytes + data;
    }

    template <class E>
    Shape shape_of(const E& array)
    {
        return Shape(array.shape().begin(), array.shape().end());
    }

    // A dataset of n examples: inputs (n, 2) = [i, 10 i], label i, so every batch row says which example it is.
    data::TensorDataset<float> numbered(std::size_t n)
    {
        xt::xarray<float> inputs = xt::zeros<float>({n, std::size_t(2)});
        IndexArray labels = IndexArray::from_shape({n});
        for (std::size_t i = 0; i < n; ++i)
        {
            inputs(i, 0) = float(i);
            inputs(i, 1) = 10.0f * float(i);
            labels(i) = std::int64_t(i);
        }
        return data::TensorDataset<float>(inputs, labels);
    }

    // The labels of an epoch's batches, in order, checking each row against its label.
    std::vector<std::int64_t> epoch(data::DataLoader<float>& loader, std::vector<std::size_t>* batch_sizes = nullptr)
    {
        std::vector<std::int64_t> seen;
        for (const auto& batch : loader)
        {
            if (batch_sizes)
                batch_sizes->push_back(batch.size());
            REQUIRE(batch.targets.size() == batch.size());
            for (std::size_t r = 0; r < batch.size(); ++r)
            {
                const auto label = batch.targets(r);
                CHECK(batch.inputs.value()(r, 0) == float(label));
                CHECK(batch.inputs.value()(r, 1) == 10.0f * float(label));
                seen.push_back(label);
            }
        }
        return seen;
    }
}

TEST_CASE("DataLoader: batch counts and sizes, with and without drop_last")
{
    const auto dataset = numbered(10);
    struct Case
    {
        std::size_t batch_size;
        bool drop_last;
        std::vector<std::size_t> sizes;
    };
    for (const Case& c : {Case{4, false, {4, 4, 2}}, Case{4, true, {4, 4}}, Case{5, false, {5, 5}}, Case{5, true, {5, 5}},
                          Case{1, false, std::vector<std::size_t>(10, 1)}, Case{20, false, {10}}, Case{20, true, {}}})
    {
        INFO("batch_size " << c.batch_size << ", drop_last " << c.drop_last);
        data::DataLoader<float> loader(dataset, {c.batch_size, false, c.drop_last, 0});
        CHECK(loader.size() == c.sizes.size());
        std::vector<std::size_t> sizes;
        const auto seen = epoch(loader, &sizes);
        CHECK(sizes == c.sizes);
        // In order without shuffling.
        std::vector<std::int64_t> expected(seen.size());
        std::iota(expected.begin(), expected.end(), 0);
        CHECK(seen == expected);
    }
    CHECK_THROWS_AS(data::DataLoader<float>(dataset, {0, false, false, 0}), value_error);
}

TEST_CASE("DataLoader shuffling: each epoch a permutation; same seed same orders; epochs and seeds differ")
{
    const auto dataset = numbered(50);
    data::DataLoaderOptions options{8, true, false, 1234};
    data::DataLoader<float> loader(dataset, options), twin(dataset, options);
    options.seed = 99;
    data::DataLoader<float> other_seed(dataset, options);

    std::vector<std::int64_t> all(50);
    std::iota(all.begin(), all.end(), 0);
    std::vector<std::vector<std::int64_t>> orders;
    for (int e = 0; e < 3; ++e)
    {
        const auto order = epoch(loader);
        auto sorted = order;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == all);              // every example exactly once
        CHECK(order == epoch(twin));        // the same seed gives the same order, epoch after epoch
        CHECK(order != all);                // shuffled
        orders.push_back(order);
    }
    CHECK(orders[0] != orders[1]);          // a new order each epoch
    CHECK(orders[1] != orders[2]);
    CHECK(epoch(other_seed) != orders[0]);  // another seed, another order

    // drop_last with shuffling drops a different remainder each epoch, never a duplicate.
    data::DataLoader<float> dropping(dataset, {8, true, true, 5});
    const auto kept = epoch(dropping);
    CHECK(kept.size() == 48);
    CHECK(std::set<std::int64_t>(kept.begin(), kept.end()).size() == 48);
}

TEST_CASE("TensorDataset and Subset")
{
    const auto dataset = numbered(6);
    data::Subset<float> subset(dataset, {5, 1, 3});
    CHECK(subset.size() == 3);
    const auto batch = subset.get_batch({2, 0});
    CHECK(batch.targets == IndexArray{3, 5});
    CHECK(batch.inputs.value() == xt::xarray<float>{{3.0f, 30.0f}, {5.0f, 50.0f}});
    CHECK_THROWS_AS(data::Subset<float>(dataset, {6}), value_error);
    CHECK_THROWS_AS(subset.get_batch({3}), std::exception);
    CHECK_THROWS_AS(dataset.get_batch({6}), value_error);
    CHECK_THROWS_AS(data::TensorDataset<float>(xt::zeros<float>({3, 2}), IndexArray{0, 1}), shape_error);

    data::DataLoader<float> loader(subset, {2, false, false, 0});
    std::vector<std::int64_t> seen;
    for (const auto& b : loader)
        for (std::size_t r = 0; r < b.size(); ++r)
            seen.push_back(b.targets(r));
    CHECK(seen == std::vector<std::int64_t>{5, 1, 3});
}

TEST_CASE("Subset and DataLoader keep a temporary dataset alive, share a shared_ptr one, refer to a named one")
{
    auto targets_of = [](data::DataLoader<float>& loader) {
        std::vector<std::int64_t> seen;
        for (const auto& b : loader)
            for (std::size_t r = 0; r < b.size(); ++r)
                seen.push_back(b.targets(r));
        return seen;
    };
    // A temporary is moved into the reader: nothing dangles once the full expression ends (ASan checks this in CI).
    data::DataLoader<float> from_temporary(numbered(5), {2, false, false, 0});
    CHECK(targets_of(from_temporary) == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    data::Subset<float> subset_of_temporary(numbered(6), {4, 2});
    CHECK(subset_of_temporary.get_batch({0, 1}).targets == IndexArray{4, 2});
    data::DataLoader<float> loader_of_temporary_subset(data::Subset<float>(numbered(6), {5, 0}), {4, false, false, 0});
    CHECK(targets_of(loader_of_temporary_subset) == std::vector<std::int64_t>{5, 0});

    // A copy of a loader shares the moved-in dataset; the original can go first.
    auto copy = std::make_unique<data::DataLoader<float>>(numbered(3), data::DataLoaderOptions{3});
    data::DataLoader<float> second = *copy;
    copy.reset();
    CHECK(targets_of(second) == std::vector<std::int64_t>{0, 1, 2});

    std::shared_ptr<const data::Dataset<float>> shared = std::make_shared<data::TensorDataset<float>>(numbered(4));
    data::DataLoader<float> from_shared(shared, {4});
    shared.reset();
    CHECK(targets_of(from_shared) == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK_THROWS_AS(data::DataLoader<float>(std::shared_ptr<const data::Dataset<float>>(), {4}), value_error);

    // A named dataset is read where it is, not copied: a change to it is seen.
    auto named = numbered(2);
    data::DataLoader<float> from_named(named, {2});
    CHECK(targets_of(from_named) == std::vector<std::int64_t>{0, 1});
    named = numbered(3);
    CHECK(targets_of(from_named) == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("IDX files, plain and gzip, every element type")
{
    TempDir dir;
    // u8 images (2, 2, 3): 0, 1, ..., 11 and 255
    std::string bytes;
    for (int i = 0; i < 11; ++i)
        bytes += static_cast<char>(i);
    bytes += static_cast<char>(255);
    const std::string images = idx_file(0x08, {2, 2, 3}, bytes);
    write_bytes(dir.file("images-idx3-ubyte"), images);
    write_gzip(dir.file("images-idx3-ubyte.gz"), images);
    for (const auto* name : {"images-idx3-ubyte", "images-idx3-ubyte.gz"})
    {
        INFO(name);
        const auto read = data::read_idx<float>(dir.file(name));
        REQUIRE(shape_of(read) == Shape{2, 2, 3});
        CHECK(read(0, 0, 0) == 0.0f);
        CHECK(read(0, 1, 2) == 5.0f);
        CHECK(read(1, 1, 1) == 10.0f);
        CHECK(read(1, 1, 2) == 255.0f);
        CHECK(data::read_idx<std::int64_t>(dir.file(name))(1, 1, 2) == 255);
    }

    // signed byte, i16, i32, f32, f64 (big-endian)
    write_gzip(dir.file("i8.gz"), idx_file(0x09, {3}, std::string{'\x7f', '\x80', '\xff'}));
    CHECK(data::read_idx<std::int64_t>(dir.file("i8.gz")) == IndexArray{127, -128, -1});
    write_bytes(dir.file("i16"), idx_file(0x0B, {2}, big_endian(0x1234, 2) + big_endian(0xfffe, 2)));
    CHECK(data::read_idx<std::int64_t>(dir.file("i16")) == IndexArray{0x1234, -2});
    write_bytes(dir.file("i32"), idx_file(0x0C, {1, 2}, big_endian(70000, 4) + big_endian(0xffffffffu - 6, 4)));
    CHECK(data::read_idx<std::int64_t>(dir.file("i32")) == IndexArray{{70000, -7}});
    std::uint32_t f32_bits;
    const float f32 = -1.5f;
    std::memcpy(&f32_bits, &f32, 4);
    write_bytes(dir.file("f32"), idx_file(0x0D, {1}, big_endian(f32_bits, 4)));
    CHECK(data::read_idx<float>(dir.file("f32"))(0) == -1.5f);
    std::uint64_t f64_bits;
    const double f64 = 0.1;
    std::memcpy(&f64_bits, &f64, 8);
    write_gzip(dir.file("f64.gz"), idx_file(0x0E, {1}, big_endian(f64_bits, 8)));
    CHECK(data::read_idx<double>(dir.file("f64.gz"))(0) == 0.1);

    // A zero-sized dim is a valid, empty array.
    write_bytes(dir.file("empty"), idx_file(0x08, {0, 28}, ""));
    CHECK(data::read_idx<float>(dir.file("empty")).size() == 0);
}

TEST_CASE("corrupt IDX files throw io_error with a clear message")
{
    TempDir dir;
    const std::string path = dir.file("bad"), gz_path = dir.file("bad.gz");
    // read_idx throws io_error naming `expected` and the file.
    auto fails_with = [&](const std::string& file, const std::string& expected) {
        check_error<io_error>([&] { data::read_idx<float>(file); }, {expected, file});
    };
    const std::string good = idx_file(0x08, {2, 3, 2}, std::string(12, '\x07'));

    SUBCASE("truncated at every offset, plain and gzip")
    {
        for (std::size_t size = 0; size < good.size(); ++size)
        {
            INFO("truncated to " << size << " of " << good.size() << " bytes");
            write_bytes(path, good.substr(0, size));
            CHECK_THROWS_AS(data::read_idx<float>(path), io_error);
            write_gzip(gz_path, good.substr(0, size));
            CHECK_THROWS_AS(data::read_idx<float>(gz_path), io_error);
        }
        write_bytes(path, good.substr(0, good.size() - 1));
        fails_with(path, "ends early");
    }
    SUBCASE("a truncated gzip stream")
    {
        write_gzip(gz_path, good);
        const std::string compressed = read_bytes(gz_path);
        for (std::size_t size = 10; size < compressed.size(); size += 3)
        {
            INFO("compressed stream cut to " << size << " of " << compressed.size() << " bytes");
            write_bytes(gz_path, compressed.substr(0, size));
            CHECK_THROWS_AS(data::read_idx<float>(gz_path), io_error);
        }
    }
    SUBCASE("bit-flipped magic number")
    {
        for (std::size_t byte = 0; byte < 4; ++byte)
            for (int bit = 0; bit < 8; ++bit)
            {
                std::string flipped = good;
                flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
                // 0x08 -> 0x09 is another valid type of the same size (signed byte): the file stays valid.
                // 0x08 -> 0x0C (i32) or a changed ndim are valid headers too, which the size checks then catch.
                if (byte == 2 && bit == 0)
                    continue;
                write_bytes(path, flipped);
                INFO("byte " << byte << ", bit " << bit);
                CHECK_THROWS_AS(data::read_idx<float>(path), io_error);
            }
        std::string bad_type = good;
        bad_type[2] = '\x07';
        write_bytes(path, bad_type);
        fails_with(path, "bad magic");
        std::string bad_zero = good;
        bad_zero[0] = '\x01';
        write_bytes(path, bad_zero);
        fails_with(path, "bad magic");
        std::string no_dims = good;
        no_dims[3] = '\0';
        write_bytes(path, no_dims);
        fails_with(path, "bad magic");
    }
    SUBCASE("overlong file")
    {
        write_bytes(path, good + "x");
        fails_with(path, "longer");
        write_gzip(gz_path, good + std::string(1000, '\0'));
        fails_with(gz_path, "longer");
    }
    SUBCASE("huge dims")
    {
        write_bytes(path, idx_file(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}, ""));
        fails_with(path, "implausibly large");
        write_bytes(path, idx_file(0x0E, {0x20000000u, 0x20000000u}, ""));
        fails_with(path, "implausibly large");
        // A zero extent does not let the later ones through: the array's strides multiply them all.
        write_bytes(path, idx_file(0x08, {0, 0xffffffffu, 0xffffffffu}, ""));
        fails_with(path, "implausibly large");
        // The bound covers the array built, not only the file's bytes: 2 GiB of bytes are 8 GiB of floats.
        write_bytes(path, idx_file(0x08, {0x40000000u, 2}, ""));
        fails_with(path, "implausibly large");
        // Plausible dims (0.9 GiB of bytes, 3.7 GiB of floats) in a tiny file: refused when the data runs
        // out, before it is all allocated.
        write_bytes(path, idx_file(0x08, {60000, 64, 256}, std::string(100, '\0')));
        fails_with(path, "ends early");
        write_gzip(gz_path, idx_file(0x08, {60000, 64, 256}, std::string(100, '\0')));
        fails_with(gz_path, "ends early");
        // ...and as int64 labels the same dims would be 7.3 GiB.
        check_error<io_error>([&] { data::read_idx<std::int64_t>(path); }, {"implausibly large", path});
    }
    SUBCASE("elements that do not fit the requested type")
    {
        auto f32 = [](float value) {
            std::uint32_t bits;
            std::memcpy(&bits, &value, 4);
            return std::string{char(bits >> 24), char(bits >> 16), char(bits >> 8), char(bits)};
        };
        for (const float label : {std::nanf(""), 2.5f, 1e30f, -std::numeric_limits<float>::infinity()})
        {
            INFO("label " << label);
            write_bytes(path, idx_file(0x0D, {1}, f32(label)));
            check_error<io_error>([&] { data::read_idx<std::int64_t>(path); }, {"does not fit an integer label", path});
            CHECK_NOTHROW(data::read_idx<double>(path));   // as values they are fine
        }
        write_bytes(path, idx_file(0x0D, {2}, f32(-3.0f) + f32(7.0f)));
        CHECK(data::read_idx<std::int64_t>(path) == IndexArray{-3, 7});
        // A double beyond float's range is refused as float (the conversion is undefined), kept as double.
        std::uint64_t bits;
        const double huge = 1e300;
        std::memcpy(&bits, &huge, 8);
        std::string f64;
        for (int shift = 56; shift >= 0; shift -= 8)
            f64.push_back(char(bits >> shift));
        write_bytes(path, idx_file(0x0E, {1}, f64));
        fails_with(path, "does not fit the element type");
        CHECK(data::read_idx<double>(path)(0) == 1e300);
    }
    SUBCASE("not a file")
    {
        fails_with(dir.file("missing.gz"), "cannot open");
        CHECK_THROWS_AS(data::read_idx<float>(dir.path.string()), io_error);
    }
}

TEST_CASE("load_mnist on Debian's Fashion-MNIST")
{
    const std::string directory = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(directory + "/t10k-images-idx3-ubyte.gz") && !fs::exists(directory + "/t10k-images-idx3-ubyte"))
    {
        MESSAGE("skipped: " << directory << " is not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    const auto test = data::load_mnist<float>(directory, /*train=*/false);
    CHECK(shape_of(test.images) == Shape{10000, 1, 28, 28});
    CHECK(shape_of(test.labels) == Shape{10000});
    CHECK(xt::amin(test.images)() >= 0.0f);
    CHECK(xt::amax(test.images)() <= 1.0f);
    CHECK(xt::amax(test.images)() == 1.0f);   // some pixel is 255
    CHECK(xt::amin(test.labels)() == 0);
    CHECK(xt::amax(test.labels)() == 9);
    std::vector<std::size_t> per_class(10, 0);
    for (auto label : test.labels)
        ++per_class.at(static_cast<std::size_t>(label));
    CHECK(per_class == std::vector<std::size_t>(10, 1000));   // Fashion-MNIST's test set is balanced
    CHECK_THROWS_AS(data::load_mnist<float>("/nonexistent/directory"), io_error);
}

TEST_CASE("read_csv: header, label column, delimiter, blank lines, CRLF")
{
    TempDir dir;
    write_bytes(dir.file("iris.csv"), "sepal, petal ,species\n5.1,1.4,0\n\n4.9, 1.5 ,2\r\n-6.2e-1,3,1\n");
    data::CsvOptions options;
    options.label_column = "species";
    const auto csv = data::read_csv<double>(dir.file("iris.csv"), options);
    CHECK(csv.feature_names == std::vector<std::string>{"sepal", "petal"});
    CHECK(csv.features == xt::xarray<double>{{5.1, 1.4}, {4.9, 1.5}, {-0.62, 3.0}});
    CHECK(csv.labels == IndexArray{0, 2, 1});

    // Without a label column every column is a feature.
    const auto all = data::read_csv<float>(dir.file("iris.csv"));
    CHECK(shape_of(all.features) == Shape{3, 3});
    CHECK(all.labels.size() == 0);

    // No header: the label column by index; another delimiter.
    write_bytes(dir.file("plain.csv"), "1;0.5;-2\n0;1.5;4\n");
    data::CsvOptions plain;
    plain.header = false;
    plain.delimiter = ';';
    plain.label_column = "0";
    const auto no_header = data::read_csv<float>(dir.file("plain.csv"), plain);
    CHECK(no_header.feature_names.empty());
    CHECK(no_header.features == xt::xarray<float>{{0.5f, -2.0f}, {1.5f, 4.0f}});
    CHECK(no_header.labels == IndexArray{1, 0});

    // A header and no rows.
    write_bytes(dir.file("header_only.csv"), "a,b\n");
    CHECK(shape_of(data::read_csv<float>(dir.file("header_only.csv")).features) == Shape{0, 2});
}

TEST_CASE("read_csv errors name the file, line and column")
{
    TempDir dir;
    auto fails_with = [&](const std::string& text, const data::CsvOptions& options, const std::string& expected) {
        const std::string path = dir.file("bad.csv");
        write_bytes(path, text);
        check_error<xgrad::error>([&] { data::read_csv<float>(path, options); }, {expected});
    };
    data::CsvOptions with_label;
    with_label.label_column = "y";
    data::CsvOptions no_header;
    no_header.header = false;

    fails_with("a,b\n1,2\n3,x\n", {}, "line 3, column 'b': 'x' is not a number");
    fails_with("a,b\n1,2\n\n3,\n", {}, "line 4, column 'b': '' is not a number");
    fails_with("1,2\n3,4abc\n", no_header, "line 2, column 2: '4abc' is not a number");
    fails_with("a,b\n1,2\n3,4,5\n", {}, "line 3: expected 2 fields, found 3");
    fails_with("a,b\n1\n", {}, "line 2: expected 2 fields, found 1");
    fails_with("a,y\n1,2.5\n", with_label, "line 2, column 'y': label '2.5' is not a whole number");
    fails_with("a,b\n1,2\n", with_label, "no column named 'y'");
    fails_with("", {}, "is empty");
    fails_with("a,b\n1,1e999\n", {}, "'1e999' is not a number");
    fails_with("a,b\n1,1e300\n", {}, "line 2, column 'b': '1e300' is out of range for the feature type");
    data::CsvOptions huge_index = no_header;
    huge_index.label_column = "18446744073709551616";   // 2^64: a value_error, not std::out_of_range
    check_error<value_error>(
        [&] {
            write_bytes(dir.file("two.csv"), "1,2\n");
            data::read_csv<float>(dir.file("two.csv"), huge_index);
        },
        {"label_column must be a 0-based column number", "18446744073709551616"});
    CHECK_THROWS_AS(data::read_csv<float>(dir.file("missing.csv")), io_error);
}

TEST_CASE("read_csv: an empty file without a header has no rows and no columns, label column or not")
{
    TempDir dir;
    write_bytes(dir.file("empty.csv"), "");
    data::CsvOptions options;
    options.header = false;
    options.label_column = "0";
    const auto csv = data::read_csv<float>(dir.file("empty.csv"), options);
    CHECK(shape_of(csv.features) == Shape{0, 0});
    CHECK(shape_of(csv.labels) == Shape{0});
}

TEST_CASE("read_csv: a value beyond float's range is refused as float and read as double")
{
    TempDir dir;
    write_bytes(dir.file("big.csv"), "x\n1e300\n");
    CHECK_THROWS_AS(data::read_csv<float>(dir.file("big.csv")), io_error);
    CHECK(data::read_csv<double>(dir.file("big.csv")).features(0, 0) == 1e300);
}

TEST_CASE("train_test_split: sizes, disjoint cover, seeds, stratification")
{
    const auto split = data::train_test_split(100, 0.2, 7);
    CHECK(split.test.size() == 20);
    CHECK(split.train.size() == 80);
    std::vector<std::size_t> all = split.train;
    all.insert(all.end(), split.test.begin(), split.test.end());
    std::sort(all.begin(), all.end());
    std::vector<std::size_t> expected(100);
    std::iota(expected.begin(), expected.end(), std::size_t(0));
    CHECK(all == expected);   // disjoint, and together every example
    CHECK(data::train_test_split(100, 0.2, 7).test == split.test);
    CHECK(data::train_test_split(100, 0.2, 8).test != split.test);

    // 50 / 30 / 20 examples of classes 0 / 1 / 2, interleaved; 30% test keeps each class's share:
    // 15 / 9 / 6 in test, 35 / 21 / 14 in train.
    IndexArray labels = IndexArray::from_shape({100});
    for (std::size_t i = 0; i < 100; ++i)
        labels(i) = i % 10 < 5 ? 0 : (i % 10 < 8 ? 1 : 2);
    const auto stratified = data::train_test_split(100, 0.3, 3, &labels);
    auto count = [&](const std::vector<std::size_t>& part) {
        std::map<std::int64_t, std::size_t> counts;
        for (auto i : part)
            ++counts[labels(i)];
        return counts;
    };
    CHECK(count(stratified.test) == std::map<std::int64_t, std::size_t>{{0, 15}, {1, 9}, {2, 6}});
    CHECK(count(stratified.train) == std::map<std::int64_t, std::size_t>{{0, 35}, {1, 21}, {2, 14}});

    CHECK_THROWS_AS(data::train_test_split(10, 0.0), value_error);
    CHECK_THROWS_AS(data::train_test_split(10, 1.0), value_error);
    CHECK_THROWS_AS(data::train_test_split(10, std::nan("")), value_error);
    CHECK_THROWS_AS(data::train_test_split(99, 0.3, 0, &labels), shape_error);
}

TEST_CASE("kfold partitions the examples")
{
    for (bool shuffle : {false, true})
    {
        INFO("shuffle " << shuffle);
        const auto folds = data::kfold(10, 3, shuffle, 11);
        REQUIRE(folds.size() == 3);
        // Fold sizes differ by at most one, the larger first: 4, 3, 3.
        CHECK(folds[0].test.size() == 4);
        CHECK(folds[1].test.size() == 3);
        CHECK(folds[2].test.size() == 3);
        std::multiset<std::size_t> validation;
        for (const auto& fold : folds)
        {
            CHECK(fold.train.size() + fold.test.size() == 10);
            std::set<std::size_t> both(fold.train.begin(), fold.train.end());
            both.insert(fold.test.begin(), fold.test.end());
            CHECK(both.size() == 10);   // train and validation are disjoint and cover everything
            validation.insert(fold.test.begin(), fold.test.end());
        }
        CHECK(validation.size() == 10);   // each example validates exactly once
        CHECK(std::set<std::size_t>(validation.begin(), validation.end()).size() == 10);
        if (!shuffle)
            CHECK(folds[1].test == std::vector<std::size_t>{4, 5, 6});
    }
    CHECK(data::kfold(10, 3, true, 1)[0].test == data::kfold(10, 3, true, 1)[0].test);
    CHECK_THROWS_AS(data::kfold(10, 1), value_error);
    CHECK_THROWS_AS(data::kfold(3, 4), value_error);
}

TEST_CASE("StandardScaler: fitted mean and population std; constant features; errors")
{
    // Column 0: 1, 3, 5 -> mean 3, std sqrt(((-2)^2 + 0 + 2^2) / 3) = sqrt(8/3) = 1.63299...
    // Column 1: constant 10 -> std 1 (no division by zero).
    const xt::xarray<double> train{{1.0, 10.0}, {3.0, 10.0}, {5.0, 10.0}};
    data::StandardScaler<double> scaler;
    scaler.fit(train);
    CHECK(scaler.mean() == xt::xarray<double>{3.0, 10.0});
    CHECK(scaler.scale()(0) == doctest::Approx(std::sqrt(8.0 / 3.0)));
    CHECK(scaler.scale()(1) == 1.0);
    const auto scaled = scaler.transform(train);
    CHECK(scaled(0, 0) == doctest::Approx(-2.0 / std::sqrt(8.0 / 3.0)));   // -1.2247...
    CHECK(scaled(1, 0) == 0.0);
    CHECK(scaled(2, 0) == doctest::Approx(1.2247448714));
    CHECK(xt::all(xt::equal(xt::view(scaled, xt::all(), 1), 0.0)));
    // Applied unchanged to other data: 7 -> (7 - 3) / 1.633 = 2.449...
    CHECK(scaler.transform(xt::xarray<double>{{7.0, 11.0}})(0, 0) == doctest::Approx(4.0 / std::sqrt(8.0 / 3.0)));
    CHECK(scaler.transform(xt::xarray<double>{{7.0, 11.0}})(0, 1) == 1.0);

    data::StandardScaler<double> unfitted;
    CHECK_THROWS_AS(unfitted.transform(train), value_error);
    CHECK_THROWS_AS(scaler.transform(xt::xarray<double>{{1.0, 2.0, 3.0}}), shape_error);
    CHECK_THROWS_AS(scaler.fit(xt::xarray<double>{1.0, 2.0}), shape_error);
    CHECK_THROWS_AS(scaler.fit(xt::xarray<double>::from_shape({0, 2})), shape_error);
}
