// HTML from templates kept in files (agent/web/templates/*.html), escaped by default: every
// value a template shows goes through EscapeHtml, unless the template writes {{raw name}}, a
// call that is visibly different (used only for HTML the server rendered itself).
//
//   {{name.field}}         the value, HTML-escaped ("" when absent)
//   {{raw name}}           the value as it is
//   {{t "Some text"}}      the text in the page's language (i18n.h), escaped; {{t "Page %1 of
//                          %2" page pages}} replaces %1, %2 with values, escaped too
//   {{#each list}}..{{/each}}        once per element; inside, names are looked up in the
//                                    element first ({{.}} is the element itself)
//   {{#if name}}..{{else}}..{{/if}}  true: non-empty string, array or object, true, non-zero
//   {{#unless name}}..{{/unless}}
//   {{> other}}            the template other.html, in the same scope
//   {{! a comment }}
//
// A template that does not parse is refused when the server starts (naming the template and the
// line), never when a page is served. Immutable after Compile; thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/web/assets.h"
#include "agent/web/i18n.h"
#include "common/json/json.h"
#include "common/status.h"

namespace nrm::agent::web {

// `s` with & < > " ' replaced by entities: safe in element content and quoted attributes.
std::string EscapeHtml(std::string_view s);

class Templates {
 public:
  // Compiles every templates/*.html of `assets`. kInvalidArgument "templates/x.html:LINE: what"
  // for the first that does not parse (an unclosed block, an unknown partial, ...).
  static Result<Templates> Compile(const Assets& assets);
  Templates(Templates&&) noexcept;
  Templates& operator=(Templates&&) noexcept;
  ~Templates();

  // Renders template `name` ("inbox" for templates/inbox.html) with `data`, its {{t}} texts in
  // `lang`. kNotFound for an unknown template.
  Result<std::string> Render(std::string_view name, const json::Json& data, const Translator& tr,
                             std::string_view lang) const;

  // Every {{t "..."}} text of every template (for the catalogs' completeness test).
  std::vector<std::string> Texts() const;

  struct Node;

 private:
  Templates();
  std::map<std::string, std::vector<Node>, std::less<>> templates_;
};

}  // namespace nrm::agent::web
