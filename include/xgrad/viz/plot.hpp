// Charts as SVG (a text format any browser shows and any HTML page can hold inline), with no plotting library:
// line charts (learning curves; validation curves with a band of ± spread and marked positions; ROC curves and
// histograms, each series on its own x), grouped bar charts, heatmaps with their numbers written in (a confusion
// matrix), scatter plots coloured by group, and grids of grey images.  Every picture of the library is drawn
// here: axes carry rounded ("nice") tick values, legends stand beside the plot where they cover no data, and
// each bar, cell and point names its value on hover.
//   viz::LineChart loss{"Loss", "epoch", "cross-entropy (nats)", {{"train", train_losses}, {"validation", val_losses}}};
//   viz::save_svg("curves.svg", {loss, accuracy});
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "../error.hpp"

namespace xgrad::viz
{
    struct Series
    {
        // A named series without values yet, or with these values at the chart's x.
        static Series named(std::string name, std::vector<double> values = {})
        {
            Series series;
            series.name = std::move(name);
            series.values = std::move(values);
            return series;
        }

        std::string name;
        std::vector<double> values;   // plotted at x: the series' own, else the chart's, else 1, 2, ... (epochs)
        std::vector<double> spread;   // optional: a shaded band from values − spread to values + spread
        std::vector<double> x;        // optional: this series' own x, non-decreasing (a ROC curve may rise straight up)
        std::string colour;           // optional: an SVG colour ("#3b528b"); else the next of the ten-colour palette
    };

    // A colour on a dark-blue-to-yellow ramp (close to matplotlib's "viridis") at t in [0, 1], for series in an
    // order: layers from the input to the output, say.
    inline std::string ordered_colour(double t)
    {
        static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
        const double at = std::clamp(t, 0.0, 1.0) * 4;
        const int from = std::min(3, static_cast<int>(at));
        const double u = at - from;
        char hex[8];
        std::snprintf(hex, sizeof hex, "#%02x%02x%02x", static_cast<int>(std::lround(stops[from][0] + u * (stops[from + 1][0] - stops[from][0]))),
                      static_cast<int>(std::lround(stops[from][1] + u * (stops[from + 1][1] - stops[from][1]))),
                      static_cast<int>(std::lround(stops[from][2] + u * (stops[from + 1][2] - stops[from][2]))));
        return hex;
    }

    // A vertical line at x with a label (where underfitting turns into overfitting, say).
    struct Marker
    {
        double x;
        std::string label;
    };

    struct LineChart
    {
        std::string title, x_label, y_label;
        std::vector<Series> series;
        std::vector<double> x;   // optional: the x of each point, increasing (else 1, 2, ...)
        bool log_x = false;      // x on a logarithmic scale (x > 0)
        bool log_y = false;      // y on a logarithmic scale (values > 0; bands reach down to a tenth at most)
        std::vector<Marker> markers;
        // Optional ends of the axes (NaN: from the data), widened if the data reach past them: [0, 1] for a
        // ROC curve or an accuracy.
        double x_min = NAN, x_max = NAN, y_min = NAN, y_max = NAN;
    };

    // Bars grouped by category, one bar per series in each group: precision, recall and F1 of each class.
    struct BarChart
    {
        std::string title, x_label, y_label;
        std::vector<std::string> categories;
        std::vector<Series> series;       // each with one value per category (spread and x are not used)
        double y_min = 0.0, y_max = NAN;  // the y axis spans at least [y_min, y_max] (NaN: from the data)
    };

    // A matrix of numbers as shaded cells with the numbers written in: a confusion matrix, rows the true class.
    struct Heatmap
    {
        std::string title, x_label, y_label;
        std::vector<std::string> row_names, column_names;
        std::vector<std::vector<double>> values;   // rows × columns, finite
        bool shade_by_row = false;                 // shade by the share of the row (a confusion matrix's recall)
        int decimals = 0;                          // of the numbers in the cells
    };

    // Points coloured by group, with a legend: a 2-D embedding coloured by class.
    struct ScatterChart
    {
        std::string title, x_label, y_label;
        std::vector<double> x, y;
        std::vector<std::size_t> group;   // of each point, an index into group_names
        std::vector<std::string> group_names;
    };

    // Grey images in a grid, `columns` to a row: 0 is black, 1 white (values are clamped to [0, 1]).
    struct ImageGrid
    {
        std::string title;
        std::size_t image_height = 0, image_width = 0, columns = 1;
        std::vector<std::vector<double>> images;   // each image_height × image_width, row-major
        std::vector<std::string> row_labels;       // optional: one per row of images, at its left
    };

    namespace detail
    {
        // Text as SVG and HTML need it: & < > " ' written as entities.
        inline std::string xml_escape(const std::string& text)
        {
            std::string out;
            out.reserve(text.size());
            for (char c : text)
                switch (c)
                {
                case '&': out += "&amp;"; break;
                case '<': out += "&lt;"; break;
                case '>': out += "&gt;"; break;
                case '"': out += "&quot;"; break;
                case '\'': out += "&#39;"; break;
                default: out += c;
                }
            return out;
        }

