// What a project that uses PCA builds: fit two components of random data through the installed package's
// xgrad::linalg (LAPACK's eigensolver through xtensor-blas), and check what share of the variance they hold.
#include <iostream>

#include <xgrad/cluster/pca.hpp>
#include <xgrad/core/creation.hpp>

int main()
{
    xgrad::Generator rng(1);
    const auto samples = xgrad::randn<double>({50, 4}, rng);   // (N, D)
    xgrad::cluster::PCA<double> pca(2);
    pca.fit(samples);
    const auto& ratio = pca.explained_variance_ratio().value();   // (2), largest first
    std::cout << "the two components explain " << ratio(0) << " and " << ratio(1) << " of the variance\n";
    return ratio(0) >= ratio(1) && ratio(1) > 0.0 && ratio(0) + ratio(1) < 1.0 ? 0 : 1;
}
