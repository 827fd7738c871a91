// TCPStore rendezvous and Gloo/NCCL process group creation, with one-line errors; naming of lost peers.
#include "common/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if PB_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/device.h"

namespace pb::dist {
namespace {

// c10d logs a failed rendezvous through glog, in several lines, before throwing the same message;
// while connecting, stderr goes to /dev/null so that the caller's one-line error is all the user
// sees. PB_DIST_VERBOSE=1 keeps the library's logs.
class QuietStderr {
 public:
  QuietStderr() {
    const char* verbose = std::getenv("PB_DIST_VERBOSE");
    if (verbose != nullptr && std::string(verbose) == "1") return;
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

// c10d's messages span lines (they append a C++ stack trace): keep the first line only.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Threads that run a rank's Gloo collectives. 2 measured better than 1 for the CNN on 2 ranks of
// a 2-core machine (sync overhead +7.7-9.7% against +10.5-11.6%); PB_GLOO_THREADS overrides.
constexpr int64_t kDefaultGlooThreads = 2, kMaxGlooThreads = 256;

int64_t gloo_threads() {
  const char* text = std::getenv("PB_GLOO_THREADS");
  return text != nullptr ? parse_env_integer("PB_GLOO_THREADS", text, 1, kMaxGlooThreads) : kDefaultGlooThreads;
}

// This host's interfaces with an IPv4 or IPv6 address (what Gloo can bind to), as (name, address)
// in getifaddrs' order, the order in which Gloo picks an interface's address.
std::vector<std::pair<std::string, std::string>> interface_addresses() {
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) throw DistError("GLOO_SOCKET_IFNAME: cannot list this host's interfaces");
  std::vector<std::pair<std::string, std::string>> found;
  for (const ifaddrs* entry = all; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const int family = entry->ifa_addr->sa_family;
    const void* raw = nullptr;
    if (family == AF_INET) raw = &reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr;
    if (family == AF_INET6) raw = &reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr)->sin6_addr;
    if (raw != nullptr && ::inet_ntop(family, raw, text, sizeof(text)) != nullptr) found.emplace_back(entry->ifa_name, text);
  }
  ::freeifaddrs(all);
  return found;
}

// The network interfaces Gloo binds to, from GLOO_SOCKET_IFNAME as c10d's Python side reads it: a
// comma-separated list, one Gloo device per interface; unset or empty: none (the default device).
// Checked before the rendezvous, so that a wrong name is one line at once, not Gloo's error (or a
// peer's timeout) after it: "GLOO_SOCKET_IFNAME: no interface 'eth9' with an address here (there
// are: lo, eth0)".
std::vector<std::string> gloo_interfaces() {
  const char* text = std::getenv("GLOO_SOCKET_IFNAME");
  if (text == nullptr || *text == '\0') return {};
  std::vector<std::string> names;
  std::stringstream list(text);
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  if (std::string(text).back() == ',') names.emplace_back();
  std::vector<std::string> usable;
  for (const auto& [name, address] : interface_addresses()) {
    if (std::find(usable.begin(), usable.end(), name) == usable.end()) usable.push_back(name);
  }
  for (const std::string& name : names) {
    if (name.empty()) throw DistError("GLOO_SOCKET_IFNAME has an empty interface name: '" + std::string(text) + "'");
    if (std::find(usable.begin(), usable.end(), name) == usable.end()) {
      std::string there;
      for (const std::string& other : usable) there += (there.empty() ? "" : ", ") + other;
      throw DistError("GLOO_SOCKET_IFNAME: no interface '" + name + "' with an address here (there are: " + there + ")");
    }
  }
  return names;
}

// "3 s", "2.5 s", "0.1 s": a timeout as the user gave it (--timeout is in seconds).
std::string seconds_text(std::chrono::milliseconds timeout) {
  std::ostringstream text;
  text << static_cast<double>(timeout.count()) / 1000 << " s";
  return text.str();
}

// c10d's own timeouts inside the rendezvous run this much past connect()'s deadline, so that the
// deadline, with its message naming the stage, is what the user sees; they still end the worker
// thread soon after, where c10d honours them.
std::chrono::milliseconds past_deadline(std::chrono::milliseconds timeout) {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(1), timeout / 10);
}

// This machine as peers see it: host name and PID namespace, where a process id names one process.
std::string host_identity() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  char ns[128] = {};
  const ssize_t length = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
  return std::string(name) + (length > 0 ? " " + std::string(ns, static_cast<size_t>(length)) : "");
}

