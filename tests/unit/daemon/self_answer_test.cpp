// The responses and log lines the service writes itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "daemon/error_log.hpp"
#include "daemon/front/self_answer.hpp"

namespace d = httpapi::daemon;
namespace http1 = httpapi::http1;

namespace {

std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(SelfAnswer, RequestTooLongPageHasHttpSysSize) {
  // HTTP.sys's "Bad Request - Request Too Long" page is 346 bytes (reference §4.3).
  const std::string response = d::render_self_answer(
      http1::answer_for(http1::Error::request_too_long), false, "httpapi/test");
  EXPECT_EQ(body_of(response).size(), 346u);
  EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_NE(response.find("\r\nContent-Length: 346\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\nServer: httpapi/test\r\n"), std::string::npos);
  EXPECT_NE(response.find("<h2>Bad Request - Request Too Long</h2>"), std::string::npos);
  EXPECT_NE(response.find("HTTP Error 400. The size of the request headers is too long."),
            std::string::npos);
}

TEST(SelfAnswer, HeadGetsNoBodyButTheLength) {
  const std::string response = d::render_self_answer(d::not_found(), true, "");
  EXPECT_EQ(body_of(response), "");
  EXPECT_NE(response.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(response.find("Server:"), std::string::npos);  // disabled Server header
}

TEST(SelfAnswer, ServiceUnavailableCarriesItsLogReason) {
  const d::SelfAnswer answer = d::service_unavailable("QueueFull");
  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.log_reason, "QueueFull");
  EXPECT_NE(d::render_self_answer(answer, false, "x").find("HTTP Error 503. The service is "
                                                          "unavailable."),
            std::string::npos);
}

TEST(ErrorLog, WritesHttpErrFieldsAndRollsOverBySize) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("httpapi-errlog-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    d::ErrorLog log(dir.string(), 4096);
    d::ErrorLogEntry e;
    e.client_ip = "127.0.0.1";
    e.client_port = 5000;
    e.server_ip = "127.0.0.1";
    e.server_port = 80;
    e.version = "HTTP/1.1";
    e.method = "GET";
    e.uri = "/a b\tc";  // spaces and control characters become '+'
    e.status = 400;
    e.reason = "Hostname";
    for (int i = 0; i < 100; ++i) log.write(e);
  }
  const std::string first = read_file(dir / "httperr1.log");
  EXPECT_EQ(first.rfind("#Software: httpapi", 0), 0u);
  EXPECT_NE(first.find("#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri "
                       "sc-status s-siteid s-reason s-queuename\n"),
            std::string::npos);
  EXPECT_NE(first.find(" 127.0.0.1 5000 127.0.0.1 80 HTTP/1.1 GET /a+b+c 400 - Hostname -\n"),
            std::string::npos);
  EXPECT_LE(first.size(), 4096u);
  EXPECT_TRUE(std::filesystem::exists(dir / "httperr2.log"));  // rolled over
  // A restart continues in the newest file rather than overwriting the first.
  {
    d::ErrorLog log(dir.string(), 4096);
    EXPECT_NE(log.current_path().find("httperr"), std::string::npos);
    EXPECT_NE(log.current_path(), (dir / "httperr1.log").string());
  }
  std::filesystem::remove_all(dir);
}
