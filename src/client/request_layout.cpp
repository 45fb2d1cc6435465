// Laying a request out in a buffer the application owns (httpapi_receive_into).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#include "client/objects.hpp"

namespace httpapi::client {
namespace {

// Does `p` point into `s` (or just past it, where an empty view may point)?
bool within(const char* p, const std::string& s) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  const auto start = reinterpret_cast<std::uintptr_t>(s.data());
  return at >= start && at <= start + s.size();
}

// Points a view of the request's own storage at the same bytes in the caller's buffer: the
// frame was copied to `frame_copy`, the merged headers one after another to `merged_copy`.
class Relocation {
 public:
  Relocation(const httpapi_request& r, char* frame_copy, char* merged_copy)
      : r_(r), frame_copy_(frame_copy), merged_copy_(merged_copy) {}

  void operator()(httpapi_bytes& b) const {
    if (!b.data) return;
    if (within(b.data, r_.frame)) {
      b.data = frame_copy_ + (b.data - r_.frame.data());
      return;
    }
    char* at = merged_copy_;
    for (const std::string& m : r_.merged) {
      if (within(b.data, m)) {
        b.data = at + (b.data - m.data());
        return;
      }
      at += m.size();
    }
  }

 private:
  const httpapi_request& r_;
  char* frame_copy_;
  char* merged_copy_;
};

}  // namespace

// The info, the header array, then the bytes every view points into.
std::size_t copied_size(const httpapi_request& r) {
  std::size_t size = sizeof(httpapi_request_info) + r.headers.size() * sizeof(httpapi_header) +
                     r.frame.size();
  for (const std::string& m : r.merged) size += m.size();
  return size;
}

const httpapi_request_info* copy_request(const httpapi_request& r, void* buffer) {
  auto* info = new (buffer) httpapi_request_info(r.info);
  auto* headers = reinterpret_cast<httpapi_header*>(info + 1);
  char* frame_copy = reinterpret_cast<char*>(headers + r.headers.size());
  char* merged_copy = frame_copy + r.frame.size();
  std::memcpy(frame_copy, r.frame.data(), r.frame.size());
  char* at = merged_copy;
  for (const std::string& m : r.merged) at = std::copy(m.begin(), m.end(), at);
  const Relocation relocate(r, frame_copy, merged_copy);
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    headers[i] = r.headers[i];
    relocate(headers[i].name);
    relocate(headers[i].value);
  }
  info->headers = headers;
  for (httpapi_bytes* b : {&info->method, &info->raw_url, &info->url.full, &info->url.host,
                           &info->url.path, &info->url.query, &info->body}) {
    relocate(*b);
  }
  for (httpapi_bytes& known : info->known_headers) relocate(known);
  return info;
}

}  // namespace httpapi::client
