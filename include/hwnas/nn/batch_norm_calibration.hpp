#pragma once
// Batch-norm recalibration ("precise BN", Wu & Johnson 2021): the running
// statistics re-estimated with the final weights, as the exact average of
// per-batch statistics over a set of images. A short training leaves them
// behind the weights (momentum 0.1 averages the last ten or so steps, while
// the weights still move fast: 23 steps of one epoch on 3000 images evaluate
// at chance), and a sub-network taken out of a supernet inherits statistics
// that mixed the other paths.
#include <algorithm>
#include <optional>
#include <vector>

#include "hwnas/data/loader.hpp"
#include "hwnas/nn/module.hpp"

namespace hwnas {

// Every running_stats_layer of the tree, each once (a module may be shared).
inline std::vector<running_stats_layer*> running_stats_layers(module& root) {
    std::vector<running_stats_layer*> out;
    std::vector<module*> todo{&root};
    while (!todo.empty()) {
        module* m = todo.back();
        todo.pop_back();
        if (auto* r = dynamic_cast<running_stats_layer*>(m); r && std::find(out.begin(), out.end(), r) == out.end())
            out.push_back(r);
        for (const auto& child : m->children()) todo.push_back(child.second.get());
    }
    return out;
}

// Sets the running statistics of every running_stats_layer of model to the
// mean of its batch statistics over the full batches of d (in order, no
// augmentation, normalized as given): the k-th batch is folded in with
// momentum 1/k. The forward pass must reach the same layers on every batch
// (a fixed network, or one sub-graph of a supernet); layers it never reaches
// keep their statistics. Weights do not change; the mode and each layer's
// momentum are restored, also when a forward pass throws. Returns the number
// of batches used.
inline index_t recalibrate_batch_norm(module& model, const dataset& d, index_t batch_size,
                                      const std::optional<channel_stats>& normalize) {
    require(batch_size >= 2, "recalibrate_batch_norm: batch_size is {}, expected >= 2 (a batch variance needs two "
            "images)", batch_size);
    require(d.size() >= batch_size, "recalibrate_batch_norm: {} images make no full batch of {}", d.size(),
            batch_size);
    const std::vector<running_stats_layer*> layers = running_stats_layers(model);
    struct restore {
        module& model;
        const std::vector<running_stats_layer*>& layers;
        bool training;
        std::vector<float> momenta;
        ~restore() {
            for (std::size_t i = 0; i < layers.size(); ++i) layers[i]->set_running_momentum(momenta[i]);
            model.train(training);
        }
    } guard{model, layers, model.is_training(), {}};
    for (const running_stats_layer* l : layers) guard.momenta.push_back(l->running_momentum());

    model.train(true);
    no_grad no_tape;
    loader ld(d, {.batch_size = batch_size, .shuffle = false, .drop_last = true, .normalize = normalize});
    for (index_t b = 0; b < ld.num_batches(); ++b) {
        for (running_stats_layer* l : layers) l->set_running_momentum(1.0f / static_cast<float>(b + 1));
        model.forward(var(ld.batch(b).images));
    }
    return ld.num_batches();
}

}  // namespace hwnas
