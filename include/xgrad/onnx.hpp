// ONNX export (io::export_onnx): link the xgrad::onnx CMake target, which brings protobuf and libonnx.
#pragma once

#include "onnx/export.hpp"
