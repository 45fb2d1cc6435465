// A request's contents as the application sees them (httpapi_request_info), built from the
// ipc::Request frame the service sent: every view points into the frame the request holds.
#include <algorithm>
#include <cstring>

#include "client/objects.hpp"
#include "http1/header_id.hpp"

namespace ipc = httpapi::ipc;

namespace httpapi::client {
namespace {

static_assert(ipc::kRequestSecure == HTTPAPI_REQUEST_FLAG_SECURE);
static_assert(ipc::kRequestProxied == HTTPAPI_REQUEST_FLAG_PROXIED);

httpapi_bytes view(std::string_view s) { return {s.data(), s.size()}; }
// An absent value (no SNI, no ALPN) is the empty view with NULL data, as for known headers.
httpapi_bytes view_or_null(std::string_view s) {
  return s.empty() ? httpapi_bytes{nullptr, 0} : view(s);
}

void show_tls(const ipc::RequestTls& m, httpapi_request& r) {
  r.tls.protocol = view(m.protocol);
  r.tls.cipher = view(m.cipher);
  r.tls.sni = view_or_null(m.sni);
  r.tls.alpn = view_or_null(m.alpn);
  r.tls.resumed = m.resumed ? 1 : 0;
  if (m.client_certificate) {
    r.client_certificate.der = view(m.client_certificate_der);
    r.client_certificate.subject = view(m.client_certificate_subject);
    r.client_certificate.issuer = view(m.client_certificate_issuer);
    r.client_certificate.verified = m.client_certificate_verified ? 1 : 0;
    r.tls.client_certificate = &r.client_certificate;
  }
  r.info.tls = &r.tls;
}

void show_proxy(const ipc::RequestProxy& m, httpapi_request& r) {
  httpapi_proxy_info& p = r.proxy;
  std::memcpy(&p.proxied_by, m.proxied_by.data(), sizeof p.proxied_by);
  p.alpn = view_or_null(m.alpn);
  p.authority = view_or_null(m.authority);
  p.ssl = m.ssl ? 1 : 0;
  p.ssl_client = m.ssl_client;
  p.ssl_verify = m.ssl_verify;
  p.ssl_version = view_or_null(m.ssl_version);
  p.ssl_cn = view_or_null(m.ssl_cn);
  p.ssl_cipher = view_or_null(m.ssl_cipher);
  p.ssl_sig_alg = view_or_null(m.ssl_sig_alg);
  p.ssl_key_alg = view_or_null(m.ssl_key_alg);
  r.info.proxy = &r.proxy;
}

}  // namespace

bool build_request(httpapi_request& r) {
  ipc::Frame frame;
  std::size_t consumed = 0;
  ipc::Request m;
  if (ipc::next_frame(r.frame, frame, consumed) != ipc::FrameStatus::complete ||
      !ipc::decode(frame, m)) {
    return false;
  }
  httpapi_request_info& info = r.info;
  info.request_id = m.request;
  info.connection_id = m.connection;
  info.url_context = m.url_context;
  info.method = view(m.method);
  info.raw_url = view(m.raw_url);
  info.url.full = view(m.full_url);
  info.url.host = view(m.host);
  info.url.port = m.port;
  info.url.path = view(m.path);
  info.url.query = view(m.query);
  info.version_major = m.version_major;
  info.version_minor = m.version_minor;
  std::memcpy(&info.local_address, m.local_address.data(), sizeof info.local_address);
  std::memcpy(&info.remote_address, m.remote_address.data(), sizeof info.remote_address);
  info.flags = m.flags & ~ipc::kRequestBacklog;
  r.backlog = (m.flags & ipc::kRequestBacklog) != 0;
  info.body = view(m.body);
  r.body_end = !(m.flags & HTTPAPI_REQUEST_FLAG_MORE_BODY);
  r.keep_trailers(m.trailers);
  if (m.flags & ipc::kRequestSecure) show_tls(m.tls, r);
  if (m.flags & ipc::kRequestProxied) show_proxy(m.proxy, r);

  ipc::HeaderListReader reader(m.headers);
  std::string_view name, value;
  while (reader.next(name, value)) r.headers.push_back({view(name), view(value)});
  info.headers = r.headers.data();
  info.header_count = r.headers.size();

  // Known headers: the first occurrence, or all occurrences merged (docs/http1.md).
  // merged[] never holds more than one string per known header, so reserving that many
  // (before the first view into it) keeps the views valid while it grows.
  int merged_at[HTTPAPI_HEADER_REQUEST_MAXIMUM];
  std::fill(std::begin(merged_at), std::end(merged_at), -1);
  for (const auto& h : r.headers) {
    const int id = http1::known_request_header({h.name.data, h.name.length});
    if (id < 0 || id >= HTTPAPI_HEADER_REQUEST_MAXIMUM) continue;
    httpapi_bytes& slot = info.known_headers[id];
    if (!slot.data) {
      slot = h.value;
      continue;
    }
    const auto rule = http1::header_merge_rule(id);
    if (rule == http1::HeaderMerge::first) continue;
    if (merged_at[id] < 0) {
      if (r.merged.empty()) r.merged.reserve(HTTPAPI_HEADER_REQUEST_MAXIMUM);  // most need none
      merged_at[id] = static_cast<int>(r.merged.size());
      r.merged.emplace_back(slot.data, slot.length);
    }
    std::string& joined = r.merged[static_cast<std::size_t>(merged_at[id])];
    joined.append(rule == http1::HeaderMerge::semicolon ? "; " : ", ");
    joined.append(h.value.data, h.value.length);
    slot = view(joined);
  }
  return reader.ok();
}

}  // namespace httpapi::client

// A member added to httpapi_request and forgotten here would carry one request's state into
// the next: the size is pinned so that adding one (or a field to a public struct it holds)
// stops the build here. Check reset(), then update the number. (64-bit libstdc++.)
static_assert(sizeof(void*) != 8 || sizeof(httpapi_request) == 1776,
              "httpapi_request changed: name every member in httpapi_request::reset()");

void httpapi_request::reset() {
  queue.reset();
  frame.clear();
  info = {};
  headers.clear();
  merged.clear();
  tls = {};
  client_certificate = {};
  proxy = {};
  body.clear();
  body_start = 0;
  read_outstanding = false;
  body_end = false;
  gone = false;
  ended = false;
  backlog = false;
  shown = &info;
  trailer_list.clear();
  trailers.clear();
  response_started = false;
  response_finished = false;
  held_frames.clear();
  held_body.clear();
}

void httpapi_request::keep_trailers(std::string_view list) {
  trailer_list.assign(list);
  trailers.clear();
  ipc::HeaderListReader reader(trailer_list);
  std::string_view name, value;
  while (reader.next(name, value)) {
    trailers.push_back({{name.data(), name.size()}, {value.data(), value.size()}});
  }
}

