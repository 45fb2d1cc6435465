// httpapi-echo: answers every request with what it received, as JSON.
// The tool tests and users poke the service with; see README.md for the JSON keys.
#include <arpa/inet.h>
#include <pwd.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <span>
#include <thread>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <httpapi/httpapi.hpp>

#include "json_writer.hpp"

namespace {

using echo::JsonWriter;

// "ip:port", or "[ip]:port" for IPv6, written into `out`.
std::string_view endpoint(const sockaddr_storage& address, std::array<char, 64>& out) {
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  bool bracketed = false;
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, ip, sizeof ip);
    port = ntohs(v4.sin_port);
  } else {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    port = ntohs(v6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], ip, sizeof ip);
    } else {
      inet_ntop(AF_INET6, &v6.sin6_addr, ip, sizeof ip);
      bracketed = true;
    }
  }
  const int n = bracketed ? std::snprintf(out.data(), out.size(), "[%s]:%u", ip, port)
                          : std::snprintf(out.data(), out.size(), "%s:%u", ip, port);
  const int written = std::clamp(n, 0, static_cast<int>(out.size()) - 1);  // cut if too long
  return {out.data(), static_cast<std::size_t>(written)};
}

// SHA-256 in hex. One object serves every request: the digest's implementation is looked up
// once (EVP_sha256() alone looks it up at every init), and its context is reused.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  std::string_view hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned length = 0;
    EVP_DigestInit_ex(ctx_, md_ ? md_ : EVP_sha256(), nullptr);
    EVP_DigestUpdate(ctx_, data.data(), data.size());
    EVP_DigestFinal_ex(ctx_, digest, &length);
    static constexpr char kDigits[] = "0123456789abcdef";
    for (unsigned i = 0; i < length; ++i) {
      hex_[2 * i] = kDigits[digest[i] >> 4];
      hex_[2 * i + 1] = kDigits[digest[i] & 15];
    }
    return {hex_, 2 * length};
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
  char hex_[2 * EVP_MAX_MD_SIZE];
};

// An absent value (no SNI, no ALPN) is JSON null.
void text_or_null(JsonWriter& json, httpapi_bytes bytes) {
  if (bytes.data) {
    json.string(httpapi::view(bytes));
  } else {
    json.null();
  }
}

void describe_certificate(JsonWriter& json, const httpapi_client_certificate* certificate,
                          Sha256& sha256) {
  if (!certificate) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("subject").string(httpapi::view(certificate->subject));
  json.key("issuer").string(httpapi::view(certificate->issuer));
  json.key("sha256").string(sha256.hex(httpapi::view(certificate->der)));
  json.key("verified").boolean(certificate->verified != 0);
  json.end_object();
}

// What the TLS handshake settled (docs/tls.md); null for plain http.
void describe_tls(JsonWriter& json, const httpapi_tls_info* tls, Sha256& sha256) {
  if (!tls) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("protocol").string(httpapi::view(tls->protocol));
  json.key("cipher").string(httpapi::view(tls->cipher));
  text_or_null(json.key("sni"), tls->sni);
  text_or_null(json.key("alpn"), tls->alpn);
  json.key("resumed").boolean(tls->resumed != 0);
  describe_certificate(json.key("client_cert"), tls->client_certificate, sha256);
  json.end_object();
}

// The version 2 TLVs of a PROXY header (docs/proxy-protocol.md); null without a header,
// each member null when its TLV was not sent.
void describe_proxy_tlvs(JsonWriter& json, const httpapi_proxy_info* proxy) {
  if (!proxy) {
    json.null();
    return;
  }
  json.begin_object();
  text_or_null(json.key("alpn"), proxy->alpn);
  text_or_null(json.key("authority"), proxy->authority);
  json.key("ssl");
  if (proxy->ssl) {
    json.begin_object();
    json.key("client").number(proxy->ssl_client);
    json.key("verify").number(proxy->ssl_verify);
    text_or_null(json.key("version"), proxy->ssl_version);
    text_or_null(json.key("cn"), proxy->ssl_cn);
    text_or_null(json.key("cipher"), proxy->ssl_cipher);
    text_or_null(json.key("sig_alg"), proxy->ssl_sig_alg);
    text_or_null(json.key("key_alg"), proxy->ssl_key_alg);
    json.end_object();
  } else {
    json.null();
  }
  json.end_object();
}

