// A piece of work for an event loop (EventLoop::post, its hooks and ticks): a move-only
// callable that keeps its captures inside itself when they fit, so handing a request to the
// service loop, or a response back to an I/O thread, costs no allocation. std::function
// keeps only 16 bytes inline and must be copyable, which made the response's hand-over wrap
// its part in a shared_ptr. Larger or throwing-move callables go to the heap.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace httpapi::daemon {

class Task {
 public:
  // Room for the largest capture on the request path: a response part with its attachments
  // and the connection, request and channel it goes to.
  static constexpr std::size_t kInline = 184;  // a Task is 192 bytes

  Task() noexcept = default;
  template <typename F, typename Fn = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<Fn, Task> && std::is_invocable_v<Fn&>>>
  Task(F&& f) {  // implicit: a posted lambda becomes a Task
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      ::new (static_cast<void*>(storage_)) Fn*(new Fn(std::forward<F>(f)));
      ops_ = &kHeapOps<Fn>;
    }
  }
  Task(Task&& other) noexcept { take(other); }
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  void operator()() { ops_->call(storage_); }

  // Whether a callable of type Fn is kept inline (no allocation): the request path asserts
  // it for what it posts.
  template <typename Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInline && alignof(Fn) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Fn>;
  }

 private:
  struct Ops {
    void (*call)(void* self);
    void (*move)(void* to, void* from) noexcept;  // and destroys `from`
    void (*destroy)(void* self) noexcept;
  };

  template <typename Fn>
  static constexpr Ops kInlineOps{
      [](void* self) { (*static_cast<Fn*>(self))(); },
      [](void* to, void* from) noexcept {
        ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
        static_cast<Fn*>(from)->~Fn();
      },
      [](void* self) noexcept { static_cast<Fn*>(self)->~Fn(); }};

  template <typename Fn>
  static constexpr Ops kHeapOps{
      [](void* self) { (**static_cast<Fn**>(self))(); },
      [](void* to, void* from) noexcept { ::new (to) Fn*(*static_cast<Fn**>(from)); },
      [](void* self) noexcept { delete *static_cast<Fn**>(self); }};

  void take(Task& other) noexcept {
    if (!other.ops_) return;
    other.ops_->move(storage_, other.storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }
  void reset() noexcept {
    if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
  }

  alignas(std::max_align_t) unsigned char storage_[kInline];
  const Ops* ops_ = nullptr;
};

}  // namespace httpapi::daemon
