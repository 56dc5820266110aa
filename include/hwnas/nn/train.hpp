#pragma once
// The shared training recipe: supervised classification with SGD (Nesterov
// momentum), cosine learning rate with warm-up, label smoothing, augmentation,
// per-epoch evaluation, progress on stderr and atomic checkpoints. A killed run
// restarted with the same recipe and checkpoint path resumes at the step it
// checkpointed and ends bit-identically to an uninterrupted run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwnas/data/loader.hpp"
#include "hwnas/io/checkpoint.hpp"
#include "hwnas/io/progress.hpp"
#include "hwnas/nn/batch_norm_calibration.hpp"
#include "hwnas/nn/lr_schedule.hpp"
#include "hwnas/nn/module.hpp"
#include "hwnas/nn/optimizer.hpp"
#include "hwnas/ops/softmax.hpp"

namespace hwnas {

struct train_recipe {
    std::int64_t epochs = 8;
    index_t batch_size = 128;
    float lr = 0.1f;
    float min_lr = 0.0f;
    float momentum = 0.9f;
    bool nesterov = true;
    float weight_decay = 5e-5f;
    std::int64_t warmup_steps = 100;
    float label_smoothing = 0.1f;
    float clip_norm = 0.0f;  // 0: no clipping
    augment_options augment{.crop_padding = 2, .horizontal_flip = true};
    bool normalize = true;  // per-channel mean/std of the training set
    std::uint64_t seed = 0;
    index_t eval_batch_size = 500;
    // > 0: before each evaluation, the batch-norm running statistics are
    // re-estimated on the first this-many training images
    // (nn/batch_norm_calibration.hpp); 0: the running averages as trained.
    index_t bn_calibration_images = 0;
};

struct epoch_record {
    std::int64_t epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double test_loss = 0, test_accuracy = 0;
    double lr = 0;           // at the end of the epoch
    double seconds = 0;      // wall time of this epoch's training steps (excluding evaluation)
    double images_per_second = 0;
};

struct train_hooks {
    std::filesystem::path checkpoint;   // empty: no checkpoints, no resume
    std::int64_t checkpoint_every = 100;  // steps; also at every epoch end
    bool progress = true;                // progress lines on stderr
    std::function<void(const epoch_record&)> on_epoch;
    // Called after every step (and its checkpoint, if due); returning true stops the run there.
    std::function<bool(std::int64_t step)> stop_after;
};

struct train_result {
    std::vector<epoch_record> history;  // every epoch, including those run before a resume
    double train_seconds = 0;           // sum of epoch training times, across resumes
    double test_accuracy = 0;           // after the last epoch
    bool finished = false;              // false when stop_after ended the run early
    bool resumed = false;
};

struct eval_result {
    double loss = 0, accuracy = 0;
};

// How many rows of logits [N, K] have their largest value at the label (first maximum wins).
inline index_t count_correct(const tensor& logits, std::span<const std::int32_t> labels) {
    if (logits.rank() != 2 || logits.dim(0) != static_cast<index_t>(labels.size()))
        throw shape_error(fmt::format("count_correct: logits have shape {}, expected [{}, classes]", logits.shape(),
                                      labels.size()));
    const index_t k = logits.dim(1);
    index_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const float* row = logits.data() + static_cast<index_t>(i) * k;
        correct += std::max_element(row, row + k) - row == labels[i];
    }
    return correct;
}

