#include "ipc/seen_counter.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "test_fd.hpp"

namespace httpapi::ipc {
namespace {

using testing::Fd;

TEST(SeenCounter, TheServiceSeesWhatTheLibraryCounts) {
  Fd fd;
  std::string why;
  SeenCounter library = SeenCounter::create(fd.fd, why);
  ASSERT_TRUE(library.valid()) << why;
  SeenCounter service = SeenCounter::attach(fd.fd, why);
  ASSERT_TRUE(service.valid()) << why;
  EXPECT_EQ(service.value(), 0u);
  library.add_one();
  library.add_one();
  EXPECT_EQ(service.value(), 2u);
}

TEST(SeenCounter, CountsFromAnotherProcessSurviveItsDeath) {
  Fd fd;
  std::string why;
  SeenCounter library = SeenCounter::create(fd.fd, why);
  ASSERT_TRUE(library.valid()) << why;
  SeenCounter service = SeenCounter::attach(fd.fd, why);
  ASSERT_TRUE(service.valid()) << why;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (int i = 0; i < 5; ++i) library.add_one();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(service.value(), 5u);
}

TEST(SeenCounter, TheSealedPageCannotShrinkUnderTheService) {
  Fd fd;
  std::string why;
  SeenCounter library = SeenCounter::create(fd.fd, why);
  ASSERT_TRUE(library.valid()) << why;
  EXPECT_NE(::ftruncate(fd.fd, 0), 0);  // reading it could otherwise raise SIGBUS
  EXPECT_NE(::fcntl(fd.fd, F_ADD_SEALS, F_SEAL_WRITE), 0);  // sealed for good
}

TEST(SeenCounter, RefusesAnUnsealedMemfd) {
  Fd fd{::memfd_create("unsealed", MFD_CLOEXEC)};
  ASSERT_GE(fd.fd, 0);
  ASSERT_EQ(::ftruncate(fd.fd, 4096), 0);
  std::string why;
  EXPECT_FALSE(SeenCounter::attach(fd.fd, why).valid());
  EXPECT_NE(why.find("sealed"), std::string::npos) << why;
}

TEST(SeenCounter, RefusesARegularFile) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(::ftruncate(::fileno(file), 4096), 0);
  std::string why;
  EXPECT_FALSE(SeenCounter::attach(::fileno(file), why).valid());
  EXPECT_FALSE(why.empty());
  std::fclose(file);
}

TEST(SeenCounter, RefusesASealedPageTooSmallForACounter) {
  Fd fd{::memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  ASSERT_GE(fd.fd, 0);
  ASSERT_EQ(::ftruncate(fd.fd, 4), 0);
  ASSERT_EQ(::fcntl(fd.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  std::string why;
  EXPECT_FALSE(SeenCounter::attach(fd.fd, why).valid());
  EXPECT_NE(why.find("smaller"), std::string::npos) << why;
}

}  // namespace
}  // namespace httpapi::ipc
