// Untrusted JSON in error messages: a short excerpt of a value, never the whole of it (io/safetensors.hpp and
// text/bpe.hpp read files whose JSON may be anything).
#pragma once

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

namespace xgrad::io::detail
{
    // A JSON value as an error message shows it: scalars, and arrays or objects of a few scalars, as
    // written (cut at 200 characters); anything else by its kind and size.  Never a whole dump: dumping
    // recurses, and a file may nest arrays a million levels deep.
    inline std::string json_excerpt(const nlohmann::json& value)
    {
        const bool flat = std::all_of(value.begin(), value.end(),
                                      [](const nlohmann::json& element) { return element.is_primitive(); });
        if (value.is_structured() && (value.size() > 4 || !flat))
            return std::string(value.is_array() ? "an array" : "an object") + " of " +
                   std::to_string(value.size()) + (value.is_array() ? " element" : " field") +
                   (value.size() == 1 ? "" : "s");
        const std::string text = value.dump();
        return text.size() > 200 ? text.substr(0, 200) + "..." : text;
    }
}