void describe_fields(JsonWriter& json, std::span<const httpapi_header> fields) {
  json.begin_array();
  for (const httpapi_header& field : fields) {
    json.begin_array().string(httpapi::view(field.name)).string(httpapi::view(field.value));
    json.end_array();
  }
  json.end_array();
}

// What the answer says about the request: every member but "served" and "pad", which the
// caller adds before closing the object.
void describe(JsonWriter& json, httpapi::Request& request, const std::string& app,
              std::string_view body, Sha256& sha256) {
  const httpapi_request_info& info = request.info();
  std::array<char, 64> text;
  json.begin_object();
  json.key("app").string(app);
  json.key("method").string(request.method());
  json.key("raw_url").string(request.raw_url());
  json.key("url").begin_object();
  json.key("full").string(httpapi::view(info.url.full));
  json.key("host").string(httpapi::view(info.url.host));
  json.key("port").number(info.url.port);
  json.key("path").string(request.path());
  json.key("query").string(request.query());
  json.end_object();
  // HTTP/2 has no minor version (RFC 9113 §3): "HTTP/2", as curl prints it.
  if (info.version_major == 2) {
    json.key("version").string("HTTP/2");
  } else {
    const int n = std::snprintf(text.data(), text.size(), "HTTP/%u.%u",
                                unsigned{info.version_major}, unsigned{info.version_minor});
    json.key("version").string({text.data(), static_cast<std::size_t>(n)});
  }
  describe_fields(json.key("headers"), {info.headers, info.header_count});
  describe_fields(json.key("trailers"), request.trailers());
  json.key("body_length").number(body.size());
  json.key("body_sha256").string(sha256.hex(body));
  json.key("remote").string(endpoint(info.remote_address, text));
  json.key("local").string(endpoint(info.local_address, text));
  json.key("url_context").number(info.url_context);
  json.key("request_id").number(info.request_id);
  json.key("connection_id").number(info.connection_id);
  json.key("secure").boolean(request.secure());
  describe_tls(json.key("tls"), request.tls(), sha256);
  // The balancer, when a PROXY header named the client ("remote" is then the client).
  json.key("proxied_by");
  if (request.proxy()) {
    json.string(endpoint(request.proxy()->proxied_by, text));
  } else {
    json.null();
  }
  describe_proxy_tlvs(json.key("proxy_tlvs"), request.proxy());
}

// The body in `pieces` calls of about equal size after the head, without a Content-Length
// (chunked on HTTP/1.1, DATA frames on HTTP/2), ended by `trailers` when there are any.
// Returns the first failure.
httpapi_error send_in_pieces(httpapi::Request& request, std::string_view body, unsigned pieces,
                             std::span<const httpapi::Header> trailers) {
  const std::size_t size = (body.size() + pieces - 1) / pieces;
  if (auto e = request.begin(200, {{"Content-Type", "application/json"}})) return e;
  while (body.size() > size) {
    if (auto e = request.write(body.substr(0, size))) return e;
    body.remove_prefix(size);
  }
  if (trailers.empty()) return request.end(body);
  if (auto e = request.write(body)) return e;
  return request.end_with_trailers(trailers);
}

// "NAME:VALUE" (spaces after the colon dropped), as given to --trailer; false without a name.
bool split_field(std::string_view text, httpapi::Header& out) {
  const std::size_t colon = text.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  out = {text.substr(0, colon), value};
  return true;
}

// The whole answer in one call with its Content-Length (and no body for HEAD), cached for
// `cache_ttl` seconds when not 0.
httpapi_error answer_whole(httpapi::Request& request, std::string_view json,
                           std::uint32_t cache_ttl) {
  const std::string length = std::to_string(json.size());
  const bool head = request.method() == "HEAD";
  const httpapi_cache_policy policy{cache_ttl ? HTTPAPI_CACHE_TIME_TO_LIVE : HTTPAPI_CACHE_NONE,
                                    cache_ttl};
  return request.respond_cacheable(
      200, {{"Content-Type", "application/json"}, {"Content-Length", length}},
      head ? std::string_view() : std::string_view(json), policy);
}

