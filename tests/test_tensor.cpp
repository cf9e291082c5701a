// Tensor<T> and the creation functions: shapes, values, seeded determinism, item, detach, printing.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using namespace xgrad;

namespace
{
    template <class A, class B>
    bool same_values(const A& a, const B& b)
    {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    }
}

TEST_CASE_TEMPLATE("zeros, ones and full have the asked shape and value", T, float, double)
{
    const auto z = zeros<T>({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.numel() == 6);
    CHECK(xt::all(xt::equal(z.value(), T(0))));
    CHECK_FALSE(z.requires_grad());

    const auto o = ones<T>({4}, true);
    CHECK(o.shape() == Shape{4});
    CHECK(o.requires_grad());
    CHECK(xt::all(xt::equal(o.value(), T(1))));

    const auto f = full<T>({2, 1, 3}, T(2.5));
    CHECK(f.shape() == Shape{2, 1, 3});
    CHECK(f.ndim() == 3);
    CHECK(xt::all(xt::equal(f.value(), T(2.5))));

    const auto scalar = zeros<T>({});
    CHECK(scalar.ndim() == 0);
    CHECK(scalar.numel() == 1);
    CHECK(scalar.item() == T(0));

    const auto empty = zeros<T>({0, 3});
    CHECK(empty.numel() == 0);
    CHECK(empty.shape(-1) == 3);

    CHECK(zeros_like(f).shape() == f.shape());
    CHECK(xt::all(xt::equal(ones_like(f).value(), T(1))));
}

TEST_CASE_TEMPLATE("arange, linspace and eye", T, float, double)
{
    const auto a = arange<T>(T(5));
    CHECK(a.shape() == Shape{5});
    CHECK(same_values(a.value(), std::vector<T>{0, 1, 2, 3, 4}));

    const auto stepped = arange<T>(T(1), T(2), T(0.25));
    CHECK(same_values(stepped.value(), std::vector<T>{1, 1.25, 1.5, 1.75}));

    const auto down = arange<T>(T(3), T(0), T(-1));
    CHECK(same_values(down.value(), std::vector<T>{3, 2, 1}));

    CHECK_THROWS_AS(arange<T>(T(0), T(1), T(0)), value_error);
    CHECK_THROWS_AS(arange<T>(T(0), T(1), T(-1)), value_error);

    const auto l = linspace<T>(T(-1), T(1), 5);
    CHECK(l.shape() == Shape{5});
    CHECK(same_values(l.value(), std::vector<T>{-1, -0.5, 0, 0.5, 1}));

    const auto e = eye<T>(3);
    CHECK(e.shape() == Shape{3, 3});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(e.value()(i, j) == (i == j ? T(1) : T(0)));
}

TEST_CASE_TEMPLATE("rand and randn: same seed same values, and the right distribution", T, float, double)
{
    Generator rng1(42), rng2(42), rng3(43);
    const auto a = rand<T>({3, 4}, rng1);
    const auto b = rand<T>({3, 4}, rng2);
    const auto c = rand<T>({3, 4}, rng3);
    CHECK(a.shape() == Shape{3, 4});
    CHECK(a.value() == b.value());
    CHECK(a.value() != c.value());
    CHECK(xt::all(a.value() >= T(0) && a.value() < T(1)));

    // Drawing continues the stream: the next draw differs from the first.
    const auto a2 = rand<T>({3, 4}, rng1);
    CHECK(a2.value() != a.value());

    Generator bounded_rng(7);
    const auto u = rand<T>({1000}, bounded_rng, false, T(-2), T(3));
    CHECK(xt::all(u.value() >= T(-2) && u.value() < T(3)));
    CHECK(double(xt::mean(u.value())()) == doctest::Approx(0.5).epsilon(0.1));

    Generator n1(1), n2(1);
    const auto x = randn<T>({20000}, n1);
    const auto y = randn<T>({20000}, n2);
    CHECK(x.value() == y.value());
    const double mean = xt::mean(x.value())();
    const double stddev = xt::stddev(x.value())();
    CHECK(std::abs(mean) < 0.03);
    CHECK(std::abs(stddev - 1.0) < 0.03);
    CHECK(xt::all(xt::isfinite(x.value())));

    Generator shifted_rng(3);
    const auto shifted = randn<T>({20000}, shifted_rng, true, T(5), T(2));
    CHECK(shifted.requires_grad());
    CHECK(double(xt::mean(shifted.value())()) == doctest::Approx(5.0).epsilon(0.02));
    CHECK(double(xt::stddev(shifted.value())()) == doctest::Approx(2.0).epsilon(0.03));

    // The default generator is reseeded by manual_seed.
    manual_seed(99);
    const auto d1 = randn<T>({5});
    manual_seed(99);
    const auto d2 = randn<T>({5});
    CHECK(d1.value() == d2.value());
}

TEST_CASE("float and double draws from one seed agree to float precision")
{
    Generator rf(11), rd(11);
    const auto f = randn<float>({100}, rf);
    const auto d = randn<double>({100}, rd);
    for (std::size_t i = 0; i < 100; ++i)
        CHECK(f.value()(i) == doctest::Approx(d.value()(i)).epsilon(1e-5));
}

TEST_CASE("randint stays in [low, high) and hits every value")
{
    Generator rng(5);
    const auto labels = randint(2, 6, {1000}, rng);
    CHECK(labels.shape(0) == 1000);
    CHECK(xt::all(labels >= 2 && labels < 6));
    for (std::int64_t v = 2; v < 6; ++v)
        CHECK(xt::any(xt::equal(labels, v)));
    CHECK_THROWS_AS(randint(3, 3, {2}, rng), value_error);
}

TEST_CASE_TEMPLATE("tensors from nested lists: shape, ndim, numel, shape(dim)", T, float, double)
{
    Tensor<T> m({{T(1), T(2), T(3)}, {T(4), T(5), T(6)}}, true);
    CHECK(m.shape() == Shape{2, 3});
    CHECK(m.ndim() == 2);
    CHECK(m.numel() == 6);
    CHECK(m.shape(0) == 2);
    CHECK(m.shape(1) == 3);
    CHECK(m.shape(-1) == 3);
    CHECK(m.shape(-2) == 2);
    CHECK_THROWS_AS(m.shape(2), value_error);
    CHECK_THROWS_AS(m.shape(-3), value_error);
    CHECK(m.value()(1, 2) == T(6));
    CHECK(m.requires_grad());
    CHECK(m.is_leaf());

    Tensor<T> cube(xt::xarray<T>{{{T(1), T(2)}, {T(3), T(4)}}, {{T(5), T(6)}, {T(7), T(8)}}});
    CHECK(cube.shape() == Shape{2, 2, 2});
    CHECK(cube.value()(1, 0, 1) == T(6));
    CHECK(cube.ndim() == 3);
    CHECK_FALSE(cube.requires_grad());

    Tensor<T> vector(xt::xarray<T>{T(1), T(2), T(3)});
    CHECK(vector.shape() == Shape{3});
    CHECK(vector.shape(-1) == 3);
}

TEST_CASE_TEMPLATE("a braced pair is a two-element vector", T, float, double)
{
    // With a plain bool flag this was ambiguous: {1, 2} also read as (value 1, requires_grad 2).
    const Tensor<T> pair({T(1), T(2)});
    CHECK(pair.shape() == Shape{2});
    CHECK(pair.value()(1) == T(2));
    CHECK_FALSE(pair.requires_grad());
    const Tensor<T> flagged({T(1), T(2)}, true);
    CHECK(flagged.requires_grad());
    const Tensor<T> plain(xt::xarray<T>{T(3), T(4)}, false);
    CHECK_FALSE(plain.requires_grad());
}

TEST_CASE_TEMPLATE("item returns the one element and refuses more", T, float, double)
{
    CHECK(Tensor<T>(xt::xarray<T>(T(3.5))).item() == T(3.5));
    CHECK(full<T>({1, 1, 1}, T(-2)).item() == T(-2));
    const Tensor<T> two(xt::xarray<T>{T(1), T(2)});
    CHECK_THROWS_AS(two.item(), value_error);
    try
    {
        two.item();
    }
    catch (const value_error& e)
    {
        CHECK(std::string(e.what()).find("item") != std::string::npos);
        CHECK(std::string(e.what()).find("(2,)") != std::string::npos);
    }
    CHECK_THROWS_AS(zeros<T>({0}).item(), value_error);
}

TEST_CASE("an undefined handle throws instead of crashing")
{
    Tensor<double> undefined;
    CHECK_FALSE(undefined.defined());
    CHECK_THROWS_AS(undefined.value(), value_error);
    CHECK_THROWS_AS(undefined.shape(), value_error);
    std::ostringstream out;
    out << undefined;
    CHECK(out.str() == "tensor(undefined)");
}

TEST_CASE_TEMPLATE("detach copies the value and drops the history", T, float, double)
{
    Tensor<T> x(xt::xarray<T>{T(1), T(2)}, true);
    const auto y = x * T(3);
    CHECK_FALSE(y.is_leaf());
    const auto d = y.detach();
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(d.value() == y.value());
    CHECK(d.node() != y.node());
    // A copy: changing it leaves the original alone.
    d.mutable_value()(0) = T(100);
    CHECK(y.value()(0) == T(3));
    // Ops on a detached tensor record nothing.
    CHECK_FALSE((d * T(2)).requires_grad());
}

TEST_CASE("handles share their node")
{
    Tensor<double> a(xt::xarray<double>{1., 2.}, true);
    Tensor<double> b = a;
    CHECK(a.node() == b.node());
    b.mutable_value()(1) = 7.;
    CHECK(a.value()(1) == 7.);
    b.set_name("weights");
    CHECK(a.name() == "weights");
}

TEST_CASE("requires_grad_ changes leaves only")
{
    Tensor<double> a(xt::xarray<double>{1., 2.});
    CHECK_FALSE(a.requires_grad());
    a.requires_grad_();
    CHECK(a.requires_grad());
    auto b = a * 2.0;
    CHECK(b.requires_grad());
    CHECK_THROWS_AS(b.requires_grad_(false), autograd_error);
    a.requires_grad_(false);
    CHECK_FALSE(a.requires_grad());
}

TEST_CASE_TEMPLATE("printing shows the value and the autograd state", T, float, double)
{
    Tensor<T> plain(xt::xarray<T>{T(1), T(2)});
    std::ostringstream p;
    p << plain;
    CHECK(p.str().rfind("tensor(", 0) == 0);
    CHECK(p.str().find("1") != std::string::npos);
    CHECK(p.str().find("2") != std::string::npos);
    CHECK(p.str().find("requires_grad") == std::string::npos);
    CHECK(p.str().back() == ')');

    Tensor<T> param(xt::xarray<T>{T(1.5)}, true);
    std::ostringstream q;
    q << param;
    CHECK(q.str().find("1.5") != std::string::npos);
    CHECK(q.str().find("requires_grad=true") != std::string::npos);

    std::ostringstream r;
    r << param * T(2);
    CHECK(r.str().find("grad_fn=mul") != std::string::npos);
    CHECK(r.str().find("3") != std::string::npos);
}

TEST_CASE("shape_string formats like Python tuples")
{
    CHECK(shape_string(Shape{}) == "()");
    CHECK(shape_string(Shape{3}) == "(3,)");
    CHECK(shape_string(Shape{2, 3}) == "(2, 3)");
}

TEST_CASE("broadcast_shapes, broadcast_to and sum_to")
{
    CHECK(broadcast_shapes({3, 1}, {1, 4}) == Shape{3, 4});
    CHECK(broadcast_shapes({3, 4}, {4}) == Shape{3, 4});
    CHECK(broadcast_shapes({}, {2, 2}) == Shape{2, 2});
    CHECK_THROWS_AS(broadcast_shapes({3, 4}, {3}), shape_error);

    Tensor<double> row(xt::xarray<double>{1., 2., 3.}, true);
    const auto wide = broadcast_to(row, {2, 3});
    CHECK(wide.shape() == Shape{2, 3});
    CHECK(wide.value() == xt::xarray<double>{{1., 2., 3.}, {1., 2., 3.}});
    CHECK_THROWS_AS(broadcast_to(row, {2, 4}), shape_error);

    const auto back = sum_to(wide, {1, 3});
    CHECK(back.shape() == Shape{1, 3});
    CHECK(back.value() == xt::xarray<double>{{2., 4., 6.}});
    CHECK(sum_to(wide, {}).item() == 12.);
    CHECK_THROWS_AS(sum_to(wide, {2}), shape_error);

    // Each is the other's backward.
    CHECK(gradcheck([](const std::vector<Tensor<double>>& in) { return broadcast_to(in[0], {4, 3}); }, {row}));
    Tensor<double> m(xt::xarray<double>{{1., 2.}, {3., 4.}, {5., 6.}}, true);
    CHECK(gradcheck([](const std::vector<Tensor<double>>& in) { return sum_to(in[0], {1, 2}); }, {m}));
}

TEST_CASE("ops attach their attributes only under RecordOpAttributes, and the graph's numbers stay the same")
{
    const Tensor<double> x(xt::xarray<double>{{1., -2., 3.}, {0.5, 4., -1.}}, true);
    Tensor<double> ids(xt::xarray<double>{{2., 0.}});
    const Tensor<double> table(xt::xarray<double>{{1., 2.}, {3., 4.}, {5., 6.}}, true);
    CHECK(softmax(x, 1).node()->attributes == nullptr);   // training never allocates them
    CHECK(embedding(ids, table).op_name() == "reshape");
    {
        RecordOpAttributes recording;
        const Tensor<double> y = softmax(x, -1);
        REQUIRE(y.node()->attributes != nullptr);
        CHECK(y.node()->attributes->integer("dim") == 1);
        CHECK_THROWS_AS(y.node()->attributes->real("dim"), value_error);
        // The ids in a tensor become an input of the node that picks the rows; gradients are unchanged.
        ids.requires_grad_(true);
        const Tensor<double> rows = embedding(ids, table);
        CHECK(rows.op_name() == "embedding");
        CHECK(rows.parents().at(2).node() == ids.node());
        CHECK(gradcheck([&ids](const std::vector<Tensor<double>>& in) { return embedding(ids, in[0]); }, {table}));
        ids.requires_grad_(false);
    }
    CHECK_FALSE(is_recording_op_attributes());
}

#if defined(__GLIBC__) && !XGRAD_TEST_ADDRESS_SANITIZER   // ASan replaces malloc: nothing to tune
#include <sys/resource.h>

TEST_CASE("freed tensor memory is kept for reuse: a training-like loop stops faulting pages in")
{
    REQUIRE(xgrad::detail::freed_memory_kept);   // unless XGRAD_KEEP_FREED_MEMORY=0 or GLIBC_TUNABLES say otherwise
    auto minor_faults = [] {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        return usage.ru_minflt;
    };
    // Each "step" makes and drops two 8 MB tensors (2 x 2048 pages).  glibc as it comes returns them to the
    // system and faults them in again on every step (~4000 faults); kept, the heap settles after a few steps.
    const Shape shape{2048, 1024};
    long faults = 0;
    for (int step = 0; step < 20; ++step)
    {
        const long before = minor_faults();
        const auto a = xgrad::zeros<float>(shape), b = xgrad::ones<float>(shape);
        CHECK(a.value()(2047, 1023) + b.value()(2047, 1023) == 1.0f);
        faults = minor_faults() - before;
    }
    CHECK(faults < 64);
}
#endif
