#pragma once
// A small command-line parser for the examples: --name value and --flag
// options, declared with defaults and help text; unknown options and bad
// values are config_errors that name the option.
#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"

namespace hwnas {

class cli {
public:
    explicit cli(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

    // Declares --name with a default value ("" means required when required is true).
    cli& option(const std::string& name, std::string default_value, std::string help, bool required = false) {
        opts_[name] = {std::move(default_value), std::move(help), false, required, false};
        order_.push_back(name);
        return *this;
    }
    // Declares a boolean --name (false unless given).
    cli& flag(const std::string& name, std::string help) {
        opts_[name] = {"0", std::move(help), true, false, false};
        order_.push_back(name);
        return *this;
    }

    // Parses argv; returns false when --help was asked for (usage() says what to print).
    bool parse(int argc, const char* const* argv) {
        for (int i = 1; i < argc; ++i) {
            const std::string_view a = argv[i];
            if (a == "--help" || a == "-h") return false;
            if (!a.starts_with("--")) throw config_error(fmt::format("{}: unexpected argument '{}'", program_, a));
            const std::string_view body = a.substr(2);
            const auto eq = body.find('=');
            std::string name(body.substr(0, eq)), value;
            if (eq != std::string_view::npos) value = std::string(body.substr(eq + 1));
            auto it = opts_.find(name);
            if (it == opts_.end())
                throw config_error(fmt::format("{}: unknown option --{} (see --help)", program_, name));
            if (it->second.is_flag) {
                it->second.value.assign(1, '1');  // not = "1": GCC 12 false -Wstringop-overflow (PR 105329)
            } else {
                if (value.empty()) {
                    if (i + 1 >= argc) throw config_error(fmt::format("{}: option --{} needs a value", program_, name));
                    value = argv[++i];
                }
                it->second.value = value;
            }
            it->second.given = true;
        }
        for (const auto& [name, o] : opts_)
            if (o.required && !o.given)
                throw config_error(fmt::format("{}: option --{} is required ({})", program_, name, o.help));
        return true;
    }

    std::string usage() const {
        std::string s = fmt::format("{}: {}\noptions:\n", program_, summary_);
        for (const auto& name : order_) {
            const auto& o = opts_.at(name);
            s += fmt::format("  --{:<22} {}{}\n", name + (o.is_flag ? "" : " V"), o.help,
                             o.is_flag || o.value.empty() ? "" : fmt::format(" (default {})", o.value));
        }
        return s;
    }

    const std::string& str(const std::string& name) const { return get(name).value; }
    bool given(const std::string& name) const { return get(name).given; }
    bool flag_set(const std::string& name) const { return get(name).value == "1"; }
    long long integer(const std::string& name) const { return number<long long>(name); }
    double real(const std::string& name) const { return number<double>(name); }
    // A comma-separated list of numbers, e.g. --lambdas 0,0.1,1.
    std::vector<double> reals(const std::string& name) const {
        const std::string& v = get(name).value;
        std::vector<double> out;
        for (std::size_t at = 0; at <= v.size();) {
            const std::size_t end = std::min(v.find(',', at), v.size());
            double x = 0;
            auto [p, ec] = std::from_chars(v.data() + at, v.data() + end, x);
            if (ec != std::errc() || p != v.data() + end || end == at)
                throw config_error(fmt::format("{}: option --{} expects comma-separated numbers, got '{}'", program_,
                                               name, v));
            out.push_back(x);
            at = end + 1;
        }
        return out;
    }

private:
    struct opt {
        std::string value, help;
        bool is_flag, required, given;
    };
    const opt& get(const std::string& name) const {
        auto it = opts_.find(name);
        if (it == opts_.end()) throw config_error(fmt::format("{}: option --{} was never declared", program_, name));
        return it->second;
    }
    template <class T>
    T number(const std::string& name) const {
        const std::string& v = get(name).value;
        T out{};
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
        if (ec != std::errc() || p != v.data() + v.size())
            throw config_error(fmt::format("{}: option --{} expects a number, got '{}'", program_, name, v));
        return out;
    }

    std::string program_, summary_;
    std::map<std::string, opt> opts_;
    std::vector<std::string> order_;
};

// An example's main: runs body() and turns an exception into one line
// "program: error: what" on stderr and exit code 2 (examples print; the
// library never does).
template <class Body>
int run_example(const char* program, Body&& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        fmt::print(stderr, "{}: error: {}\n", program, e.what());
        return 2;
    }
}

}  // namespace hwnas
