// plan_response: every framing decision and every refusal, on whole heads.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "http1/errors.hpp"
#include "http1/reason_phrase.hpp"
#include "http1/response_head.hpp"

namespace http1 = httpapi::http1;
using http1::ResponseError;
using http1::ResponseFraming;
using http1::ResponseKind;

namespace {

constexpr std::string_view kDate = "Thu, 03 Dec 2026 23:00:00 GMT";

http1::ResponseInput input(int status = 200) {
  http1::ResponseInput in;
  in.status = status;
  in.date = kDate;
  in.server = "httpapi/test";
  return in;
}

struct Planned {
  http1::ResponsePlan plan;
  std::string head;
};

Planned plan(const http1::ResponseInput& in, std::initializer_list<http1::Field> fields = {}) {
  const std::vector<http1::Field> list(fields);
  Planned out;
  out.plan = http1::plan_response(in, list, out.head);
  return out;
}

bool has_line(const std::string& head, std::string_view line) {
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string::npos;
}

ResponseError refusal(const http1::ResponseInput& in,
                      std::initializer_list<http1::Field> fields = {}) {
  return plan(in, fields).plan.error;
}

}  // namespace

TEST(ReasonPhrase, OneTableForApplicationsAndTheServiceOwnAnswers) {
  EXPECT_EQ(http1::reason_phrase(200), "OK");
  EXPECT_EQ(http1::reason_phrase(413), "Request Entity Too Large");
  EXPECT_EQ(http1::reason_phrase(599), "Unknown");
  for (int e = 0; e <= static_cast<int>(http1::Error::version_not_supported); ++e) {
    const auto answer = http1::answer_for(static_cast<http1::Error>(e));
    EXPECT_EQ(answer.reason, http1::reason_phrase(answer.status)) << answer.status;
  }
}

TEST(ResponseHead, FinalResponseGetsLengthDateServerInThatOrder) {
  auto in = input();
  in.body_size = 5;
  const Planned p = plan(in, {{"Content-Type", "text/plain"}, {"X-A", "1"}});
  ASSERT_EQ(p.plan.error, ResponseError::none);
  EXPECT_EQ(p.head,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 5\r\n"
            "Date: Thu, 03 Dec 2026 23:00:00 GMT\r\nServer: httpapi/test\r\n\r\n");
  EXPECT_EQ(p.plan.kind, ResponseKind::final);
  EXPECT_EQ(p.plan.framing, ResponseFraming::length);
  EXPECT_EQ(p.plan.declared_length, 5u);
  EXPECT_TRUE(p.plan.body_allowed);
  EXPECT_FALSE(p.plan.close_after);
}

