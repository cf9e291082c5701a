// Helpers shared by the test files: error and closeness assertions, derivative checks, random leaves,
// shaped arrays, a temporary directory, and the JSON fixtures written by scripts/make_*_fixtures.py.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <xtensor/xadapt.hpp>
#include <xgrad/xgrad.hpp>

// 1 when built with AddressSanitizer, which replaces malloc and keeps freed memory in quarantine (GCC
// defines __SANITIZE_ADDRESS__, clang answers __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define XGRAD_TEST_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XGRAD_TEST_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef XGRAD_TEST_ADDRESS_SANITIZER
#define XGRAD_TEST_ADDRESS_SANITIZER 0
#endif

namespace xgrad_test
{
    // Sets the thread count for a scope, then restores it.
    class thread_count
    {
    public:
        explicit thread_count(std::size_t threads) : previous_(xgrad::get_num_threads()) { xgrad::set_num_threads(threads); }
        ~thread_count() { xgrad::set_num_threads(previous_); }
        thread_count(const thread_count&) = delete;
        thread_count& operator=(const thread_count&) = delete;

    private:
        std::size_t previous_;
    };

    // `count` values uniform in [low, high), for the kernel tests (plain vectors, no tensors).
    template <class T>
    std::vector<T> random_values(std::size_t count, T low, T high, std::mt19937& rng)
    {
        std::uniform_real_distribution<T> uniform(low, high);
        std::vector<T> values(count);
        for (T& value : values)
            value = uniform(rng);
        return values;
    }

    using Inputs = std::vector<xgrad::Tensor<double>>;

    // The message of the E that `action` throws, or "" when it throws nothing.
    template <class E = std::exception>
    std::string message_of(const std::function<void()>& action)
    {
        try
        {
            action();
        }
        catch (const E& e)
        {
            return e.what();
        }
        return "";
    }

    // `action` throws E, and its message contains every one of `parts` (the op's name, the shapes, ...).
    template <class E>
    void check_error(const std::function<void()>& action, const std::vector<std::string>& parts)
    {
        std::string expected;
        for (const auto& part : parts)
            expected += (expected.empty() ? "'" : ", '") + part + "'";
        INFO("expected an exception naming " << expected);
        bool thrown = false;
        try
        {
            action();
        }
        catch (const E& e)
        {
            thrown = true;
            const std::string message = e.what();
            for (const auto& part : parts)
                CHECK_MESSAGE(message.find(part) != std::string::npos, "'" << part << "' not in: " << message);
        }
        catch (...)
        {
            try
            {
                throw;
            }
            catch (const std::exception& e)
            {
                FAIL_CHECK("threw an exception of another type: " << std::string(e.what()));
            }
            catch (...)
            {
                FAIL_CHECK("threw something that is not a std::exception");
            }
            return;
        }
        CHECK_MESSAGE(thrown, "nothing was thrown");
    }

    // Same shape, and every element of `actual` equals `expected`'s to doctest::Approx's relative `tolerance`.
    template <class T>
    void check_close(const xt::xarray<T>& actual, const xt::xarray<T>& expected, double tolerance = 1e-12)
    {
        REQUIRE(xgrad::Shape(actual.shape().begin(), actual.shape().end()) ==
                xgrad::Shape(expected.shape().begin(), expected.shape().end()));
        for (std::size_t i = 0; i < actual.size(); ++i)
        {
            CAPTURE(i);
            CHECK(double(actual.data()[i]) == doctest::Approx(double(expected.data()[i])).epsilon(tolerance));
        }
    }

    // check_close for double arrays, also taking xtensor expressions and braced lists.
    inline void check_close(const xt::xarray<double>& actual, const xt::xarray<double>& expected,
                            double tolerance = 1e-12)
    {
        check_close<double>(actual, expected, tolerance);
    }

    // The gradients of f at inputs for a random output gradient, computed twice: with the backward pass
    // unrecorded (ops with a fused backward run their kernels) and recorded (create_graph: the same rules
    // in tensor ops).  The two must agree; gradcheck tests the first, gradgradcheck differentiates the second.
    inline void check_fused_backward_matches_recorded(const std::function<xgrad::Tensor<double>(const Inputs&)>& f,
                                                      const Inputs& inputs)
    {
        const xgrad::Tensor<double> out = f(inputs);
        if (!out.requires_grad())
            return;
        Inputs differentiable;
        for (const auto& input : inputs)
            if (input.requires_grad())
                differentiable.push_back(input);
        xgrad::Generator rng(12345);
        const xgrad::Tensor<double> seed = xgrad::rand<double>(out.shape(), rng, false, -1.0, 1.0);
        const auto fused = xgrad::grad({out}, differentiable, false, true, {seed});
        const auto recorded = xgrad::grad({out}, differentiable, true, true, {seed});
        for (std::size_t i = 0; i < differentiable.size(); ++i)
        {
            CAPTURE(i);
            REQUIRE(xgrad::detail::shapes_equal(fused[i].value().shape(), recorded[i].value().shape()));
            CHECK(xt::allclose(fused[i].value(), recorded[i].value(), 1e-10, 1e-12));
        }
    }

    // gradcheck and gradgradcheck of f at inputs; gradcheck_error messages reach the test log.
    inline void check_derivatives(const std::function<xgrad::Tensor<double>(const Inputs&)>& f, const Inputs& inputs)
    {
        CHECK(xgrad::gradcheck(f, inputs));
        CHECK(xgrad::gradgradcheck(f, inputs));
        check_fused_backward_matches_recorded(f, inputs);
    }

    // Uniform in [low, high), requiring grad.
    inline xgrad::Tensor<double> random_leaf(const xgrad::Shape& shape, std::uint64_t seed, double low = -1.0,
                                             double high = 1.0)
    {
        xgrad::Generator rng(seed);
        return xgrad::rand<double>(shape, rng, true, low, high);
    }

