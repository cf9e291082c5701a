// The fit loop, its callbacks, gradient flow and the training report: `#include <xgrad/train.hpp>`
// (checkpoint callbacks write safetensors).
#pragma once

#include "train/callbacks.hpp"
#include "train/fit.hpp"
#include "train/gradient_flow.hpp"
#include "train/report.hpp"
