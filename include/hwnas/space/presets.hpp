#pragma once
// The named preset spaces, for examples and files that name a space.
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/space/cell_space.hpp"
#include "hwnas/space/dag_space.hpp"
#include "hwnas/space/layerwise_space.hpp"

namespace hwnas {

inline std::vector<std::string> preset_space_names() {
    return {"fbnet_imagenet", "fbnet_cifar", "fbnet_fmnist", "darts", "nb201", "gram_fmnist"};
}

// The preset called name; config_error listing the presets otherwise.
inline search_space preset_space(std::string_view name) {
    if (name == "fbnet_imagenet") return fbnet_imagenet();
    if (name == "fbnet_cifar") return fbnet_cifar();
    if (name == "fbnet_fmnist") return fbnet_fmnist();
    if (name == "darts") return darts_space();
    if (name == "nb201") return nb201_space();
    if (name == "gram_fmnist") return gram_fmnist();
    throw config_error(fmt::format("preset_space: unknown space '{}' (presets: {})", name,
                                   fmt::join(preset_space_names(), ", ")));
}

}  // namespace hwnas