        // Four significant digits: values in hover titles and markers.
        inline std::string number(double value)
        {
            std::ostringstream out;
            out << std::setprecision(4) << value;
            return out.str();
        }

        // Characters of UTF-8 text (not bytes): for the width it takes.
        inline std::size_t characters(const std::string& text)
        {
            return static_cast<std::size_t>(
                std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
        }

        // About how wide `text` is at `font_size` in a sans-serif font.
        inline double text_width(const std::string& text, double font_size)
        {
            return 0.56 * font_size * static_cast<double>(characters(text));
        }

        // Ten distinguishable colours (matplotlib's "tab10" order after the first four).
        inline const char* colour(std::size_t index)
        {
            static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
            return colours[index % 10];
        }

        // --- axes ------------------------------------------------------------------------------------------

        // The "nice" step at or above `raw` (> 0): 1, 2, 2.5 or 5 times a power of ten (1, 2 or 5 for whole
        // numbers, whose steps must stay whole).
        inline double nice_step(double raw, bool whole_numbers)
        {
            if (whole_numbers && raw <= 1)
                return 1.0;
            const double power = std::pow(10.0, std::floor(std::log10(raw)));
            for (double multiple : {1.0, 2.0, 2.5, 5.0})
                if (!(whole_numbers && multiple == 2.5 && power == 1.0) && raw <= multiple * power * (1 + 1e-9))
                    return multiple * power;
            return 10 * power;
        }

        // Ten to a power, as people write it: 0.001, 0.1, 10, 1000, 1e5, 1e-5.
        inline std::string power_label(double value)
        {
            const int exponent = static_cast<int>(std::lround(std::log10(value)));
            if (std::abs(value - std::pow(10.0, exponent)) > 1e-9 * value || std::abs(exponent) <= 4)
            {
                std::ostringstream out;
                out << std::setprecision(4) << value;
                return out.str();
            }
            return "1e" + std::to_string(exponent);
        }

        // A tick value with the decimals its step needs and no more: steps of 0.25 show two, of 0.5 one, of
        // 100 none; very large or small magnitudes in scientific form.
        inline std::string tick_label(double value, double step)
        {
            if (std::abs(value) < 1e-9 * step)
                value = 0.0;   // no "-0" and no 1e-17 where the ticks cross zero
            const double magnitude = std::max(std::abs(value), step);
            std::ostringstream out;
            if (magnitude >= 1e6 || magnitude < 1e-4)   // 2.5e6, 1e-5
            {
                const int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
                out << std::setprecision(3) << value / std::pow(10.0, exponent) << 'e' << exponent;
            }
            else
            {
                int decimals = 0;
                for (double scaled = step; decimals < 9 && std::abs(scaled - std::round(scaled)) > 1e-6 * scaled;
                     scaled *= 10)
                    ++decimals;
                out << std::fixed << std::setprecision(decimals) << value;
            }
            return out.str();
        }

        // One axis: its ends in data units, its ticks and their labels; maps a value to its place between the ends.
        struct Axis
        {
            double low = 0.0, high = 1.0;
            bool log = false;
            std::vector<double> ticks;
            std::vector<std::string> labels;

            // 0 at the low end, 1 at the high end.
            double fraction(double value) const
            {
                if (log)
                    return (std::log10(value) - std::log10(low)) / (std::log10(high) - std::log10(low));
                return (value - low) / (high - low);
            }
        };

        // About five ticks at multiples of a nice step inside [low, high]; whole-number steps for whole-number data.
        inline Axis linear_axis(double low, double high, bool whole_numbers)
        {
            Axis axis;
            axis.low = low;
            axis.high = high;
            const double step = nice_step((high - low) / 5.0, whole_numbers);
            const double first = std::ceil(low / step - 1e-9) * step;
            for (int i = 0; first + i * step <= high + 1e-9 * step; ++i)
            {
                axis.ticks.push_back(first + i * step);
                axis.labels.push_back(tick_label(first + i * step, step));
            }
            return axis;
        }

        // Ticks at the powers of ten inside [low, high] (low > 0); at 1, 2 and 5 times them when fewer than three
        // powers fall inside, and at linear nice steps when even those give fewer than two.
        inline Axis log_axis(double low, double high)
        {
            for (const std::vector<double>& multiples : {std::vector<double>{1.0}, std::vector<double>{1.0, 2.0, 5.0}})
            {
                Axis axis;
                axis.low = low;
                axis.high = high;
                axis.log = true;
                for (int exponent = static_cast<int>(std::floor(std::log10(low)));
                     exponent <= static_cast<int>(std::ceil(std::log10(high))); ++exponent)
                    for (double multiple : multiples)
                    {
                        const double tick = multiple * std::pow(10.0, exponent);
                        if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9))
                        {
                            axis.ticks.push_back(tick);
                            axis.labels.push_back(multiple == 1.0 ? power_label(tick) : number(tick));
                        }
                    }
                if (axis.ticks.size() >= (multiples.size() == 1 ? 3u : 2u))
                    return axis;
            }
            Axis axis = linear_axis(low, high, false);
            axis.log = true;
            return axis;
        }

