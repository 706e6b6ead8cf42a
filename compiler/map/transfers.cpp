// Values that cross cores: sends, receives and the credit tokens that keep a receiver's buffer
// from being overwritten before it has been read.
#include <algorithm>
#include <set>

#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

// The buffer of `name` on `core`: produced there, received there (its receives are emitted
// here, before the first use), a constant placed there, or a graph input written by the host.
core::TensorRef Mapper::on_core(const std::string& name, int core, const Node& user) {
  auto copy = located_.find({name, core});
  if (copy != located_.end()) {
    emit_pending_receives(name, core);
    return copy->second;
  }
  const Tensor& tensor = value(name);
  const core::ElemType type = elem_type(user, tensor.type());
  if (const Tensor* constant = graph_.initializer(name)) {
    core::TensorRef ref;
    ref.type = type;
    ref.shape = constant->shape();
    const auto* raw = static_cast<const uint8_t*>(constant->raw());
    ref.addr = store_weights(core, std::vector<uint8_t>(raw, raw + constant->bytes()), name);
    located_[{name, core}] = ref;
    return ref;
  }
  if (graph_.producer(name) < 0) {
    core::TensorRef ref = allocate_activation(core, type, tensor.shape(), name);
    mapping_.program.inputs.push_back({options_.name_prefix + name, core, ref});
    located_[{name, core}] = ref;
    return ref;
  }
  throw ModelError(user.describe() + ": input '" + name + "' is not available on core " +
                   std::to_string(core) + " (mapper defect)");
}

void Mapper::emit_pending_receives(const std::string& name, int core) {
  auto pending = pending_receives_.find({name, core});
  if (pending == pending_receives_.end()) return;
  for (const auto& receive : pending->second) program(core).body.push_back(receive);
  pending_receives_.erase(pending);
}

// Moves `bytes` of `name` from core `from` to core `to` every inference, with flow control:
// `to` reuses its buffer each inference, so `from` sends inference i + 1 only after `to`
// returned a token for inference i (the first token is granted in `to`'s prologue; the others
// after the last use of `name` on `to`, see return_credits). The receive is emitted on `to`
// before the first use.
void Mapper::transfer(const std::string& name, int from, core::Addr source, int to,
                      core::Addr destination, uint64_t bytes) {
  const int tag = next_tag_++;
  const int credit_tag = next_tag_++;
  core::Receive credit;
  credit.from_core = to;
  credit.tag = credit_tag;
  credit.layer = name + " (credit)";
  program(from).body.push_back(credit);
  core::Send send;
  send.to_core = to;
  send.source = source;
  send.destination = destination;
  send.bytes = bytes;
  send.tag = tag;
  send.layer = name;
  program(from).body.push_back(send);
  core::Receive receive;
  receive.from_core = from;
  receive.tag = tag;
  receive.layer = name;
  pending_receives_[{name, to}].push_back(receive);
  core::Send token;
  token.to_core = from;
  token.bytes = 0;
  token.tag = credit_tag;
  token.layer = name + " (credit)";
  program(to).prologue.push_back(token);
  auto& credit_entry = credits_[{name, to}];
  if (credit_entry.tokens.empty()) credit_entry.consumers_left = local_consumers(name, to);
  credit_entry.tokens.push_back(token);
}

int Mapper::local_consumers(const std::string& name, int core) const {
  int count = 0;
  for (int consumer : graph_.consumers(name)) {
    const auto cores = cores_of(&graph_.nodes[static_cast<size_t>(consumer)]);
    if (std::find(cores.begin(), cores.end(), core) != cores.end()) ++count;
  }
  return count;
}

void Mapper::release_tokens(const std::string& name, int core) {
  auto credit = credits_.find({name, core});
  if (credit == credits_.end()) return;
  for (const auto& token : credit->second.tokens) program(core).body.push_back(token);
  credits_.erase(credit);
}

// After a node produced `name` on `core`: send it to every other core that consumes it.
void Mapper::distribute(const std::string& name, int core, const core::TensorRef& ref) {
  located_[{name, core}] = ref;
  std::set<int> destinations;
  for (int consumer : graph_.consumers(name)) {
    for (int other : cores_of(&graph_.nodes[static_cast<size_t>(consumer)])) {
      if (other != core) destinations.insert(other);
    }
  }
  for (int destination : destinations) {
    core::TensorRef remote = allocate_activation(destination, ref.type, ref.shape, name);
    transfer(name, core, ref.addr, destination, remote.addr, ref.bytes());
    located_[{name, destination}] = remote;
  }
  // Slices received here from other cores are free again once this core no longer reads the
  // value: after its local consumers, or now when it has none (the sends above read it).
  if (local_consumers(name, core) == 0) release_tokens(name, core);
}

// After a node ran on `core`: return the flow-control tokens of every received input whose
// last consumer there it was.
void Mapper::return_credits(const Node& node, int core) {
  std::set<std::string> seen;
  for (const auto& input : node.inputs) {
    if (input.empty() || !seen.insert(input).second) continue;
    auto credit = credits_.find({input, core});
    if (credit == credits_.end()) continue;
    if (--credit->second.consumers_left <= 0) release_tokens(input, core);
  }
}

}  // namespace detail

}  // namespace cimtlm::map
