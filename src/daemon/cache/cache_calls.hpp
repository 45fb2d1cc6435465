// The cache calls of a queue handle: flushing the response cache and the fragment cache
// under its URLs, adding and reading fragments, and the checks on a send whose body is a
// chunk list (docs/cache.md, docs/responses.md). Service loop only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/front/send_attachments.hpp"
#include "ipc/frame.hpp"
#include "route/url_prefix.hpp"

namespace httpapi::daemon {

class AppChannel;
class FragmentCache;
class QueueRegistry;
class ResponseCache;
class UrlGroups;
struct Settings;

class CacheCalls {
 public:
  // `settings` is the service's master copy, read when a call needs a limit.
  CacheCalls(ResponseCache& cache, FragmentCache& fragments, const QueueRegistry& queues,
             const UrlGroups& groups, const Settings& settings)
      : cache_(cache), fragments_(fragments), queues_(queues), groups_(groups),
        settings_(settings) {}

  void on_flush_cache(AppChannel& channel, const ipc::Frame& frame);
  void on_add_fragment(AppChannel& channel, const ipc::Frame& frame);
  void on_read_fragment(AppChannel& channel, const ipc::Frame& frame);

  struct ChunkCheck {
    enum Status { ok, refused, broken } status = ok;
    std::string why;
  };
  // Takes the descriptors of the list's file chunks off the channel and checks them, and
  // finds the fragments it names; `call` is the list's call tag (0: none). A library that
  // breaks the protocol is dropped ("broken"); a fragment that is gone is the application's
  // to handle ("refused": nothing is sent).
  ChunkCheck resolve_chunks(AppChannel& channel, std::string_view list,
                            SendAttachments& attachments, std::uint64_t& call);

 private:
  bool parse_or_refuse(AppChannel& channel, std::uint64_t call, std::string_view text,
                       route::UrlPrefix& url);

  ResponseCache& cache_;
  FragmentCache& fragments_;
  const QueueRegistry& queues_;
  const UrlGroups& groups_;
  const Settings& settings_;
};

}  // namespace httpapi::daemon