        // The smallest and largest finite values seen.
        struct Range
        {
            double low = INFINITY, high = -INFINITY;
            void add(double v)
            {
                if (std::isfinite(v))
                {
                    low = std::min(low, v);
                    high = std::max(high, v);
                }
            }
            bool empty() const { return !(low <= high); }

            // Widened by 5% on each side (on a log scale, 5% of the decades), to a unit width (a factor of four
            // on a log scale) when both ends are equal.
            Range padded(bool log) const
            {
                Range r = *this;
                if (log)
                {
                    const double decades = r.high == r.low ? std::log10(4.0) : std::log10(r.high / r.low);
                    const double factor = std::pow(10.0, (r.high == r.low ? 0.5 : 0.05) * decades);
                    return {r.low / factor, r.high * factor};
                }
                const double pad = r.high == r.low ? 0.5 : 0.05 * (r.high - r.low);
                return {r.low - pad, r.high + pad};
            }

            // The range reaching at least to `low_end` and `high_end` (NaN: no such end).
            Range including(double low_end, double high_end) const
            {
                Range r = *this;
                r.add(low_end);
                r.add(high_end);
                return r;
            }
        };

        inline Axis axis_over(const Range& range, bool log, bool whole_numbers)
        {
            return log ? log_axis(range.low, range.high) : linear_axis(range.low, range.high, whole_numbers);
        }

        // --- the frame of a chart --------------------------------------------------------------------------

        // How a legend shows a series: a line, a dot or a filled square.
        enum class Swatch
        {
            line,
            dot,
            box
        };

        // A chart's place in the picture, its plot area and its two axes.
        struct Frame
        {
            double left, top, width, height;                       // the whole chart
            double plot_left, plot_top, plot_width, plot_height;   // the area the data are drawn in
            Axis x, y;

            double x_at(double value) const { return plot_left + plot_width * x.fraction(value); }
            double y_at(double value) const { return plot_top + plot_height * (1 - y.fraction(value)); }
        };

        constexpr double legend_font = 12, legend_row = 18;

        // Room for a legend of `names` at the right of the plot (none without names).
        inline double legend_width(const std::vector<std::string>& names)
        {
            double widest = 0;
            for (const auto& name : names)
                widest = std::max(widest, text_width(name, legend_font));
            return names.empty() ? 0.0 : std::min(40 + widest, 260.0);
        }

        // The plot area of a chart at (left, top, width, height): the title above, y ticks and label at the
        // left, x ticks and label below (`bottom` high), the legend at the right.
        inline Frame frame_at(double left, double top, double width, double height, double legend, double bottom = 52)
        {
            return {left, top, width, height, left + 70, top + 36, width - 70 - 16 - legend, height - 36 - bottom, {}, {}};
        }

        // Title, plot border, horizontal grid lines with the y ticks, x tick marks and labels, axis labels.
        inline void draw_axes(std::ostringstream& svg, const Frame& frame, const std::string& title,
                              const std::string& x_label, const std::string& y_label, bool x_ticks = true)
        {
            svg << "<text x='" << frame.left + frame.width / 2 << "' y='" << frame.top + 22
                << "' text-anchor='middle' font-size='16' font-weight='bold'>" << xml_escape(title) << "</text>\n";
            for (std::size_t i = 0; i < frame.y.ticks.size(); ++i)
            {
                const double y = frame.y_at(frame.y.ticks[i]);
                svg << "<line x1='" << frame.plot_left << "' x2='" << frame.plot_left + frame.plot_width << "' y1='"
                    << y << "' y2='" << y << "' stroke='#e6e6e6'/>\n<text x='" << frame.plot_left - 7 << "' y='"
                    << y + 4 << "' text-anchor='end' font-size='12' fill='#333'>" << frame.y.labels[i] << "</text>\n";
            }
            svg << "<rect x='" << frame.plot_left << "' y='" << frame.plot_top << "' width='" << frame.plot_width
                << "' height='" << frame.plot_height << "' fill='none' stroke='#999'/>\n";
            const double bottom = frame.plot_top + frame.plot_height;
            for (std::size_t i = 0; x_ticks && i < frame.x.ticks.size(); ++i)
            {
                const double x = frame.x_at(frame.x.ticks[i]);
                svg << "<line x1='" << x << "' x2='" << x << "' y1='" << bottom << "' y2='" << bottom + 5
                    << "' stroke='#999'/>\n<text x='" << x << "' y='" << bottom + 19
                    << "' text-anchor='middle' font-size='12' fill='#333'>" << frame.x.labels[i] << "</text>\n";
            }
            svg << "<text x='" << frame.plot_left + frame.plot_width / 2 << "' y='" << frame.top + frame.height - 12
                << "' text-anchor='middle' font-size='13'>" << xml_escape(x_label) << "</text>\n";
            svg << "<text transform='translate(" << frame.left + 18 << ' ' << frame.plot_top + frame.plot_height / 2
                << ") rotate(-90)' text-anchor='middle' font-size='13'>" << xml_escape(y_label) << "</text>\n";
        }

