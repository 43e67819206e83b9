#include "agent/web/html.h"

#include <functional>
#include <set>

namespace nrm::agent::web {

std::string EscapeHtml(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

struct Templates::Node {
  enum class Type { kText, kValue, kRaw, kText_t, kEach, kIf, kUnless, kPartial };
  Type type = Type::kText;
  std::string text;               // kText: the text; kText_t: the msgid; else the name
  std::vector<std::string> args;  // kText_t: the names of %1, %2, ...
  std::vector<Node> body, otherwise;
};

namespace {

using Node = Templates::Node;
using Type = Templates::Node::Type;
using json::Json;

struct Parser {
  std::string_view src;
  std::string name;
  size_t at = 0;

  size_t Line(size_t pos) const {
    return 1 +
           static_cast<size_t>(std::count(src.begin(), src.begin() + static_cast<long>(pos), '\n'));
  }
  Status Error(size_t pos, const std::string& what) const {
    return InvalidArgument(name + ":" + std::to_string(Line(pos)) + ": " + what);
  }

  static std::string Trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
  }

  // Parses until `{{/end}}` (or `{{else}}` when `stop_else`), or the end when `end` is empty.
  Status Parse(std::vector<Node>& out, const std::string& end, bool* saw_else) {
    while (at < src.size()) {
      const size_t open = src.find("{{", at);
      if (open != at) {
        const size_t stop = open == std::string_view::npos ? src.size() : open;
        out.push_back({Type::kText, std::string(src.substr(at, stop - at)), {}, {}, {}});
        at = stop;
        continue;
      }
      const size_t close = src.find("}}", open);
      if (close == std::string_view::npos) return Error(open, "'{{' is not closed");
      const std::string tag = Trim(src.substr(open + 2, close - open - 2));
      at = close + 2;
      if (tag.empty()) return Error(open, "an empty {{}}");
      if (tag[0] == '!') continue;
      if (tag[0] == '/') {
        if (Trim(tag.substr(1)) != end) return Error(open, "{{" + tag + "}} closes nothing open");
        return Status::Ok();
      }
      if (tag == "else") {
        if (saw_else == nullptr || *saw_else) return Error(open, "{{else}} outside {{#if}}");
        *saw_else = true;
        return Status::Ok();
      }
      if (tag[0] == '#') {
        const size_t space = tag.find(' ');
        const std::string kw = tag.substr(1, space == std::string::npos ? space : space - 1);
        if (space == std::string::npos) return Error(open, "{{#" + kw + "}} needs a name");
        Node n;
        n.text = Trim(tag.substr(space + 1));
        if (kw == "each") {
          n.type = Type::kEach;
        } else if (kw == "if") {
          n.type = Type::kIf;
        } else if (kw == "unless") {
          n.type = Type::kUnless;
        } else {
          return Error(open, "unknown block {{#" + kw + "}}");
        }
        bool else_seen = false;
        NRM_RETURN_IF_ERROR(Parse(n.body, kw, n.type == Type::kEach ? nullptr : &else_seen));
        if (else_seen) NRM_RETURN_IF_ERROR(Parse(n.otherwise, kw, nullptr));
        out.push_back(std::move(n));
        continue;
      }
      if (tag[0] == '>') {
        out.push_back({Type::kPartial, Trim(tag.substr(1)), {}, {}, {}});
        continue;
      }
      if (tag.starts_with("t \"")) {
        const size_t q = tag.find('"', 3);
        if (q == std::string::npos) return Error(open, "{{t \"...\"}} text is not closed");
        Node n{Type::kText_t, tag.substr(3, q - 3), {}, {}, {}};
        std::string rest = Trim(tag.substr(q + 1));
        while (!rest.empty()) {
          const size_t sp = rest.find(' ');
          n.args.push_back(rest.substr(0, sp));
          rest = sp == std::string::npos ? "" : Trim(rest.substr(sp + 1));
        }
        out.push_back(std::move(n));
        continue;
      }
      if (tag.starts_with("raw ")) {
        out.push_back({Type::kRaw, Trim(tag.substr(4)), {}, {}, {}});
        continue;
      }
      if (tag.find(' ') != std::string::npos) return Error(open, "unknown tag {{" + tag + "}}");
      out.push_back({Type::kValue, tag, {}, {}, {}});
    }
    if (!end.empty()) return Error(src.size(), "{{#" + end + "}} is not closed");
    return Status::Ok();
  }
};

// Names are looked up from the innermost scope out; "a.b" descends into objects.
const Json* Lookup(const std::vector<const Json*>& scopes, const std::string& path) {
  if (path == ".") return scopes.back();
  const size_t dot = path.find('.');
  const std::string first = path.substr(0, dot);
  const Json* v = nullptr;
  for (auto it = scopes.rbegin(); it != scopes.rend() && v == nullptr; ++it) {
    if ((*it)->is_object()) {
      auto f = (*it)->find(first);
      if (f != (*it)->end()) v = &*f;
    }
  }
  size_t at = dot;
  while (v != nullptr && at != std::string::npos) {
    const size_t next = path.find('.', at + 1);
    const std::string key = path.substr(at + 1, next == std::string::npos ? next : next - at - 1);
    if (!v->is_object()) return nullptr;
    auto f = v->find(key);
    v = f == v->end() ? nullptr : &*f;
    at = next;
  }
  return v;
}

std::string Text(const Json* v) {
  if (v == nullptr || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  if (v->is_number()) return v->dump();
  return "";
}

bool Truthy(const Json* v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  if (v->is_array() || v->is_object()) return !v->empty();
  if (v->is_number_integer()) return v->get<int64_t>() != 0;
  if (v->is_number()) return v->get<double>() != 0;
  return false;
}

}  // namespace

Templates::Templates() = default;
Templates::Templates(Templates&&) noexcept = default;
Templates& Templates::operator=(Templates&&) noexcept = default;
Templates::~Templates() = default;

Result<Templates> Templates::Compile(const Assets& assets) {
  Templates t;
  for (const auto& [name, data] : assets.Under("templates/")) {
    if (!name.ends_with(".html")) continue;
    Parser p{*data, name};
    std::vector<Node> nodes;
    NRM_RETURN_IF_ERROR(p.Parse(nodes, "", nullptr));
    t.templates_.emplace(name.substr(10, name.size() - 15), std::move(nodes));
  }
  // Every partial must exist.
  std::function<Status(const std::string&, const std::vector<Node>&)> check =
      [&](const std::string& name, const std::vector<Node>& nodes) -> Status {
    for (const Node& n : nodes) {
      if (n.type == Type::kPartial && t.templates_.count(n.text) == 0) {
        return InvalidArgument("templates/" + name + ".html: {{> " + n.text +
                               "}}: no such template");
      }
      NRM_RETURN_IF_ERROR(check(name, n.body));
      NRM_RETURN_IF_ERROR(check(name, n.otherwise));
    }
    return Status::Ok();
  };
  for (const auto& [name, nodes] : t.templates_) NRM_RETURN_IF_ERROR(check(name, nodes));
  return t;
}

Result<std::string> Templates::Render(std::string_view name, const json::Json& data,
                                      const Translator& tr, std::string_view lang) const {
  auto it = templates_.find(name);
  if (it == templates_.end()) return NotFound("no template " + std::string(name));
  std::string out;
  std::vector<const Json*> scopes = {&data};
  int depth = 0;
  std::function<void(const std::vector<Node>&)> render = [&](const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      switch (n.type) {
        case Type::kText:
          out += n.text;
          break;
        case Type::kValue:
          out += EscapeHtml(Text(Lookup(scopes, n.text)));
          break;
        case Type::kRaw:
          out += Text(Lookup(scopes, n.text));
          break;
        case Type::kText_t: {
          std::string s(tr.Tr(lang, n.text));
          for (size_t i = n.args.size(); i-- > 0;) {
            const std::string mark = "%" + std::to_string(i + 1);
            const std::string value = Text(Lookup(scopes, n.args[i]));
            for (size_t at = s.find(mark); at != std::string::npos;
                 at = s.find(mark, at + value.size())) {
              s.replace(at, mark.size(), value);
            }
          }
          out += EscapeHtml(s);
          break;
        }
        case Type::kEach: {
          const Json* list = Lookup(scopes, n.text);
          if (list == nullptr || !list->is_array()) break;
          for (const Json& item : *list) {
            scopes.push_back(&item);
            render(n.body);
            scopes.pop_back();
          }
          break;
        }
        case Type::kIf:
        case Type::kUnless: {
          const bool yes = Truthy(Lookup(scopes, n.text)) == (n.type == Type::kIf);
          render(yes ? n.body : n.otherwise);
          break;
        }
        case Type::kPartial: {
          if (++depth > 16) break;  // a partial that includes itself
          render(templates_.find(n.text)->second);
          --depth;
          break;
        }
      }
    }
  };
  render(it->second);
  return out;
}

std::vector<std::string> Templates::Texts() const {
  std::set<std::string> out;
  std::function<void(const std::vector<Node>&)> walk = [&](const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      if (n.type == Type::kText_t) out.insert(n.text);
      walk(n.body);
      walk(n.otherwise);
    }
  };
  for (const auto& [name, nodes] : templates_) walk(nodes);
  return {out.begin(), out.end()};
}

}  // namespace nrm::agent::web