// The address this rank's Gloo device binds to, as Gloo prints it in its errors ("Connection closed
// by peer [10.213.0.2]:44261"), so that peers can tell which ranks an address in such an error is:
// GLOO_SOCKET_IFNAME's first interface's first address, or loopback for a job on one machine; ""
// (unknown) for Gloo's default device, whatever the host name resolves to.
std::string gloo_address(const DistEnv& env, const std::vector<std::string>& interfaces) {
  if (!interfaces.empty()) {
    for (const auto& [name, address] : interface_addresses()) {
      if (name == interfaces.front()) return address;
    }
    return "";
  }
  return env.master_addr == "127.0.0.1" || env.master_addr == "localhost" ? "127.0.0.1" : "";
}

std::string peer_key(int64_t rank) { return "pb/peer/" + std::to_string(rank); }

// Where a rank that failed in a collective leaves the ranks it suspects (see describe_collective_failure).
std::string failure_key(int64_t rank) { return "pb/failed/" + std::to_string(rank); }

// The address that ends a peer's published host: "pb-h1 pid:[4026531836] gloo@10.213.0.2".
constexpr const char* kAddressMark = " gloo@";

std::string address_of(const PeerProcess& peer) {
  const size_t mark = peer.host.rfind(kAddressMark);
  return mark == std::string::npos ? "" : peer.host.substr(mark + std::char_traits<char>::length(kAddressMark));
}

std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }

// The rendezvous, shared between connect() and its worker thread, which may outlive connect().
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  const char* stage = "connecting to the store";  // what the worker is doing, for the timeout message
  Group group;
  std::exception_ptr error;

  void enter(const char* what) {
    std::lock_guard<std::mutex> lock(mutex);
    stage = what;
  }
};