        // The colour of series `index`: its own, or the palette's.
        inline std::string colour_of(const Series& series, std::size_t index)
        {
            return series.colour.empty() ? colour(index) : xml_escape(series.colour);
        }

        // The legend, at the right of the plot area: one row per name, with its colour drawn as `swatch`
        // (`colours`: one per name, else the palette's).
        inline void draw_legend(std::ostringstream& svg, const Frame& frame, const std::vector<std::string>& names,
                                Swatch swatch, const std::vector<std::string>& colours = {})
        {
            const double x = frame.plot_left + frame.plot_width + 14;
            for (std::size_t i = 0; i < names.size(); ++i)
            {
                const double y = frame.plot_top + 12 + legend_row * static_cast<double>(i);
                const std::string c = i < colours.size() ? colours[i] : colour(i);
                if (swatch == Swatch::line)
                    svg << "<line x1='" << x << "' x2='" << x + 22 << "' y1='" << y - 4 << "' y2='" << y - 4
                        << "' stroke='" << c << "' stroke-width='2.5'/>\n";
                else if (swatch == Swatch::dot)
                    svg << "<circle cx='" << x + 11 << "' cy='" << y - 4 << "' r='5' fill='" << c << "'/>\n";
                else
                    svg << "<rect x='" << x + 5 << "' y='" << y - 10 << "' width='12' height='12' fill='" << c
                        << "'/>\n";
                svg << "<text x='" << x + 28 << "' y='" << y << "' font-size='" << legend_font << "'>"
                    << xml_escape(names[i]) << "</text>\n";
            }
        }

        inline std::vector<std::string> names_of(const std::vector<Series>& series)
        {
            std::vector<std::string> names;
            for (const auto& s : series)
                names.push_back(s.name);
            return names;
        }

        inline std::vector<std::string> colours_of(const std::vector<Series>& series)
        {
            std::vector<std::string> colours;
            for (std::size_t i = 0; i < series.size(); ++i)
                colours.push_back(colour_of(series[i], i));
            return colours;
        }

        // --- line charts -----------------------------------------------------------------------------------

        // The lower edge of a band: value − spread, but on a logarithmic y no lower than a tenth of the value.
        inline double band_low(const LineChart& chart, double value, double spread)
        {
            return chart.log_y ? std::max(value - spread, value / 10) : value - spread;
        }

        // The x of each point of series `s`: its own, the chart's, or 1, 2, ...; checked.
        inline std::vector<double> x_of(const LineChart& chart, const Series& series)
        {
            const std::string where = "LineChart '" + chart.title + "'";
            const bool own = !series.x.empty();
            std::vector<double> xs = own ? series.x : chart.x;
            if (xs.empty())
                for (std::size_t i = 0; i < series.values.size(); ++i)
                    xs.push_back(static_cast<double>(i + 1));
            if (xs.size() < series.values.size())
                throw value_error(where + ": " + std::to_string(xs.size()) + " x values for " +
                                  std::to_string(series.values.size()) + " points of '" + series.name + "'");
            for (std::size_t i = 0; i < xs.size(); ++i)
                if (!std::isfinite(xs[i]) || (chart.log_x && xs[i] <= 0) ||
                    (i > 0 && (own ? xs[i] < xs[i - 1] : xs[i] <= xs[i - 1])))
                    throw value_error(where + ": x must be finite, " + (own ? "non-decreasing" : "increasing") +
                                      (chart.log_x ? " and positive" : ""));
            return xs;
        }

