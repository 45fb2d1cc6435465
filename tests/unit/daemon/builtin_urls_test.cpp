// The built-in URLs' pure parts: the table of handlers, how an answer is written, the URL
// settings' check, and the health URL's answers. Routing, listening and the wire are in
// tests/integration/test_drain.py.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "daemon/builtin/builtin_urls.hpp"
#include "daemon/builtin/health_url.hpp"
#include "daemon/cache/response_cache.hpp"
#include "daemon/policy/settings.hpp"

namespace d = httpapi::daemon;

TEST(BuiltinUrls, IdsFromOneAndTheirSettings) {
  d::BuiltinUrls urls;
  const auto a = urls.add("health_url", [](const d::BuiltinRequest&) {
    return d::BuiltinAnswer{200, {}, "a"};
  });
  const auto b = urls.add("other_url", [](const d::BuiltinRequest& r) {
    return d::BuiltinAnswer{201, {}, std::string(r.path)};
  });
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(urls.count(), 2u);
  EXPECT_EQ(urls.setting(2), "other_url");
  EXPECT_EQ(urls.answer(2, {"GET", "/x", ""}).body, "/x");
  EXPECT_EQ(urls.answer(0, {"GET", "/", ""}).status, 404);
  EXPECT_EQ(urls.answer(3, {"GET", "/", ""}).status, 404);
}

TEST(BuiltinUrls, RenderedAsACacheEntryHeadWithoutBodyForHead) {
  const d::BuiltinAnswer answer{503, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}},
                                "draining\n"};
  d::CachedResponse response;
  d::render_builtin(answer, false, response);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.head,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Cache-Control: no-store\r\nContent-Length: 9\r\n");
  EXPECT_EQ(response.body, "draining\n");
  d::render_builtin(answer, true, response);
  EXPECT_EQ(response.body, "");
  EXPECT_NE(response.head.find("Content-Length: 9\r\n"), std::string::npos);
}

TEST(BuiltinUrls, PrefixTextGetsItsTrailingSlash) {
  EXPECT_EQ(d::builtin_prefix_text(""), "");
  EXPECT_EQ(d::builtin_prefix_text("http://127.0.0.1:9181/healthz"),
            "http://127.0.0.1:9181/healthz/");
  EXPECT_EQ(d::builtin_prefix_text("http://+:80/"), "http://+:80/");
  EXPECT_EQ(d::builtin_prefix_text("http://+:80"), "http://+:80");  // refused by the parser
  EXPECT_EQ(d::builtin_prefix_text("http://+:80/a?b"), "http://+:80/a?b");
}

TEST(BuiltinUrls, HealthUrlSettingIsCheckedAsAPrefix) {
  d::Settings settings;
  std::string error;
  EXPECT_TRUE(d::apply_setting(settings, "health_url", "http://127.0.0.1:9181/healthz", error));
  EXPECT_EQ(settings.health_url, "http://127.0.0.1:9181/healthz");
  EXPECT_EQ(d::describe(settings).at("health_url"), "http://127.0.0.1:9181/healthz");
  EXPECT_TRUE(d::apply_setting(settings, "health_url", "", error));
  EXPECT_EQ(settings.health_url, "");
  for (const char* bad : {"healthz", "ftp://h:1/x", "http://h/x", "http://h:0/x", "http://h:1/x?y"}) {
    settings.health_url = "kept";
    EXPECT_FALSE(d::apply_setting(settings, "health_url", bad, error)) << bad;
    EXPECT_NE(error.find("health_url must be a URL"), std::string::npos) << error;
    EXPECT_EQ(settings.health_url, "kept");
  }
  EXPECT_NE(d::url_setting("health_url"), nullptr);
  EXPECT_EQ(d::url_setting("max_connections"), nullptr);
}

TEST(HealthUrl, ServingDrainingAndOtherMethods) {
  std::atomic<bool> draining{false};
  const d::BuiltinHandler health = d::health_handler([&] { return draining.load(); });
  d::BuiltinAnswer a = health({"GET", "/healthz", ""});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "serving\n");
  bool no_store = false;
  for (const auto& [name, value] : a.fields) no_store |= name == "Cache-Control" && value == "no-store";
  EXPECT_TRUE(no_store);
  draining = true;
  a = health({"HEAD", "/healthz", ""});
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "draining\n");
  a = health({"POST", "/healthz", ""});
  EXPECT_EQ(a.status, 405);
}
