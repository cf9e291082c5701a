// k-means and the clustering scores (PCA needs LAPACK and stays in the programs that use it).
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/cluster/kmeans.hpp>
#include <xgrad/cluster/scores.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CLUSTER_KMEANS_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CLUSTER_SCORES_TEMPLATES)
}
