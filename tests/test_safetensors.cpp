// Safetensors: round trips in float and double with metadata, the file layout byte by byte, a file written
// for PyTorch (scripts/make_io_fixtures.py) that reproduces torch's logits, a file xgrad writes read back by
// numpy alone (scripts/check_safetensors_numpy.py), corrupt files that must fail with io_error (never a
// crash or a huge allocation), and saves that fail part-way leaving the previous file intact.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <xgrad/io.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace
{
    std::string u64_le(std::uint64_t value)
    {
        std::string bytes(8, '\0');
        for (int i = 0; i < 8; ++i)
            bytes[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
        return bytes;
    }

    // A safetensors file from its header text and data bytes.
    std::string safetensors_file(const std::string& header, const std::string& data)
    {
        return u64_le(header.size()) + header + data;
    }

    std::string float_bytes(const std::vector<float>& values)
    {
        return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    }

    template <class T>
    nn::StateDict<T> sample_state()
    {
        nn::StateDict<T> state;
        state.insert("encoder.weight", xt::xarray<T>{{T(1) / T(3), T(-2.5), T(1e-30)}, {T(0), T(-0.0), T(7)}});
        state.insert("encoder.bias", xt::xarray<T>{T(0.125), std::numeric_limits<T>::infinity(), T(-1e20)});
        state.insert("scale", xt::xarray<T>(T(42)));          // 0-d
        state.insert("empty", xt::xarray<T>::from_shape({0, 4}));   // no elements
        return state;
    }

    // Same names, shapes and bits.
    template <class T, class U>
    void check_same_state(const nn::StateDict<T>& actual, const nn::StateDict<U>& expected)
    {
        CHECK(actual.size() == expected.size());
        for (const auto& entry : expected)
        {
            const auto& name = entry.first;
            const auto& value = entry.second;
            INFO("entry " << name);
            REQUIRE(actual.contains(name));
            const auto& loaded = actual.at(name);
            REQUIRE(std::vector<std::size_t>(loaded.shape().begin(), loaded.shape().end()) ==
                    std::vector<std::size_t>(value.shape().begin(), value.shape().end()));
            for (std::size_t i = 0; i < value.size(); ++i)
            {
                const T want = static_cast<T>(value.data()[i]);
                CHECK(std::memcmp(&loaded.data()[i], &want, sizeof(T)) == 0);
            }
        }
    }

    const std::string sample_metadata_key = "format";
}

TEST_CASE("safetensors round trip: float and double, metadata, 0-d and empty tensors")
{
    TempDir dir;
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"epoch", "12"}, {"note", "ünïcode \"quoted\""}};

    const auto floats = sample_state<float>();
    io::save_safetensors(floats, dir.file("f.safetensors"), metadata);
    std::map<std::string, std::string> read_metadata;
    check_same_state(io::load_safetensors<float>(dir.file("f.safetensors"), &read_metadata), floats);
    CHECK(read_metadata == metadata);
    check_same_state(io::load_safetensors<double>(dir.file("f.safetensors")), floats);   // F32 widened exactly

    const auto doubles = sample_state<double>();
    io::save_safetensors(doubles, dir.file("d.safetensors"));
    read_metadata.clear();
    check_same_state(io::load_safetensors<double>(dir.file("d.safetensors"), &read_metadata), doubles);
    CHECK(read_metadata.empty());
    // F64 narrowed to float: each value rounded as static_cast<float> would.
    check_same_state(io::load_safetensors<float>(dir.file("d.safetensors")), doubles);

    // Saving again replaces the file and leaves no temporary behind.
    nn::StateDict<float> other;
    other.insert("x", xt::xarray<float>{1.0f, 2.0f});
    io::save_safetensors(other, dir.file("f.safetensors"));
    check_same_state(io::load_safetensors<float>(dir.file("f.safetensors")), other);
    CHECK(dir.temporaries().empty());

    // An empty state dict is a valid file.
    io::save_safetensors(nn::StateDict<float>{}, dir.file("empty.safetensors"));
    CHECK(io::load_safetensors<float>(dir.file("empty.safetensors")).empty());
}

