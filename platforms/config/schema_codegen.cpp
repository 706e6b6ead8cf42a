// Build-time generator: turns a schema YAML file (platforms/*.yaml) into
//  - a C++ table (SchemaTableEntry[], schema.h) and the function returning the Schema, so that
//    programs do not parse the schema at start-up (it was 16 % of a small run's instructions);
//  - a header of key-path constants, so that C++ names a key only through the schema: a key
//    renamed or removed in the YAML breaks the build of every reader instead of failing at run
//    time.
//
// Usage: cimtlm_schema_codegen YAML LABEL FUNCTION KEYS_NAMESPACE TABLE_CPP KEYS_H
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "platforms/config/schema_yaml.h"

namespace cimtlm::platforms {
namespace {

std::string literal(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char octal[8];
          std::snprintf(octal, sizeof octal, "\\%03o", c);
          out += octal;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (size_t index = 0; index < words.size(); ++index) {
    if (index) text += kSchemaSeparator;
    text += words[index];
  }
  return text;
}

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%a", value);  // exact
  return text;
}

const char* kind_name(SchemaNode::Kind kind) {
  switch (kind) {
    case SchemaNode::Kind::Group:
      return "SchemaNode::Kind::Group";
    case SchemaNode::Kind::Leaf:
      return "SchemaNode::Kind::Leaf";
    case SchemaNode::Kind::MapOf:
      return "SchemaNode::Kind::MapOf";
    case SchemaNode::Kind::ListOf:
      return "SchemaNode::Kind::ListOf";
  }
  return "";
}

const char* type_name(ValueType type) {
  switch (type) {
    case ValueType::Int:
      return "ValueType::Int";
    case ValueType::Float:
      return "ValueType::Float";
    case ValueType::Bool:
      return "ValueType::Bool";
    case ValueType::String:
      return "ValueType::String";
    case ValueType::Path:
      return "ValueType::Path";
    case ValueType::Enum:
      return "ValueType::Enum";
    case ValueType::Quantity:
      return "ValueType::Quantity";
    case ValueType::List:
      return "ValueType::List";
  }
  return "";
}

void emit_entry(const SchemaNode& node, int depth, bool is_item, std::ostream& out) {
  std::vector<std::string> by;
  for (const auto& entry : node.default_by) {
    by.push_back(entry.first);
    by.push_back(entry.second);
  }
  out << "    {" << depth << ", " << kind_name(node.kind) << ", " << (is_item ? "true" : "false")
      << ", " << literal(node.name) << ", " << literal(node.doc) << ", " << type_name(node.type)
      << ", static_cast<Dimension>(" << static_cast<int>(node.dimension) << "), "
      << literal(node.type_name) << ", " << (node.required ? "true" : "false") << ", "
      << (node.optional ? "true" : "false") << ", " << literal(node.default_text) << ", "
      << (node.min ? "true" : "false") << ", " << number(node.min.value_or(0.0)) << ", "
      << (node.max ? "true" : "false") << ", " << number(node.max.value_or(0.0)) << ", "
      << literal(joined(node.choices)) << ", " << type_name(node.item_type) << ", "
      << literal(node.default_by_key) << ", " << literal(joined(by)) << ", "
      << literal(node.default_items_yaml) << ", " << node.min_items << "},\n";
  if (node.item) emit_entry(*node.item, depth + 1, true, out);
  for (const auto& child : node.children) emit_entry(*child, depth + 1, false, out);
}

bool is_identifier(const std::string& name) {
  static const std::set<std::string> reserved = {
      "alignas",   "alignof", "and",     "asm",      "auto",     "bool",    "break",     "case",
      "catch",     "char",    "class",   "const",    "continue", "default", "delete",    "do",
      "double",    "else",    "enum",    "explicit", "export",   "extern",  "false",     "float",
      "for",       "friend",  "goto",    "if",       "inline",   "int",     "long",      "mutable",
      "namespace", "new",     "not",     "operator", "or",       "private", "protected", "public",
      "register",  "return",  "short",   "signed",   "sizeof",   "static",  "struct",    "switch",
      "template",  "this",    "throw",   "true",     "try",      "typedef", "typename",  "union",
      "unsigned",  "using",   "virtual", "void",     "volatile", "while",   "kPath"};
  if (name.empty() || reserved.count(name) || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Group namespaces with kPath and one constant per leaf (the full dotted path). Inside a map-of
// or list-of entry, paths depend on the entry's name: the namespace `item` holds the leaves'
// names relative to the entry ("technology"), to be joined as kPath + "." + name + "." + leaf.
void emit_keys(const SchemaNode& node, const std::string& path, bool relative, int indent,
               std::ostream& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& child : node.children) {
    if (!is_identifier(child->name)) {
      throw std::logic_error("key '" + child->name + "' is not usable as a C++ name");
    }
    const std::string child_path = path.empty() ? child->name : path + "." + child->name;
    if (child->kind == SchemaNode::Kind::Leaf) {
      out << pad << "inline constexpr char " << child->name << "[] = " << literal(child_path)
          << ";\n";
      continue;
    }
    out << pad << "namespace " << child->name << " {\n";
    out << pad << "inline constexpr char kPath[] = " << literal(child_path) << ";\n";
    if (child->item) {
      out << pad << "namespace item {\n";
      emit_keys(*child->item, "", true, indent, out);
      out << pad << "}  // namespace item\n";
    }
    emit_keys(*child, child_path, relative, indent, out);
    out << pad << "}  // namespace " << child->name << "\n";
  }
}

int generate(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: " << argv[0] << " YAML LABEL FUNCTION KEYS_NAMESPACE TABLE_CPP KEYS_H\n";
    return 2;
  }
  const std::string yaml_path = argv[1], label = argv[2], function = argv[3],
                    keys_namespace = argv[4], table_path = argv[5], keys_path = argv[6];
  std::ifstream input(yaml_path, std::ios::binary);
  if (!input) {
    std::cerr << yaml_path << ": cannot read\n";
    return 2;
  }
  std::stringstream text;
  text << input.rdbuf();
  const Schema schema = parse_schema_yaml(text.str(), label);

  std::ostringstream table;
  table << "// Generated from " << label
        << " by platforms/config/schema_codegen.cpp; do not edit.\n"
        << "#include \"platforms/config/schema.h\"\n\n"
        << "namespace cimtlm::platforms {\n\nnamespace {\n"
        << "// NOLINTNEXTLINE\nconst SchemaTableEntry k_" << function << "_table[] = {\n";
  emit_entry(schema.root(), 0, false, table);
  table << "};\n}  // namespace\n\n"
        << "const Schema& " << function << "() {\n"
        << "  static const Schema schema(\n      schema_from_table(k_" << function << "_table, "
        << "sizeof k_" << function << "_table / sizeof k_" << function << "_table[0]),\n      "
        << literal(label) << ");\n  return schema;\n}\n\n}  // namespace cimtlm::platforms\n";

  std::ostringstream keys;
  keys << "// Generated from " << label << " by platforms/config/schema_codegen.cpp; do not edit.\n"
       << "// The dotted path of every key: C++ names keys only through these constants.\n"
       << "#pragma once\n\nnamespace cimtlm::platforms::" << keys_namespace << " {\n";
  emit_keys(schema.root(), "", false, 0, keys);
  keys << "}  // namespace cimtlm::platforms::" << keys_namespace << "\n";

  auto write = [](const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    return static_cast<bool>(out);
  };
  if (!write(table_path, table.str()) || !write(keys_path, keys.str())) {
    std::cerr << "cannot write " << table_path << " or " << keys_path << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace cimtlm::platforms

int main(int argc, char** argv) {
  try {
    return cimtlm::platforms::generate(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << argv[1] << ": " << error.what() << "\n";
    return 1;
  }
}
