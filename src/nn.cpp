// Modules and layers, initialisation and penalties.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/nn/module.hpp>
#include <xgrad/nn/activation.hpp>
#include <xgrad/nn/attention.hpp>
#include <xgrad/nn/conv.hpp>
#include <xgrad/nn/dropout.hpp>
#include <xgrad/nn/embedding.hpp>
#include <xgrad/nn/linear.hpp>
#include <xgrad/nn/norm.hpp>
#include <xgrad/nn/pool.hpp>
#include <xgrad/nn/sequential.hpp>
#include <xgrad/nn/transformer.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/nn/regularization.hpp>
#include <xgrad/nn/recurrent.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_MODULE_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_ACTIVATION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_ATTENTION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_CONV_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_DROPOUT_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_EMBEDDING_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_LINEAR_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_NORM_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_POOL_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_SEQUENTIAL_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_TRANSFORMER_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_INIT_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_REGULARIZATION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_NN_RECURRENT_TEMPLATES)
}