        inline std::string chart_svg(const LineChart& chart, double left, double top, double width, double height)
        {
            const std::string where = "LineChart '" + chart.title + "'";
            std::vector<std::vector<double>> xs;
            Range x_range, y_range;
            bool whole_x = !chart.log_x;
            for (const auto& s : chart.series)
            {
                xs.push_back(x_of(chart, s));
                for (std::size_t i = 0; i < s.values.size(); ++i)
                {
                    if (!std::isfinite(s.values[i]))
                        continue;
                    if (chart.log_y && !(s.values[i] > 0))
                        throw value_error(where + ": a logarithmic y needs positive values");
                    const double spread = i < s.spread.size() && std::isfinite(s.spread[i]) ? s.spread[i] : 0.0;
                    y_range.add(band_low(chart, s.values[i], spread));
                    y_range.add(s.values[i] + spread);
                    x_range.add(xs.back()[i]);
                    whole_x = whole_x && xs.back()[i] == std::round(xs.back()[i]);
                }
            }
            if (y_range.empty())
                throw value_error(where + ": no finite values to plot");
            // One point (or one x) sits in the middle of its axis.
            if (x_range.low == x_range.high)
                x_range = x_range.padded(chart.log_x);
            const double legend = legend_width(names_of(chart.series));
            Frame frame = frame_at(left, top, width, height, legend);
            frame.x = axis_over(x_range.including(chart.x_min, chart.x_max), chart.log_x, whole_x);
            frame.y = axis_over(y_range.padded(chart.log_y).including(chart.y_min, chart.y_max), chart.log_y, false);

            std::ostringstream svg;
            draw_axes(svg, frame, chart.title, chart.x_label, chart.y_label);
            for (std::size_t s = 0; s < chart.series.size(); ++s)
            {
                const Series& series = chart.series[s];
                const std::vector<double>& x = xs[s];
                const std::string line_colour = colour_of(series, s);
                if (!series.spread.empty())   // the band: along the upper edge, back along the lower
                {
                    svg << "<polygon fill='" << line_colour << "' fill-opacity='0.18' stroke='none' points='";
                    const std::size_t banded = std::min(series.values.size(), series.spread.size());
                    for (std::size_t i = 0; i < banded; ++i)
                        svg << frame.x_at(x[i]) << ',' << frame.y_at(series.values[i] + series.spread[i]) << ' ';
                    for (std::size_t i = banded; i-- > 0;)
                        svg << frame.x_at(x[i]) << ',' << frame.y_at(band_low(chart, series.values[i], series.spread[i]))
                            << ' ';
                    svg << "'/>\n";
                }
                svg << "<polyline fill='none' stroke='" << line_colour << "' stroke-width='2' stroke-linejoin='round' points='";
                for (std::size_t i = 0; i < series.values.size(); ++i)
                    if (std::isfinite(series.values[i]))
                        svg << frame.x_at(x[i]) << ',' << frame.y_at(series.values[i]) << ' ';
                svg << "'><title>" << xml_escape(series.name) << "</title></polyline>\n";
                if (series.values.size() <= 30)   // few points: each marked, its value on hover
                    for (std::size_t i = 0; i < series.values.size(); ++i)
                        if (std::isfinite(series.values[i]))
                            svg << "<circle cx='" << frame.x_at(x[i]) << "' cy='" << frame.y_at(series.values[i])
                                << "' r='3' fill='" << line_colour << "'><title>" << xml_escape(series.name) << ": "
                                << number(series.values[i]) << " at " << number(x[i]) << "</title></circle>\n";
            }
            for (const Marker& marker : chart.markers)
            {
                // The label on the side of the line with more room, so that it stays inside the plot if it can.
                const double x = frame.x_at(marker.x), right = frame.plot_left + frame.plot_width;
                const bool left_of_line = x + 4 + text_width(marker.label, 12) > right && x - frame.plot_left > right - x;
                svg << "<line x1='" << x << "' x2='" << x << "' y1='" << frame.plot_top << "' y2='"
                    << frame.plot_top + frame.plot_height << "' stroke='#444' stroke-dasharray='5,4'/>\n<text x='"
                    << (left_of_line ? x - 4 : x + 4) << "' y='" << frame.plot_top + frame.plot_height - 8
                    << "' font-size='12'" << (left_of_line ? " text-anchor='end'" : "") << ">"
                    << xml_escape(marker.label) << "</text>\n";
            }
            draw_legend(svg, frame, names_of(chart.series), Swatch::line, colours_of(chart.series));
            return svg.str();
        }

        // --- bar charts and heatmaps -----------------------------------------------------------------------

        // Category names under a row of slots `slot` wide: level when they fit, slanted when they do not.
        // Returns the height they need.
        inline double category_labels(std::ostringstream& svg, const std::vector<std::string>& names,
                                      const std::vector<double>& centres, double slot, double y, bool draw)
        {
            double widest = 0;
            for (const auto& name : names)
                widest = std::max(widest, text_width(name, 12));
            const bool slanted = widest > slot - 4;
            for (std::size_t i = 0; draw && i < names.size(); ++i)
            {
                if (slanted)
                    svg << "<text transform='translate(" << centres[i] + 4 << ' ' << y + 12
                        << ") rotate(-40)' text-anchor='end' font-size='12' fill='#333'>" << xml_escape(names[i])
                        << "</text>\n";
                else
                    svg << "<text x='" << centres[i] << "' y='" << y + 16 << "' text-anchor='middle' font-size='12' fill='#333'>"
                        << xml_escape(names[i]) << "</text>\n";
            }
            return slanted ? 20 + 0.643 * widest : 22;   // sin 40° of the longest name
        }

        // The colour of a share in [0, 1], white to dark blue through a middle blue (like ColorBrewer's Blues).
        inline std::string shade(double share)
        {
            const double t = std::clamp(share, 0.0, 1.0);
            const double stops[3][3] = {{247, 251, 255}, {107, 174, 214}, {8, 48, 107}};
            const int from = t < 0.5 ? 0 : 1;
            const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
            std::ostringstream out;
            out << "rgb(";
            for (int c = 0; c < 3; ++c)
                out << (c ? "," : "") << std::lround(stops[from][c] + u * (stops[from + 1][c] - stops[from][c]));
            out << ')';
            return out.str();
        }