TEST_CASE("safetensors layout: u64 LE header length, JSON header, 8-byte aligned data, offsets tile the data")
{
    TempDir dir;
    nn::StateDict<float> state;
    state.insert("b", xt::xarray<float>{{1.5f, -2.0f, 3.25f}, {4.0f, 5.0f, 6.0f}});   // (2, 3): 24 bytes
    state.insert("a", xt::xarray<float>{0.5f});                                       // (1,): 4 bytes
    io::save_safetensors(state, dir.file("layout.safetensors"), {{"format", "pt"}});
    const std::string bytes = read_bytes(dir.file("layout.safetensors"));

    REQUIRE(bytes.size() >= 8);
    std::uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i)
        header_size = (header_size << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    CHECK((8 + header_size) % 8 == 0);   // padded with spaces so the data is aligned
    REQUIRE(8 + header_size <= bytes.size());
    const json header = json::parse(bytes.substr(8, header_size));
    CHECK(header.at("__metadata__") == json{{"format", "pt"}});
    CHECK(header.at("b").at("dtype") == "F32");
    CHECK(header.at("b").at("shape") == json{2, 3});
    CHECK(header.at("a").at("shape") == json{1});
    // Offsets relative to the end of the header, in state-dict order, back to back, and the file ends there.
    CHECK(header.at("b").at("data_offsets") == json{0, 24});
    CHECK(header.at("a").at("data_offsets") == json{24, 28});
    CHECK(bytes.size() == 8 + header_size + 28);
    const std::string data = bytes.substr(8 + header_size);
    CHECK(data == float_bytes({1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f, 0.5f}));   // little-endian on x86 and ARM

    // A file laid out by hand the same way (no padding, tensors out of name order) loads.
    const std::string handmade = safetensors_file(
        R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"v":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
        float_bytes({9.0f, -1.0f, 2.0f}));
    write_bytes(dir.file("handmade.safetensors"), handmade);
    const auto loaded = io::load_safetensors<float>(dir.file("handmade.safetensors"));
    CHECK(loaded.at("v")() == 9.0f);
    CHECK(loaded.at("w") == xt::xarray<float>{-1.0f, 2.0f});
}

TEST_CASE("a safetensors file written for PyTorch loads into nn::Sequential and reproduces torch's logits")
{
    const std::string dir = std::string(XGRAD_TEST_FIXTURES) + "/io/";
    const json expected = load_fixture("io/mlp.json", "scripts/make_io_fixtures.py");
    const auto input = read_array<double>(expected.at("input"));
    const auto logits = read_array<double>(expected.at("logits"));

    std::map<std::string, std::string> metadata;
    const auto state = io::load_safetensors<float>(dir + "mlp.safetensors", &metadata);
    CHECK(metadata.at("format") == "pt");
    nn::Sequential<float> model(nn::Linear<float>(4, 3), nn::ReLU<float>(), nn::Linear<float>(3, 2));
    model.load_state_dict(state);
    const auto output = model(Tensor<float>(xt::xarray<float>(xt::cast<float>(input))));
    REQUIRE(output.shape() == Shape{5, 2});
    for (std::size_t i = 0; i < logits.size(); ++i)
        CHECK_MESSAGE(std::abs(output.value().data()[i] - logits.data()[i]) <= 1e-5,
                      "logit " << i << ": xgrad " << output.value().data()[i] << ", torch " << logits.data()[i]);

    // The same file into a double model: F32 weights widened, the same logits.
    nn::Sequential<double> model64(nn::Linear<double>(4, 3), nn::ReLU<double>(), nn::Linear<double>(3, 2));
    model64.load_state_dict(io::load_safetensors<double>(dir + "mlp.safetensors"));
    const auto output64 = model64(Tensor<double>(input));
    for (std::size_t i = 0; i < logits.size(); ++i)
        CHECK(std::abs(output64.value().data()[i] - logits.data()[i]) <= 1e-5);

    // A model of another shape refuses the file by name.
    nn::Sequential<float> wrong(nn::Linear<float>(4, 5), nn::ReLU<float>(), nn::Linear<float>(5, 2));
    CHECK_THROWS_AS(wrong.load_state_dict(state), shape_error);
}

