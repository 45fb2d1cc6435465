// The access-log formatters: IIS's W3C field order and escaping, NCSA's request line, JSON
// lines that stay valid whatever bytes the client sent; and the writer's files.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/logging/access_format.hpp"
#include "daemon/logging/access_log.hpp"
#include "daemon/logging/group_logging.hpp"
#include "daemon/logging/json_format.hpp"
#include "daemon/logging/ncsa_format.hpp"
#include "daemon/logging/w3c_format.hpp"
#include "httpapi/httpapi.h"

namespace httpapi::daemon {
namespace {

// 2026-12-04 13:45:01.234 UTC
constexpr std::int64_t kTime = 1796391901234;

AccessRecord sample() {
  AccessRecord r;
  r.time_ms = kTime;
  r.time_taken_ms = 17;
  r.client_ip = "192.0.2.7";
  r.client_port = 50000;
  r.server_ip = "127.0.0.1";
  r.server_port = 8080;
  r.method = "GET";
  r.uri = "/app/a b?x=1&y=\"2\"";
  r.host = "example.test:8080";
  r.user_agent = "Mozilla/5.0 (X11; Linux)";
  r.referer = "http://ref.test/";
  r.status = 200;
  r.bytes_in = 120;
  r.bytes_out = 345;
  r.queue = "q1";
  r.cache = CacheUse::miss;
  return r;
}

std::string line(AccessFormat format, const AccessRecord& r, std::uint64_t fields = 0) {
  AccessStyle style;
  style.format = format;
  style.fields = fields;
  style.site_name = "site";
  CivilClock utc(false), clock(false);
  std::string out;
  append_access_line(out, style, r, utc, clock);
  return out;
}

TEST(W3cFormat, DefaultFieldsAreIisInIisOrder) {
  EXPECT_EQ(w3c_field_names(0),
            "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
            "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken");
  AccessStyle style;
  const std::string header = w3c_header(style, kTime);
  EXPECT_NE(header.find("#Version: 1.0\n"), std::string::npos);
  EXPECT_NE(header.find("#Date: 2026-12-04 13:45:01\n"), std::string::npos);
  EXPECT_NE(header.find("#Fields: date time s-ip"), std::string::npos);
}

TEST(W3cFormat, LineHasOneValuePerFieldSpacesAsPlus) {
  EXPECT_EQ(line(AccessFormat::w3c, sample()),
            "2026-12-04 13:45:01 127.0.0.1 GET /app/a+b x=1&y=\"2\" 8080 - 192.0.2.7 "
            "Mozilla/5.0+(X11;+Linux) http://ref.test/ 200 0 0 17\n");
}

TEST(W3cFormat, SelectedFieldsFollowIisOrderWhateverTheBits) {
  const std::uint64_t fields = HTTPAPI_LOG_FIELD_TIME_TAKEN | HTTPAPI_LOG_FIELD_BYTES_SENT |
                               HTTPAPI_LOG_FIELD_VERSION | HTTPAPI_LOG_FIELD_HOST |
                               HTTPAPI_LOG_FIELD_TLS_PROTOCOL | HTTPAPI_LOG_FIELD_CACHE |
                               HTTPAPI_LOG_FIELD_QUEUE_NAME;
  EXPECT_EQ(w3c_field_names(fields),
            "cs-version cs-host sc-bytes time-taken s-queuename x-tls-protocol x-cache");
  EXPECT_EQ(line(AccessFormat::w3c, sample(), fields),
            "HTTP/1.1 example.test:8080 345 17 q1 - miss\n");
}

// The formatter keeps the last second's date and time and the last field list: lines that
// change either, one after the other, still get their own.
TEST(W3cFormat, EachLineHasItsOwnSecondAndFields) {
  const std::uint64_t when = HTTPAPI_LOG_FIELD_DATE | HTTPAPI_LOG_FIELD_TIME;
  AccessRecord r = sample();
  r.time_ms = 1798761599999;  // 2026-12-31 23:59:59.999 UTC
  EXPECT_EQ(line(AccessFormat::w3c, r, when), "2026-12-31 23:59:59\n");
  r.time_ms += 1;
  EXPECT_EQ(line(AccessFormat::w3c, r, when), "2027-01-01 00:00:00\n");
  EXPECT_EQ(line(AccessFormat::w3c, r, HTTPAPI_LOG_FIELD_STATUS), "200\n");
  r.time_ms -= 1;
  EXPECT_EQ(line(AccessFormat::w3c, r, when | HTTPAPI_LOG_FIELD_STATUS),
            "2026-12-31 23:59:59 200\n");
  r.time_ms = -1;  // before the epoch: the second before it, not the one after
  EXPECT_EQ(line(AccessFormat::w3c, r, HTTPAPI_LOG_FIELD_TIME), "23:59:59\n");
  r.time_ms = 0;
  EXPECT_EQ(line(AccessFormat::w3c, r, HTTPAPI_LOG_FIELD_TIME), "00:00:00\n");
}

TEST(W3cFormat, ControlCharactersCannotSplitALine) {
  AccessRecord r = sample();
  r.user_agent = "evil\r\n2026-01-01 forged\tline\x7f";
  const std::string out = line(AccessFormat::w3c, r, HTTPAPI_LOG_FIELD_USER_AGENT);
  EXPECT_EQ(out, "evil%0D%0A2026-01-01+forged%09line%7F\n");
}

// The line is written into room made for its longest form: every field, every byte escaped,
// every number at its widest, after what the buffer already held (the sanitizer build
// checks that nothing is written past the room).
TEST(W3cFormat, EveryFieldAtItsLongestAfterEarlierLines) {
  AccessRecord r = sample();
  const std::string controls(300, '\x01');
  for (std::string* text : {&r.client_ip, &r.server_ip, &r.method, &r.host, &r.user_agent,
                            &r.referer, &r.cookie, &r.username, &r.tls_protocol, &r.queue,
                            &r.reason}) {
    *text = controls;
  }
  r.uri = controls + "?" + controls;
  r.time_taken_ms = r.bytes_in = r.bytes_out = UINT64_MAX;
  r.substatus = r.win32_status = UINT32_MAX;
  r.client_port = r.server_port = r.status = UINT16_MAX;
  AccessStyle style;
  style.format = AccessFormat::w3c;
  style.fields = w3c_known_fields();
  style.site_name = controls;
  CivilClock utc(false), clock(false);
  std::string out = "earlier line\n";
  append_access_line(out, style, r, utc, clock);
  ASSERT_EQ(out.substr(0, 13), "earlier line\n");
  const std::string written = out.substr(13);
  const std::string escaped = [&] {
    std::string e;
    for (std::size_t i = 0; i < controls.size(); ++i) e += "%01";
    return e;
  }();
  EXPECT_EQ(written.back(), '\n');
  EXPECT_EQ(written.find_first_of(std::string("\x01\r", 2)), std::string::npos);
  EXPECT_NE(written.find(" 18446744073709551615 "), std::string::npos);
  EXPECT_NE(written.find(" 4294967295 "), std::string::npos);
  EXPECT_NE(written.find(" 65535 "), std::string::npos);
  EXPECT_NE(written.find(" " + escaped + " "), std::string::npos);
  std::size_t values = 1;
  for (const char c : written) values += c == ' ';
  EXPECT_EQ(values, static_cast<std::size_t>(std::popcount(w3c_known_fields())));
}

TEST(W3cFormat, EmptyValuesAreDashes) {
  AccessRecord r;
  r.time_ms = kTime;
  EXPECT_EQ(line(AccessFormat::w3c, r,
                 HTTPAPI_LOG_FIELD_METHOD | HTTPAPI_LOG_FIELD_URI_QUERY |
                     HTTPAPI_LOG_FIELD_VERSION | HTTPAPI_LOG_FIELD_STATUS),
            "- - - 0\n");
}

TEST(NcsaFormat, CommonLogFormat) {
  EXPECT_EQ(line(AccessFormat::ncsa, sample()),
            "192.0.2.7 - - [04/Dec/2026:13:45:01 +0000] \"GET /app/a b?x=1&y=\\\"2\\\" "
            "HTTP/1.1\" 200 345\n");
}

TEST(AccessFormats, TheApplicationsUsernameAndSubstatusInEveryFormat) {
  AccessRecord r = sample();
  r.username = "alice@example";
  r.substatus = 7;
  EXPECT_EQ(line(AccessFormat::w3c, r),
            "2026-12-04 13:45:01 127.0.0.1 GET /app/a+b x=1&y=\"2\" 8080 alice@example "
            "192.0.2.7 Mozilla/5.0+(X11;+Linux) http://ref.test/ 200 7 0 17\n");
  EXPECT_EQ(line(AccessFormat::ncsa, r).substr(0, 26), "192.0.2.7 - alice@example ");
  const auto j = nlohmann::json::parse(line(AccessFormat::json, r));
  EXPECT_EQ(j["username"], "alice@example");
  EXPECT_EQ(j["substatus"], 7);
  EXPECT_TRUE(nlohmann::json::parse(line(AccessFormat::json, sample()))["username"].is_null());
}

TEST(NcsaFormat, QuotesBackslashesAndControlsAreEscaped) {
  AccessRecord r = sample();
  r.method = "GET";
  r.uri = "/\"\\\n";
  r.version_major = 2;
  EXPECT_EQ(line(AccessFormat::ncsa, r),
            "192.0.2.7 - - [04/Dec/2026:13:45:01 +0000] \"GET /\\\"\\\\\\x0a HTTP/2\" 200 345\n");
  r.method.clear();  // no request line could be read
  EXPECT_NE(line(AccessFormat::ncsa, r).find("] \"-\" 200"), std::string::npos);
}

TEST(JsonFormat, EveryKeyAndValidJson) {
  AccessRecord r = sample();
  r.tls_protocol = "TLSv1.3";
  const std::string out = line(AccessFormat::json, r);
  ASSERT_EQ(out.back(), '\n');
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["time"], "2026-12-04T13:45:01.234Z");
  EXPECT_EQ(j["client"], "192.0.2.7");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["uri"], "/app/a b");
  EXPECT_EQ(j["query"], "x=1&y=\"2\"");
  EXPECT_EQ(j["host"], "example.test:8080");
  EXPECT_EQ(j["protocol"], "HTTP/1.1");
  EXPECT_EQ(j["tls"], "TLSv1.3");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["substatus"], 0);
  EXPECT_EQ(j["bytes_in"], 120);
  EXPECT_EQ(j["bytes_out"], 345);
  EXPECT_EQ(j["time_taken_ms"], 17);
  EXPECT_EQ(j["queue"], "q1");
  EXPECT_EQ(j["cache"], "miss");
  EXPECT_EQ(j["user_agent"], "Mozilla/5.0 (X11; Linux)");
  EXPECT_EQ(j["referer"], "http://ref.test/");
  EXPECT_TRUE(j["reason"].is_null());
}

