// Reading the [web] section of an agent's config (web_config.h says what it holds). Thread-safe.
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <string>

#include "agent/web/web_config.h"
#include "common/status.h"

namespace nrm::agent::web {

// The [web] table `t` of the config at `path`; `resolve` makes a relative path relative to the
// config's folder. kInvalidArgument naming the file, the line and what is wrong: an unknown key,
// a bad address, a non-loopback address without tls_cert and tls_key, an unknown time zone or
// language.
Result<WebConfig> ParseWebConfig(const toml::table& t, const std::string& path,
                                 const std::function<std::string(const std::string&)>& resolve);

}  // namespace nrm::agent::web