// Mean cross-entropy (no smoothing) and accuracy of model on d, in eval mode;
// with batch_statistics in training mode instead, so batch norm normalizes by
// each batch's statistics (one-shot evaluation of a supernet's sub-graph,
// whose running statistics mix other sub-graphs). That mode also moves the
// running statistics: a caller that needs them saves and restores them.
inline eval_result evaluate(module& model, const dataset& d, index_t batch_size,
                            const std::optional<channel_stats>& normalize, bool batch_statistics = false) {
    require(!d.empty(), "evaluate: the dataset is empty");
    const bool was_training = model.is_training();
    model.train(batch_statistics);
    no_grad guard;
    loader ld(d, {.batch_size = batch_size, .shuffle = false, .normalize = normalize});
    double loss = 0;
    index_t correct = 0;
    for (index_t b = 0; b < ld.num_batches(); ++b) {
        const data_batch batch = ld.batch(b);
        var logits = model.forward(var(batch.images));
        loss += cross_entropy(logits, batch.labels).value().item() * static_cast<double>(batch.labels.size());
        correct += count_correct(logits.value(), batch.labels);
    }
    model.train(was_training);
    return {loss / static_cast<double>(d.size()), static_cast<double>(correct) / static_cast<double>(d.size())};
}

// The per-epoch log as CSV text (header + one row per epoch).
inline std::string epochs_csv(const std::vector<epoch_record>& history) {
    std::string s = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds,images_per_second\n";
    for (const auto& e : history)
        s += fmt::format("{},{},{},{},{},{},{},{}\n", e.epoch, e.train_loss, e.train_accuracy, e.test_loss,
                         e.test_accuracy, e.lr, e.seconds, e.images_per_second);
    return s;
}