TEST_CASE("numpy alone reads what xgrad writes (scripts/check_safetensors_numpy.py)")
{
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    {
        MESSAGE("skipped: /usr/bin/python3 with numpy is not available");
        return;
    }
    const std::string script = std::string(XGRAD_TEST_FIXTURES) + "/../../scripts/check_safetensors_numpy.py";
    TempDir dir;
    auto check_with_numpy = [&](const auto& state, const std::string& name, const char* dtype) {
        const std::string file = dir.file(name + ".safetensors"), summary = dir.file(name + ".json");
        io::save_safetensors(state, file, {{"format", "pt"}, {"source", "xgrad"}});
        const std::string command = "/usr/bin/python3 '" + script + "' '" + file + "' '" + summary + "' >/dev/null";
        REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "numpy could not read " << file);
        std::ifstream in(summary);
        const json read = json::parse(in);
        CHECK(read.at("metadata") == json{{"format", "pt"}, {"source", "xgrad"}});
        CHECK(read.at("tensors").size() == state.size());
        for (const auto& entry : state)
        {
            const auto& key = entry.first;
            const auto& value = entry.second;
            INFO("tensor " << key);
            const json& tensor = read.at("tensors").at(key);
            CHECK(tensor.at("dtype") == dtype);
            CHECK(tensor.at("shape").template get<std::vector<std::size_t>>() ==
                  std::vector<std::size_t>(value.shape().begin(), value.shape().end()));
            REQUIRE(tensor.at("data").size() == value.size());
            for (std::size_t i = 0; i < value.size(); ++i)
                if (std::isfinite(value.data()[i]))   // JSON has no infinity; numpy's value round-trips otherwise
                    CHECK(tensor.at("data")[i].template get<double>() == static_cast<double>(value.data()[i]));
        }
    };
    check_with_numpy(sample_state<float>(), "floats", "F32");
    check_with_numpy(sample_state<double>(), "doubles", "F64");

    nn::Sequential<float> model(nn::Linear<float>(3, 4), nn::ReLU<float>(), nn::Linear<float>(4, 1));
    check_with_numpy(model.state_dict(), "model", "F32");

    // And the script does reject a broken file (so a pass above means something).
    write_bytes(dir.file("broken.safetensors"), safetensors_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                                                 float_bytes({1.0f, 2.0f})));
    CHECK(std::system(("/usr/bin/python3 '" + script + "' '" + dir.file("broken.safetensors") + "' 2>/dev/null >/dev/null").c_str()) != 0);
}

