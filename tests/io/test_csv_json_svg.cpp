#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <hwnas/io/csv.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/io/svg_plot.hpp>

namespace test_csv_json_svg {

using namespace hwnas;

namespace {

// A fresh scratch directory per test case, removed at the end.
struct scratch_dir {
    std::filesystem::path path;
    explicit scratch_dir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("hwnas_io_" + name + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& file, const std::string& text) const {
        const std::string p = (path / file).string();
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("read_csv parses header and rows with quotes and CRLF and parses numbers") {
    scratch_dir dir("csv_read");
    const auto p = dir.write("a.csv", "id,name,ms\r\n0,\"a,b\",1.5\r\n\r\n1,\"say \"\"hi\"\"\", +2e-3 \r\n");
    const csv_table t = read_csv(p);
    CHECK(t.header() == std::vector<std::string>{"id", "name", "ms"});
    REQUIRE(t.rows() == 2);
    CHECK(t.cell(0, 1) == "a,b");
    CHECK(t.cell(1, 1) == "say \"hi\"");
    CHECK(t.line(1) == 4);
    CHECK(t.numbers("ms") == std::vector<double>{1.5, 2e-3});
    CHECK(t.has_column("name"));
    CHECK_FALSE(t.has_column("nope"));
}

TEST_CASE("read_csv errors name the file and line and column") {
    scratch_dir dir("csv_errors");
    const std::string missing = dir.file("missing.csv");
    CHECK_THROWS_WITH_AS(read_csv(missing), ("read_csv: cannot open '" + missing + "' (No such file or directory)").c_str(),
                         io_error);

    const auto ragged = dir.write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    CHECK_THROWS_WITH_AS(read_csv(ragged), (ragged + ":3: 2 fields, expected 3 (as many as the header has columns)").c_str(),
                         io_error);

    const auto quote = dir.write("quote.csv", "a,b\n1,\"2\n");
    CHECK_THROWS_WITH_AS(read_csv(quote),
                         (quote + ":2: a quoted field is not closed, expected '\"' before the line end").c_str(),
                         io_error);

    const auto empty = dir.write("empty.csv", "\n\n");
    CHECK_THROWS_WITH_AS(read_csv(empty), ("read_csv: '" + empty + "' is empty, expected a header line").c_str(),
                         io_error);

    const auto bad = dir.write("bad.csv", "a,b\n1,2\n3,x7\n5,nan\n");
    const csv_table t = read_csv(bad);
    CHECK_THROWS_WITH_AS(t.numbers("b"), (bad + ":3: column 'b' holds 'x7', expected a finite number").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(t.number(2, 1), (bad + ":4: column 'b' holds 'nan', expected a finite number").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(t.column("ms"), (bad + ": no column 'ms' (columns: a, b)").c_str(), io_error);
}

TEST_CASE("csv_writer quotes what needs quoting and reads back") {
    scratch_dir dir("csv_write");
    const std::string p = dir.file("out.csv");
    csv_writer w(p, {"row", "text", "value"});
    w.write_row({"0", "plain", csv_writer::cell(0.1)});
    w.write_row({"1", "a,\"b\"", csv_writer::cell(1e-300)});
    CHECK_THROWS_WITH_AS(w.write_row({"2"}),
                         ("csv_writer: a row of 1 fields for '" + p + "', expected 3 (the header's)").c_str(),
                         config_error);
    w.close();
    const csv_table t = read_csv(p);
    REQUIRE(t.rows() == 2);
    CHECK(t.cell(1, 1) == "a,\"b\"");
    CHECK(t.numbers("value") == std::vector<double>{0.1, 1e-300});  // exact round trip
    CHECK_THROWS_WITH_AS(csv_writer(dir.file("no/such/dir.csv"), {"a"}),
                         ("csv_writer: cannot create '" + dir.file("no/such/dir.csv") + "' (No such file or directory)")
                             .c_str(),
                         io_error);
}

TEST_CASE("json round trip and error messages") {
    scratch_dir dir("json");
    const std::string p = dir.file("r.json");
    const json j = {{"name", "mlp"}, {"mape", 1.25}, {"sizes", {256, 256}}, {"nested", {{"ok", true}}}};
    write_json(p, j);
    CHECK(read_json(p) == j);
    CHECK(json_value<double>(j, "mape", "r.json") == 1.25);
    CHECK(json_value<int>(j, "epochs", "r.json", 7) == 7);
    CHECK_THROWS_WITH_AS(json_value<double>(j, "epochs", "r.json"), "r.json: missing key 'epochs'", config_error);
    CHECK_THROWS_WITH_AS(json_value<double>(j, "name", "r.json"),
                         "r.json: key 'name' holds string (type must be number, but is string)", config_error);
    CHECK_THROWS_WITH_AS(json_value<double>(j["sizes"], "x", "r.json"), "r.json: expected an object, got array",
                         config_error);

    const auto bad = dir.write("bad.json", "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}\n");
    CHECK_THROWS_WITH_AS(read_json(bad),
                         (bad + ": parse error at line 3, column 14: syntax error while parsing value - unexpected ','; "
                                "expected '[', '{', or a literal")
                             .c_str(),
                         io_error);
    const std::string missing = dir.file("missing.json");
    CHECK_THROWS_WITH_AS(read_json(missing),
                         ("read_json: cannot open '" + missing + "' (No such file or directory)").c_str(), io_error);
}

TEST_CASE("svg_plot writes well-formed svg holding the points and legend") {
    const std::vector<double> x{1, 2, 3, 4}, y{1.1, 1.9, 3.2, 3.9}, lx{0, 5}, ly{0, 5};
    svg_plot plot("pred <vs> measured", "measured & ms", "predicted");
    plot.scatter("mlp", x, y).line("fit", lx, ly, "black").diagonal(0.1);
    const std::string s = plot.str();
    CHECK(s.rfind("<?xml", 0) == 0);
    CHECK(count(s, "<circle cx=") == x.size() + 1);  // the points and the legend swatch
    CHECK(count(s, "<polyline") == 1);
    CHECK(count(s, "<polygon") == 1);  // the +-10% band
    CHECK(s.find("pred &lt;vs&gt; measured") != std::string::npos);
    CHECK(s.find("measured &amp; ms") != std::string::npos);
    CHECK(s.find("&#177;10%") != std::string::npos);
    // Balanced tags: every opened element is closed or self-closing.
    CHECK(count(s, "<svg") == count(s, "</svg>"));
    CHECK(count(s, "<g") == count(s, "</g>"));
    CHECK(count(s, "<text") == count(s, "</text>"));
    std::size_t open = 0, close = 0, self = 0;
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == '<' && s[i + 1] == '/') ++close;
        else if (s[i] == '<' && s[i + 1] != '?') ++open;
        if (s[i] == '/' && s[i + 1] == '>') ++self;
    }
    CHECK(open == close + self);

    scratch_dir dir("svg");
    plot.save(dir.file("p.svg"));
    CHECK(std::filesystem::file_size(dir.file("p.svg")) == s.size());

    const std::vector<double> bad{1, std::nan("")};
    CHECK_THROWS_WITH_AS(plot.scatter("bad", x, bad),
                         "svg_plot: series 'bad' has 4 x values and 2 y values, expected equal counts", config_error);
    CHECK_THROWS_WITH_AS(plot.scatter("bad", std::vector<double>{1, 2}, bad),
                         "svg_plot: series 'bad' point 1 is (2, nan), expected finite values", config_error);
    CHECK_THROWS_WITH_AS(plot.diagonal(1.5), "svg_plot::diagonal: band 1.5, expected 0 <= band < 1", config_error);
}

TEST_CASE("nice_axis picks 1-2-5 steps covering the data") {
    const detail::nice_axis a(0.13, 9.7);
    CHECK(a.step == doctest::Approx(2.0));
    CHECK(a.lo == 0.0);
    CHECK(a.hi == doctest::Approx(10.0));
    const detail::nice_axis b(3, 3);  // one value: widened around it
    CHECK(b.lo < 3);
    CHECK(b.hi > 3);
    CHECK(detail::nice_axis(0, 0.05).decimals() == 2);
}

}  // namespace test_csv_json_svg
