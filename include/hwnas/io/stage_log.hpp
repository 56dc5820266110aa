#pragma once
// The finished stages of a long multi-stage run (profile, search, prune,
// fine-tune, ...), kept in one JSON file that is rewritten atomically after
// every stage, so a killed run started again with the same settings skips
// what it finished and picks up the rest (each stage resumes its own work
// from its own checkpoint). The settings are stored with the stages: a run
// started with other settings on the same file is refused, because mixing
// the results of two configurations would be silent garbage.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hwnas/error.hpp"
#include "hwnas/io/atomic_file.hpp"
#include "hwnas/io/json.hpp"

namespace hwnas {

class stage_log {
public:
    // Loads file if it exists; settings must then equal the stored ones.
    stage_log(std::filesystem::path file, nlohmann::json settings) : file_(std::move(file)) {
        if (!std::filesystem::exists(file_)) {
            state_ = {{"settings", std::move(settings)}, {"stages", nlohmann::json::object()}};
            return;
        }
        state_ = read_json(file_.string());
        const std::string where = fmt::format("stage_log {}", file_.string());
        const nlohmann::json stored = json_value<nlohmann::json>(state_, "settings", where);
        require(json_value<nlohmann::json>(state_, "stages", where).is_object(), "{}: 'stages' is not an object", where);
        for (const auto& [key, value] : settings.items()) {
            const auto it = stored.find(key);
            require(it != stored.end() && *it == value,
                    "{}: the run there used {} = {}, this one {}; use another output directory or delete it", where,
                    key, it == stored.end() ? std::string("(unset)") : it->dump(), value.dump());
        }
        require(stored.size() == settings.size(), "{}: the run there has {} settings, this one {}", where,
                stored.size(), settings.size());
    }

    bool done(std::string_view name) const { return state_["stages"].contains(std::string(name)); }

    // The stored result of a finished stage.
    const nlohmann::json& result(std::string_view name) const {
        require(done(name), "stage_log {}: stage '{}' has not finished", file_.string(), name);
        return state_["stages"][std::string(name)]["result"];
    }
    // Wall seconds the stage took (0 if it has not finished).
    double seconds(std::string_view name) const {
        return done(name) ? state_["stages"][std::string(name)]["seconds"].get<double>() : 0.0;
    }

    // The stored result of name, or f()'s after running it and recording it.
    // A stage run over several starts counts only the last start's time; a
    // stage that needs its total (a resumed search) reports it in its result.
    const nlohmann::json& run(const std::string& name, const std::function<nlohmann::json()>& f) {
        if (!done(name)) {
            const auto t0 = std::chrono::steady_clock::now();
            nlohmann::json r = f();
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            state_["stages"][name] = {{"result", std::move(r)}, {"seconds", s}};
            write_file_atomically(file_, state_.dump(2));
        }
        return result(name);
    }

private:
    std::filesystem::path file_;
    nlohmann::json state_;
};

}  // namespace hwnas