        inline std::string fixed(double value, int decimals)
        {
            std::ostringstream out;
            out << std::fixed << std::setprecision(decimals) << value;
            return out.str();
        }

        inline std::string document(double width, double height, const std::string& body)
        {
            std::ostringstream svg;
            svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "' viewBox='0 0 "
                << width << ' ' << height << "' font-family='DejaVu Sans, Helvetica, Arial, sans-serif'>\n"
                << "<rect width='100%' height='100%' fill='white'/>\n"
                << body << "</svg>\n";
            return svg.str();
        }

        inline void write_file(const char* what, const std::string& path, const std::string& svg)
        {
            std::ofstream out(path);
            if (!out)
                throw io_error(std::string(what) + ": cannot open " + path + " for writing");
            out << svg;
            if (!out.flush())
                throw io_error(std::string(what) + ": cannot write " + path);
        }
    }

    // The charts side by side as an SVG document, `columns` to a row (0: all in one row).
    inline std::string to_svg(const std::vector<LineChart>& charts, double chart_width = 480, double chart_height = 340,
                              std::size_t columns = 0)
    {
        const std::size_t per_row = columns == 0 ? std::max<std::size_t>(charts.size(), 1) : columns;
        std::string body;
        for (std::size_t i = 0; i < charts.size(); ++i)
            body += detail::chart_svg(charts[i], chart_width * static_cast<double>(i % per_row),
                                      chart_height * static_cast<double>(i / per_row), chart_width, chart_height);
        const std::size_t rows = (charts.size() + per_row - 1) / per_row;
        return detail::document(chart_width * static_cast<double>(std::min(per_row, charts.size())),
                                chart_height * static_cast<double>(rows), body);
    }

    inline void save_svg(const std::string& path, const std::vector<LineChart>& charts, double chart_width = 480,
                         double chart_height = 340, std::size_t columns = 0)
    {
        detail::write_file("save_svg", path, to_svg(charts, chart_width, chart_height, columns));
    }

    // Grouped bars: a group per category, a bar per series, on a linear y axis.
    inline std::string to_svg(const BarChart& chart, double width = 640, double height = 360)
    {
        const std::string where = "BarChart '" + chart.title + "'";
        if (chart.categories.empty() || chart.series.empty())
            throw value_error(where + ": no categories or no series to plot");
        detail::Range y_range;
        for (const auto& series : chart.series)
        {
            if (series.values.size() != chart.categories.size())
                throw value_error(where + ": series '" + series.name + "' has " + std::to_string(series.values.size()) +
                                  " values for " + std::to_string(chart.categories.size()) + " categories");
            for (double v : series.values)
                y_range.add(v);
        }
        if (y_range.empty())
            throw value_error(where + ": no finite values to plot");
        y_range = y_range.including(chart.y_min, chart.y_max);
        if (y_range.low == y_range.high)
            y_range = y_range.padded(false);

        const std::size_t groups = chart.categories.size(), bars = chart.series.size();
        const double legend = detail::legend_width(detail::names_of(chart.series));
        // The labels' height depends on the slot width, which depends on nothing below the plot: measure first.
        std::ostringstream svg;
        detail::Frame frame = detail::frame_at(0, 0, width, height, legend);
        const double slot = frame.plot_width / static_cast<double>(groups);
        const double label_height = detail::category_labels(svg, chart.categories, {}, slot, 0, false);
        frame = detail::frame_at(0, 0, width, height, legend, label_height + 30);
        frame.y = detail::linear_axis(y_range.low, y_range.high + 0.04 * (y_range.high - y_range.low), false);
        detail::draw_axes(svg, frame, chart.title, chart.x_label, chart.y_label, /*x_ticks=*/false);

        const double bar = 0.8 * slot / static_cast<double>(bars), baseline = frame.y_at(std::max(y_range.low, 0.0));
        std::vector<double> centres;
        for (std::size_t g = 0; g < groups; ++g)
        {
            const double group_left = frame.plot_left + slot * (static_cast<double>(g) + 0.1);
            centres.push_back(frame.plot_left + slot * (static_cast<double>(g) + 0.5));
            for (std::size_t s = 0; s < bars; ++s)
            {
                const double value = chart.series[s].values[g];
                if (!std::isfinite(value))
                    continue;
                const double y = frame.y_at(value);
                svg << "<rect x='" << group_left + bar * static_cast<double>(s) << "' y='" << std::min(y, baseline)
                    << "' width='" << bar * 0.92 << "' height='" << std::abs(baseline - y) << "' fill='"
                    << detail::colour_of(chart.series[s], s) << "'><title>" << detail::xml_escape(chart.categories[g]) << ", "
                    << detail::xml_escape(chart.series[s].name) << ": " << detail::number(value) << "</title></rect>\n";
            }
        }
        detail::category_labels(svg, chart.categories, centres, slot, frame.plot_top + frame.plot_height, true);
        detail::draw_legend(svg, frame, detail::names_of(chart.series), detail::Swatch::box,
                            detail::colours_of(chart.series));
        return detail::document(width, height, svg.str());
    }

    inline void save_svg(const std::string& path, const BarChart& chart)
    {
        detail::write_file("save_svg", path, to_svg(chart));
    }

    // Cells `cell` units square, shaded by value (or by share of the row), each with its number; row names at
    // the left, column names below, and a scale of the shades at the right.
    inline std::string to_svg(const Heatmap& map, double cell = 46)
    {
        const std::string where = "Heatmap '" + map.title + "'";
        const std::size_t rows = map.values.size(), columns = rows ? map.values.front().size() : 0;
        if (rows == 0 || columns == 0)
            throw value_error(where + ": no cells to draw");
        if (map.row_names.size() != rows || map.column_names.size() != columns)
            throw value_error(where + ": " + std::to_string(map.row_names.size()) + " row names and " +
                              std::to_string(map.column_names.size()) + " column names for " + std::to_string(rows) +
                              " × " + std::to_string(columns) + " cells");
        double largest = 0;
        std::vector<double> row_totals(rows, 0.0);
        for (std::size_t r = 0; r < rows; ++r)
        {
            if (map.values[r].size() != columns)
                throw value_error(where + ": row " + std::to_string(r) + " has " + std::to_string(map.values[r].size()) +
                                  " values, not " + std::to_string(columns));
            for (double v : map.values[r])
            {
                if (!std::isfinite(v))
                    throw value_error(where + ": the values must be finite");
                largest = std::max(largest, std::abs(v));
                row_totals[r] += std::abs(v);
            }
        }
        double row_names_width = 0;
        for (const auto& name : map.row_names)
            row_names_width = std::max(row_names_width, detail::text_width(name, 12));
        const double left = 34 + row_names_width + 8, top = 40, grid_width = cell * static_cast<double>(columns);
        const double grid_height = cell * static_cast<double>(rows);

        std::ostringstream svg;
        std::vector<double> centres;
        for (std::size_t c = 0; c < columns; ++c)
            centres.push_back(left + cell * (static_cast<double>(c) + 0.5));
        const double names_height =
            detail::category_labels(svg, map.column_names, centres, cell, top + grid_height, true);
        const double width = left + grid_width + 90, height = top + grid_height + names_height + 34;
        svg << "<text x='" << left + grid_width / 2 << "' y='24' text-anchor='middle' font-size='16' font-weight='bold'>"
            << detail::xml_escape(map.title) << "</text>\n";
        const double font = std::min(13.0, cell / 3.2);
        for (std::size_t r = 0; r < rows; ++r)
        {
            const double y = top + cell * static_cast<double>(r);
            svg << "<text x='" << left - 6 << "' y='" << y + cell / 2 + 4 << "' text-anchor='end' font-size='12' fill='#333'>"
                << detail::xml_escape(map.row_names[r]) << "</text>\n";
            for (std::size_t c = 0; c < columns; ++c)
            {
                const double value = map.values[r][c];
                const double share = map.shade_by_row ? (row_totals[r] > 0 ? std::abs(value) / row_totals[r] : 0.0)
                                                      : (largest > 0 ? std::abs(value) / largest : 0.0);
                const double x = left + cell * static_cast<double>(c);
                svg << "<rect x='" << x << "' y='" << y << "' width='" << cell << "' height='" << cell << "' fill='"
                    << detail::shade(share) << "' stroke='white'><title>" << detail::xml_escape(map.row_names[r]) << " → "
                    << detail::xml_escape(map.column_names[c]) << ": " << detail::fixed(value, map.decimals)
                    << (map.shade_by_row ? " (" + detail::fixed(100 * share, 1) + "% of the row)" : "")
                    << "</title></rect>\n";
                svg << "<text x='" << x + cell / 2 << "' y='" << y + cell / 2 + font / 3
                    << "' text-anchor='middle' font-size='" << font << "' fill='" << (share > 0.45 ? "white" : "#222")
                    << "' pointer-events='none'>" << detail::fixed(value, map.decimals) << "</text>\n";
            }
        }
        svg << "<text x='" << left + grid_width / 2 << "' y='" << height - 10 << "' text-anchor='middle' font-size='13'>"
            << detail::xml_escape(map.x_label) << "</text>\n";
        svg << "<text transform='translate(18 " << top + grid_height / 2
            << ") rotate(-90)' text-anchor='middle' font-size='13'>" << detail::xml_escape(map.y_label) << "</text>\n";
        // The scale: ten shades from the top (the largest share) down, labelled at both ends.
        const double scale_left = left + grid_width + 18, step = grid_height / 10;
        for (int i = 0; i < 10; ++i)
            svg << "<rect x='" << scale_left << "' y='" << top + step * i << "' width='14' height='" << step + 0.5
                << "' fill='" << detail::shade(1.0 - (i + 0.5) / 10.0) << "'/>\n";
        const std::string high_label = map.shade_by_row ? std::string("100%") : detail::fixed(largest, map.decimals);
        svg << "<text x='" << scale_left + 18 << "' y='" << top + 10 << "' font-size='11' fill='#333'>" << high_label
            << "</text>\n<text x='" << scale_left + 18 << "' y='" << top + grid_height << "' font-size='11' fill='#333'>"
            << (map.shade_by_row ? "0%" : "0") << "</text>\n";
        if (map.shade_by_row)
            svg << "<text transform='translate(" << scale_left + 30 << ' ' << top + grid_height / 2
                << ") rotate(90)' text-anchor='middle' font-size='11' fill='#333'>share of the row</text>\n";
        return detail::document(width, height, svg.str());
    }

    inline void save_svg(const std::string& path, const Heatmap& map)
    {
        detail::write_file("save_svg", path, to_svg(map));
    }

    inline std::string to_svg(const ScatterChart& chart, double width = 600, double height = 480)
    {
        if (chart.y.size() != chart.x.size() || chart.group.size() != chart.x.size())
            throw value_error("ScatterChart '" + chart.title + "': " + std::to_string(chart.x.size()) + " x, " +
                              std::to_string(chart.y.size()) + " y and " + std::to_string(chart.group.size()) +
                              " groups");
        detail::Range x_range, y_range;
        for (std::size_t i = 0; i < chart.x.size(); ++i)
        {
            x_range.add(chart.x[i]);
            y_range.add(chart.y[i]);
        }
        if (x_range.empty() || y_range.empty())
            throw value_error("ScatterChart '" + chart.title + "': no finite points to plot");
        detail::Frame frame = detail::frame_at(0, 0, width, height, detail::legend_width(chart.group_names));
        frame.x = detail::axis_over(x_range.padded(false), false, false);
        frame.y = detail::axis_over(y_range.padded(false), false, false);
        std::ostringstream svg;
        detail::draw_axes(svg, frame, chart.title, chart.x_label, chart.y_label);
        for (std::size_t i = 0; i < chart.x.size(); ++i)
            if (std::isfinite(chart.x[i]) && std::isfinite(chart.y[i]))
                svg << "<circle cx='" << frame.x_at(chart.x[i]) << "' cy='" << frame.y_at(chart.y[i])
                    << "' r='2' fill-opacity='0.6' fill='" << detail::colour(chart.group[i]) << "'/>\n";
        detail::draw_legend(svg, frame, chart.group_names, detail::Swatch::dot);
        return detail::document(width, height, svg.str());
    }

    inline void save_svg(const std::string& path, const ScatterChart& chart)
    {
        detail::write_file("save_svg", path, to_svg(chart));
    }

    // Each pixel a square of `pixel` units; images one pixel apart, on black.
    inline std::string to_svg(const ImageGrid& grid, double pixel = 3)
    {
        const std::size_t h = grid.image_height, w = grid.image_width, columns = std::max<std::size_t>(grid.columns, 1);
        for (const auto& image : grid.images)
            if (image.size() != h * w)
                throw value_error("ImageGrid '" + grid.title + "': an image of " + std::to_string(image.size()) +
                                  " values, not " + std::to_string(h) + " × " + std::to_string(w));
        const std::size_t rows = (grid.images.size() + columns - 1) / columns;
        const double label_width = grid.row_labels.empty() ? 0 : 110, top = 28;
        const double cell_width = (w + 1) * pixel, cell_height = (h + 1) * pixel;
        std::ostringstream svg;
        svg << "<text x='" << (label_width + columns * cell_width) / 2
            << "' y='18' text-anchor='middle' font-size='15'>" << detail::xml_escape(grid.title) << "</text>\n";
        svg << "<rect x='" << label_width << "' y='" << top << "' width='" << columns * cell_width << "' height='"
            << rows * cell_height << "' fill='black'/>\n";
        for (std::size_t r = 0; r < rows && r < grid.row_labels.size(); ++r)
            svg << "<text x='" << label_width - 6 << "' y='" << top + (r + 0.5) * cell_height + 4
                << "' text-anchor='end' font-size='12'>" << detail::xml_escape(grid.row_labels[r]) << "</text>\n";
        for (std::size_t k = 0; k < grid.images.size(); ++k)
        {
            const double left = label_width + (k % columns) * cell_width, image_top = top + (k / columns) * cell_height;
            for (std::size_t y = 0; y < h; ++y)
                for (std::size_t x = 0; x < w; ++x)
                {
                    const double value = std::clamp(grid.images[k][y * w + x], 0.0, 1.0);
                    const int grey = static_cast<int>(std::lround(255 * value));
                    if (grey > 3)   // the background is black already
                        svg << "<rect x='" << left + x * pixel << "' y='" << image_top + y * pixel << "' width='"
                            << pixel << "' height='" << pixel << "' fill='rgb(" << grey << ',' << grey << ',' << grey
                            << ")'/>\n";
                }
        }
        return detail::document(label_width + columns * cell_width, top + rows * cell_height, svg.str());
    }

    inline void save_svg(const std::string& path, const ImageGrid& grid)
    {
        detail::write_file("save_svg", path, to_svg(grid));
    }
}
