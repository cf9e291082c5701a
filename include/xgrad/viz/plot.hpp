// Charts as SVG (a text format any browser shows), with no plotting library: line charts (learning curves,
// validation curves with a band of ± spread and marked positions), scatter plots coloured by group, and grids
// of grey images.  Several line charts in one file are laid out side by side.
//   viz::LineChart loss{"Loss", "epoch", "cross-entropy", {{"train", train_losses}, {"validation", val_losses}}};
//   viz::save_svg("curves.svg", {loss, accuracy});
#pragma once

#include <algorithm>
#include <cmath>
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
        std::string name;
        std::vector<double> values;   // plotted at the chart's x, or at x = 1, 2, ... (epochs)
        std::vector<double> spread;   // optional: a shaded band from values − spread to values + spread
    };

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
        inline std::string number(double value)
        {
            std::ostringstream out;
            out << std::setprecision(4) << value;
            return out.str();
        }

        // Ten distinguishable colours (matplotlib's "tab10" order after the first four).
        inline const char* colour(std::size_t index)
        {
            static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
            return colours[index % 10];
        }

        // The smallest and largest finite values, widened by 5% (and to a unit range when they are equal).
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
            Range padded() const
            {
                Range r = *this;
                if (r.high == r.low)
                {
                    r.high += 0.5;
                    r.low -= 0.5;
                }
                const double pad = 0.05 * (r.high - r.low);
                r.low -= pad;
                r.high += pad;
                return r;
            }
        };

        // A chart's frame at (left, top, width, height): its title, axis labels, horizontal grid lines with
        // y ticks; x ticks at `x_ticks` (their labels), the plot area mapping data to pixels.
        struct Frame
        {
            double plot_left, plot_top, plot_width, plot_height;
            Range x_range, y_range;
            bool log_x, log_y;

            double x_at(double x) const
            {
                const auto scale = [&](double v) { return log_x ? std::log(v) : v; };
                return plot_left +
                       plot_width * (scale(x) - scale(x_range.low)) / (scale(x_range.high) - scale(x_range.low));
            }
            // y_range is in log10 units when log_y.
            double y_at(double y) const { return y_at_scaled(log_y ? std::log10(y) : y); }
            double y_at_scaled(double y) const
            {
                return plot_top + plot_height * (y_range.high - y) / (y_range.high - y_range.low);
            }

            void draw(std::ostringstream& svg, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<double>& x_ticks, double left, double top,
                      double width, double height) const
            {
                svg << "<text x='" << left + width / 2 << "' y='" << top + 18
                    << "' text-anchor='middle' font-size='15'>" << title << "</text>\n";
                svg << "<rect x='" << plot_left << "' y='" << plot_top << "' width='" << plot_width << "' height='"
                    << plot_height << "' fill='none' stroke='#888'/>\n";
                for (int tick = 0; tick <= 4; ++tick)
                {
                    const double v = y_range.low + (y_range.high - y_range.low) * tick / 4.0, y = y_at_scaled(v);
                    svg << "<line x1='" << plot_left << "' x2='" << plot_left + plot_width << "' y1='" << y << "' y2='"
                        << y << "' stroke='#eee'/>\n<text x='" << plot_left - 6 << "' y='" << y + 4
                        << "' text-anchor='end' font-size='11'>" << number(log_y ? std::pow(10.0, v) : v)
                        << "</text>\n";
                }
                for (double x : x_ticks)
                    svg << "<text x='" << x_at(x) << "' y='" << plot_top + plot_height + 16
                        << "' text-anchor='middle' font-size='11'>" << number(x) << "</text>\n";
                svg << "<text x='" << plot_left + plot_width / 2 << "' y='" << top + height - 20
                    << "' text-anchor='middle' font-size='12'>" << x_label << "</text>\n";
                svg << "<text transform='translate(" << left + 14 << ' ' << plot_top + plot_height / 2
                    << ") rotate(-90)' text-anchor='middle' font-size='12'>" << y_label << "</text>\n";
            }

            void legend(std::ostringstream& svg, std::size_t index, const std::string& name, bool dot) const
            {
                const double legend_x = plot_left + plot_width - 110, legend_y = plot_top + 16 + 16.0 * index;
                if (dot)
                    svg << "<circle cx='" << legend_x + 10 << "' cy='" << legend_y - 4 << "' r='4' fill='"
                        << colour(index) << "'/>\n";
                else
                    svg << "<line x1='" << legend_x << "' x2='" << legend_x + 20 << "' y1='" << legend_y - 4 << "' y2='"
                        << legend_y - 4 << "' stroke='" << colour(index) << "' stroke-width='2'/>\n";
                svg << "<text x='" << legend_x + 25 << "' y='" << legend_y << "' font-size='11'>" << name
                    << "</text>\n";
            }
        };

        inline Frame frame_at(double left, double top, double width, double height, Range x, Range y, bool log_x,
                              bool log_y)
        {
            return {left + 60, top + 30, width - 80, height - 80, x, y, log_x, log_y};
        }

        // The lower edge of a band: value − spread, but on a logarithmic y no lower than a tenth of the value.
        inline double band_low(const LineChart& chart, double value, double spread)
        {
            return chart.log_y ? std::max(value - spread, value / 10) : value - spread;
        }

        inline std::string chart_svg(const LineChart& chart, double left, double top, double width, double height)
        {
            Range values;
            std::size_t points = 0;
            for (const auto& s : chart.series)
                for (std::size_t i = 0; i < s.values.size(); ++i)
                    if (std::isfinite(s.values[i]))
                    {
                        const double spread = i < s.spread.size() && std::isfinite(s.spread[i]) ? s.spread[i] : 0.0;
                        if (chart.log_y && !(s.values[i] > 0))
                            throw value_error("LineChart '" + chart.title + "': a logarithmic y needs positive values");
                        const auto scaled = [&](double v) { return chart.log_y ? std::log10(v) : v; };
                        values.add(scaled(band_low(chart, s.values[i], spread)));
                        values.add(scaled(s.values[i] + spread));
                        points = std::max(points, s.values.size());
                    }
            if (points == 0)
                throw value_error("LineChart '" + chart.title + "': no finite values to plot");
            std::vector<double> xs = chart.x;
            if (xs.empty())
                for (std::size_t i = 0; i < points; ++i)
                    xs.push_back(static_cast<double>(i + 1));
            if (xs.size() < points)
                throw value_error("LineChart '" + chart.title + "': " + std::to_string(xs.size()) + " x values for " +
                                  std::to_string(points) + " points");
            for (std::size_t i = 0; i < xs.size(); ++i)
                if (!std::isfinite(xs[i]) || (chart.log_x && xs[i] <= 0) || (i > 0 && xs[i] <= xs[i - 1]))
                    throw value_error("LineChart '" + chart.title + "': x must be finite, increasing" +
                                      (chart.log_x ? " and positive" : ""));
            Range x_range;   // one point sits in the middle
            x_range.low = points > 1 ? xs.front() : chart.log_x ? xs.front() / 2 : xs.front() - 1;
            x_range.high = points > 1 ? xs[points - 1] : chart.log_x ? xs.front() * 2 : xs.front() + 1;
            const Frame frame = frame_at(left, top, width, height, x_range, values.padded(), chart.log_x, chart.log_y);

            std::ostringstream svg;
            frame.draw(svg, chart.title, chart.x_label, chart.y_label,
                       std::vector<double>(xs.begin(), xs.begin() + points), left, top, width, height);
            for (std::size_t s = 0; s < chart.series.size(); ++s)
            {
                const Series& series = chart.series[s];
                if (!series.spread.empty())   // the band: along the upper edge, back along the lower
                {
                    svg << "<polygon fill='" << colour(s) << "' fill-opacity='0.18' stroke='none' points='";
                    for (std::size_t i = 0; i < series.values.size() && i < series.spread.size(); ++i)
                        svg << frame.x_at(xs[i]) << ',' << frame.y_at(series.values[i] + series.spread[i]) << ' ';
                    for (std::size_t i = std::min(series.values.size(), series.spread.size()); i-- > 0;)
                        svg << frame.x_at(xs[i]) << ','
                            << frame.y_at(band_low(chart, series.values[i], series.spread[i])) << ' ';
                    svg << "'/>\n";
                }
                svg << "<polyline fill='none' stroke='" << colour(s) << "' stroke-width='2' points='";
                for (std::size_t i = 0; i < series.values.size(); ++i)
                    if (std::isfinite(series.values[i]))
                        svg << frame.x_at(xs[i]) << ',' << frame.y_at(series.values[i]) << ' ';
                svg << "'/>\n";
                frame.legend(svg, s, series.name, false);
            }
            for (const Marker& marker : chart.markers)
            {
                const double x = frame.x_at(marker.x);
                svg << "<line x1='" << x << "' x2='" << x << "' y1='" << frame.plot_top << "' y2='"
                    << frame.plot_top + frame.plot_height << "' stroke='#444' stroke-dasharray='5,4'/>\n<text x='"
                    << x + 4 << "' y='" << frame.plot_top + frame.plot_height - 8 << "' font-size='11'>" << marker.label
                    << "</text>\n";
            }
            return svg.str();
        }

        inline std::string document(double width, double height, const std::string& body)
        {
            std::ostringstream svg;
            svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
                << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n"
                << body << "</svg>\n";
            return svg.str();
        }

        inline void write_file(const char* what, const std::string& path, const std::string& svg)
        {
            std::ofstream out(path);
            if (!out)
                throw io_error(std::string(what) + ": cannot open " + path + " for writing");
            out << svg;
        }
    }

    // The charts side by side, as an SVG document.
    inline std::string to_svg(const std::vector<LineChart>& charts, double chart_width = 420, double chart_height = 320)
    {
        std::string body;
        for (std::size_t i = 0; i < charts.size(); ++i)
            body += detail::chart_svg(charts[i], chart_width * static_cast<double>(i), 0, chart_width, chart_height);
        return detail::document(chart_width * static_cast<double>(charts.size()), chart_height, body);
    }

    inline void save_svg(const std::string& path, const std::vector<LineChart>& charts)
    {
        detail::write_file("save_svg", path, to_svg(charts));
    }

    inline std::string to_svg(const ScatterChart& chart, double width = 560, double height = 480)
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
        // Room on the right for the legend.
        const detail::Frame frame =
            detail::frame_at(0, 0, width - 120, height, x_range.padded(), y_range.padded(), false, false);
        std::vector<double> x_ticks;
        for (int tick = 0; tick <= 4; ++tick)
            x_ticks.push_back(frame.x_range.low + (frame.x_range.high - frame.x_range.low) * tick / 4.0);
        std::ostringstream svg;
        frame.draw(svg, chart.title, chart.x_label, chart.y_label, x_ticks, 0, 0, width - 120, height);
        for (std::size_t i = 0; i < chart.x.size(); ++i)
            if (std::isfinite(chart.x[i]) && std::isfinite(chart.y[i]))
                svg << "<circle cx='" << frame.x_at(chart.x[i]) << "' cy='" << frame.y_at(chart.y[i])
                    << "' r='2' fill-opacity='0.6' fill='" << detail::colour(chart.group[i]) << "'/>\n";
        for (std::size_t g = 0; g < chart.group_names.size(); ++g)
            svg << "<circle cx='" << width - 110 << "' cy='" << 46 + 16.0 * g << "' r='4' fill='" << detail::colour(g)
                << "'/>\n<text x='" << width - 100 << "' y='" << 50 + 16.0 * g << "' font-size='11'>"
                << chart.group_names[g] << "</text>\n";
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
            << "' y='18' text-anchor='middle' font-size='15'>" << grid.title << "</text>\n";
        svg << "<rect x='" << label_width << "' y='" << top << "' width='" << columns * cell_width << "' height='"
            << rows * cell_height << "' fill='black'/>\n";
        for (std::size_t r = 0; r < rows && r < grid.row_labels.size(); ++r)
            svg << "<text x='" << label_width - 6 << "' y='" << top + (r + 0.5) * cell_height + 4
                << "' text-anchor='end' font-size='12'>" << grid.row_labels[r] << "</text>\n";
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
