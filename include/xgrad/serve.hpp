// Serving a model: the predict request parser and answer, the micro-batcher, Prometheus statistics: `#include <xgrad/serve.hpp>`
// (needs nlohmann-json3-dev, header-only; the HTTP server itself is examples/13_inference_server.cpp).
#pragma once

#include "serve/micro_batcher.hpp"
#include "serve/predict_json.hpp"
#include "serve/prometheus.hpp"
