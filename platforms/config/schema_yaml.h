// Reading a schema from its YAML source (platforms/*.yaml). Only the build's schema generator
// (schema_codegen.cpp) and the test that checks the generated tables use it: programs get the
// schemas from the generated tables (schema.h) without parsing YAML at start-up.
#pragma once

#include <string>

#include "platforms/config/schema.h"

namespace cimtlm::platforms {

// Parses a schema document; throws std::logic_error on a malformed schema (a build defect).
Schema parse_schema_yaml(const std::string& yaml_text, const std::string& name);

}  // namespace cimtlm::platforms
