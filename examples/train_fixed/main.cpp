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
#include <hwnas/nn/mobilenet.hpp>
#include <hwnas/search/report.hpp>
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
        .option("bn-calibration", "0",
                "re-estimate batch-norm statistics on this many training images before each evaluation (0: off)")
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
    recipe.bn_calibration_images = args.integer("bn-calibration");

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

    nlohmann::json result = train_and_report(*net, train, test, recipe, out, net->macs(one), arch,
                                             static_cast<int>(args.integer("latency-threads")));
    result["example"] = "train_fixed";
    write_file_atomically(out / "result.json", result.dump(2));
    fmt::print(stderr, "train_fixed: test accuracy {:.4f}, {:.2f} ms per image (batch 1), trained in {}; results in {}\n",
               result["test_accuracy"].get<double>(), result["latency_ms"].get<double>(),
               format_duration(result["train_seconds"].get<double>()), out.string());
    return 0;
}

int main(int argc, char** argv) {
    return run_example("train_fixed", [&] { return run(argc, argv); });
}
