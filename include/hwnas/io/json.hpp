#pragma once
// Thin helpers over nlohmann/json: read and write files, and typed member
// access, with hwnas errors that name the file (or document) and the position.
// Kept out of gram.hpp: only the code that writes results includes it.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hwnas/error.hpp"
#include "hwnas/io/atomic_file.hpp"

namespace hwnas {

using json = nlohmann::json;

namespace detail {
// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
inline std::string json_message(const nlohmann::json::exception& e) {
    const std::string_view w = e.what();
    const auto p = w.find("] ");
    return std::string(p == std::string_view::npos ? w : w.substr(p + 2));
}
}  // namespace detail

// Parses text; where names the source in the error ("config", a path).
inline json parse_json(std::string_view text, std::string_view where) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw io_error(fmt::format("{}: {}", where, detail::json_message(e)));
    }
}

// Reads and parses a JSON file; io_error names the file and the parse position.
inline json read_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(fmt::format("read_json: cannot open '{}' ({})", path, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw io_error(fmt::format("read_json: reading '{}' failed", path));
    return parse_json(text.str(), path);
}

// Writes j to path (indented) atomically: a reader sees the old file or the
// whole new one, never half of it.
inline void write_json(const std::string& path, const json& j, int indent = 2) {
    std::string text;
    try {
        text = j.dump(indent);
    } catch (const json::exception& e) {
        throw io_error(fmt::format("write_json: cannot serialize for '{}': {}", path, detail::json_message(e)));
    }
    text += '\n';
    write_file_atomically(path, text);
}

// The member key of object j converted to T; where names the document.
// Throws config_error when j is not an object, the key is missing, or the
// value has another type.
template <class T>
T json_value(const json& j, std::string_view key, std::string_view where) {
    if (!j.is_object()) throw config_error(fmt::format("{}: expected an object, got {}", where, j.type_name()));
    const auto it = j.find(key);
    if (it == j.end()) throw config_error(fmt::format("{}: missing key '{}'", where, key));
    try {
        return it->template get<T>();
    } catch (const json::exception& e) {
        throw config_error(fmt::format("{}: key '{}' holds {} ({})", where, key, it->type_name(),
                                       detail::json_message(e)));
    }
}

// As json_value, but fallback when the key is absent.
template <class T>
T json_value(const json& j, std::string_view key, std::string_view where, T fallback) {
    if (j.is_object() && !j.contains(key)) return fallback;
    return json_value<T>(j, key, where);
}

}  // namespace hwnas