// The store, then the process group, in the worker thread. c10d's own timeouts are set past the
// deadline (past_deadline): connect() reports the deadline; they only end this thread after it.
void rendezvous(const DistEnv& env, const torch::Device& device, const std::vector<std::string>& interfaces,
                std::chrono::milliseconds timeout, std::chrono::steady_clock::time_point deadline,
                const std::string& where, Rendezvous& state) {
  Group result;
  result.rank = env.rank;
  result.world_size = env.world_size;
  const auto remaining = [&] {  // never 0, which c10d reads as "no timeout"
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()) +
                        past_deadline(timeout));
  };
  // The host as peers see it: its name and PID namespace (where a process id names one process)
  // and, where known, the address of this rank's Gloo device (where peers reach it).
  const std::string address = device.is_cuda() ? "" : gloo_address(env, interfaces);
  const std::string self = host_identity() + (address.empty() ? "" : kAddressMark + address) + "\n" +
                           std::to_string(::getpid());
  const bool serve = env.rank == 0 && !env.agent_store;
  state.enter(serve ? "waiting for the other ranks to join the store"
                    : env.agent_store ? "connecting to torchrun's store (none answered in this libtorch's protocol: with "
                                        "a torchrun of another torch version, set TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 "
                                        "and use --rdzv-backend=c10d)"
                                      : "connecting to the store (no c10d TCPStore answered there)");
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = serve;
    options.numWorkers = static_cast<std::size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = remaining();
    result.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    // torchrun's store outlives an attempt (a restart finds the last one's keys there) and holds
    // the agents' keys: this attempt's keys go under a prefix of their own.
    if (env.agent_store) {
      result.store = c10::make_intrusive<c10d::PrefixStore>("pb/attempt_" + std::to_string(env.restart_count), result.store);
    }
    // Before the process group: once it exists, every rank has published its process.
    result.store->set(peer_key(env.rank), bytes(self));
  } catch (const std::exception& error) {
    throw DistError("cannot rendezvous at " + where + ": " + first_line(error.what()));
  }
  try {
    // Gloo waits for the other ranks' addresses in the store, with the store's timeout: what is
    // left of the deadline. Its own timeout, set below, is the collectives' and stays whole.
    result.store->setTimeout(remaining());
    if (device.is_cuda()) {
#if PB_HAVE_NCCL
      state.enter("creating the NCCL process group (not every rank arrived)");
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      result.group = c10::make_intrusive<c10d::ProcessGroupNCCL>(result.store, static_cast<int>(env.rank),
                                                                 static_cast<int>(env.world_size), options);
      result.backend = "nccl";
#else
      throw DistError(nccl_unavailable_reason());
#endif
    } else {
      state.enter("creating the Gloo process group (not every rank arrived)");
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // GLOO_SOCKET_IFNAME's interfaces when it is set (c10d's Python side gives it precedence
      // too); else loopback when the whole job is on this machine; else the address this host's
      // name resolves to (Gloo's default, which falls back to loopback, unreachable from other
      // hosts, where the name resolves to nothing local: set GLOO_SOCKET_IFNAME there).
      const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
      for (const std::string& name : interfaces) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      }
      if (interfaces.empty()) {
        options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                         : c10d::ProcessGroupGloo::createDefaultDevice());
      }
      options->threads = static_cast<int>(gloo_threads());
      result.group = c10::make_intrusive<c10d::ProcessGroupGloo>(result.store, static_cast<int>(env.rank),
                                                                 static_cast<int>(env.world_size), options);
      result.backend = "gloo";
    }
    result.store->setTimeout(timeout);
  } catch (const DistError&) {
    throw;
  } catch (const std::exception& error) {
    const std::string reason = first_line(error.what());
    // Gloo's default device falls back to loopback where the host name resolves to nothing
    // usable (or resolves to loopback, as Debian's /etc/hosts does): peers on other hosts then
    // try to connect to their own loopback.
    const bool loopback_peer = reason.find("[127.") != std::string::npos;
    const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
    throw DistError("cannot create the process group at " + where + ": " + reason +
                    (loopback_peer && !local && interfaces.empty() && !device.is_cuda()
                         ? " (a peer's Gloo address is loopback: set GLOO_SOCKET_IFNAME to the interface the hosts share)"
                         : ""));
  }
  // The peers' processes, for naming a lost one later. Only what is there: a peer that published
  // nothing (another program's rank) stays unknown rather than failing the rendezvous.
  result.peers.resize(static_cast<size_t>(env.world_size));
  for (int64_t rank = 0; rank < env.world_size; ++rank) {
    try {
      if (!result.store->check({peer_key(rank)})) continue;
      const std::vector<uint8_t> value = result.store->get(peer_key(rank));
      const std::string text(value.begin(), value.end());
      const size_t newline = text.rfind('\n');
      if (newline == std::string::npos) continue;
      result.peers[static_cast<size_t>(rank)] = {text.substr(0, newline), std::stoll(text.substr(newline + 1))};
    } catch (const std::exception&) {
      // Unknown, as above.
    }
  }
  state.group = std::move(result);
}

// How a process on this machine is doing: /proc/PID/stat's state letter after the command name,
// or 'X' (dead) when it is gone.
char process_state(int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!stat || !std::getline(stat, text)) return 'X';
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '?';
}

// Whether `peer` runs on the same machine as this rank (the same published host, so the same PID
// namespace and Gloo address: its process id can be looked up here).
bool on_this_machine(const Group& group, const PeerProcess& peer) {
  const size_t self = static_cast<size_t>(group.rank);
  return self < group.peers.size() && !group.peers[self].host.empty() && peer.host == group.peers[self].host &&
         peer.pid > 0;
}

// Peers whose processes run on this machine and have exited (gone, or zombies nobody reaped yet).
std::vector<int64_t> exited_peers(const Group& group) {
  std::vector<int64_t> exited;
  for (size_t rank = 0; rank < group.peers.size(); ++rank) {
    const PeerProcess& peer = group.peers[rank];
    if (static_cast<int64_t>(rank) == group.rank || !on_this_machine(group, peer)) continue;
    const char state = process_state(peer.pid);
    if (state == 'X' || state == 'Z' || state == 'x') exited.push_back(static_cast<int64_t>(rank));
  }
  return exited;
}

// "2, 3"
std::string rank_list(const std::vector<int64_t>& ranks) {
  std::string text;
  for (int64_t rank : ranks) text += (text.empty() ? "" : ", ") + std::to_string(rank);
  return text;
}

// "rank 2", "ranks 2, 3"
std::string ranks_text(const std::vector<int64_t>& ranks) {
  return (ranks.size() > 1 ? "ranks " : "rank ") + rank_list(ranks);
}

