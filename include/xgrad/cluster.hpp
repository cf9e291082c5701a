// Learning without labels: `#include <xgrad/cluster.hpp>` for k-means and the clustering scores.  PCA,
// which needs LAPACK, is <xgrad/cluster/pca.hpp>, with the CMake target xgrad::linalg.
#pragma once

#include "cluster/kmeans.hpp"
#include "cluster/scores.hpp"
