// Saving and loading weights, and the versioned model store: `#include <xgrad/io.hpp>` (needs nlohmann-json3-dev,
// header-only).
#pragma once

#include "io/model_store.hpp"
#include "io/safetensors.hpp"
