#include "compiler/quant/evaluation.h"

namespace cimtlm::quant {

std::vector<graph::Tensor> run_outputs(const graph::Graph& graph,
                                       const std::vector<graph::ValueMap>& samples, int* runs) {
  if (graph.outputs.empty()) throw graph::ModelError("the model has no outputs");
  graph::ReferenceExecutor executor(graph);
  std::vector<graph::Tensor> outputs;
  outputs.reserve(samples.size());
  const std::string& name = graph.outputs[0].name;
  for (const auto& sample : samples) {
    graph::ValueMap values = executor.run(sample);
    if (runs) ++*runs;
    auto found = values.find(name);
    if (found == values.end())
      throw graph::ModelError("the run did not produce output '" + name + "'");
    outputs.push_back(std::move(found->second));
  }
  return outputs;
}

int64_t arg_max(const graph::Tensor& scores) {
  int64_t best = 0;
  for (int64_t i = 1; i < scores.elements(); ++i) {
    if (scores.as_double(i) > scores.as_double(best)) best = i;
  }
  return best;
}

double top1_accuracy(const std::vector<graph::Tensor>& outputs,
                     const std::vector<int64_t>& labels) {
  if (outputs.size() != labels.size()) {
    throw graph::ModelError(std::to_string(outputs.size()) + " outputs for " +
                            std::to_string(labels.size()) + " labels");
  }
  if (outputs.empty()) return 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < outputs.size(); ++i) correct += arg_max(outputs[i]) == labels[i] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(outputs.size());
}

Sensitivity compare_outputs(const std::vector<graph::Tensor>& reference,
                            const std::vector<graph::Tensor>& candidate) {
  if (reference.size() != candidate.size())
    throw graph::ModelError("output sets of different sizes compared");
  Sensitivity result;
  result.samples = static_cast<int64_t>(reference.size());
  double error = 0.0, energy = 0.0;
  size_t agree = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    if (reference[i].elements() != candidate[i].elements())
      throw graph::ModelError("outputs of different sizes compared");
    for (int64_t k = 0; k < reference[i].elements(); ++k) {
      const double r = reference[i].as_double(k);
      const double d = candidate[i].as_double(k) - r;
      error += d * d;
      energy += r * r;
    }
    agree += arg_max(reference[i]) == arg_max(candidate[i]) ? 1 : 0;
  }
  result.output_nmse = energy > 0.0 ? error / energy : (error > 0.0 ? 1.0 : 0.0);
  result.top1_agreement =
      reference.empty() ? 1.0 : static_cast<double>(agree) / static_cast<double>(reference.size());
  return result;
}

}  // namespace cimtlm::quant
