#include "compiler/quant/dataset.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "compiler/onnx/onnx_io.h"
#include "compiler/quant/fingerprint.h"

namespace cimtlm::quant {

namespace fs = std::filesystem;
using graph::ModelError;
using graph::Shape;
using graph::Tensor;

namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_tensor_file(const fs::path& path) {
  const std::string extension = lower(path.extension().string());
  return extension == ".npy" || extension == ".pb";
}

bool is_label_file(const fs::path& path) {
  return lower(path.filename().string()).find("label") != std::string::npos;
}

std::vector<fs::path> tensor_files(const fs::path& directory) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.is_regular_file() && is_tensor_file(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Splits `data` into samples of the input's shape; `origin` names the file in messages.
std::vector<Tensor> split(const Tensor& data, const graph::ValueInfo& input,
                          const std::string& origin) {
  if (data.type() != input.type) {
    throw ModelError(origin + ": input '" + input.name + "' must be " +
                     graph::to_string(input.type) + ", the file holds " +
                     graph::to_string(data.type()));
  }
  const Shape& want = input.shape;
  const Shape& have = data.shape();
  auto matches = [](const Shape& expected, const Shape& actual, size_t from) {
    if (expected.size() != actual.size() + from) return false;
    for (size_t d = from; d < expected.size(); ++d) {
      if (expected[d] >= 0 && expected[d] != actual[d - from]) return false;
    }
    return true;
  };
  const std::string bad = origin + ": input '" + input.name + "' has shape " +
                          graph::to_string(want) + "; the file's shape " + graph::to_string(have) +
                          " is neither one sample nor a batch of them along the first axis";
  if (want.empty()) {
    if (have.empty()) return {data};
    throw ModelError(bad);
  }
  // One sample without the batch axis.
  if (want[0] <= 1 && matches(want, have, 1)) {
    Shape shape = want;
    shape[0] = 1;
    for (size_t d = 1; d < shape.size(); ++d) shape[d] = have[d - 1];
    return {data.reshaped(shape)};
  }
  if (have.size() != want.size()) throw ModelError(bad);
  for (size_t d = 1; d < want.size(); ++d) {
    if (want[d] >= 0 && want[d] != have[d]) throw ModelError(bad);
  }
  const int64_t batch = want[0] > 0 ? want[0] : 1;
  if (have[0] % batch != 0 || have[0] == 0) throw ModelError(bad);
  std::vector<Tensor> samples;
  Shape shape = have;
  shape[0] = batch;
  const size_t sample_bytes = data.bytes() / static_cast<size_t>(have[0] / batch);
  for (int64_t first = 0; first < have[0]; first += batch) {
    Tensor sample(data.type(), shape);
    std::memcpy(
        sample.raw(),
        static_cast<const uint8_t*>(data.raw()) + static_cast<size_t>(first / batch) * sample_bytes,
        sample_bytes);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<int64_t> read_labels(const std::string& path) {
  const Tensor labels = onnx::load_tensor_file(path);
  if (!graph::is_integer(labels.type())) {
    throw ModelError(path + ": labels must be integers, the file holds " +
                     graph::to_string(labels.type()));
  }
  if (labels.rank() > 2 || (labels.rank() == 2 && labels.dim(1) != 1)) {
    throw ModelError(path + ": labels must be a vector of class indices, the file's shape is " +
                     graph::to_string(labels.shape()));
  }
  return labels.to_int_vector();
}

}  // namespace

Dataset load_dataset(const std::string& path, const graph::Graph& graph,
                     const std::string& labels_path, bool require_labels) {
  Dataset dataset;
  dataset.source = path;
  if (graph.inputs.empty()) throw ModelError("the model has no inputs to feed");
  std::error_code code;
  if (!fs::exists(path, code)) throw ModelError(path + ": no such file or directory");

  std::map<std::string, std::vector<Tensor>> per_input;
  std::string found_labels;
  if (fs::is_directory(path, code)) {
    const std::vector<fs::path> files = tensor_files(path);
    // Files named after the inputs?
    bool by_name = true;
    for (const auto& input : graph.inputs) {
      bool present = false;
      for (const auto& file : files) present |= file.stem().string() == input.name;
      by_name &= present;
    }
    if (by_name) {
      for (const auto& input : graph.inputs) {
        for (const auto& file : files) {
          if (file.stem().string() == input.name) {
            per_input[input.name] =
                split(onnx::load_tensor_file(file.string()), input, file.string());
          }
        }
      }
    } else {
      if (graph.inputs.size() != 1) {
        std::string names;
        for (const auto& input : graph.inputs)
          names += (names.empty() ? "" : ", ") + input.name + ".npy";
        throw ModelError(
            path + ": the model has several inputs; the directory needs one file per input (" +
            names + ")");
      }
      for (const auto& file : files) {
        if (is_label_file(file)) continue;
        auto samples = split(onnx::load_tensor_file(file.string()), graph.inputs[0], file.string());
        auto& all = per_input[graph.inputs[0].name];
        all.insert(all.end(), samples.begin(), samples.end());
      }
      if (per_input.empty())
        throw ModelError(path + ": no .npy or .pb input files in the directory");
    }
    for (const auto& file : files) {
      if (is_label_file(file)) found_labels = file.string();
    }
  } else {
    if (graph.inputs.size() != 1) {
      throw ModelError(path + ": the model has " + std::to_string(graph.inputs.size()) +
                       " inputs; give a directory with one file per input");
    }
    per_input[graph.inputs[0].name] = split(onnx::load_tensor_file(path), graph.inputs[0], path);
    const fs::path file(path);
    std::string stem = file.stem().string();
    const size_t at = stem.rfind("inputs");
    if (at != std::string::npos) {
      const fs::path sibling =
          file.parent_path() /
          (stem.substr(0, at) + "labels" + stem.substr(at + 6) + file.extension().string());
      if (fs::exists(sibling, code)) found_labels = sibling.string();
    }
  }

  size_t count = 0;
  for (const auto& entry : per_input) {
    if (count != 0 && entry.second.size() != count) {
      throw ModelError(path + ": the input files hold different numbers of samples");
    }
    count = entry.second.size();
  }
  dataset.samples.resize(count);
  for (auto& entry : per_input) {
    for (size_t i = 0; i < count; ++i) dataset.samples[i][entry.first] = std::move(entry.second[i]);
  }

  const std::string labels_file = labels_path.empty() ? found_labels : labels_path;
  if (!labels_file.empty()) {
    dataset.labels = read_labels(labels_file);
    if (dataset.labels.size() != dataset.samples.size()) {
      throw ModelError(labels_file + ": " + std::to_string(dataset.labels.size()) + " labels for " +
                       std::to_string(dataset.samples.size()) + " samples of " + path);
    }
  } else if (require_labels) {
    throw ModelError(path +
                     ": no labels (give a labels file, or put labels.npy beside the inputs)");
  }
  dataset.fingerprint = samples_fingerprint(dataset.samples);
  return dataset;
}

Dataset head(const Dataset& dataset, size_t count) {
  if (count >= dataset.samples.size()) return dataset;
  Dataset part;
  part.source = dataset.source;
  part.samples.assign(dataset.samples.begin(),
                      dataset.samples.begin() + static_cast<std::ptrdiff_t>(count));
  if (!dataset.labels.empty()) {
    part.labels.assign(dataset.labels.begin(),
                       dataset.labels.begin() + static_cast<std::ptrdiff_t>(count));
  }
  part.fingerprint = samples_fingerprint(part.samples);
  return part;
}

}  // namespace cimtlm::quant
