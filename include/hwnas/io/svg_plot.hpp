#pragma once
// A small SVG plot writer: scatter and line series on linear axes with
// "nice" ticks (1, 2, 5 x 10^k), axis labels, a title, a legend, and an
// optional y = x diagonal with a shaded +-band (predicted vs measured).
// Self-contained SVG 1.1 text, viewable in any browser.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/io/atomic_file.hpp"

namespace hwnas {

namespace detail {

inline std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

// Axis range widened to whole multiples of a 1-2-5 step giving about `target` ticks.
struct nice_axis {
    double lo = 0, hi = 1, step = 0.2;

    nice_axis() = default;
    nice_axis(double min, double max, int target = 6) {
        if (!(max > min)) {  // one value (or none): a unit-wide range around it
            const double pad = min == 0 ? 1.0 : std::abs(min) * 0.1;
            min -= pad;
            max += pad;
        }
        const double raw = (max - min) / target;
        const double mag = std::pow(10.0, std::floor(std::log10(raw)));
        const double f = raw / mag;
        step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
        lo = std::floor(min / step) * step;
        hi = std::ceil(max / step) * step;
    }
    // Digits after the point that show the step exactly.
    int decimals() const { return std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9))); }
};

// Appends formatted text to o.
template <class... A>
void append(std::string& o, fmt::format_string<A...> f, A&&... a) {
    fmt::format_to(std::back_inserter(o), f, std::forward<A>(a)...);
}

}  // namespace detail

class svg_plot {
public:
    svg_plot(std::string title, std::string x_label, std::string y_label, int width = 720, int height = 540)
        : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)), width_(width),
          height_(height) {
        require(width >= 200 && height >= 150, "svg_plot: size {}x{}, expected at least 200x150", width, height);
    }

    // Points (x[i], y[i]) drawn as dots. color: any SVG color; empty = next of the palette.
    svg_plot& scatter(std::string label, std::span<const double> x, std::span<const double> y,
                      std::string color = "") {
        return add(std::move(label), x, y, std::move(color), false);
    }
    // Points joined in the given order.
    svg_plot& line(std::string label, std::span<const double> x, std::span<const double> y, std::string color = "") {
        return add(std::move(label), x, y, std::move(color), true);
    }
    // Draws y = x and shades y within x * (1 +- band) (no shading for band 0);
    // both axes then share one range so the diagonal is at 45 degrees.
    svg_plot& diagonal(double band = 0.1) {
        require(band >= 0 && band < 1, "svg_plot::diagonal: band {}, expected 0 <= band < 1", band);
        diagonal_ = true;
        band_ = band;
        return *this;
    }

    std::string str() const;
    // Writes str() to path atomically; throws io_error when that fails.
    void save(const std::string& path) const { write_file_atomically(path, str()); }

private:
    struct series {
        std::string label, color;
        std::vector<double> x, y;
        bool joined;
    };

    svg_plot& add(std::string label, std::span<const double> x, std::span<const double> y, std::string color,
                  bool joined) {
        require(x.size() == y.size(), "svg_plot: series '{}' has {} x values and {} y values, expected equal counts",
                label, x.size(), y.size());
        for (std::size_t i = 0; i < x.size(); ++i)
            require(std::isfinite(x[i]) && std::isfinite(y[i]),
                    "svg_plot: series '{}' point {} is ({}, {}), expected finite values", label, i, x[i], y[i]);
        static constexpr const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
        if (color.empty()) color = palette[series_.size() % std::size(palette)];
        series_.push_back({std::move(label), std::move(color), {x.begin(), x.end()}, {y.begin(), y.end()}, joined});
        return *this;
    }

    std::string title_, x_label_, y_label_;
    int width_, height_;
    bool diagonal_ = false;
    double band_ = 0;
    std::vector<series> series_;
};

// ---------------------------------------------------------------------------
// implementation

