// Learning without labels against the NumPy references of scripts/make_cluster_fixtures.py (each checked there
// against scikit-learn): k-means' Lloyd iterations from given centres (labels, iterations, centres, inertia),
// k-means++ restarts reaching scikit-learn's best inertia, the silhouette score, adjusted Rand index and
// purity, and PCA; the distance kernel against its reference loop; the typed errors of bad input; and the SVG
// charts examples 14-16 draw with them.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xgrad/cluster.hpp>
#include <xgrad/xgrad.hpp>
#ifdef XGRAD_TEST_LINALG
#include <xgrad/cluster/pca.hpp>
#endif

#include "test_support.hpp"

using namespace xgrad;
using xgrad_test::check_close_to_pytorch;
using xgrad_test::check_error;

namespace
{
    const char* const writer = "scripts/make_cluster_fixtures.py";

    const nlohmann::json& fixture()
    {
        static const nlohmann::json json = xgrad_test::load_fixture("cluster/cluster.json", writer);
        return json;
    }

    Tensor<double> dataset(const nlohmann::json& fixture_case)
    {
        return Tensor<double>(
            xgrad_test::read_array<double>(fixture().at("datasets").at(fixture_case.at("data").get<std::string>())));
    }

    IndexArray labels_of(const nlohmann::json& list)
    {
        IndexArray labels = IndexArray::from_shape({list.size()});
        for (std::size_t i = 0; i < list.size(); ++i)
            labels(i) = list[i].get<std::int64_t>();
        return labels;
    }
}

TEST_CASE("squared_distances: the GEMM form against the definition")
{
    std::mt19937 rng(3);
    for (const auto& sizes : {std::array<std::size_t, 3>{1, 1, 1}, {37, 5, 13}, {200, 33, 70}})
    {
        const std::size_t n = sizes[0], m = sizes[1], d = sizes[2];
        const auto x = xgrad_test::random_values<double>(n * d, -2.0, 2.0, rng);
        const auto c = xgrad_test::random_values<double>(m * d, -2.0, 2.0, rng);
        std::vector<double> x_norms(n), c_norms(m), fast(n * m), reference(n * m);
        kernels::row_squared_norms(n, d, x.data(), x_norms.data());
        kernels::row_squared_norms(m, d, c.data(), c_norms.data());
        kernels::squared_distances(n, m, d, x.data(), x_norms.data(), c.data(), c_norms.data(), fast.data());
        kernels::squared_distances_reference(n, m, d, x.data(), c.data(), reference.data());
        for (std::size_t i = 0; i < n * m; ++i)
            REQUIRE(fast[i] == doctest::Approx(reference[i]).epsilon(1e-10));
    }
}

TEST_CASE("KMeans from given centres matches the NumPy reference: labels, iterations, centres, inertia")
{
    for (const auto& fixture_case : fixture().at("kmeans"))
    {
        INFO(fixture_case.at("name").get<std::string>());
        const auto init = xgrad_test::read_array<double>(fixture_case.at("init"));
        cluster::KMeans<double> kmeans(init.shape()[0], cluster::KMeansOptions<double>()
                                                            .init(init)
                                                            .tol(fixture_case.at("tol").get<double>())
                                                            .max_iter(fixture_case.at("max_iter").get<std::size_t>()));
        const IndexArray labels = kmeans.fit_predict(dataset(fixture_case));
        CHECK(labels == labels_of(fixture_case.at("labels")));
        CHECK(kmeans.n_iter() == fixture_case.at("n_iter").get<std::size_t>());
        CHECK(kmeans.inertia() == doctest::Approx(fixture_case.at("inertia").get<double>()).epsilon(1e-10));
        check_close_to_pytorch("centres", kmeans.cluster_centers().value(),
                               xgrad_test::read_array<double>(fixture_case.at("centres")));
        CHECK(kmeans.predict(dataset(fixture_case)) == labels);
    }
}

