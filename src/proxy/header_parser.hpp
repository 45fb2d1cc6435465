// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) as a pure
// function over a byte span, like the HTTP/1.1 head parser: no I/O, no allocation, limits as
// parameters, results as views into the caller's bytes. Resumable the same way: the caller
// keeps the bytes it has and calls again with more. An incomplete answer guarantees that
// every byte given belongs to the header, so a caller that must not read past the header
// (TLS follows it, on https ports) can consume them and peek for more (docs/proxy-protocol.md).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace httpapi::proxy {

struct Limits {
  // The whole header at most: a version 1 line is never longer than 107 bytes (the spec's
  // own bound); a version 2 header may declare up to 16 + 65535, and TLVs past this many are
  // refused rather than waited for.
  std::size_t max_header_bytes = 4096;
};

enum class Status : std::uint8_t { incomplete, complete, error };

enum class Error : std::uint8_t {
  none,
  not_proxy,         // the bytes start with neither signature
  v1_too_long,       // no CRLF within 107 bytes
  v1_malformed,      // bad protocol word, address, port or spacing
  v2_version,        // version nibble is not 2
  v2_command,        // command is neither LOCAL nor PROXY
  v2_unsupported,    // PROXY for a family or transport other than TCP over IPv4/IPv6
  v2_length,         // the declared length cannot hold the addresses it says follow
  v2_tlv,            // a TLV (or SSL sub-TLV) runs past the end of the header
  too_long,          // declares more than Limits::max_header_bytes
};

// The short name the error log and the tests use ("v2_length").
std::string_view error_name(Error error) noexcept;

// The TLVs of a version 2 header this service shows its applications (PP2_TYPE_*); views
// into the header bytes, empty when absent. Unknown types are skipped.
struct Tlvs {
  std::string_view alpn;       // PP2_TYPE_ALPN 0x01, e.g. "h2"
  std::string_view authority;  // PP2_TYPE_AUTHORITY 0x02: the host name the client asked for
  bool ssl = false;            // PP2_TYPE_SSL 0x20 was present: the next fields say more
  std::uint8_t ssl_client = 0;  // PP2_CLIENT_SSL 0x01, _CERT_CONN 0x02, _CERT_SESS 0x04
  std::uint32_t ssl_verify = 0;  // 0: the client presented a certificate that verified
  std::string_view ssl_version;  // PP2_SUBTYPE_SSL_VERSION 0x21, e.g. "TLSv1.3"
  std::string_view ssl_cn;       // PP2_SUBTYPE_SSL_CN 0x22
  std::string_view ssl_cipher;   // PP2_SUBTYPE_SSL_CIPHER 0x23
  std::string_view ssl_sig_alg;  // PP2_SUBTYPE_SSL_SIG_ALG 0x24
  std::string_view ssl_key_alg;  // PP2_SUBTYPE_SSL_KEY_ALG 0x25
};

// Members have no initialisers that matter for speed: one is declared per connection.
struct Header {
  int version = 0;  // 1 or 2
  // False for v1 UNKNOWN, v2 LOCAL and v2 PROXY with an unspecified family: the sender's
  // own connection (a balancer's health check); the real peer's address stays the client's.
  bool proxied = false;
  sockaddr_storage source{};       // when proxied: the client as the balancer saw it
  sockaddr_storage destination{};  // when proxied: the address the client connected to
  Tlvs tlvs;                       // version 2 PROXY only
};

struct Result {
  Status status = Status::incomplete;
  Error error = Error::none;
  std::size_t consumed = 0;  // the header's length when complete, else 0
};

// Parses the header at the start of `input`. complete: `header` filled, `consumed` bytes
// are the header and what follows is the proxied stream. incomplete: all of `input` is a
// prefix of a header; call again with more. error: `error` says what is wrong.
Result parse_header(std::string_view input, const Limits& limits, Header& header) noexcept;

// Whether `input` starts like a PROXY header, for a connection that may not send one: no,
// yes, or not yet known (a prefix of a signature).
enum class Looks : std::uint8_t { no, yes, maybe };
Looks looks_like_header(std::string_view input) noexcept;

}  // namespace httpapi::proxy
