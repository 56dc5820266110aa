#include <doctest/doctest.h>

#include <filesystem>

#include <hwnas/io/stage_log.hpp>

namespace test_stage_log {

using namespace hwnas;

TEST_CASE("stage_log skips finished stages after a restart and refuses other settings") {
    const auto dir = std::filesystem::temp_directory_path() / "hwnas_test_stage_log";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto file = dir / "stages.json";
    const nlohmann::json settings = {{"seed", 1}, {"budget_ms", 0.5}};
    int runs = 0;
    {
        stage_log log(file, settings);
        CHECK_FALSE(log.done("profile"));
        CHECK(log.run("profile", [&] { ++runs; return nlohmann::json{{"ms", 2.5}}; })["ms"] == 2.5);
        CHECK(log.done("profile"));
        CHECK(log.seconds("profile") >= 0);
        CHECK_THROWS_WITH_AS(log.result("search"),
                             ("stage_log " + file.string() + ": stage 'search' has not finished").c_str(), config_error);
    }
    {
        stage_log again(file, settings);  // a restarted run
        CHECK(again.run("profile", [&] { ++runs; return nlohmann::json{{"ms", 9.0}}; })["ms"] == 2.5);
        CHECK(runs == 1);
        CHECK_FALSE(again.done("search"));
    }
    CHECK_THROWS_WITH_AS(stage_log(file, {{"seed", 2}, {"budget_ms", 0.5}}),
                         ("stage_log " + file.string() +
                          ": the run there used seed = 1, this one 2; use another output directory or delete it")
                             .c_str(),
                         config_error);
    CHECK_THROWS_WITH_AS(stage_log(file, {{"seed", 1}}),
                         ("stage_log " + file.string() + ": the run there has 2 settings, this one 1").c_str(),
                         config_error);
    std::filesystem::remove_all(dir);
}

}  // namespace test_stage_log
