// Tokenisation: `#include <xgrad/text.hpp>` (needs nlohmann-json3-dev, header-only): a character tokenizer,
// byte-level BPE with saved vocabularies, and padding of id sequences into batches.
#pragma once

#include "text/bpe.hpp"
#include "text/char_tokenizer.hpp"
#include "text/padding.hpp"