// Computes for `us` microseconds of this thread's CPU time: a handler whose cost is CPU work,
// so benchmarks can see what more worker processes give when the CPUs are the limit.
void burn_cpu(unsigned us) {
  auto cpu_now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  const std::int64_t end = cpu_now() + static_cast<std::int64_t>(us) * 1000;
  while (cpu_now() < end) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls;
  std::string queue_name;
  std::string app_name = "echo";
  CLI::App cli{"httpapi-echo: answers every request with what it received, as JSON"};
  cli.add_option("--url", urls, "URL prefix to register (repeatable); its context is its "
                                "position, 1, 2, ...");
  cli.add_option("--queue", queue_name, "Name of the request queue to create (or to join "
                                        "with --open)");
  cli.add_option("--name", app_name, "Name reported as \"app\" in every answer");
  bool join = false;
  cli.add_flag("--open", join, "Join the existing named --queue as one more worker; "
                               "register no URLs");
  std::vector<std::string> allowed_users;
  cli.add_option("--allow-user", allowed_users,
                 "Let this user's processes open the named --queue too (repeatable)");
  bool controller = false;
  cli.add_flag("--controller", controller,
               "Create the named --queue and register the --urls, but receive nothing (like "
               "IIS's process manager); workers join with --open");
  bool persistent = false;
  cli.add_flag("--persistent", persistent, "The queue outlives the processes attached to it");
  std::uint64_t queue_length = 0;
  cli.add_option("--queue-length", queue_length, "Requests the queue holds before 503")
      ->check(CLI::Range(1, 65535));
  unsigned delay_ms = 0;
  cli.add_option("--delay-ms", delay_ms, "Wait this long before answering each request");
  unsigned cpu_us = 0;
  cli.add_option("--cpu-us", cpu_us,
                 "Compute for this many microseconds of CPU time before answering each request")
      ->check(CLI::Range(0, 10'000'000));
  unsigned window = 0;
  cli.add_option("--receive-window", window,
                 "Requests taken ahead of receive calls (1 = HTTP.sys's rule; default: adapts "
                 "to the load, 1 to 16)")
      ->check(CLI::Range(1, 1024));
  unsigned stream = 1;
  cli.add_option("--stream", stream,
                 "Send each answer in this many separate calls without a Content-Length "
                 "(chunked on the wire for HTTP/1.1)")
      ->check(CLI::Range(1, 4096));
  std::uint32_t cache_ttl = 0;
  cli.add_option("--cache-ttl", cache_ttl,
                 "Mark answers cacheable for this many seconds: httpapid answers repeated GETs "
                 "of the same URL itself (docs/cache.md); 'served' then stops counting them");
  std::uint64_t served = 0;
  std::string verbosity;
  cli.add_option("--503-verbosity", verbosity, "How refused requests are answered")
      ->check(CLI::IsMember({"basic", "limited", "full"}));
  // URL group properties (docs/timers.md), set only when given.
  struct GroupOption {
    const char* flag;
    httpapi_url_group_property property;
    const char* help;
    std::uint64_t value = 0;
  };
  GroupOption group_options[] = {
      {"--entity-body-timeout", HTTPAPI_GROUP_ENTITY_BODY_TIMEOUT,
       "Seconds a request body may pause (0 = server-wide, 65535 = never)"},
      {"--drain-timeout", HTTPAPI_GROUP_DRAIN_ENTITY_BODY_TIMEOUT,
       "Seconds to discard a body left unread (see --ignore-body)"},
      {"--request-queue-timeout", HTTPAPI_GROUP_REQUEST_QUEUE_TIMEOUT,
       "Seconds a request may wait in the queue, then 503"},
      {"--idle-timeout", HTTPAPI_GROUP_IDLE_CONNECTION_TIMEOUT,
       "Seconds a keep-alive connection may wait for its next request"},
      {"--header-wait-timeout", HTTPAPI_GROUP_HEADER_WAIT_TIMEOUT,
       "Seconds the next request head on a connection may take"},
      {"--min-send-rate", HTTPAPI_GROUP_MIN_SEND_RATE,
       "Bytes/s a client must read answers at (4294967295 = no check)"},
      {"--max-connections", HTTPAPI_GROUP_MAX_CONNECTIONS,
       "Client connections the URL group serves at once; more get 503"},
      {"--max-bandwidth", HTTPAPI_GROUP_MAX_BANDWIDTH,
       "Bytes/s for all answers together (at least 1024)"},
  };
  for (GroupOption& option : group_options) {
    cli.add_option(option.flag, option.value, option.help);
  }
  bool ignore_body = false;
  cli.add_flag("--ignore-body", ignore_body,
               "Answer without reading the request body (the service discards the rest); "
               "body_length counts only the bytes that came with the head");
  // The group's access log (docs/access-logs.md), written by httpapid as
  // STATE_DIR/logs/access/NAME.log, NAME being --name.
  std::string access_log;
  cli.add_option("--access-log", access_log,
                 "Have httpapid log every request of this app's URLs, in this format, to "
                 "<state-dir>/logs/access/<--name>.log")
      ->check(CLI::IsMember({"w3c", "ncsa", "json"}));
  std::string rollover = "daily";
  cli.add_option("--access-log-rollover", rollover,
                 "When the access log starts a new file: daily, hourly, or size (past "
                 "--access-log-size bytes)")
      ->check(CLI::IsMember({"daily", "hourly", "size"}));
  std::uint64_t rollover_size = 16 * 1024 * 1024;
  cli.add_option("--access-log-size", rollover_size,
                 "Bytes after which a size rollover starts a new file (at least 65536)");
  std::uint64_t log_fields = 0;
  cli.add_option("--access-log-fields", log_fields,
                 "W3C fields as HTTPAPI_LOG_FIELD_* bits (0: IIS's default set)");
  bool log_local_time = false;
  cli.add_flag("--access-log-local-time", log_local_time,
               "Roll over (and write NCSA times) in local time rather than UTC");
  std::size_t pad = 0;
  cli.add_option("--pad", pad, "Add a \"pad\" string of this many bytes to every answer, "
                               "for large responses");
  std::vector<std::string> trailer_texts;
  cli.add_option("--trailer", trailer_texts,
                 "NAME:VALUE (repeatable): stream each answer (as --stream) and end it with "
                 "these trailer fields (chunked trailers on HTTP/1.1, a last HEADERS frame on "
                 "HTTP/2)");
  CLI11_PARSE(cli, argc, argv);
  std::vector<httpapi::Header> trailers;
  for (const std::string& text : trailer_texts) {
    if (!split_field(text, trailers.emplace_back())) {
      std::fprintf(stderr, "httpapi-echo: --trailer '%s': give NAME:VALUE\n", text.c_str());
      return 2;
    }
  }
  if (join != urls.empty() || ((join || controller) && queue_name.empty()) ||
      (join && controller)) {
    std::fprintf(stderr, "httpapi-echo: give --url PREFIX (one or more), or --open with "
                         "--queue NAME; --controller needs --queue and --url\n");
    return 2;
  }

  httpapi::Runtime runtime;
  auto fail = [](const char* what, httpapi_error e) {
    std::fprintf(stderr, "httpapi-echo: %s: %s: %s %s\n", what, httpapi_error_name(e),
                 httpapi_strerror(e), httpapi_error_detail());
    return 2;
  };
  if (runtime.error()) return fail("initialize", runtime.error());
  // A worker that joins a queue needs no session: the queue's creator routes URLs to it.
  httpapi::Result<httpapi::Session> session = HTTPAPI_ERROR_NOT_INITIALIZED;
  httpapi::Result<httpapi::UrlGroup> group = HTTPAPI_ERROR_NOT_INITIALIZED;
  const std::uint32_t flags = (join ? HTTPAPI_QUEUE_FLAG_OPEN_EXISTING : 0) |
                              (controller ? HTTPAPI_QUEUE_FLAG_CONTROLLER : 0) |
                              (persistent ? HTTPAPI_QUEUE_FLAG_PERSISTENT : 0);
  auto queue = httpapi::Queue::create(queue_name, flags);
  if (!queue) return fail("request queue", queue.error());
  if (window) {
    if (auto e = queue->set_receive_window(window)) return fail("receive window", e);
  }
  if (queue_length) {
    if (auto e = queue->set_property(HTTPAPI_QUEUE_LENGTH, queue_length)) {
      return fail("queue length", e);
    }
  }
  if (!verbosity.empty()) {
    const std::uint64_t level = verbosity == "basic"     ? HTTPAPI_503_BASIC
                                : verbosity == "limited" ? HTTPAPI_503_LIMITED
                                                         : HTTPAPI_503_FULL;
    if (auto e = queue->set_property(HTTPAPI_QUEUE_VERBOSITY, level)) {
      return fail("503 verbosity", e);
    }
  }
  if (!join) {
    session = httpapi::Session::create();
    if (!session) return fail("session", session.error());
    group = session->create_url_group();
    if (!group) return fail("URL group", group.error());
    if (auto e = group->bind(*queue)) return fail("bind", e);
    for (const GroupOption& option : group_options) {
      if (cli.count(option.flag) == 0) continue;
      if (auto e = group->set_property(option.property, option.value)) {
        return fail(option.flag, e);
      }
    }
    if (!access_log.empty()) {
      httpapi_logging_info info{};
      info.format = access_log == "w3c"    ? HTTPAPI_LOG_FORMAT_W3C
                    : access_log == "ncsa" ? HTTPAPI_LOG_FORMAT_NCSA
                                           : HTTPAPI_LOG_FORMAT_JSON;
      info.name = app_name.c_str();
      info.rollover = rollover == "size"     ? HTTPAPI_LOG_ROLLOVER_SIZE
                      : rollover == "hourly" ? HTTPAPI_LOG_ROLLOVER_HOURLY
                                             : HTTPAPI_LOG_ROLLOVER_DAILY;
      info.rollover_size = rollover_size;
      info.fields = log_fields;
      info.flags = log_local_time ? HTTPAPI_LOG_FLAG_LOCAL_TIME : 0;
      if (auto e = group->set_logging(&info)) return fail("access log", e);
    }
    for (const std::string& user : allowed_users) {
      const passwd* pw = getpwnam(user.c_str());
      if (!pw) {
        std::fprintf(stderr, "httpapi-echo: --allow-user: no user named '%s'\n", user.c_str());
        return 2;
      }
      if (auto e = queue->allow_user(pw->pw_uid)) return fail("allow user", e);
    }
    for (std::size_t i = 0; i < urls.size(); ++i) {
      if (auto e = group->add(urls[i], i + 1)) return fail(urls[i].c_str(), e);
    }
  }
  std::printf("ready\n");
  std::fflush(stdout);
  if (controller) {
    // A controller takes no requests; waiting in receive keeps its queue and URLs alive,
    // and made again if the service restarts.
    for (;;) {
      const auto idle = httpapi::Request::receive(*queue, 60000);
      if (idle.error() == HTTPAPI_ERROR_SHUTDOWN) return 0;
    }
  }

  Sha256 sha256;
  std::string json;
  const std::string padding(pad, '.');
  for (;;) {
    auto request = httpapi::Request::receive(*queue);
    if (request.error() == HTTPAPI_ERROR_SHUTDOWN) {
      std::fprintf(stderr, "httpapi-echo: the queue was shut down\n");
      return 0;
    }
    if (!request) {
      std::fprintf(stderr, "httpapi-echo: receive: %s: %s\n", request.name(), request.what());
      return 1;
    }
    if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (cpu_us) burn_cpu(cpu_us);
    auto body = ignore_body ? httpapi::Result<std::string>(
                                  std::string(httpapi::view(request->info().body)))
                            : request->read_body();
    if (!body) continue;  // the client left while sending its body
    // Written into one string for every answer: it keeps its capacity.
    json.clear();
    JsonWriter writer(json);
    describe(writer, *request, app_name, *body, sha256);
    writer.key("served").number(++served);
    if (pad) writer.key("pad").string(std::string_view(padding));
    writer.end_object();
    json += '\n';
    const httpapi_error sent = stream > 1 || !trailers.empty()
                                   ? send_in_pieces(*request, json, stream, trailers)
                                   : answer_whole(*request, json, cache_ttl);
    // A client that leaves before its answer is its own business; anything else is logged.
    if (sent && sent != HTTPAPI_ERROR_CONNECTION_GONE) {
      std::fprintf(stderr, "httpapi-echo: answer not sent: %s: %s\n", httpapi_error_name(sent),
                   httpapi_strerror(sent));
    }
  }
}
