// Test inputs placed flush against a PROT_NONE guard page, so that a parser reading one byte
// past its input faults at once. Shared by the parsers' unit tests (src/http1, src/proxy).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace httpapi::test {

// A copy of some bytes that ends exactly at an inaccessible page.
class Guarded {
 public:
  explicit Guarded(std::string_view bytes) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    pages_ = (bytes.size() + page - 1) / page + 1;
    length_ = pages_ * page;
    void* mem = mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(mem);
    char* guard = base_ + length_ - page;
    if (mprotect(guard, page, PROT_NONE) != 0) std::abort();
    data_ = guard - bytes.size();
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
    size_ = bytes.size();
  }
  ~Guarded() { munmap(base_, length_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;

  std::string_view view() const { return {data_, size_}; }
  bool contains(std::string_view v) const {
    return v.empty() || (v.data() >= data_ && v.data() + v.size() <= data_ + size_);
  }

 private:
  char* base_ = nullptr;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t pages_ = 0;
  std::size_t length_ = 0;
};

}  // namespace httpapi::test