TEST(ResponseHead, ReasonIsTheApplicationsOrTheTables) {
  EXPECT_EQ(plan(input(404)).head.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  auto in = input(299);
  in.reason = "Fine Enough";
  EXPECT_EQ(plan(in).head.rfind("HTTP/1.1 299 Fine Enough\r\n", 0), 0u);
  EXPECT_EQ(plan(input(299)).head.rfind("HTTP/1.1 299 Unknown\r\n", 0), 0u);
}

TEST(ResponseHead, ApplicationContentLengthIsTheFraming) {
  auto in = input();
  in.body_size = 3;  // the first send's size does not matter: more may follow
  const Planned p = plan(in, {{"content-length", "10"}, {"Content-Length", "10"}});
  ASSERT_EQ(p.plan.error, ResponseError::none);
  EXPECT_EQ(p.plan.framing, ResponseFraming::length);
  EXPECT_EQ(p.plan.declared_length, 10u);
  EXPECT_EQ(p.head.find("Content-Length: 3"), std::string::npos);
}

TEST(ResponseHead, ApplicationTransferEncodingIsRaw) {
  auto in = input();
  in.more_data = true;
  const Planned p = plan(in, {{"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(p.plan.framing, ResponseFraming::raw);
  EXPECT_EQ(p.head.find("Content-Length"), std::string::npos);
  EXPECT_EQ(p.head.find("Transfer-Encoding: chunked\r\nTransfer"), std::string::npos);
}

TEST(ResponseHead, MoreDataIsChunkedOnHttp11) {
  auto in = input();
  in.more_data = true;
  const Planned p = plan(in);
  EXPECT_EQ(p.plan.framing, ResponseFraming::chunked);
  EXPECT_TRUE(has_line(p.head, "Transfer-Encoding: chunked"));
  EXPECT_FALSE(p.plan.close_after);
}

TEST(ResponseHead, MoreDataWithoutChunkingIsCloseDelimited) {
  auto in = input();
  in.more_data = true;
  in.no_auto_chunking = true;
  Planned p = plan(in);
  EXPECT_EQ(p.plan.framing, ResponseFraming::close_delimited);
  EXPECT_TRUE(p.plan.close_after);
  EXPECT_TRUE(has_line(p.head, "Connection: close"));
  EXPECT_EQ(p.head.find("Transfer-Encoding"), std::string::npos);

  in.no_auto_chunking = false;
  in.version_minor = 0;  // HTTP/1.0 knows no chunking
  p = plan(in);
  EXPECT_EQ(p.plan.framing, ResponseFraming::close_delimited);
  EXPECT_TRUE(has_line(p.head, "Connection: close"));
}

TEST(ResponseHead, HeadRequestGetsTheLengthOnlyWhenKnown) {
  auto in = input();
  in.head_request = true;
  Planned p = plan(in);  // no body bytes: the application may just not have sent them
  EXPECT_FALSE(p.plan.body_allowed);
  EXPECT_EQ(p.plan.framing, ResponseFraming::length);
  EXPECT_EQ(p.head.find("Content-Length"), std::string::npos);

  in.body_size = 7;
  p = plan(in);
  EXPECT_TRUE(has_line(p.head, "Content-Length: 7"));
  EXPECT_FALSE(p.plan.body_allowed);

  in.body_size = 0;
  in.body_as_chunks = true;  // an empty chunk list is a known, empty body
  EXPECT_TRUE(has_line(plan(in).head, "Content-Length: 0"));

  in.more_data = true;
  p = plan(in);
  EXPECT_EQ(p.plan.framing, ResponseFraming::chunked);
  EXPECT_EQ(p.head.find("Transfer-Encoding"), std::string::npos);
}

TEST(ResponseHead, NoBodyStatusesGetNoLength) {
  for (int status : {204, 304, 101}) {
    auto in = input(status);
    in.body_size = 4;
    const Planned p = plan(in);
    ASSERT_EQ(p.plan.error, ResponseError::none) << status;
    EXPECT_EQ(p.plan.kind, ResponseKind::final) << status;
    EXPECT_FALSE(p.plan.body_allowed) << status;
    EXPECT_EQ(p.plan.framing, ResponseFraming::length) << status;
    EXPECT_EQ(p.plan.declared_length, 0u) << status;
    EXPECT_EQ(p.head.find("Content-Length"), std::string::npos) << status;
  }
}

TEST(ResponseHead, InterimResponsesCarryOnlyTheApplicationsFields) {
  const Planned p = plan(input(103), {{"Link", "</a.css>; rel=preload"}});
  ASSERT_EQ(p.plan.error, ResponseError::none);
  EXPECT_EQ(p.plan.kind, ResponseKind::interim);
  EXPECT_EQ(p.head, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");

  auto in = input(100);
  in.opaque = true;  // an interim response is interim, whatever the flags
  EXPECT_EQ(plan(in).plan.kind, ResponseKind::interim);
}

TEST(ResponseHead, NoInterimResponseToHttp10) {
  auto in = input(100);
  in.version_minor = 0;
  const Planned p = plan(in);
  EXPECT_EQ(p.plan.error, ResponseError::none);
  EXPECT_EQ(p.plan.kind, ResponseKind::interim);
  EXPECT_EQ(p.head, "");
}

TEST(ResponseHead, OpaqueSwitchIsARawStream) {
  auto in = input(101);
  in.opaque = true;
  const Planned p = plan(in, {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}});
  ASSERT_EQ(p.plan.error, ResponseError::none);
  EXPECT_EQ(p.plan.kind, ResponseKind::opaque);
  EXPECT_EQ(p.plan.framing, ResponseFraming::raw);
  EXPECT_TRUE(p.plan.body_allowed);
  EXPECT_TRUE(p.plan.close_after);
  EXPECT_EQ(p.head,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "\r\n");
}

TEST(ResponseHead, ConnectionCloseForEveryReasonToClose) {
  auto closing = [](auto change) {
    auto in = input();
    change(in);
    const Planned p = plan(in);
    return p.plan.close_after && has_line(p.head, "Connection: close");
  };
  EXPECT_TRUE(closing([](auto& in) { in.keep_alive = false; }));
  EXPECT_TRUE(closing([](auto& in) { in.disconnect = true; }));
  EXPECT_TRUE(closing([](auto& in) { in.shutting_down = true; }));
  EXPECT_FALSE(closing([](auto&) {}));
}

TEST(ResponseHead, ApplicationsConnectionFieldIsKeptAndObeyed) {
  Planned p = plan(input(), {{"Connection", "keep-alive, close"}});
  EXPECT_TRUE(p.plan.close_after);
  EXPECT_EQ(p.head.find("Connection: close"), std::string::npos);

  auto in = input();
  in.keep_alive = false;
  p = plan(in, {{"Connection", "keep-alive"}});
  EXPECT_TRUE(p.plan.close_after);  // the client asked to close: it closes
  EXPECT_EQ(p.head.find("Connection: close"), std::string::npos);
}

TEST(ResponseHead, Http10KeepAliveIsAnnounced) {
  auto in = input();
  in.version_minor = 0;
  EXPECT_TRUE(has_line(plan(in).head, "Connection: keep-alive"));
  in.keep_alive = false;
  EXPECT_TRUE(has_line(plan(in).head, "Connection: close"));
}

TEST(ResponseHead, ApplicationsDateAndServerReplaceTheServices) {
  Planned p = plan(input(), {{"date", "yesterday"}, {"SERVER", "mine"}});
  EXPECT_EQ(p.head.find(kDate), std::string::npos);
  EXPECT_EQ(p.head.find("httpapi/test"), std::string::npos);
  EXPECT_TRUE(has_line(p.head, "date: yesterday"));

  auto in = input();
  in.server = "";  // the Server header is turned off
  p = plan(in);
  EXPECT_EQ(p.head.find("Server:"), std::string::npos);
  EXPECT_TRUE(has_line(p.head, "Date: Thu, 03 Dec 2026 23:00:00 GMT"));
}

TEST(ResponseHead, RefusesStatusesOutsideThreeDigits) {
  EXPECT_EQ(refusal(input(99)), ResponseError::bad_status);
  EXPECT_EQ(refusal(input(1000)), ResponseError::bad_status);
  EXPECT_EQ(refusal(input(100)), ResponseError::none);
  EXPECT_EQ(refusal(input(999)), ResponseError::none);
}

TEST(ResponseHead, RefusesControlCharactersInTheReason) {
  for (std::string_view bad : {std::string_view("O\rK"), std::string_view("O\nK"),
                               std::string_view("O\0K", 3), std::string_view("O\x7fK")}) {
    auto in = input();
    in.reason = bad;
    EXPECT_EQ(refusal(in), ResponseError::bad_reason);
  }
  auto in = input();
  in.reason = "Fine\tand well";
  EXPECT_EQ(refusal(in), ResponseError::none);
}

TEST(ResponseHead, RefusesFieldsThatSplitOrSmuggle) {
  EXPECT_EQ(refusal(input(), {{"Bad Name", "v"}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"", "v"}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"X-A:", "v"}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"X-A", "v\r\nSet-Cookie: a=b"}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"X-A", "v\n"}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"X-A", std::string_view("v\0w", 3)}}), ResponseError::bad_field);
  EXPECT_EQ(refusal(input(), {{"X-A", ""}}), ResponseError::none);
  // Interim and opaque heads are checked the same way.
  EXPECT_EQ(refusal(input(103), {{"X-A", "\r"}}), ResponseError::bad_field);
}

TEST(ResponseHead, RefusesContentLengthThatIsNotOneNumber) {
  EXPECT_EQ(refusal(input(), {{"Content-Length", "abc"}}), ResponseError::bad_length);
  EXPECT_EQ(refusal(input(), {{"Content-Length", "-1"}}), ResponseError::bad_length);
  EXPECT_EQ(refusal(input(), {{"Content-Length", ""}}), ResponseError::bad_length);
  EXPECT_EQ(refusal(input(), {{"Content-Length", "1, 1"}}), ResponseError::bad_length);
  EXPECT_EQ(refusal(input(), {{"Content-Length", "5"}, {"content-length", "6"}}),
            ResponseError::conflicting_length);
}

TEST(ResponseHead, RefusesOpaqueThatCannotBeAStream) {
  auto in = input(200);
  in.opaque = true;
  EXPECT_EQ(refusal(in), ResponseError::opaque_refused);
  in.status = 101;
  in.request_has_body = true;
  EXPECT_EQ(refusal(in), ResponseError::opaque_refused);
  in.request_has_body = false;
  in.version_minor = 0;
  EXPECT_EQ(refusal(in), ResponseError::opaque_refused);
}
