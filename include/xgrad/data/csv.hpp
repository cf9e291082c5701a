// Reading numeric CSV files: a header line (optional), numeric columns, and optionally a label column
// (integer class ids) split off from the features.  Errors name the line and column.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../core/tensor.hpp"
#include "../core/types.hpp"

namespace xgrad::data
{
    struct CsvOptions
    {
        bool header = true;
        char delimiter = ',';
        std::optional<std::string> label_column;   // by header name (or by 0-based index as text without a header)
    };

    template <class T = float>
    struct CsvData
    {
        std::vector<std::string> feature_names;   // header names of the feature columns (empty without a header)
        xt::xarray<T> features;                   // (rows, feature columns)
        IndexArray labels;                        // (rows), empty shape (0) when there is no label column
    };

    namespace detail
    {
        inline std::vector<std::string> split_csv_line(const std::string& line, char delimiter)
        {
            std::vector<std::string> fields;
            std::string field;
            std::istringstream stream(line);
            while (std::getline(stream, field, delimiter))
                fields.push_back(field);
            if (!line.empty() && line.back() == delimiter)
                fields.emplace_back();
            return fields;
        }

        inline std::string trimmed(const std::string& text)
        {
            const auto first = text.find_first_not_of(" \t\r");
            if (first == std::string::npos)
                return {};
            return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
        }
    }

    template <class T = float>
    CsvData<T> read_csv(const std::string& path, const CsvOptions& options = {})
    {
        std::ifstream in(path);
        if (!in)
            throw io_error("read_csv: cannot open " + path);
        std::string line;
        std::size_t line_number = 0;
        std::vector<std::string> names;
        if (options.header)
        {
            if (!std::getline(in, line))
                throw io_error("read_csv: " + path + " is empty (expected a header line)");
            ++line_number;
            for (const auto& name : detail::split_csv_line(line, options.delimiter))
                names.push_back(detail::trimmed(name));
        }

        std::optional<std::size_t> label_index;
        if (options.label_column)
        {
            if (options.header)
            {
                for (std::size_t i = 0; i < names.size(); ++i)
                    if (names[i] == *options.label_column)
                        label_index = i;
                if (!label_index)
                    throw value_error("read_csv: " + path + " has no column named '" + *options.label_column + "'");
            }
            else
            {
                const std::string& text = *options.label_column;
                // At most 9 digits: no file has a billion columns, and the number then cannot overflow.
                if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
                    throw value_error("read_csv: without a header, label_column must be a 0-based column number "
                                      "below 10^9, got '" + text + "'");
                label_index = static_cast<std::size_t>(std::stoul(text));
            }
        }

        std::vector<T> values;
        std::vector<std::int64_t> labels;
        std::size_t columns = options.header ? names.size() : 0;
        std::size_t rows = 0;
        while (std::getline(in, line))
        {
            ++line_number;
            if (detail::trimmed(line).empty())
                continue;
            const auto fields = detail::split_csv_line(line, options.delimiter);
            if (columns == 0)
                columns = fields.size();
            if (fields.size() != columns)
                throw io_error("read_csv: " + path + ", line " + std::to_string(line_number) + ": expected " +
                               std::to_string(columns) + " fields, found " + std::to_string(fields.size()));
            if (label_index && *label_index >= columns)
                throw value_error("read_csv: label column " + std::to_string(*label_index) + " is out of range for " +
                                  std::to_string(columns) + " columns");
            for (std::size_t c = 0; c < columns; ++c)
            {
                const std::string field = detail::trimmed(fields[c]);
                char* end = nullptr;
                errno = 0;
                const double value = std::strtod(field.c_str(), &end);
                const std::string column = names.empty() ? std::to_string(c + 1) : "'" + names[c] + "'";
                if (field.empty() || end != field.c_str() + field.size() || errno == ERANGE)
                    throw io_error("read_csv: " + path + ", line " + std::to_string(line_number) + ", column " + column +
                                   ": '" + field + "' is not a number");
                if (label_index && c == *label_index)
                {
                    // Beyond 2^53 doubles skip integers, and beyond int64 the cast is undefined: refuse both.
                    if (value != std::floor(value) || std::abs(value) > 9007199254740992.0)
                        throw io_error("read_csv: " + path + ", line " + std::to_string(line_number) + ", column " +
                                       column + ": label '" + field + "' is not a whole number of a sensible size");
                    labels.push_back(static_cast<std::int64_t>(value));
                }
                else if (std::isfinite(value) && std::abs(value) > double(std::numeric_limits<T>::max()))
                    throw io_error("read_csv: " + path + ", line " + std::to_string(line_number) + ", column " +
                                   column + ": '" + field + "' is out of range for the feature type");
                else
                    values.push_back(static_cast<T>(value));
            }
            ++rows;
        }

        CsvData<T> data;
        for (std::size_t c = 0; c < names.size(); ++c)
            if (!label_index || c != *label_index)
                data.feature_names.push_back(names[c]);
        // An empty file without a header has no columns, not minus one feature column.
        const std::size_t features = columns - (label_index && columns > 0 ? 1 : 0);
        data.features = xt::xarray<T>::from_shape({rows, features});
        std::copy(values.begin(), values.end(), data.features.begin());
        data.labels = IndexArray::from_shape({labels.size()});
        std::copy(labels.begin(), labels.end(), data.labels.begin());
        return data;
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_DATA_CSV_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template data::CsvData<T> data::read_csv<T>(const std::string&, const data::CsvOptions&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_DATA_CSV_TEMPLATES)
}