inline std::string svg_plot::str() const {
    constexpr double left = 70, right = 20, top = 40, bottom = 55;
    const double pw = width_ - left - right, ph = height_ - top - bottom;

    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
    for (const auto& s : series_)
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            xmin = std::min(xmin, s.x[i]);
            xmax = std::max(xmax, s.x[i]);
            ymin = std::min(ymin, s.y[i]);
            ymax = std::max(ymax, s.y[i]);
        }
    if (!(xmin <= xmax)) xmin = xmax = ymin = ymax = 0;  // no points
    if (diagonal_) xmin = ymin = std::min(xmin, ymin), xmax = ymax = std::max(xmax, ymax);
    const detail::nice_axis ax(xmin, xmax), ay(ymin, ymax);
    auto px = [&](double x) { return left + (x - ax.lo) / (ax.hi - ax.lo) * pw; };
    auto py = [&](double y) { return top + ph - (y - ay.lo) / (ay.hi - ay.lo) * ph; };

    std::string o;
    detail::append(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    detail::append(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n",
        width_, height_);
    detail::append(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    detail::append(o, "<defs><clipPath id=\"plot-area\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>"
        "</clipPath></defs>\n",
        left, top, pw, ph);
    detail::append(o, "<text x=\"{:.1f}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", left + pw / 2,
        detail::xml_escape(title_));

    // Grid and ticks.
    detail::append(o, "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
    const int nx = static_cast<int>(std::lround((ax.hi - ax.lo) / ax.step));
    const int ny = static_cast<int>(std::lround((ay.hi - ay.lo) / ay.step));
    for (int i = 0; i <= nx; ++i)
        detail::append(o, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", px(ax.lo + i * ax.step), top,
            top + ph);
    for (int i = 0; i <= ny; ++i)
        detail::append(o, "<line x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\"/>\n", py(ay.lo + i * ay.step), left,
            left + pw);
    detail::append(o, "</g>\n<g fill=\"#333\">\n");
    for (int i = 0; i <= nx; ++i)
        detail::append(o, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:.{}f}</text>\n", px(ax.lo + i * ax.step),
            top + ph + 16, ax.lo + i * ax.step, ax.decimals());
    for (int i = 0; i <= ny; ++i)
        detail::append(o, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.{}f}</text>\n", left - 6,
            py(ay.lo + i * ay.step) + 4, ay.lo + i * ay.step, ay.decimals());
    detail::append(o, "</g>\n");
    detail::append(o, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, height_ - 14.0,
        detail::xml_escape(x_label_));
    detail::append(o, "<text transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", top + ph / 2,
        detail::xml_escape(y_label_));

    // Data, clipped to the plot area.
    detail::append(o, "<g clip-path=\"url(#plot-area)\">\n");
    if (diagonal_) {
        if (band_ > 0)
            detail::append(o, "<polygon points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"#999\" "
                "fill-opacity=\"0.2\"/>\n",
                px(ax.lo), py(ax.lo * (1 - band_)), px(ax.hi), py(ax.hi * (1 - band_)), px(ax.hi),
                py(ax.hi * (1 + band_)), px(ax.lo), py(ax.lo * (1 + band_)));
        detail::append(o, "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" "
            "stroke-dasharray=\"4 3\"/>\n",
            px(ax.lo), py(ax.lo), px(ax.hi), py(ax.hi));
    }
    for (const auto& s : series_) {
        if (s.joined) {
            detail::append(o, "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"", s.color);
            for (std::size_t i = 0; i < s.x.size(); ++i) detail::append(o, "{}{:.1f},{:.1f}", i ? " " : "", px(s.x[i]), py(s.y[i]));
            detail::append(o, "\"/>\n");
        } else {
            detail::append(o, "<g fill=\"{}\" fill-opacity=\"0.5\">\n", s.color);
            for (std::size_t i = 0; i < s.x.size(); ++i)
                detail::append(o, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\"/>\n", px(s.x[i]), py(s.y[i]));
            detail::append(o, "</g>\n");
        }
    }
    detail::append(o, "</g>\n");
    detail::append(o, "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#333\"/>\n", left,
        top, pw, ph);

    // Legend, top left inside the plot.
    std::vector<std::pair<std::string, std::string>> entries;  // label, swatch
    for (const auto& s : series_)
        entries.emplace_back(detail::xml_escape(s.label),
                             s.joined ? fmt::format("<line x1=\"0\" y1=\"0\" x2=\"14\" y2=\"0\" stroke=\"{}\" "
                                                    "stroke-width=\"2\"/>",
                                                    s.color)
                                      : fmt::format("<circle cx=\"7\" cy=\"0\" r=\"4\" fill=\"{}\"/>", s.color));
    if (diagonal_) {
        entries.emplace_back("y = x", "<line x1=\"0\" y1=\"0\" x2=\"14\" y2=\"0\" stroke=\"#555\" "
                                      "stroke-dasharray=\"4 3\"/>");
        if (band_ > 0)
            entries.emplace_back(fmt::format("&#177;{:g}%", band_ * 100),
                                 "<rect x=\"0\" y=\"-5\" width=\"14\" height=\"10\" fill=\"#999\" "
                                 "fill-opacity=\"0.2\"/>");
    }
    if (!entries.empty()) {
        std::size_t longest = 0;
        for (const auto& e : entries) longest = std::max(longest, e.first.size());
        detail::append(o, "<g transform=\"translate({:.1f} {:.1f})\">\n", left + 10, top + 10);
        detail::append(o, "<rect width=\"{:.1f}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
            30 + 7.0 * static_cast<double>(longest), 18 * entries.size() + 6);
        for (std::size_t i = 0; i < entries.size(); ++i)
            detail::append(o, "<g transform=\"translate(6 {})\">{}<text x=\"20\" y=\"4\">{}</text></g>\n", 14 + 18 * i,
                entries[i].second, entries[i].first);
        detail::append(o, "</g>\n");
    }
    detail::append(o, "</svg>\n");
    return o;
}

}  // namespace hwnas
