// The whole public API of xgrad: `#include <xgrad/xgrad.hpp>`.
#pragma once

#include "config.hpp"
#include "error.hpp"

#include "core/autograd.hpp"
#include "core/broadcast.hpp"
#include "core/creation.hpp"
#include "core/tensor.hpp"

#include "ops/activation.hpp"
#include "ops/conv.hpp"
#include "ops/elementwise.hpp"
#include "ops/linalg.hpp"
#include "ops/loss.hpp"
#include "ops/pool.hpp"
#include "ops/reduce.hpp"
#include "ops/shape.hpp"
#include "ops/attention.hpp"
#include "ops/dropout.hpp"
#include "ops/norm.hpp"

#include "nn.hpp"
#include "optim.hpp"

#include "testing/gradcheck.hpp"
