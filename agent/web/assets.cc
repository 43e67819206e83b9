#include "agent/web/assets.h"

#include <filesystem>

#include "common/file_util.h"

namespace nrm::agent::web {

Result<Assets> Assets::Load(const std::string& templates_dir) {
  Assets a;
  for (const BuiltinAsset& b : BuiltinAssets()) a.files_.emplace(b.name, b.data);
  if (templates_dir.empty()) return a;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& [folder, prefix] :
       {std::pair{templates_dir, std::string("templates/")},
        std::pair{templates_dir + "/static", std::string("static/")}}) {
    if (!fs::is_directory(folder, ec)) return NotFound("no templates folder " + folder);
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      if (!e.is_regular_file()) continue;
      NRM_ASSIGN_OR_RETURN(std::string data, ReadFile(e.path().string()));
      a.files_[prefix + e.path().filename().string()] = std::move(data);
    }
    if (ec) return IOError("cannot list " + folder + ": " + ec.message());
  }
  return a;
}

const std::string* Assets::Find(std::string_view name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

std::vector<std::pair<std::string, const std::string*>> Assets::Under(
    std::string_view prefix) const {
  std::vector<std::pair<std::string, const std::string*>> out;
  for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix);
       ++it) {
    out.emplace_back(it->first, &it->second);
  }
  return out;
}

}  // namespace nrm::agent::web