TEST_CASE("KMeans with k-means++ restarts reaches scikit-learn's best inertia, the same for a seed")
{
    const auto& blobs = fixture().at("kmeans").at(0);
    const Tensor<double> x = dataset(blobs);
    Generator rng(7);
    cluster::KMeans<double> kmeans(3, cluster::KMeansOptions<double>().n_init(4));
    const IndexArray labels = kmeans.fit_predict(x, rng);
    CHECK(kmeans.inertia() == doctest::Approx(fixture().at("best_inertia").get<double>()).epsilon(1e-10));
    // The three well-separated blobs are found whatever the numbering: the same partition as the reference's.
    CHECK(cluster::adjusted_rand_score(labels, labels_of(blobs.at("labels"))) == doctest::Approx(1.0));

    Generator again(7);
    cluster::KMeans<double> repeated(3, cluster::KMeansOptions<double>().n_init(4));
    CHECK(repeated.fit_predict(x, again) == labels);
    CHECK(repeated.cluster_centers().value() == kmeans.cluster_centers().value());

    // float runs through the float GEMM and finds the same partition.
    Generator float_rng(7);
    cluster::KMeans<float> in_float(3);
    const IndexArray float_labels = in_float.fit_predict(Tensor<float>(xt::cast<float>(x.value())), float_rng);
    CHECK(cluster::adjusted_rand_score(float_labels, labels) == doctest::Approx(1.0));
    CHECK(in_float.inertia() == doctest::Approx(kmeans.inertia()).epsilon(1e-5));

    // k = N: every sample its own centre, inertia 0.
    const Tensor<double> four(xt::xarray<double>{{0., 0.}, {1., 0.}, {0., 5.}, {9., 9.}});
    cluster::KMeans<double> each(4);
    each.fit(four, rng);
    CHECK(each.inertia() == 0.0);
    CHECK(cluster::purity(each.labels(), IndexArray{0, 1, 2, 3}) == 1.0);
}

TEST_CASE("KMeans refuses bad input with typed errors")
{
    const Tensor<double> x(xt::xarray<double>{{0., 0.}, {1., 1.}, {2., 2.}});
    Generator rng(1);
    check_error<value_error>([&] { cluster::KMeans<double>(4).fit(x, rng); },
                             {"KMeans::fit", "4 clusters", "3 samples"});
    check_error<value_error>(
        [&] {
            cluster::KMeans<double>(1).fit(Tensor<double>(xt::xarray<double>::from_shape({0, 2})), rng);
        },
        {"KMeans::fit", "no samples"});
    check_error<shape_error>(
        [&] {
            cluster::KMeans<double>(1).fit(Tensor<double>(xt::xarray<double>{1., 2.}), rng);
        },
        {"KMeans::fit", "(N, D)"});
    xt::xarray<double> with_nan = x.value();
    with_nan(1, 1) = std::numeric_limits<double>::quiet_NaN();
    check_error<value_error>([&] { cluster::KMeans<double>(2).fit(Tensor<double>(with_nan), rng); },
                             {"KMeans::fit", "sample 1, feature 1", "finite"});
    check_error<shape_error>(
        [&] {
            cluster::KMeans<double>(2, cluster::KMeansOptions<double>().init(xt::xarray<double>{{0., 0., 0.}}))
                .fit(x, rng);
        },
        {"init must be (2, 2)", "(1, 3)"});
    CHECK_THROWS_AS(cluster::KMeans<double>(0), value_error);
    CHECK_THROWS_AS(cluster::KMeans<double>(2, cluster::KMeansOptions<double>().n_init(0)), value_error);
    CHECK_THROWS_AS(cluster::KMeans<double>(2, cluster::KMeansOptions<double>().tol(-1.0)), value_error);
    check_error<value_error>([&] { cluster::KMeans<double>(2).predict(x); }, {"predict", "fit first"});
    cluster::KMeans<double> fitted(2);
    fitted.fit(x, rng);
    check_error<shape_error>(
        [&] {
            fitted.predict(Tensor<double>(xt::xarray<double>{{1., 2., 3.}}));
        },
        {"predict", "3 features", "2"});
}

TEST_CASE("silhouette score, adjusted Rand index and purity match the NumPy reference")
{
    for (const auto& fixture_case : fixture().at("scores"))
    {
        INFO(fixture_case.at("name").get<std::string>());
        const IndexArray labels = labels_of(fixture_case.at("labels"));
        const IndexArray classes = labels_of(fixture_case.at("classes"));
        CHECK(cluster::silhouette_score(dataset(fixture_case), labels) ==
              doctest::Approx(fixture_case.at("silhouette").get<double>()).epsilon(1e-9));
        CHECK(cluster::adjusted_rand_score(labels, classes) ==
              doctest::Approx(fixture_case.at("adjusted_rand").get<double>()).epsilon(1e-12));
        CHECK(cluster::purity(labels, classes) == doctest::Approx(fixture_case.at("purity").get<double>()));
    }
    // The adjusted Rand index is symmetric and ignores the numbering; identical partitions score 1.
    CHECK(cluster::adjusted_rand_score(IndexArray{0, 0, 1, 1, 2}, IndexArray{5, 5, -1, -1, 3}) == 1.0);
    CHECK(cluster::adjusted_rand_score(IndexArray{0, 0, 0}, IndexArray{1, 1, 1}) == 1.0);
    CHECK(cluster::adjusted_rand_score(IndexArray{0, 1, 1, 2}, IndexArray{0, 0, 1, 1}) ==
          doctest::Approx(cluster::adjusted_rand_score(IndexArray{0, 0, 1, 1}, IndexArray{0, 1, 1, 2})));
    // purity of clusters {0, 1, 2}, {3, 4} against classes a a b | b b: (2 + 2) / 5
    CHECK(cluster::purity(IndexArray{0, 0, 0, 1, 1}, IndexArray{0, 0, 1, 1, 1}) == doctest::Approx(0.8));
}

