// Saving and loading weights: `#include <xgrad/io.hpp>` (needs nlohmann-json3-dev, header-only).
#pragma once

#include "io/safetensors.hpp"
