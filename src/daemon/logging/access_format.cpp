#include "daemon/logging/access_format.hpp"

#include <algorithm>

#include "daemon/logging/json_format.hpp"
#include "daemon/logging/ncsa_format.hpp"
#include "daemon/logging/w3c_format.hpp"

namespace httpapi::daemon {

std::optional<AccessFormat> parse_access_format(std::string_view text) {
  if (text == "w3c") return AccessFormat::w3c;
  if (text == "ncsa") return AccessFormat::ncsa;
  if (text == "json") return AccessFormat::json;
  if (text == "none") return AccessFormat::none;
  return std::nullopt;
}

std::string_view access_format_name(AccessFormat format) {
  switch (format) {
    case AccessFormat::w3c: return "w3c";
    case AccessFormat::ncsa: return "ncsa";
    case AccessFormat::json: return "json";
    case AccessFormat::none: break;
  }
  return "none";
}

void append_access_line(std::string& out, const AccessStyle& style, const AccessRecord& record,
                        CivilClock& utc, CivilClock& style_clock) {
  switch (style.format) {
    case AccessFormat::w3c: return append_w3c_line(out, style, record, utc);
    case AccessFormat::ncsa: return append_ncsa_line(out, record, style_clock);
    case AccessFormat::json: return append_json_line(out, record, utc);
    case AccessFormat::none: return;
  }
}

std::string access_file_header(const AccessStyle& style, std::int64_t now_ms) {
  return style.format == AccessFormat::w3c ? w3c_header(style, now_ms) : std::string();
}

SplitUri split_uri(std::string_view target) {
  if (!target.starts_with('/')) {
    // absolute form: http://host:port/path?query
    if (const std::size_t scheme = target.find("://"); scheme != std::string_view::npos) {
      const std::size_t path = target.find('/', scheme + 3);
      const std::size_t query = target.find('?', scheme + 3);
      const std::size_t start = std::min(path, query);
      target = start == std::string_view::npos ? std::string_view("/") : target.substr(start);
    }
  }
  const std::size_t mark = target.find('?');
  if (mark == std::string_view::npos) return {target, {}};
  return {target.substr(0, mark), target.substr(mark + 1)};
}

std::string_view protocol_name(const AccessRecord& record) {
  if (record.method.empty()) return {};
  if (record.version_major == 2) return "HTTP/2";
  return record.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace httpapi::daemon