// The peer address in a Gloo message ("Connection closed by peer [10.213.0.2]:44261"), or "".
std::string address_in(const std::string& message) {
  const size_t open = message.find('[');
  const size_t close = open == std::string::npos ? open : message.find("]:", open);
  return close == std::string::npos ? "" : message.substr(open + 1, close - open - 1);
}

// The peers whose Gloo device has `address`.
std::vector<int64_t> ranks_at(const Group& group, const std::string& address) {
  std::vector<int64_t> ranks;
  for (size_t rank = 0; rank < group.peers.size(); ++rank) {
    if (static_cast<int64_t>(rank) != group.rank && address_of(group.peers[rank]) == address) {
      ranks.push_back(static_cast<int64_t>(rank));
    }
  }
  return ranks;
}

// What the store tells about a failure. A rank's Gloo error names at most the peer it was talking
// to, and a peer that exits on its own failure closes its connections too: its neighbours would
// blame it, not the rank lost in the first place (across hosts, a survivor blamed the survivor next
// to it). So every failing rank leaves the ranks it suspects in the store, then reads its suspects'
// records for up to kRollCall: a suspect that left one is alive (it failed on losing the ranks it
// names, which become suspects in turn); one that left none by then is lost, dead or cut off.
struct RollCall {
  bool answered = false;       // the store answered (the store lives in rank 0's process)
  std::vector<int64_t> lost;   // suspects without a record
  std::vector<int64_t> relay;  // suspects with a record: they failed on losing others
};

constexpr auto kRollCall = std::chrono::milliseconds(1000);

RollCall roll_call(const Group& group, const std::vector<int64_t>& suspects) {
  // torch 2.x's TCPStore logs a failed send with a stack trace before it throws: the rank's one
  // line must stay one line.
  QuietStderr quiet;
  struct State {
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    RollCall result;
  };
  auto state = std::make_shared<State>();
  const auto deadline = std::chrono::steady_clock::now() + kRollCall;
  // In a thread: a store cut off from this host blocks c10d for its whole timeout, or longer.
  std::thread worker([state, store = group.store, self = group.rank, world = group.world_size, suspects, deadline] {
    RollCall result;
    try {
      store->set(failure_key(self), bytes(rank_list(suspects)));
      std::vector<bool> seen(static_cast<size_t>(world), false);
      seen[static_cast<size_t>(self)] = true;
      for (int64_t rank : suspects) seen[static_cast<size_t>(rank)] = true;
      std::vector<int64_t> pending = suspects;
      while (true) {
        std::vector<int64_t> silent;
        for (size_t i = 0; i < pending.size(); ++i) {  // grows while it is read: relayed suspects
          const int64_t rank = pending[i];
          if (!store->check({failure_key(rank)})) {
            silent.push_back(rank);
            continue;
          }
          result.relay.push_back(rank);
          const std::vector<uint8_t> value = store->get(failure_key(rank));
          std::stringstream list(std::string(value.begin(), value.end()));
          for (std::string item; std::getline(list, item, ',');) {
            int64_t next = -1;
            try {
              next = parse_integer("a rank in the store", item, 0, world - 1);
            } catch (const Error&) {
              continue;  // not written by this program
            }
            if (!seen[static_cast<size_t>(next)]) {
              seen[static_cast<size_t>(next)] = true;
              pending.push_back(next);
            }
          }
        }
        pending = silent;
        if (pending.empty() || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::sort(pending.begin(), pending.end());
      result.lost = pending;
      result.answered = true;
    } catch (const std::exception&) {
      // The store is gone or broken: not answered.
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->result = result;
    state->done = true;
    state->finished.notify_all();
  });
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->finished.wait_until(lock, deadline + std::chrono::milliseconds(500), [&] { return state->done; })) {
    lock.unlock();
    worker.detach();  // blocked in c10d: it owns what it uses; the caller exits soon
    return {};
  }
  lock.unlock();
  worker.join();
  return state->result;
}

bool contains_any(const std::string& text, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* word) { return text.find(word) != std::string::npos; });
}

}  // namespace

std::string nccl_unavailable_reason() {
#if PB_HAVE_NCCL
  return cuda_unavailable_reason();
#else
  return "NCCL is not available in this build (libtorch without CUDA, or no ProcessGroupNCCL found at configure time)";
#endif
}