TEST(JsonFormat, ControlsQuotesAndInvalidUtf8StayOneValidLine) {
  std::string text = "a\"b\\c\nd\x01";
  text += "\xc3\xa9";  // é, valid UTF-8: kept
  text += "\xff\xc3";  // not UTF-8: one code point per byte
  std::string out;
  append_json_string(out, text);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\\u00ff\\u00c3\"");
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(SplitUri, AbsoluteFormLosesSchemeAndAuthority) {
  EXPECT_EQ(split_uri("http://h:1/p/q?z").stem, "/p/q");
  EXPECT_EQ(split_uri("http://h:1/p/q?z").query, "z");
  EXPECT_EQ(split_uri("/p").query, "");
}

TEST(GroupLogging, NamesNeverClimbOutOfTheDirectory) {
  EXPECT_TRUE(valid_log_name("echo-1.a_b"));
  EXPECT_FALSE(valid_log_name(""));
  EXPECT_FALSE(valid_log_name("../x"));
  EXPECT_FALSE(valid_log_name("a/b"));
  EXPECT_FALSE(valid_log_name(".hidden"));
  EXPECT_FALSE(valid_log_name("httpapid"));
  EXPECT_FALSE(valid_log_name(std::string(65, 'a')));
  ipc::GroupLogging call;
  call.format = HTTPAPI_LOG_FORMAT_W3C;
  call.name = "app";
  call.rollover = HTTPAPI_LOG_ROLLOVER_SIZE;
  call.rollover_size = 1000;
  AccessLogConfig config;
  std::string why;
  EXPECT_FALSE(group_logging_config(call, config, why));
  EXPECT_NE(why.find("at least"), std::string::npos);
  call.rollover_size = HTTPAPI_LOG_MIN_ROLLOVER_SIZE;
  call.fields = 1ull << 40;
  EXPECT_FALSE(group_logging_config(call, config, why));
  call.fields = 0;
  EXPECT_TRUE(group_logging_config(call, config, why)) << why;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AccessLogWriter, GroupAndServerLinesAndSizeRollover) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("access-log-test-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  {
    AccessLog log(dir, 1024);
    AccessLogConfig config;
    config.style.format = AccessFormat::json;
    config.file.name = "app";
    config.file.rollover = Rollover::size;
    config.file.max_bytes = 4096;
    log.configure(7, config);
    AccessRecord r = sample();
    r.time_ms = kTime;
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(log.push(7, AccessFormat::none, r));
    ASSERT_TRUE(log.push(0, AccessFormat::ncsa, r));
    log.flush();
    EXPECT_EQ(log.lines_written(), 41u);
    EXPECT_EQ(log.lines_lost(), 0u);
  }
  std::size_t lines = 0, files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("app")) continue;
    ++files;
    const std::string text = slurp(entry.path().string());
    EXPECT_LE(text.size(), 4096u) << name;
    for (char c : text) lines += c == '\n';
  }
  EXPECT_EQ(lines, 40u);
  EXPECT_GE(files, 2u);  // 40 lines of ~450 bytes roll over past 4 KiB
  EXPECT_NE(slurp(dir + "/httpapid.log").find("\"GET /app/a b"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(AccessLogWriter, HourlyRolloverNamesTheOldFileByItsHour) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("access-log-hourly-" + std::to_string(::getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::int64_t now = static_cast<std::int64_t>(ts.tv_sec) * 1000;
  CivilClock utc(false);
  const CivilTime hour = utc.at(now);
  {
    AccessLog log(dir, 64);
    AccessLogConfig config;
    config.style.format = AccessFormat::w3c;
    config.file.name = "h";
    config.file.rollover = Rollover::hourly;
    log.configure(1, config);
    AccessRecord r = sample();
    r.time_ms = now;
    log.push(1, AccessFormat::none, r);
    log.flush();
    r.time_ms = now + 3600 * 1000;  // the next hour's line starts the next file
    log.push(1, AccessFormat::none, r);
    log.flush();
    EXPECT_EQ(log.lines_written(), 2u);
  }
  const std::string old = fmt::format("{}/h-{:04}{:02}{:02}{:02}.log", dir, hour.year, hour.month,
                                      hour.day, hour.hour);
  const std::string first = slurp(old), second = slurp(dir + "/h.log");
  EXPECT_TRUE(first.starts_with("#Software: httpapi")) << old;
  EXPECT_TRUE(second.starts_with("#Software: httpapi"));
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), 5);  // 4 directives, 1 line
  EXPECT_EQ(std::count(second.begin(), second.end(), '\n'), 5);
  std::filesystem::remove_all(dir);
}

TEST(AccessLogWriter, AFullBufferDropsAndCounts) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("access-log-drop-" + std::to_string(::getpid())))
                              .string();
  AccessLog log(dir, 4);
  std::size_t accepted = 0;
  for (int i = 0; i < 10000; ++i) accepted += log.push(0, AccessFormat::json, sample());
  log.flush();
  EXPECT_EQ(log.lines_written(), accepted);
  EXPECT_EQ(log.lines_dropped(), 10000u - accepted);
  EXPECT_GT(log.lines_dropped(), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace httpapi::daemon
