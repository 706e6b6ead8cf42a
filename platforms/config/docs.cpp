// The effective configuration (YAML with each value's source) and the configuration reference
// (Markdown), both generated from a schema.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

namespace {

// Whether YAML::Emitter would write `text` unchanged as a plain scalar: letters, digits and
// `_ . + -`, starting with a letter or digit, and not a word YAML reads as null or a boolean.
// Most values (numbers, enum names) are; writing them directly skips building an emitter per
// value (4 M instructions of a tiny run's 81 M, issue 10). Anything else goes through the emitter.
bool plain_as_is(const std::string& text) {
  if (text.empty() || !std::isalnum(static_cast<unsigned char>(text.front()))) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '+' &&
        c != '-') {
      return false;
    }
  }
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const char* const kWords[] = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"};
  return std::none_of(std::begin(kWords), std::end(kWords),
                      [&](const char* word) { return lower == word; });
}

}  // namespace

std::string Config::effective_yaml() const {
  std::ostringstream out;
  out << "# Effective configuration of " << file_
      << ": every key with defaults filled in.\n# Comments give each value's source.\n";
  std::vector<std::string> previous;
  for (const auto& path : order_) {
    const ConfigValue& value = values_.at(path);
    std::vector<std::string> parts;
    for (size_t begin = 0;;) {
      const size_t dot = path.find('.', begin);
      parts.push_back(path.substr(begin, dot == std::string::npos ? dot : dot - begin));
      if (dot == std::string::npos) break;
      begin = dot + 1;
    }
    size_t common = 0;
    while (common + 1 < parts.size() && common < previous.size() &&
           previous[common] == parts[common]) {
      ++common;
    }
    for (size_t depth = common; depth + 1 < parts.size(); ++depth) {
      out << std::string(2 * depth, ' ') << parts[depth] << ":\n";
    }
    out << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": ";
    const std::string& text = value.schema->type == ValueType::Path ? value.string : value.text;
    if (value.schema->type != ValueType::List && plain_as_is(text)) {
      out << text;
    } else {
      YAML::Emitter scalar;
      if (value.schema->type == ValueType::List) {
        scalar << YAML::Flow << YAML::BeginSeq;
        for (const auto& item : value.list) scalar << item;
        scalar << YAML::EndSeq;
      } else {
        scalar << text;
      }
      out << scalar.c_str();
    }
    out << "  # " << value.source << '\n';
    previous = parts;
  }
  return out.str();
}

namespace {

std::string join(const std::vector<std::string>& words, const std::string& separator = ", ") {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

std::string type_column(const SchemaNode& leaf) {
  switch (leaf.type) {
    case ValueType::Enum:
      return "one of `" + join(leaf.choices, "`, `") + "`";
    case ValueType::List:
      return "list";
    case ValueType::Quantity:
      return std::string(dimension_name(leaf.dimension)) + " (" +
             join(accepted_units(leaf.dimension)) + ")";
    default:
      return leaf.type_name;
  }
}

std::string default_column(const SchemaNode& leaf) {
  if (leaf.required) return "required";
  std::string text;
  if (!leaf.default_by.empty()) {
    std::vector<std::string> cases;
    for (const auto& entry : leaf.default_by)
      cases.push_back(entry.first + ": `" + entry.second + "`");
    text = "by " + leaf.default_by_key + " — " + join(cases, "; ");
    if (!leaf.default_text.empty()) text += "; otherwise `" + leaf.default_text + "`";
    return text;
  }
  if (leaf.optional) return "none";
  return "`" + leaf.default_text + "`";
}

std::string range_column(const SchemaNode& leaf) {
  std::string text;
  if (leaf.min) text += "≥ " + format_quantity(*leaf.min, leaf.dimension);
  if (leaf.max)
    text +=
        std::string(text.empty() ? "" : ", ") + "≤ " + format_quantity(*leaf.max, leaf.dimension);
  return text;
}

std::string escape_cell(std::string text) {
  size_t at = 0;
  while ((at = text.find('|', at)) != std::string::npos) {
    text.replace(at, 1, "\\|");
    at += 2;
  }
  return text;
}

void document_group(const SchemaNode& group, const std::string& prefix, std::ostringstream& out,
                    int depth) {
  // Leaves of this group in one table, then sub-groups as their own sections.
  bool table_open = false;
  for (const auto& child : group.children) {
    if (child->kind != SchemaNode::Kind::Leaf) continue;
    if (!table_open) {
      out << "| key | type | default | range | description |\n|---|---|---|---|---|\n";
      table_open = true;
    }
    out << "| `" << prefix << child->name << "` | " << escape_cell(type_column(*child)) << " | "
        << escape_cell(default_column(*child)) << " | " << range_column(*child) << " | "
        << escape_cell(child->doc) << " |\n";
  }
  if (table_open) out << '\n';
  for (const auto& child : group.children) {
    if (child->kind == SchemaNode::Kind::Leaf) continue;
    const std::string title = prefix + child->name;
    out << std::string(std::min(depth + 2, 6), '#') << " `" << title << "`";
    if (child->kind == SchemaNode::Kind::MapOf) out << " (named entries: `" << title << ".<name>`)";
    if (child->kind == SchemaNode::Kind::ListOf) out << " (a list)";
    out << "\n\n";
    if (!child->doc.empty()) out << child->doc << "\n\n";
    if (child->kind == SchemaNode::Kind::Group) {
      document_group(*child, title + ".", out, depth + 1);
    } else {
      if (!child->default_items_yaml.empty()) {
        out << "Default entries when absent:\n\n```yaml\n"
            << child->default_items_yaml << "\n```\n\n";
      }
      document_group(*child->item,
                     title + (child->kind == SchemaNode::Kind::MapOf ? ".<name>." : "[i]."), out,
                     depth + 1);
    }
  }
}

}  // namespace

std::string schema_reference_markdown(const Schema& schema, const std::string& title,
                                      const std::string& intro) {
  std::ostringstream out;
  out << "# " << title << "\n\n" << intro << "\n\n";
  document_group(schema.root(), "", out, 0);
  return out.str();
}

}  // namespace cimtlm::platforms