Group connect(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port) + " as rank " +
                            std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  // A bad PB_GLOO_THREADS or GLOO_SOCKET_IFNAME fails now, not after the rendezvous.
  std::vector<std::string> interfaces;
  if (!device.is_cuda()) {
    gloo_threads();
    interfaces = gloo_interfaces();
  }
  QuietStderr quiet;
  // c10d can block beyond its own timeouts (a listener on MASTER_PORT that accepts and never
  // answers held a rank for 90 s with a 10 s timeout), and it applied the timeout to the store and
  // again to the process group. In a thread, the rendezvous gets one deadline that always holds.
  auto state = std::make_shared<Rendezvous>();
  std::thread worker([state, env, device, interfaces, timeout, deadline, where] {
    try {
      rendezvous(env, device, interfaces, timeout, deadline, where, *state);
    } catch (...) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->done = true;
    state->finished.notify_all();
  });
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->finished.wait_until(lock, deadline, [&] { return state->done; })) {
    const std::string stage = state->stage;
    lock.unlock();
    worker.detach();  // blocked in c10d, maybe for good: it owns `state`, nothing of this frame
    throw DistError("cannot rendezvous at " + where + ": timed out after " + seconds_text(timeout) + " " + stage);
  }
  lock.unlock();
  worker.join();
  if (state->error) std::rethrow_exception(state->error);
  return std::move(state->group);
}

namespace {

// "<program>: error: <message>" and exit 2 now: a rendezvous thread may still be blocked in c10d,
// and exit() would run static destructors under it.
[[noreturn]] void fail_rendezvous(const std::string& program, const std::string& message) {
  std::cout.flush();
  std::cerr << program << ": error: " << message << std::endl;
  std::fflush(nullptr);
  std::_Exit(2);
}

}  // namespace

Group connect_or_exit(const std::string& program, const torch::Device& device, std::chrono::milliseconds timeout,
                      DistEnv* env) {
  try {
    *env = read_dist_env();
  } catch (const DistError& error) {
    fail_rendezvous(program, error.what());
  }
  return connect_or_exit(program, *env, device, timeout);
}

Group connect_or_exit(const std::string& program, const DistEnv& env, const torch::Device& device,
                      std::chrono::milliseconds timeout) {
  try {
    return connect(env, device, timeout);
  } catch (const DistError& error) {
    fail_rendezvous(program, error.what());
  }
}

