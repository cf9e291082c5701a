// Batches of sequences of different lengths, as torch.nn.utils.rnn.pad_sequence makes them: the ids padded
// to the longest, the lengths (what the recurrent layers take), and the mask MultiheadAttention's
// key_padding_mask takes (true at padding).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../core/types.hpp"
#include "../error.hpp"

namespace xgrad::text
{
    struct PaddedBatch
    {
        IndexArray ids;                     // (N, L) when batch_first, else (L, N); L the longest length
        std::vector<std::size_t> lengths;   // (N)
        xt::xarray<bool> padding_mask;      // (N, L), true where ids holds padding, whichever the layout
    };

    inline PaddedBatch pad_sequence(const std::vector<std::vector<std::int64_t>>& sequences,
                                    std::int64_t padding_value = 0, bool batch_first = false)
    {
        if (sequences.empty())
            throw value_error("pad_sequence: there are no sequences to pad");
        const std::size_t batch = sequences.size();
        std::size_t longest = 0;
        for (const auto& sequence : sequences)
            longest = std::max(longest, sequence.size());
        PaddedBatch padded;
        padded.ids = batch_first ? IndexArray::from_shape({batch, longest}) : IndexArray::from_shape({longest, batch});
        padded.ids.fill(padding_value);
        padded.padding_mask = xt::xarray<bool>::from_shape({batch, longest});
        for (std::size_t n = 0; n < batch; ++n)
        {
            padded.lengths.push_back(sequences[n].size());
            for (std::size_t t = 0; t < longest; ++t)
            {
                const bool is_padding = t >= sequences[n].size();
                padded.padding_mask(n, t) = is_padding;
                if (!is_padding)
                    (batch_first ? padded.ids(n, t) : padded.ids(t, n)) = sequences[n][t];
            }
        }
        return padded;
    }
}
