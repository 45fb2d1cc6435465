// The error codes and the version query of libhttpapi, as an application sees them: through
// the shared library's exported functions and the public header.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "httpapi/httpapi.h"

namespace {

struct Code {
  httpapi_error error;
  std::string_view identifier;
};

std::vector<Code> every_code() {
  return {
#define HTTPAPI_TEST_CODE(identifier, value, text) {identifier, #identifier},
      HTTPAPI_ERROR_MAP(HTTPAPI_TEST_CODE)
#undef HTTPAPI_TEST_CODE
  };
}

// The first value past the map: no code has it, and it still lies in the enum's range.
httpapi_error past_the_map() {
  int highest = 0;
#define HTTPAPI_TEST_HIGHEST(identifier, value, text) highest = value > highest ? value : highest;
  HTTPAPI_ERROR_MAP(HTTPAPI_TEST_HIGHEST)
#undef HTTPAPI_TEST_HIGHEST
  return static_cast<httpapi_error>(highest + 1);
}

TEST(Errors, EveryCodeIsNamedByItsIdentifier) {
  std::set<std::string> names;
  for (const Code& code : every_code()) {
    const char* name = httpapi_error_name(code.error);
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(std::string_view(name), code.identifier);
    EXPECT_TRUE(names.insert(name).second) << "two codes named " << name;
  }
}

TEST(Errors, EveryCodeHasItsOwnText) {
  std::set<std::string> texts;
  for (const Code& code : every_code()) {
    const char* text = httpapi_strerror(code.error);
    ASSERT_NE(text, nullptr) << code.identifier;
    EXPECT_GT(std::string_view(text).size(), 10u) << code.identifier;
    EXPECT_EQ(std::string_view(text).back(), '.') << code.identifier << ": one sentence";
    EXPECT_TRUE(texts.insert(text).second) << code.identifier << " repeats \"" << text << '"';
  }
}

TEST(Errors, ValuesAreTheStableOnes) {
  // The values travel between library and service and are compiled into applications.
  EXPECT_EQ(static_cast<int>(HTTPAPI_OK), 0);
  EXPECT_EQ(static_cast<int>(HTTPAPI_ERROR_INVALID_PARAMETER), 1);
  EXPECT_EQ(static_cast<int>(HTTPAPI_ERROR_SERVICE_UNAVAILABLE), 10);
  EXPECT_EQ(static_cast<int>(HTTPAPI_ERROR_VERSION_MISMATCH), 12);
  EXPECT_EQ(static_cast<int>(HTTPAPI_ERROR_MORE_DATA), 18);
  std::set<int> values;
  for (const Code& code : every_code()) {
    EXPECT_TRUE(values.insert(static_cast<int>(code.error)).second)
        << code.identifier << " reuses a value";
  }
  EXPECT_EQ(values.size(), 19u);
  EXPECT_EQ(*values.rbegin(), 18) << "values run from 0 without gaps";
}

TEST(Errors, AnUnknownCodeGetsTheUnknownNameAndText) {
  const httpapi_error unknown = past_the_map();
  EXPECT_STREQ(httpapi_error_name(unknown), "HTTPAPI_ERROR_UNKNOWN");
  EXPECT_STREQ(httpapi_strerror(unknown), "Unknown error code.");
  for (const Code& code : every_code()) {
    EXPECT_STRNE(httpapi_strerror(code.error), httpapi_strerror(unknown)) << code.identifier;
  }
}

TEST(Errors, DetailIsEmptyBeforeAnyFailure) {
  ASSERT_NE(httpapi_error_detail(), nullptr);
  EXPECT_STREQ(httpapi_error_detail(), "");
}

TEST(Version, LibraryHeaderAndBuildAgree) {
  // Asked before httpapi_initialize, as a program checks what it was linked with.
  EXPECT_EQ(httpapi_version(), static_cast<unsigned>(HTTPAPI_VERSION_HEX));
  EXPECT_STREQ(httpapi_version_string(), HTTPAPI_VERSION_STRING);  // the build's version
  const unsigned v = httpapi_version();
  EXPECT_EQ(std::to_string(v >> 16) + '.' + std::to_string((v >> 8) & 0xff) + '.' +
                std::to_string(v & 0xff),
            httpapi_version_string());
}

}  // namespace
