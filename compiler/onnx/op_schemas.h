// The ONNX operator schemas that shape inference needs, built on first use.
//
// ONNX 1.12's OpSchemaRegistry constructs and finalizes all of its ~1,000 schemas (every op, every
// version, every domain) on first use: 40 M instructions, 10 % of a small network's whole run.
// cimtlm checks a model's ops against its own list before inference (check_op_known), so only
// the schemas of those ops can be asked for: this registry makes each (op, version) schema from
// ONNX's own definition the first time it is asked for. An op it does not list goes to the full
// registry, so the answers are the same as ONNX's (a test compares them for every supported op
// and opset).
#pragma once

#include <onnx/defs/schema.h>

namespace cimtlm::onnx {

class SupportedOpSchemas final : public ::onnx::ISchemaRegistry {
 public:
  static const SupportedOpSchemas& instance();
  const ::onnx::OpSchema* GetSchema(const std::string& op_type, int max_inclusive_version,
                                    const std::string& domain) const override;
  // True when `op_type` of the default domain is answered from this table (not the full registry).
  bool listed(const std::string& op_type) const;

 private:
  SupportedOpSchemas() = default;
};

}  // namespace cimtlm::onnx