    // scale · N(0, 1) + shift, requiring grad.
    template <class T = double>
    xgrad::Tensor<T> normal_leaf(const xgrad::Shape& shape, std::uint64_t seed, double scale = 1.0, double shift = 0.0)
    {
        xgrad::Generator rng(seed);
        return xgrad::Tensor<T>(xgrad::randn<T>(shape, rng).value() * T(scale) + T(shift), true);
    }

    // |x| uniform in [low, high) with random signs, requiring grad: away from kinks and poles at 0.
    inline xgrad::Tensor<double> away_from_zero(const xgrad::Shape& shape, std::uint64_t seed, double low, double high)
    {
        xgrad::Generator rng(seed);
        auto x = xgrad::rand<double>(shape, rng, true, low, high);
        const auto sign = xgrad::rand<double>(shape, rng);
        x.mutable_value() = xt::where(sign.value() < 0.5, -x.value(), x.value());
        return x;
    }

    // An array of `shape` holding `values` (row-major): for shapes with unit dims, which nested braces
    // cannot spell unambiguously.
    template <class V = double>
    xt::xarray<V> shaped(std::vector<V> values, const xgrad::Shape& shape)
    {
        xt::xarray<V> result = xt::adapt(values, xgrad::Shape{values.size()});
        result.reshape(shape);
        return result;
    }

    // An index array of `shape` holding `values` (row-major).
    inline xgrad::IndexArray indices(std::vector<std::int64_t> values, const xgrad::Shape& shape)
    {
        return shaped(std::move(values), shape);
    }

    // A fresh directory for one test's files, removed (read-only or not) when it goes out of scope.
    struct TempDir
    {
        std::filesystem::path path;
        TempDir()
        {
            static int counter = 0;
            path = std::filesystem::temp_directory_path() /
                   ("xgrad_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
            std::filesystem::remove_all(path);
            std::filesystem::create_directories(path);
        }
        TempDir(const TempDir&) = delete;
        TempDir& operator=(const TempDir&) = delete;
        ~TempDir()
        {
            std::error_code ignored;
            std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                         std::filesystem::perm_options::add, ignored);
            std::filesystem::remove_all(path, ignored);
        }
        std::string file(const std::string& name) const { return (path / name).string(); }
        // The names in the directory that look like a save's temporaries ("<file>.tmp.<pid>...").
        std::vector<std::string> temporaries() const
        {
            std::vector<std::string> names;
            for (const auto& entry : std::filesystem::directory_iterator(path))
                if (entry.path().filename().string().find(".tmp.") != std::string::npos)
                    names.push_back(entry.path().filename().string());
            return names;
        }
    };

    // Writes `bytes` to the file at `path`, replacing it.
    inline void write_bytes(const std::string& path, const std::string& bytes)
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
    }

    // The whole file at `path`, which must be readable.
    inline std::string read_bytes(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        REQUIRE_MESSAGE(in.good(), "cannot read " << path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    // The JSON file XGRAD_TEST_FIXTURES/<relative>; a missing one fails the test, naming the script that writes it.
    template <class Json = nlohmann::json>
    Json load_fixture(const std::string& relative, const std::string& writer)
    {
        const std::string path = std::string(XGRAD_TEST_FIXTURES) + "/" + relative;
        std::ifstream in(path);
        REQUIRE_MESSAGE(in.good(), "missing fixture " << path << " (" << writer << " writes it)");
        return Json::parse(in);
    }

    // A fixture's {"shape": [...], "data": [...]} as an array (floating types read through double).
    template <class V, class Json>
    xt::xarray<V> read_array(const Json& t)
    {
        xt::xarray<V> value(t.at("shape").template get<xgrad::Shape>());
        const auto& data = t.at("data");
        REQUIRE(data.size() == value.size());
        for (std::size_t i = 0; i < value.size(); ++i)
        {
            if constexpr (std::is_floating_point<V>::value)
                value.data()[i] = static_cast<V>(data[i].template get<double>());
            else
                value.data()[i] = data[i].template get<V>();
        }
        return value;
    }

    // A fixture's integer array as a mask: true where nonzero.
    template <class Json>
    xt::xarray<bool> read_mask(const Json& t)
    {
        return xt::xarray<bool>(xt::not_equal(read_array<std::int64_t>(t), 0));
    }

    // An array against PyTorch's: |actual - expected| <= rtol |expected| + atol (rtol 1e-4 for float, 1e-9 for
    // double), atol scaled by the largest expected magnitude (so near-zero entries of a large tensor are judged
    // against the tensor's scale, not their own).  Names the first few elements that differ.
    template <class T>
    void check_close_to_pytorch(const std::string& what, const xt::xarray<T>& actual, const xt::xarray<T>& expected)
    {
        const double rtol = std::is_same<T, float>::value ? 1e-4 : 1e-9;
        INFO(what);
        REQUIRE(xgrad::shape_string(actual.shape()) == xgrad::shape_string(expected.shape()));
        double scale = 1.0;
        for (auto e : expected)
            scale = std::max(scale, std::abs(static_cast<double>(e)));
        const double atol = rtol * 0.1 * scale;
        std::size_t bad = 0;
        for (std::size_t i = 0; i < actual.size(); ++i)
        {
            const double a = actual.data()[i], e = expected.data()[i];
            if (!(std::abs(a - e) <= rtol * std::abs(e) + atol) && bad++ < 3)
                FAIL_CHECK(what << ": flat element " << i << " is " << a << ", PyTorch gives " << e);
        }
        CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << actual.size() << " elements differ");
    }
}
