// Line charts as SVG (a text format any browser shows): learning curves and the like, with no plotting
// library.  Several charts in one file are laid out side by side.
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
        std::vector<double> values;   // plotted at x = 1, 2, ... (epochs)
    };

    struct LineChart
    {
        std::string title, x_label, y_label;
        std::vector<Series> series;
    };

    namespace detail
    {
        inline std::string number(double value)
        {
            std::ostringstream out;
            out << std::setprecision(4) << value;
            return out.str();
        }

        inline std::string chart_svg(const LineChart& chart, double left, double top, double width, double height)
        {
            static const char* const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
            double low = INFINITY, high = -INFINITY;
            std::size_t points = 0;
            for (const auto& s : chart.series)
                for (double v : s.values)
                    if (std::isfinite(v))
                    {
                        low = std::min(low, v);
                        high = std::max(high, v);
                        points = std::max(points, s.values.size());
                    }
            if (points == 0)
                throw value_error("LineChart '" + chart.title + "': no finite values to plot");
            if (high == low)
            {
                high += 0.5;
                low -= 0.5;
            }
            const double pad = 0.05 * (high - low);
            low -= pad;
            high += pad;
            const double plot_left = left + 60, plot_top = top + 30, plot_width = width - 80, plot_height = height - 80;
            auto x_at = [&](std::size_t i) {
                return plot_left + (points == 1 ? plot_width / 2 : plot_width * static_cast<double>(i) / static_cast<double>(points - 1));
            };
            auto y_at = [&](double v) { return plot_top + plot_height * (high - v) / (high - low); };

            std::ostringstream svg;
            svg << "<text x='" << left + width / 2 << "' y='" << top + 18 << "' text-anchor='middle' font-size='15'>"
                << chart.title << "</text>\n";
            svg << "<rect x='" << plot_left << "' y='" << plot_top << "' width='" << plot_width << "' height='"
                << plot_height << "' fill='none' stroke='#888'/>\n";
            for (int tick = 0; tick <= 4; ++tick)
            {
                const double v = low + (high - low) * tick / 4.0, y = y_at(v);
                svg << "<line x1='" << plot_left << "' x2='" << plot_left + plot_width << "' y1='" << y << "' y2='" << y
                    << "' stroke='#eee'/>\n<text x='" << plot_left - 6 << "' y='" << y + 4
                    << "' text-anchor='end' font-size='11'>" << number(v) << "</text>\n";
            }
            for (std::size_t i = 0; i < points; ++i)
                svg << "<text x='" << x_at(i) << "' y='" << plot_top + plot_height + 16
                    << "' text-anchor='middle' font-size='11'>" << i + 1 << "</text>\n";
            svg << "<text x='" << plot_left + plot_width / 2 << "' y='" << top + height - 20
                << "' text-anchor='middle' font-size='12'>" << chart.x_label << "</text>\n";
            svg << "<text transform='translate(" << left + 14 << ' ' << plot_top + plot_height / 2
                << ") rotate(-90)' text-anchor='middle' font-size='12'>" << chart.y_label << "</text>\n";
            for (std::size_t s = 0; s < chart.series.size(); ++s)
            {
                const char* colour = colours[s % 6];
                svg << "<polyline fill='none' stroke='" << colour << "' stroke-width='2' points='";
                for (std::size_t i = 0; i < chart.series[s].values.size(); ++i)
                    if (std::isfinite(chart.series[s].values[i]))
                        svg << x_at(i) << ',' << y_at(chart.series[s].values[i]) << ' ';
                svg << "'/>\n";
                const double legend_y = plot_top + 16 + 16.0 * static_cast<double>(s);
                svg << "<line x1='" << plot_left + plot_width - 110 << "' x2='" << plot_left + plot_width - 90
                    << "' y1='" << legend_y - 4 << "' y2='" << legend_y - 4 << "' stroke='" << colour
                    << "' stroke-width='2'/>\n<text x='" << plot_left + plot_width - 85 << "' y='" << legend_y
                    << "' font-size='11'>" << chart.series[s].name << "</text>\n";
            }
            return svg.str();
        }
    }

    // The charts side by side, as an SVG document.
    inline std::string to_svg(const std::vector<LineChart>& charts, double chart_width = 420, double chart_height = 320)
    {
        std::ostringstream svg;
        svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << chart_width * static_cast<double>(charts.size())
            << "' height='" << chart_height << "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
        for (std::size_t i = 0; i < charts.size(); ++i)
            svg << detail::chart_svg(charts[i], chart_width * static_cast<double>(i), 0, chart_width, chart_height);
        svg << "</svg>\n";
        return svg.str();
    }

    inline void save_svg(const std::string& path, const std::vector<LineChart>& charts)
    {
        std::ofstream out(path);
        if (!out)
            throw io_error("save_svg: cannot open " + path + " for writing");
        out << to_svg(charts);
    }
}