namespace detail {

inline nlohmann::json to_json(const epoch_record& r) {
    return {{"epoch", r.epoch},           {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
            {"test_loss", r.test_loss},   {"test_accuracy", r.test_accuracy}, {"lr", r.lr},
            {"seconds", r.seconds},       {"images_per_second", r.images_per_second}};
}
inline epoch_record epoch_from_json(const nlohmann::json& j) {
    return {j.at("epoch"), j.at("train_loss"), j.at("train_accuracy"), j.at("test_loss"), j.at("test_accuracy"),
            j.at("lr"),    j.at("seconds"),    j.at("images_per_second")};
}

// Running sums of the epoch in progress, so a mid-epoch resume reports the same epoch numbers.
struct epoch_sums {
    double loss = 0, seconds = 0;
    index_t correct = 0, seen = 0;
};

}  // namespace detail

// Trains model on train_set, evaluating on test_set after every epoch.
inline train_result train_classifier(module& model, const dataset& train_set, const dataset& test_set,
                                     const train_recipe& r, const train_hooks& hooks = {}) {
    require(r.epochs >= 1, "train_classifier: epochs is {}, expected >= 1", r.epochs);
    require(hooks.checkpoint_every >= 1, "train_classifier: checkpoint_every is {}, expected >= 1",
            hooks.checkpoint_every);
    require(!train_set.empty() && !test_set.empty(), "train_classifier: the training or test set is empty");
    require(r.bn_calibration_images == 0 || r.bn_calibration_images >= r.batch_size,
            "train_classifier: bn_calibration_images is {}, expected 0 (off) or at least one batch ({})",
            r.bn_calibration_images, r.batch_size);
    const dataset calibration_set = train_set.first(r.bn_calibration_images);
    const std::optional<channel_stats> norm =
        r.normalize ? std::optional<channel_stats>(compute_channel_stats(train_set)) : std::nullopt;
    loader ld(train_set, {.batch_size = r.batch_size, .shuffle = true, .drop_last = true, .seed = r.seed,
                          .augment = r.augment, .normalize = norm});
    const std::int64_t steps_per_epoch = ld.num_batches();
    require(steps_per_epoch >= 1, "train_classifier: {} training samples make no full batch of {}", train_set.size(),
            r.batch_size);
    const std::int64_t total_steps = steps_per_epoch * r.epochs;
    const cosine_schedule schedule(r.lr, r.min_lr, total_steps, std::min(r.warmup_steps, total_steps - 1));
    sgd opt(model.parameters(),
            {.lr = r.lr, .momentum = r.momentum, .weight_decay = r.weight_decay, .nesterov = r.nesterov});
    rng gen(r.seed ^ 0x5eedULL);  // model-side randomness (dropout)

    train_result result;
    detail::epoch_sums sums;
    std::int64_t step = 0;
    if (!hooks.checkpoint.empty() && std::filesystem::exists(hooks.checkpoint)) {
        const checkpoint ck = checkpoint::load(hooks.checkpoint);
        load_state(ck, model);
        load_state(ck, opt);
        load_state(ck, gen);
        step = ck.get_int("step");
        const auto state = nlohmann::json::parse(ck.get_text("trainer"));
        for (const auto& e : state.at("history")) result.history.push_back(detail::epoch_from_json(e));
        sums = {state.at("loss_sum"), state.at("seconds_sum"), state.at("correct"), state.at("seen")};
        result.resumed = true;
    }
    auto save = [&] {
        if (hooks.checkpoint.empty()) return;
        checkpoint ck;
        save_state(ck, model);
        save_state(ck, opt);
        save_state(ck, gen);
        ck.put_int("step", step);
        nlohmann::json state = {{"loss_sum", sums.loss}, {"seconds_sum", sums.seconds}, {"correct", sums.correct},
                                {"seen", sums.seen},     {"history", nlohmann::json::array()}};
        for (const auto& e : result.history) state["history"].push_back(detail::to_json(e));
        ck.put_text("trainer", state.dump());
        ck.save(hooks.checkpoint);
    };

    progress bar("train", r.epochs);
    model.train();
    while (step < total_steps) {
        const std::int64_t epoch = step / steps_per_epoch;
        ld.set_epoch(epoch);
        for (std::int64_t b = step % steps_per_epoch; b < steps_per_epoch; ++b) {
            const auto t0 = std::chrono::steady_clock::now();
            const data_batch batch = ld.batch(b);
            opt.set_lr(schedule(step));
            opt.zero_grad();
            var logits = model.forward(var(batch.images));
            var loss = cross_entropy(logits, batch.labels, r.label_smoothing);
            loss.backward();
            if (r.clip_norm > 0) clip_grad_norm(model.parameters(), r.clip_norm);
            opt.step();
            sums.loss += loss.value().item() * static_cast<double>(batch.labels.size());
            sums.correct += count_correct(logits.value(), batch.labels);
            sums.seen += static_cast<index_t>(batch.labels.size());
            sums.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ++step;

            const bool epoch_done = b + 1 == steps_per_epoch;
            if (epoch_done) {
                if (r.bn_calibration_images > 0) recalibrate_batch_norm(model, calibration_set, r.batch_size, norm);
                const eval_result test = evaluate(model, test_set, r.eval_batch_size, norm);
                epoch_record rec{epoch + 1,
                                 sums.loss / static_cast<double>(sums.seen),
                                 static_cast<double>(sums.correct) / static_cast<double>(sums.seen),
                                 test.loss,
                                 test.accuracy,
                                 opt.lr(),
                                 sums.seconds,
                                 static_cast<double>(sums.seen) / sums.seconds};
                result.history.push_back(rec);
                sums = {};
                if (hooks.progress)
                    bar.report(epoch + 1, fmt::format("loss {:.4f} train acc {:.4f} test acc {:.4f} | {:.0f} img/s",
                                                      rec.train_loss, rec.train_accuracy, rec.test_accuracy,
                                                      rec.images_per_second));
                if (hooks.on_epoch) hooks.on_epoch(rec);
            }
            if (epoch_done || step % hooks.checkpoint_every == 0) save();
            if (hooks.stop_after && hooks.stop_after(step)) {
                for (const auto& e : result.history) result.train_seconds += e.seconds;
                return result;
            }
        }
    }
    for (const auto& e : result.history) result.train_seconds += e.seconds;
    result.test_accuracy = result.history.back().test_accuracy;
    result.finished = true;
    return result;
}

}  // namespace hwnas