TEST_CASE("corrupt safetensors files throw io_error")
{
    TempDir dir;
    const std::string path = dir.file("corrupt.safetensors");
    auto load_fails = [&](const std::string& bytes, const std::string& expected_in_message) {
        write_bytes(path, bytes);
        // io_error naming what is wrong and the file
        check_error<io_error>([&] { io::load_safetensors<float>(path); }, {expected_in_message, path});
    };
    const std::string good_header = R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    const std::string good_data = float_bytes({1.0f, 2.0f, 3.0f, 4.0f});

    SUBCASE("truncated at every offset")
    {
        nn::StateDict<float> state;
        state.insert("weight", xt::xarray<float>{{1.0f, 2.0f}, {3.0f, 4.0f}});
        state.insert("bias", xt::xarray<float>{0.5f, -0.5f});
        io::save_safetensors(state, dir.file("whole.safetensors"), {{"format", "pt"}});
        const std::string whole = read_bytes(dir.file("whole.safetensors"));
        for (std::size_t size = 0; size < whole.size(); ++size)
        {
            INFO("truncated to " << size << " of " << whole.size() << " bytes");
            write_bytes(path, whole.substr(0, size));
            CHECK_THROWS_AS(io::load_safetensors<float>(path), io_error);
        }
    }
    SUBCASE("header length huge or past the end")
    {
        for (std::uint64_t length : {std::uint64_t(1) << 63, ~std::uint64_t(0), std::uint64_t(100) << 20,
                                     std::uint64_t(good_header.size() + good_data.size() + 1)})
        {
            INFO("header length " << length);
            load_fails(u64_le(length) + good_header + good_data, "header length");
        }
    }
    SUBCASE("bad JSON, or JSON of the wrong form")
    {
        load_fails(safetensors_file(R"({"x": {"dtype": "F32", )", good_data), "not valid JSON");
        load_fails(safetensors_file("\xff\xfe", good_data), "not valid JSON");
        load_fails(safetensors_file("", ""), "not valid JSON");
        load_fails(safetensors_file("[1, 2]", good_data), "not a JSON object");
        load_fails(safetensors_file(R"({"x": 5})", good_data), "malformed");
        load_fails(safetensors_file(R"({"x":{"shape":[4],"data_offsets":[0,16]}})", good_data), "malformed");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":["4"],"data_offsets":[0,16]}})", good_data), "malformed");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", good_data), "malformed");
        load_fails(safetensors_file(R"({"x":{"dtype":7,"shape":[4],"data_offsets":[0,16]}})", good_data), "malformed");
    }
    SUBCASE("values nested deeper than a recursive dump could go: described in the message, not dumped")
    {
        const std::string nested = std::string(100000, '[') + std::string(100000, ']');
        load_fails(safetensors_file(R"({"x":)" + nested + "}", good_data), "data_offsets): an array of 1 element");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[)" + nested + R"(],"data_offsets":[0,16]}})",
                                    good_data),
                   "malformed shape entry an array of 1 element");
    }
    SUBCASE("offsets out of range")
    {
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[4,20]}})", good_data), "outside");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", good_data), "outside");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", good_data), "");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,0]}})",
                                    good_data), "outside");
    }
    SUBCASE("overlapping tensors")
    {
        load_fails(safetensors_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                    good_data),
                   "overlap");
        load_fails(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                    good_data),
                   "overlap");
    }
    SUBCASE("byte count that does not match dtype and shape")
    {
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", good_data), "need");
        load_fails(safetensors_file(R"({"x":{"dtype":"F64","shape":[3],"data_offsets":[0,16]}})", good_data), "need");
        // Shapes whose byte count overflows 64 bits must not wrap around to match the offsets.
        load_fails(safetensors_file(R"({"x":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", ""), "");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""), "");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""), "");
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}})", good_data), "");
    }
    SUBCASE("sizes and offsets that are not whole numbers in [0, 2^64) are refused, not converted")
    {
        for (const char* offsets : {"[0.5,16]", "[0,16.0]", "[0,1.6e1]", "[0,1e30]", "[0,18446744073709551616]",
                                    "[-0,16]", "[\"0\",16]", "[null,16]", "[0,16,24]"})
        {
            INFO("data_offsets " << offsets);
            load_fails(safetensors_file(std::string(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":)") + offsets +
                                            "}}",
                                        good_data),
                       "malformed");
        }
        for (const char* shape : {"[4.0]", "[2.5]", "[-4]", "[1e1]", "[true]", "[[4]]", "4"})
        {
            INFO("shape " << shape);
            load_fails(safetensors_file(std::string(R"({"x":{"dtype":"F32","shape":)") + shape +
                                            R"(,"data_offsets":[0,16]}})",
                                        good_data),
                       "malformed");
        }
        // A zero extent hides the others from the byte count, but not from xtensor's strides.
        load_fails(safetensors_file(R"({"x":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", ""),
                   "impossibly large");
        load_fails(safetensors_file(R"({"__metadata__":["pt"],"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                    good_data),
                   "__metadata__");
    }
    SUBCASE("unknown dtype")
    {
        for (const char* dtype : {"BF16", "F16", "I64", "U8", "BOOL", "f32", ""})
        {
            INFO("dtype " << dtype);
            load_fails(safetensors_file(std::string(R"({"x":{"dtype":")") + dtype +
                                            R"(","shape":[4],"data_offsets":[0,16]}})",
                                        good_data),
                       "dtype");
        }
    }
    SUBCASE("metadata that is not strings")
    {
        write_bytes(path, safetensors_file(R"({"__metadata__":{"epoch":3},"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                           good_data));
        std::map<std::string, std::string> metadata;
        CHECK_THROWS_AS(io::load_safetensors<float>(path, &metadata), io_error);
    }
    SUBCASE("not a file")
    {
        CHECK_THROWS_AS(io::load_safetensors<float>(dir.file("missing.safetensors")), io_error);
        CHECK_THROWS_AS(io::load_safetensors<float>(dir.path.string()), io_error);   // a directory
    }
    SUBCASE("an empty tensor at the offset where the next one starts loads, in either order")
    {
        for (const char* header : {R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                                   R"("x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
                                   R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                                   R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}})"})
        {
            INFO(header);
            write_bytes(path, safetensors_file(header, good_data));
            const auto state = io::load_safetensors<float>(path);
            CHECK(state.at("e").shape() == std::vector<std::size_t>{0, 3});
            CHECK(state.at("x") == xt::xarray<float>{{1.0f, 2.0f}, {3.0f, 4.0f}});
        }
    }
    SUBCASE("the valid file these cases break does load")
    {
        write_bytes(path, safetensors_file(good_header, good_data));
        CHECK(io::load_safetensors<float>(path).at("x") == xt::xarray<float>{{1.0f, 2.0f}, {3.0f, 4.0f}});
    }
}

