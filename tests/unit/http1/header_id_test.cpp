#include "http1/header_id.hpp"

#include <gtest/gtest.h>

#include <string>

#include "http1/errors.hpp"

namespace httpapi::http1 {
namespace {

TEST(HeaderId, EveryNameRoundTrips) {
  for (int id = 0; id < known_request_header_count; ++id) {
    const std::string_view name = known_request_header_name(id);
    ASSERT_FALSE(name.empty()) << id;
    EXPECT_EQ(known_request_header(name), id) << name;
    std::string lower(name), upper(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(known_request_header(lower), id) << lower;
    EXPECT_EQ(known_request_header(upper), id) << upper;
  }
}

TEST(HeaderId, HttpSysIndexes) {
  EXPECT_EQ(known_request_header("Cache-Control"), 0);
  EXPECT_EQ(known_request_header("Content-Length"), 11);
  EXPECT_EQ(known_request_header("Host"), 28);
  EXPECT_EQ(known_request_header("te"), 38);
  EXPECT_EQ(known_request_header("User-Agent"), 40);
  EXPECT_EQ(known_request_header_name(16), "Content-MD5");
}

TEST(HeaderId, UnknownNames) {
  for (std::string_view n : {"", "X", "Hos", "Hostt", "Content-Lengths", "Accept-Encodin",
                             "Set-Cookie", "Server", "ETag", "Location", "X-Forwarded-For",
                             "If-Unmodified-Since-", "Proxy-Authorizatioo"}) {
    EXPECT_EQ(known_request_header(n), -1) << n;
  }
  EXPECT_EQ(known_request_header_name(-1), "");
  EXPECT_EQ(known_request_header_name(41), "");
}

TEST(HeaderId, MergeRule) {
  EXPECT_TRUE(merges_with_comma(static_cast<int>(HeaderId::accept)));
  EXPECT_TRUE(merges_with_comma(static_cast<int>(HeaderId::transfer_encoding)));
  EXPECT_TRUE(merges_with_comma(-1));  // unknown headers (A033)
  EXPECT_FALSE(merges_with_comma(static_cast<int>(HeaderId::host)));
  EXPECT_FALSE(merges_with_comma(static_cast<int>(HeaderId::content_length)));
  EXPECT_FALSE(merges_with_comma(static_cast<int>(HeaderId::authorization)));
  EXPECT_EQ(header_merge_rule(static_cast<int>(HeaderId::cookie)), HeaderMerge::semicolon);
  int comma = 0, first = 0, semi = 0;
  for (int id = 0; id < known_request_header_count; ++id) {
    switch (header_merge_rule(id)) {
      case HeaderMerge::comma: ++comma; break;
      case HeaderMerge::first: ++first; break;
      case HeaderMerge::semicolon: ++semi; break;
    }
  }
  EXPECT_EQ(comma, 20);
  EXPECT_EQ(first, 20);
  EXPECT_EQ(semi, 1);
}

TEST(Errors, EveryErrorHasAnAnswer) {
  struct Expect {
    Error error;
    int status;
    std::string_view log;
  };
  const Expect table[] = {
      {Error::none, 500, "Internal"},
      {Error::bad_request, 400, "BadRequest"},
      {Error::invalid_verb, 400, "Verb"},
      {Error::invalid_url, 400, "URL"},
      {Error::invalid_header, 400, "Header"},
      {Error::invalid_hostname, 400, "Hostname"},
      {Error::request_too_long, 400, "RequestLength"},
      {Error::field_too_long, 400, "FieldLength"},
      {Error::url_too_long, 414, "URL_Length"},
      {Error::length_required, 411, "LengthRequired"},
      {Error::entity_too_large, 413, "EntityTooLarge"},
      {Error::not_implemented, 501, "N/I"},
      {Error::version_not_supported, 505, "Version_N/S"},
  };
  for (const Expect& e : table) {
    const ErrorAnswer a = answer_for(e.error);
    EXPECT_EQ(a.status, e.status);
    EXPECT_EQ(a.log_reason, e.log);
    EXPECT_FALSE(a.reason.empty());
    EXPECT_FALSE(a.heading.empty());
    EXPECT_FALSE(a.message.empty());
  }
  EXPECT_EQ(answer_for(Error::invalid_url).heading, "Bad Request - Invalid URL");
  EXPECT_EQ(answer_for(Error::field_too_long).message, "A request header field is too long.");
  EXPECT_EQ(answer_for(static_cast<Error>(200)).status, 500);
}

}  // namespace
}  // namespace httpapi::http1
