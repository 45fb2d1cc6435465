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

// Where each part goes in the caller's buffer, as offsets from its start: the info, the TLS
// info, the client certificate and the proxy info (when the request has them), the header
// array, then the
// bytes every view points into (the frame, the merged headers). Every struct is 8-aligned
// and a multiple of 8 long, so each part after the info is aligned when the buffer is.
struct Layout {
  explicit Layout(const httpapi_request& r) {
    const httpapi_tls_info* tls_info = r.info.tls;
    tls = sizeof(httpapi_request_info);
    certificate = tls + (tls_info ? sizeof(httpapi_tls_info) : 0);
    proxy = certificate +
            (tls_info && tls_info->client_certificate ? sizeof(httpapi_client_certificate) : 0);
    headers = proxy + (r.info.proxy ? sizeof(httpapi_proxy_info) : 0);
    frame = headers + r.headers.size() * sizeof(httpapi_header);
    merged = frame + r.frame.size();
    size = merged;
    for (const std::string& m : r.merged) size += m.size();
  }
  std::size_t tls, certificate, proxy, headers, frame, merged, size;
};
static_assert(alignof(httpapi_tls_info) <= alignof(httpapi_request_info) &&
              alignof(httpapi_client_certificate) <= alignof(httpapi_request_info) &&
              alignof(httpapi_proxy_info) <= alignof(httpapi_request_info) &&
              alignof(httpapi_header) <= alignof(httpapi_request_info));
static_assert(sizeof(httpapi_request_info) % alignof(httpapi_request_info) == 0 &&
              sizeof(httpapi_tls_info) % alignof(httpapi_request_info) == 0 &&
              sizeof(httpapi_client_certificate) % alignof(httpapi_request_info) == 0 &&
              sizeof(httpapi_proxy_info) % alignof(httpapi_request_info) == 0);

// The TLS info and its certificate copied to `at` (per `layout`), their views relocated.
const httpapi_tls_info* copy_tls(const httpapi_tls_info& tls, const Layout& layout, char* at,
                                 const Relocation& relocate) {
  auto* copy = new (at + layout.tls) httpapi_tls_info(tls);
  for (httpapi_bytes* b : {&copy->protocol, &copy->cipher, &copy->sni, &copy->alpn}) relocate(*b);
  if (tls.client_certificate) {
    auto* certificate =
        new (at + layout.certificate) httpapi_client_certificate(*tls.client_certificate);
    for (httpapi_bytes* b : {&certificate->der, &certificate->subject, &certificate->issuer}) {
      relocate(*b);
    }
    copy->client_certificate = certificate;
  }
  return copy;
}

}  // namespace

std::size_t copied_size(const httpapi_request& r) { return Layout(r).size; }

const httpapi_request_info* copy_request(const httpapi_request& r, void* buffer) {
  const Layout layout(r);
  char* const at = static_cast<char*>(buffer);
  auto* info = new (buffer) httpapi_request_info(r.info);
  auto* headers = reinterpret_cast<httpapi_header*>(at + layout.headers);
  char* frame_copy = at + layout.frame;
  char* merged_copy = at + layout.merged;
  std::memcpy(frame_copy, r.frame.data(), r.frame.size());
  char* end = merged_copy;
  for (const std::string& m : r.merged) end = std::copy(m.begin(), m.end(), end);
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
  if (r.info.tls) info->tls = copy_tls(*r.info.tls, layout, at, relocate);
  if (r.info.proxy) {
    auto* proxy = new (at + layout.proxy) httpapi_proxy_info(*r.info.proxy);
    for (httpapi_bytes* b : {&proxy->alpn, &proxy->authority, &proxy->ssl_version, &proxy->ssl_cn,
                             &proxy->ssl_cipher, &proxy->ssl_sig_alg, &proxy->ssl_key_alg}) {
      relocate(*b);
    }
    info->proxy = proxy;
  }
  return info;
}

}  // namespace httpapi::client