TEST_CASE("a file of 50,000 entries loads in one pass (a state dict finds names in constant time)")
{
    TempDir dir;
    nn::StateDict<float> many;
    for (int i = 0; i < 50000; ++i)
        many.insert("layer." + std::to_string(i), xt::xarray<float>::from_shape({0}));
    io::save_safetensors(many, dir.file("many.safetensors"));
    const auto loaded = io::load_safetensors<float>(dir.file("many.safetensors"));
    CHECK(loaded.size() == 50000);
    CHECK(loaded.contains("layer.49999"));
    CHECK_THROWS_AS(many.insert("layer.123", xt::xarray<float>{1.0f}), value_error);   // still no duplicates
}

TEST_CASE("a save that fails part-way leaves the previous file intact")
{
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    nn::StateDict<float> previous, next;
    previous.insert("w", xt::xarray<float>{1.0f, 2.0f, 3.0f});
    next.insert("w", xt::xarray<float>{-1.0f, -2.0f, -3.0f});
    io::save_safetensors(previous, path);
    const std::string before = read_bytes(path);

    SUBCASE("the directory is read-only")
    {
        if (::geteuid() == 0)
        {
            MESSAGE("skipped: running as root, which writes into read-only directories");
            return;
        }
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
        CHECK_THROWS_AS(io::save_safetensors(next, path), io_error);
        fs::permissions(dir.path, fs::perms::owner_all, fs::perm_options::replace);
        CHECK(read_bytes(path) == before);
    }
    SUBCASE("the target cannot be replaced")
    {
        const std::string target = dir.file("a_directory");
        fs::create_directory(target);
        fs::create_directory(target + "/inside");   // a non-empty directory: rename over it fails
        CHECK_THROWS_AS(io::save_safetensors(next, target), io_error);
        CHECK(fs::is_directory(target));
        CHECK(dir.temporaries().empty());
    }
    SUBCASE("the directory does not exist")
    {
        CHECK_THROWS_AS(io::save_safetensors(next, dir.file("no/such/dir/model.safetensors")), io_error);
    }
    CHECK(io::load_safetensors<float>(path).at("w") == previous.at("w"));
}

TEST_CASE("an optimizer's state saved as safetensors resumes the same run")
{
    TempDir dir;
    auto make = [] { return Tensor<float>(xt::xarray<float>{{0.5f, -1.0f}, {2.0f, 0.25f}}, true); };
    auto gradient = [](int step) {
        return Tensor<float>(xt::xarray<float>{{0.1f * float(step), -0.2f}, {0.3f, 0.05f * float(step)}});
    };
    Tensor<float> straight = make();
    optim::Adam<float> adam({straight}, optim::AdamOptions(0.01).amsgrad(true));
    for (int step = 1; step <= 2; ++step)
    {
        straight.set_grad(gradient(step));
        adam.step();
    }
    io::save_safetensors(adam.state_dict(), dir.file("adam.safetensors"));
    Tensor<float> resumed(straight.value(), true);
    optim::Adam<float> resumed_adam({resumed}, optim::AdamOptions(0.01).amsgrad(true));
    resumed_adam.load_state_dict(io::load_safetensors<float>(dir.file("adam.safetensors")));
    for (int step = 3; step <= 4; ++step)
    {
        straight.set_grad(gradient(step));
        adam.step();
        resumed.set_grad(gradient(step));
        resumed_adam.step();
    }
    CHECK(resumed.value() == straight.value());
}