TEST_CASE("the scores refuse bad input with typed errors")
{
    const Tensor<double> x(xt::xarray<double>{{0., 0.}, {1., 1.}, {2., 2.}});
    check_error<value_error>([&] { cluster::silhouette_score(x, IndexArray{0, 0, 0}); }, {"silhouette_score", "got 1"});
    check_error<value_error>([&] { cluster::silhouette_score(x, IndexArray{0, 1, 2}); }, {"silhouette_score", "got 3"});
    check_error<shape_error>([&] { cluster::silhouette_score(x, IndexArray{0, 1}); }, {"silhouette_score", "(3,)"});
    check_error<shape_error>(
        [&] {
            cluster::adjusted_rand_score(IndexArray{0, 1}, IndexArray{0});
        },
        {"adjusted_rand_score", "2 cluster labels for 1"});
    check_error<value_error>([&] { cluster::purity(IndexArray::from_shape({0}), IndexArray::from_shape({0})); },
                             {"purity", "no samples"});
}

#ifdef XGRAD_TEST_LINALG
TEST_CASE("PCA matches NumPy's eigendecomposition: components, variances, transform and its inverse")
{
    for (const auto& fixture_case : fixture().at("pca"))
    {
        INFO(fixture_case.at("name").get<std::string>());
        const Tensor<double> x = dataset(fixture_case);
        cluster::PCA<double> pca(fixture_case.at("n_components").get<std::size_t>());
        const Tensor<double> transformed = pca.fit_transform(x);
        const auto expected = [&](const char* key) { return xgrad_test::read_array<double>(fixture_case.at(key)); };
        check_close_to_pytorch("components", pca.components().value(), expected("components"));
        check_close_to_pytorch("explained_variance", pca.explained_variance().value(), expected("explained_variance"));
        check_close_to_pytorch("explained_variance_ratio", pca.explained_variance_ratio().value(),
                               expected("explained_variance_ratio"));
        check_close_to_pytorch("mean", pca.mean().value(), expected("mean"));
        check_close_to_pytorch("transformed", transformed.value(), expected("transformed"));
        check_close_to_pytorch("reconstructed", pca.inverse_transform(transformed).value(), expected("reconstructed"));
    }
    // All components: the inverse transform gives the samples back; float agrees with double.
    const auto& full = fixture().at("pca").at(1);
    const Tensor<double> x = dataset(full);
    cluster::PCA<double> pca(5);
    CHECK(xt::allclose(pca.inverse_transform(pca.fit_transform(x)).value(), x.value(), 1e-9, 1e-9));
    cluster::PCA<float> in_float(2);
    in_float.fit(Tensor<float>(xt::cast<float>(x.value())));
    CHECK(xt::allclose(
        in_float.explained_variance_ratio().value(),
        xt::cast<float>(xgrad_test::read_array<double>(fixture().at("pca").at(0).at("explained_variance_ratio"))),
        1e-4f, 1e-5f));
}

TEST_CASE("PCA refuses bad input with typed errors")
{
    const Tensor<double> x(xt::xarray<double>{{0., 0., 1.}, {1., 1., 0.}, {2., 2., 5.}});
    check_error<value_error>([&] { cluster::PCA<double>(4).fit(x); }, {"PCA::fit", "4 components", "(3, 3)"});
    check_error<value_error>(
        [&] {
            cluster::PCA<double>(1).fit(Tensor<double>(xt::xarray<double>{{1., 2.}}));
        },
        {"PCA::fit", "2 samples"});
    check_error<value_error>([&] { cluster::PCA<double>(1).transform(x); }, {"transform", "fit first"});
    CHECK_THROWS_AS(cluster::PCA<double>(0), value_error);
    cluster::PCA<double> pca(2);
    pca.fit(x);
    check_error<shape_error>(
        [&] {
            pca.transform(Tensor<double>(xt::xarray<double>{{1., 2.}}));
        },
        {"transform", "2 features", "3"});
    check_error<shape_error>(
        [&] {
            pca.inverse_transform(Tensor<double>(xt::xarray<double>{{1., 2., 3.}}));
        },
        {"inverse_transform", "(N, 2)"});
    xt::xarray<double> with_inf = x.value();
    with_inf(0, 2) = std::numeric_limits<double>::infinity();
    check_error<value_error>([&] { pca.fit(Tensor<double>(with_inf)); }, {"PCA::fit", "finite"});
}
#endif
