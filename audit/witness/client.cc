#include "audit/witness/client.h"

#include <curl/curl.h>

#include <mutex>

#include "audit/witness/add_checkpoint.h"

namespace nrm::audit::witness {
namespace {

constexpr size_t kMaxAnswerBytes = 64 * 1024;

// curl_global_init is not thread-safe: once, before any handle.
void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t OnBody(char* data, size_t size, size_t count, void* out) {
  auto* r = static_cast<PostResult*>(out);
  const size_t n = size * count;
  if (r->body.size() + n > kMaxAnswerBytes) return 0;  // aborts the transfer
  r->body.append(data, n);
  return n;
}

}  // namespace

struct WitnessClient::Impl {
  std::vector<std::string> urls;
  long timeout_ms = 0;
  CURLM* multi = nullptr;
  std::vector<CURL*> easy;  // one per witness, reused: its connection is kept alive
};

WitnessClient::WitnessClient(std::vector<std::string> prefixes, long timeout_ms)
    : impl_(std::make_unique<Impl>()) {
  InitCurl();
  impl_->timeout_ms = timeout_ms;
  impl_->multi = curl_multi_init();
  for (std::string& p : prefixes) {
    while (!p.empty() && p.back() == '/') p.pop_back();
    impl_->urls.push_back(p + std::string(kAddCheckpointPath));
    impl_->easy.push_back(curl_easy_init());
  }
}

WitnessClient::~WitnessClient() {
  for (CURL* e : impl_->easy) {
    if (e != nullptr) curl_easy_cleanup(e);
  }
  if (impl_->multi != nullptr) curl_multi_cleanup(impl_->multi);
}

std::vector<PostResult> WitnessClient::PostAll(
    const std::vector<std::optional<std::string>>& bodies) {
  NRM_CHECK(bodies.size() == impl_->urls.size());
  std::vector<PostResult> results(bodies.size());
  if (impl_->multi == nullptr) {
    for (PostResult& r : results) r.error = "libcurl did not start";
    return results;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/plain; charset=utf-8");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::vector<CURL*> added;
  for (size_t i = 0; i < bodies.size(); ++i) {
    CURL* e = impl_->easy[i];
    if (!bodies[i] || e == nullptr) {
      if (bodies[i]) results[i].error = "libcurl did not start";
      continue;
    }
    curl_easy_setopt(e, CURLOPT_URL, impl_->urls[i].c_str());
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[i]->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(bodies[i]->size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &results[i]);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, impl_->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, impl_->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &results[i]);
    if (curl_multi_add_handle(impl_->multi, e) == CURLM_OK) {
      added.push_back(e);
    } else {
      results[i].error = "libcurl refused the request";
    }
  }
  int running = 0;
  do {
    if (curl_multi_perform(impl_->multi, &running) != CURLM_OK) break;
    if (running > 0) curl_multi_poll(impl_->multi, nullptr, 0, 200, nullptr);
  } while (running > 0);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(impl_->multi, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    PostResult* r = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&r));
    if (r == nullptr) continue;
    if (m->data.result != CURLE_OK) {
      r->error = curl_easy_strerror(m->data.result);
      r->body.clear();
      continue;
    }
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
    char* type = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) r->content_type = type;
  }
  for (CURL* e : added) {
    PostResult* r = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&r));
    if (r != nullptr && r->status == 0 && r->error.empty()) r->error = "no answer";
    curl_multi_remove_handle(impl_->multi, e);
  }
  curl_slist_free_all(headers);
  return results;
}

}  // namespace nrm::audit::witness