std::string describe_collective_failure(const Group& group, const std::exception& error) {
  std::string message = first_line(error.what());
  // Gloo starts with its source location, "[../gloo/transport/tcp/pair.cc:589] ": not for users.
  if (!message.empty() && message[0] == '[') {
    const size_t end = message.find("] ");
    if (end != std::string::npos && message.find(':') < end) message = message.substr(end + 2);
  }
  const bool lost = contains_any(message, {"Connection reset", "Connection closed", "closed by peer", "Broken pipe",
                                           "Read error", "Write error", "Connection refused", "EOF"});
  const bool timed_out = contains_any(message, {"Timed out", "timed out", "Timeout", "timeout"});
  const std::string who = "rank " + std::to_string(group.rank) + " of " + std::to_string(group.world_size);
  if (group.world_size <= 2) {
    // Of two ranks, the one this rank talks to is the other.
    const std::string other = std::to_string(1 - group.rank);
    if (group.world_size == 2 && (lost || !exited_peers(group).empty())) return who + " lost rank " + other + ": " + message;
    if (group.world_size == 2 && timed_out) return who + " timed out waiting for rank " + other + ": " + message;
    return who + ": " + message;
  }

  // Suspects. Gloo's address names a host: on another one, any of its ranks (which of them cannot
  // be seen from here); on this one, those whose processes exited. Without an address, the peers
  // here that exited. After a timeout, which names nobody, every peer not alive on this machine.
  const std::string address = lost ? address_in(message) : "";
  const std::vector<int64_t> at = address.empty() ? std::vector<int64_t>{} : ranks_at(group, address);
  const bool remote = !at.empty() && std::none_of(at.begin(), at.end(), [&](int64_t rank) {
    return on_this_machine(group, group.peers[static_cast<size_t>(rank)]);
  });
  std::vector<int64_t> exited, suspects;
  if (lost && !remote) {
    exited = exited_peers(group);
    // A killed peer's sockets close before its process is gone: the survivor may look too early.
    for (int tries = 0; exited.empty() && tries < 20; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      exited = exited_peers(group);
    }
    for (int64_t rank : exited) {
      if (at.empty() || std::find(at.begin(), at.end(), rank) != at.end()) suspects.push_back(rank);
    }
  }
  if (suspects.empty()) suspects = at;
  if (suspects.empty()) {
    for (int64_t rank = 0; rank < group.world_size; ++rank) {
      const PeerProcess& peer = group.peers[static_cast<size_t>(rank)];
      const bool alive_here = on_this_machine(group, peer) && process_state(peer.pid) != 'X' &&
                              process_state(peer.pid) != 'Z';
      if (rank != group.rank && !alive_here) suspects.push_back(rank);
    }
  }
  if (suspects.empty()) return who + (timed_out ? " timed out waiting for a peer rank: " : ": ") + message;

  const RollCall call = roll_call(group, suspects);
  const std::string what = lost ? " lost " : timed_out ? " timed out waiting for " : " lost ";
  if (call.answered && !call.lost.empty()) {
    std::vector<int64_t> relay;  // suspects of this rank's own that passed the loss on
    for (int64_t rank : call.relay) {
      if (std::find(suspects.begin(), suspects.end(), rank) != suspects.end() && lost) relay.push_back(rank);
    }
    return who + what + ranks_text(call.lost) + ": " + message +
           (relay.empty() ? "" : " (through " + ranks_text(relay) + ", which failed on losing them)");
  }
  // connect() wraps the store in a prefix only where it is torchrun's agent's, on node 0.
  const bool agent_store = dynamic_cast<c10d::PrefixStore*>(group.store.get()) != nullptr;
  if (!call.answered && (group.rank != 0 || agent_store)) {
    // Our store lives in rank 0's process: rank 0 is dead or cut off from this rank, and so maybe
    // are the other ranks on its host and this rank's suspects (torchrun's lives in node 0's agent:
    // only the maybes). Peers here that exited may have done so on losing rank 0 themselves:
    // named as exited, not as the loss.
    std::vector<int64_t> maybe, exited_too;
    const std::string store_host = address_of(group.peers[0]);
    std::vector<int64_t> candidates = store_host.empty() ? std::vector<int64_t>{} : ranks_at(group, store_host);
    candidates.insert(candidates.end(), suspects.begin(), suspects.end());
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (int64_t rank : candidates) {
      const PeerProcess& peer = group.peers[static_cast<size_t>(rank)];
      if ((rank == 0 && !agent_store) || rank == group.rank) continue;
      if (std::find(exited.begin(), exited.end(), rank) != exited.end()) {
        exited_too.push_back(rank);
      } else if (!on_this_machine(group, peer) || process_state(peer.pid) == 'X') {
        maybe.push_back(rank);
      }
    }
    const std::string notes = (maybe.empty() ? "" : "; maybe " + ranks_text(maybe) + (agent_store ? "" : " too")) +
                              (exited_too.empty() ? "" : "; " + ranks_text(exited_too) + " exited too") + ")";
    if (agent_store) {
      return who + (lost ? " lost a peer rank: " : " timed out waiting for a peer rank: ") + message +
             " (torchrun's store on node 0 does not answer either" + notes;
    }
    return who + what + "rank 0: " + message + " (the store on rank 0 does not answer either" + notes;
  }
  // Not narrowed down by the store (it answered, but every suspect reported a failure of its own).
  if (!exited.empty()) return who + " lost " + ranks_text(exited) + ": " + message;
  if (at.size() == 1) return who + " lost " + ranks_text(at) + ": " + message;
  if (lost) return who + " lost a peer rank" + (at.empty() ? "" : " (" + ranks_text(at) + " at " + address + ")") + ": " + message;
  if (timed_out) return who + " timed out waiting for a peer rank: " + message;
  return who + ": " + message;
}

void exit_on_collective_failure(const std::string& program, const Group& group, const std::exception& error) {
  const std::string line = describe_collective_failure(group, error);
  std::cout.flush();
  std::cerr << program << ": error: " << line << std::endl;
  std::fflush(nullptr);
  // 0.3 s: the launcher sees the rank that caused the failure exit first, and names it. The store
  // lives in rank 0's process: in a job of more than two ranks it stays up for the others' roll
  // calls (kRollCall each, started up to a collective round later), or they could only blame rank 0.
  const bool serves_store = group.rank == 0 && group.world_size > 2;
  std::this_thread::sleep_for(serves_store ? 3 * kRollCall : std::chrono::milliseconds(300));
  std::_Exit(1);
}

}  // namespace pb::dist
