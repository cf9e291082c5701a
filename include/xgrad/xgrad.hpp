// The whole public API of xgrad: `#include <xgrad/xgrad.hpp>`.  Narrower umbrellas exist for those who
// want less: <xgrad/nn.hpp> (layers; no zlib or JSON), <xgrad/optim.hpp>, <xgrad/data.hpp> (zlib),
// <xgrad/io.hpp> (nlohmann/json), <xgrad/metrics.hpp>, <xgrad/text.hpp> (nlohmann/json), <xgrad/train.hpp>,
// <xgrad/viz.hpp>, <xgrad/cluster.hpp>.  PCA (<xgrad/cluster/pca.hpp>) is left out: it needs LAPACK.
#pragma once

#include "config.hpp"
#include "error.hpp"
#include "parallel.hpp"
#include "profiler.hpp"

#include "core/autograd.hpp"
#include "core/broadcast.hpp"
#include "core/creation.hpp"
#include "core/state_dict.hpp"
#include "core/tensor.hpp"
#include "core/types.hpp"

#include "ops/activation.hpp"
#include "ops/attention.hpp"
#include "ops/conv.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linalg.hpp"
#include "ops/loss.hpp"
#include "ops/norm.hpp"
#include "ops/pool.hpp"
#include "ops/recurrent.hpp"
#include "ops/reduce.hpp"
#include "ops/shape.hpp"

#include "cluster.hpp"
#include "data.hpp"
#include "io.hpp"
#include "metrics.hpp"
#include "nn.hpp"
#include "optim.hpp"
#include "serve.hpp"
#include "text.hpp"
#include "train.hpp"
#include "viz.hpp"

#include "io/checkpoint.hpp"
#include "testing/gradcheck.hpp"
