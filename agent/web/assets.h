// What the web inbox serves besides its pages: the templates (agent/web/templates/*.html), the
// static files (templates/static/: style sheets, the one script), the compiled catalogs
// (po/*.po, compiled with Debian's msgfmt).
// All are built into the binary; a config may name a folder of templates to read instead (for
// development), read once at start. Nothing is ever read from disk per request, so a URL cannot
// name a file. Immutable after Load; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace nrm::agent::web {

struct BuiltinAsset {
  std::string_view name;  // "templates/inbox.html", "static/style.css", "po/th.mo", ...
  std::string_view data;
};

// Generated at build time (agent/web/embed.cmake).
const std::vector<BuiltinAsset>& BuiltinAssets();

class Assets {
 public:
  // The built-in assets, with templates/*.html and static/* replaced by the files of
  // `templates_dir` when it is not empty. kNotFound/kIOError naming the file.
  static Result<Assets> Load(const std::string& templates_dir);

  // The asset called `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // Every asset whose name starts with `prefix`.
  std::vector<std::pair<std::string, const std::string*>> Under(std::string_view prefix) const;

 private:
  std::map<std::string, std::string, std::less<>> files_;
};

}  // namespace nrm::agent::web
