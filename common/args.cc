#include "common/args.h"

namespace nrm {

Result<Args> Args::Parse(const std::vector<std::string>& words, const std::set<std::string>& valued,
                         const std::set<std::string>& flags) {
  Args a;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--help" || w == "-h") {
      a.flags_.insert("help");
    } else if (!w.starts_with("--")) {
      a.positional_.push_back(w);
    } else if (valued.count(w.substr(2))) {
      if (i + 1 >= words.size()) return InvalidArgument(w + " needs a value");
      a.values_[w.substr(2)] = words[++i];
    } else if (flags.count(w.substr(2))) {
      a.flags_.insert(w.substr(2));
    } else {
      return InvalidArgument("unknown option " + w);
    }
  }
  return a;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> Args::Require(const std::string& name) const {
  auto v = Get(name);
  if (!v) return InvalidArgument("missing --" + name);
  return *v;
}

bool WantsHelp(const std::vector<std::string>& words) {
  for (const std::string& w : words) {
    if (w == "--help" || w == "-h") return true;
  }
  return false;
}

}  // namespace nrm
