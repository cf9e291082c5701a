// The fit loop and its callbacks: `#include <xgrad/train.hpp>` (checkpoint callbacks write safetensors).
#pragma once

#include "train/callbacks.hpp"
#include "train/fit.hpp"
