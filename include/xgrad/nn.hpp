// The layers: `#include <xgrad/nn.hpp>` (needs no zlib or JSON library).
#pragma once

#include "nn/activation.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"
#include "nn/norm.hpp"
#include "nn/regularization.hpp"
#include "nn/sequential.hpp"
#include "nn/attention.hpp"
#include "nn/conv.hpp"
#include "nn/pool.hpp"
#include "nn/recurrent.hpp"
#include "nn/transformer.hpp"
