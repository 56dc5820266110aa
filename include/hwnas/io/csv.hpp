#pragma once
// CSV files: a reader that keeps every cell as text and parses numbers on
// request (so an error can name the file, line and column), and a writer.
// Format: comma separated, first line is the header, RFC 4180 quoting
// ("a,b" and "say ""hi""" are one field each), LF or CRLF line ends, blank
// lines ignored. A quoted field may not span lines.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"

namespace hwnas {

namespace detail {

// Splits one line into fields; throws io_error on a broken quote.
inline std::vector<std::string> split_csv_line(std::string_view line, const std::string& where) {
    std::vector<std::string> fields;
    std::string field;
    std::size_t i = 0;
    for (;;) {
        field.clear();
        if (i < line.size() && line[i] == '"') {
            ++i;
            for (;;) {
                if (i >= line.size())
                    throw io_error(fmt::format("{}: a quoted field is not closed, expected '\"' before the line end",
                                               where));
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += line[i++];
            }
            if (i < line.size() && line[i] != ',')
                throw io_error(fmt::format("{}: text after a closing quote, expected ',' or the line end", where));
        } else {
            const std::size_t end = std::min(line.find(',', i), line.size());
            field.assign(line.substr(i, end - i));
            i = end;
        }
        fields.push_back(field);
        if (i >= line.size()) break;
        ++i;  // the comma
    }
    return fields;
}

inline bool csv_needs_quotes(std::string_view s) {
    return s.find_first_of(",\"\r\n") != std::string_view::npos ||
           (!s.empty() && (s.front() == ' ' || s.back() == ' '));
}

}  // namespace detail

// A CSV file read into memory: a header and rows of text cells.
class csv_table {
public:
    // Reads path. Throws io_error when it cannot be opened, has no header,
    // or a row has a different number of fields than the header.
    static csv_table read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw io_error(fmt::format("read_csv: cannot open '{}' ({})", path, std::strerror(errno)));
        csv_table t;
        t.path_ = path;
        std::string line;
        std::size_t line_no = 0;
        bool have_header = false;
        while (std::getline(in, line)) {
            ++line_no;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.find_first_not_of(" \t") == std::string::npos) continue;
            const std::string where = fmt::format("{}:{}", path, line_no);
            auto fields = detail::split_csv_line(line, where);
            if (!have_header) {
                t.header_ = std::move(fields);
                have_header = true;
                continue;
            }
            if (fields.size() != t.header_.size())
                throw io_error(fmt::format("{}: {} fields, expected {} (as many as the header has columns)", where,
                                           fields.size(), t.header_.size()));
            t.cells_.insert(t.cells_.end(), std::make_move_iterator(fields.begin()),
                            std::make_move_iterator(fields.end()));
            t.lines_.push_back(line_no);
        }
        if (in.bad()) throw io_error(fmt::format("read_csv: reading '{}' failed", path));
        if (!have_header) throw io_error(fmt::format("read_csv: '{}' is empty, expected a header line", path));
        return t;
    }

    const std::string& path() const { return path_; }
    const std::vector<std::string>& header() const { return header_; }
    std::size_t rows() const { return lines_.size(); }
    std::size_t columns() const { return header_.size(); }
    // The 1-based line of the file that row r came from.
    std::size_t line(std::size_t r) const { return lines_.at(r); }

    bool has_column(std::string_view name) const { return find(name).has_value(); }
    // Index of the column called name; throws io_error naming the columns there are.
    std::size_t column(std::string_view name) const {
        if (auto c = find(name)) return *c;
        throw io_error(fmt::format("{}: no column '{}' (columns: {})", path_, name, fmt::join(header_, ", ")));
    }

    const std::string& cell(std::size_t r, std::size_t c) const { return cells_.at(r * columns() + c); }

    // The cell parsed as a finite number; throws io_error naming line and column.
    double number(std::size_t r, std::size_t c) const {
        const std::string& s = cell(r, c);
        const char* b = s.data();
        const char* e = s.data() + s.size();
        while (b < e && (*b == ' ' || *b == '\t')) ++b;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
        if (b < e && *b == '+') ++b;  // from_chars rejects a leading '+'
        double v = 0;
        const auto [p, ec] = std::from_chars(b, e, v);
        if (b == e || ec != std::errc() || p != e || !std::isfinite(v))
            throw io_error(fmt::format("{}:{}: column '{}' holds '{}', expected a finite number", path_, line(r),
                                       header_[c], s));
        return v;
    }
    // A whole column parsed as numbers.
    std::vector<double> numbers(std::string_view name) const {
        const std::size_t c = column(name);
        std::vector<double> v(rows());
        for (std::size_t r = 0; r < rows(); ++r) v[r] = number(r, c);
        return v;
    }

private:
    std::optional<std::size_t> find(std::string_view name) const {
        for (std::size_t c = 0; c < header_.size(); ++c)
            if (header_[c] == name) return c;
        return std::nullopt;
    }

    std::string path_;
    std::vector<std::string> header_;
    std::vector<std::string> cells_;  // row-major
    std::vector<std::size_t> lines_;
};

inline csv_table read_csv(const std::string& path) { return csv_table::read(path); }

// Writes a CSV file row by row. Numbers are written in the shortest form that
// reads back to the same double. close() (or the destructor, which cannot
// report) flushes; close() throws io_error when the write failed.
class csv_writer {
public:
    csv_writer(std::string path, std::span<const std::string> header) : path_(std::move(path)), out_(path_) {
        if (!out_) throw io_error(fmt::format("csv_writer: cannot create '{}' ({})", path_, std::strerror(errno)));
        columns_ = header.size();
        write_fields(header);
    }
    csv_writer(std::string path, std::initializer_list<std::string> header)
        : csv_writer(std::move(path), std::span<const std::string>(header.begin(), header.size())) {}

    void write_row(std::span<const std::string> fields) {
        if (fields.size() != columns_)
            throw config_error(fmt::format("csv_writer: a row of {} fields for '{}', expected {} (the header's)",
                                           fields.size(), path_, columns_));
        write_fields(fields);
    }
    void write_row(std::initializer_list<std::string> fields) {
        write_row(std::span<const std::string>(fields.begin(), fields.size()));
    }

    // Formats a number for a cell (shortest round-trip form).
    static std::string cell(double v) { return fmt::format("{}", v); }

    void close() {
        if (!out_.is_open()) return;
        out_.close();
        if (out_.fail()) throw io_error(fmt::format("csv_writer: writing '{}' failed", path_));
    }

private:
    void write_fields(std::span<const std::string> fields) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i) out_ << ',';
            const std::string& f = fields[i];
            if (!detail::csv_needs_quotes(f)) {
                out_ << f;
                continue;
            }
            out_ << '"';
            for (char ch : f) {
                if (ch == '"') out_ << '"';
                out_ << ch;
            }
            out_ << '"';
        }
        out_ << '\n';
    }

    std::string path_;
    std::ofstream out_;
    std::size_t columns_ = 0;
};

}  // namespace hwnas
