// train_fixed: trains a fixed MobileNetV2-style network on Fashion-MNIST with
// the shared recipe, or with --arch any architecture JSON the search examples
// write (the space named in the file), measures it, and writes
// DIR/result.json, DIR/epochs.csv and DIR/architecture.json. A killed run
// started again with the same --out resumes from DIR/checkpoint.bin.
#include <cstdio>
#include <filesystem>
#include <numeric>

#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/io/atomic_file.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/latency/measure.hpp>
#include <hwnas/nn/mobilenet.hpp>
#include <hwnas/nn/train.hpp>
#include <hwnas/space/architecture_json.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/supernet/derive.hpp>

using namespace hwnas;

int run(int argc, char** argv) {
    cli args("train_fixed", "train a MobileNetV2-style network on Fashion-MNIST");
    args.option("out", "", "output directory (result.json, epochs.csv, architecture.json, checkpoint.bin)", true)
        .option("epochs", "8", "training epochs")
        .option("batch", "128", "batch size")
        .option("lr", "0.1", "peak learning rate (SGD, Nesterov momentum 0.9, cosine schedule)")
        .option("weight-decay", "5e-5", "weight decay")
        .option("width", "1.0", "width multiplier (of the MobileNetV2-style network)")
        .option("arch", "", "architecture JSON of a preset space (architecture.json of a search example) to train "
                "instead of the MobileNetV2-style network")
        .option("seed", "0", "seed for weights, data order and augmentation")
        .option("threads", "2", "threads for training")
        .option("latency-threads", "1", "threads for the batch-1 latency measurement")
        .option("train-samples", "0", "use only the first N training images (0: all 60000)")
        .option("data", default_fashion_mnist_dir(), "Fashion-MNIST directory");
    if (!args.parse(argc, argv)) {
        std::fputs(args.usage().c_str(), stdout);
        return 0;
    }
    set_num_threads(static_cast<int>(args.integer("threads")));
    const std::filesystem::path out = args.str("out");
    std::filesystem::create_directories(out);

    const dataset train = load_fashion_mnist(args.str("data"), true).first(args.integer("train-samples"));
    const dataset test = load_fashion_mnist(args.str("data"), false);

    train_recipe recipe;
    recipe.epochs = args.integer("epochs");
    recipe.batch_size = args.integer("batch");
    recipe.lr = static_cast<float>(args.real("lr"));
    recipe.weight_decay = static_cast<float>(args.real("weight-decay"));
    recipe.seed = static_cast<std::uint64_t>(args.integer("seed"));

    rng init(recipe.seed);
    std::shared_ptr<module> net;
    nlohmann::json arch;
    if (const std::string file = args.str("arch"); !file.empty()) {
        arch = read_json(file);
        require(arch.is_object() && arch.contains("space") && arch["space"].is_string(),
                "train_fixed: {} has no \"space\" name; expected the architecture JSON of a search example", file);
        const search_space space = preset_space(arch["space"].get<std::string>());
        net = derive_network(space, architecture_from_json(space, arch), init);
    } else {
        mobilenet_config config = mobilenet_v2_small();
        config.width = static_cast<float>(args.real("width"));
        net = make_mobilenet(config, init);
        arch = to_json(config);
    }
    const shape one{1, train.height(), train.width(), train.channels()};
    fmt::print(stderr, "train_fixed: {} parameters, {:.2f} M MACs per image, {} training / {} test images\n",
               net->num_parameters(), net->macs(one) / 1e6, train.size(), test.size());

    train_hooks hooks;
    hooks.checkpoint = out / "checkpoint.bin";
    const train_result res = train_classifier(*net, train, test, recipe, hooks);
    write_file_atomically(out / "epochs.csv", epochs_csv(res.history));

    net->eval();
    set_num_threads(static_cast<int>(args.integer("latency-threads")));
    const timing lat = [&] {
        no_grad guard;
        const var x(tensor::zeros(one));
        return measure([&] { net->forward(x); }, 10, 50);
    }();
    const machine_info machine = describe_machine();
    write_file_atomically(out / "architecture.json", arch.dump(2));
    const nlohmann::json result = {
        {"example", "train_fixed"},
        {"test_accuracy", res.test_accuracy},
        {"params", net->num_parameters()},
        {"macs", net->macs(one)},
        {"latency_ms", lat.median_ms},
        {"latency", {{"median_ms", lat.median_ms}, {"p10_ms", lat.p10_ms}, {"p90_ms", lat.p90_ms},
                     {"runs", lat.runs}, {"batch", 1}, {"threads", lat.threads}}},
        {"train_seconds", res.train_seconds},
        {"epochs", recipe.epochs},
        {"seed", recipe.seed},
        {"resumed", res.resumed},
        {"peak_rss_mb", peak_rss_mb()},
        {"machine", {{"cpu", machine.cpu_model}, {"logical_cpus", machine.logical_cpus}, {"compiler", machine.compiler}}},
        {"architecture", arch}};
    write_file_atomically(out / "result.json", result.dump(2));
    fmt::print(stderr, "train_fixed: test accuracy {:.4f}, {:.2f} ms per image (batch 1), trained in {}; results in {}\n",
               res.test_accuracy, lat.median_ms, format_duration(res.train_seconds), out.string());
    return 0;
}

int main(int argc, char** argv) {
    return run_example("train_fixed", [&] { return run(argc, argv); });
}
