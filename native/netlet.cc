// netlet's native addon: the few syscalls Node lacks (setns, TUNSETIFF, SO_BINDTODEVICE,
// SCM_RIGHTS, raw ICMPv6, per-netns sysctls, posix_spawn). Context-aware (N-API), holds no
// event-loop state, so it loads in worker threads. Calls are synchronous but for nftRunAsync
// (threads of its own) and rtnlRequest (libuv pool threads), for the kernel's slow paths,
// and waitExit (a uv_poll on a pidfd); errors are thrown as JS errors with `code` (errno
// name) and `syscall`, never a crash.
#include <napi.h>
#include <nftables/libnftables.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <uv.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  const char* name = strerrorname_np(err);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall) {
  ErrnoError(env, err, syscall).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Long-lived fds go above FD_SETSIZE: libnftables waits for its acks in select(), and glibc
// aborts the process on an fd >= 1024 there ("bit out of range 0 - FD_SETSIZE", seen with
// 250 pods: each holds sockets and a netns fd). Kept low, only transient fds remain below.
int HighFd(int fd) {
  if (fd < 0 || fd >= FD_SETSIZE) return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
  if (high < 0) return fd;  // RLIMIT_NOFILE at 1024 or less: leave it where it is
  close(fd);
  return high;
}

// moveHigh(fd): the same fd, renumbered at or above FD_SETSIZE (the old number is closed).
Napi::Value MoveHigh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return ThrowType(env, "moveHigh(fd): fd must be a number");
  return Napi::Number::New(env, HighFd(info[0].As<Napi::Number>().Int32Value()));
}

// dupHigh(fd): a second fd for the same open file or socket, at or above FD_SETSIZE if it can
// be. The DHCP pool keeps a socket's fd and each worker reads it through a dup of its own.
Napi::Value DupHigh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return ThrowType(env, "dupHigh(fd): fd must be a number");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int d = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
  if (d < 0) d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return ThrowErrno(env, errno, "dup");
  return Napi::Number::New(env, d);
}

// closeFd(fd): close(2), for fds the addon made: Node's fs.closeSync warns in a worker thread
// about an fd its fs did not open there. EBADF is no error (already closed).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return ThrowType(env, "closeFd(fd): fd must be a number");
  if (close(info[0].As<Napi::Number>().Int32Value()) != 0 && errno != EBADF && errno != EINTR) return ThrowErrno(env, errno, "close");
  return env.Undefined();
}

// Runs fn with the calling thread inside the netns given by nsFd, then returns the
// thread to the netns it came from. Returns 0 or the errno of the failing step; *where
// names the failing syscall. If the way back fails the thread would stay in the wrong
// netns, which nothing can repair: that aborts the process.
template <typename F>
int InNetns(int nsFd, F fn, const char** where) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) { *where = "open(/proc/thread-self/ns/net)"; return errno; }
  if (setns(nsFd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(self);
    *where = "setns";
    return err;
  }
  int err = fn(where);
  if (setns(self, CLONE_NEWNET) != 0) {
    napi_fatal_error("netlet_native", NAPI_AUTO_LENGTH, "setns back to the caller's netns failed", NAPI_AUTO_LENGTH);
  }
  close(self);
  return err;
}

// setns(fd, CLONE_NEWNET) for the calling thread.
Napi::Value SetNs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return ThrowType(env, "setns(fd): fd must be a number");
  if (setns(info[0].As<Napi::Number>().Int32Value(), CLONE_NEWNET) != 0) return ThrowErrno(env, errno, "setns");
  return env.Undefined();
}

// Returns an fd for the calling thread's current netns.
Napi::Value CurrentNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, errno, "open");
  return Napi::Number::New(env, fd);
}

// A socket made inside nsFd's netns (close-on-exec) into *fd; 0 or the errno, *where the failing step.
int SocketInNetns(int nsFd, int domain, int type, int proto, int* fd, const char** where) {
  return InNetns(nsFd, [&](const char** w) {
    *fd = socket(domain, type | SOCK_CLOEXEC, proto);
    if (*fd < 0) { *w = "socket"; return errno; }
    return 0;
  }, where);
}

// socketIn(nsFd, domain, type, protocol): a socket created inside nsFd's netns.
Napi::Value SocketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber())
    return ThrowType(env, "socketIn(nsFd, domain, type, protocol): numbers expected");
  int nsFd = info[0].As<Napi::Number>().Int32Value();
  int domain = info[1].As<Napi::Number>().Int32Value();
  int type = info[2].As<Napi::Number>().Int32Value();
  int proto = info[3].As<Napi::Number>().Int32Value();
  int fd = -1;
  const char* where = "";
  int err = SocketInNetns(nsFd, domain, type, proto, &fd, &where);
  if (err) return ThrowErrno(env, err, where);
  return Napi::Number::New(env, HighFd(fd));
}

// udpBound(nsFd, device, port): a non-blocking UDP socket in nsFd's netns, bound to
// 0.0.0.0:port on `device` only (SO_BINDTODEVICE), broadcast allowed. For dgram's bind({fd}).
Napi::Value UdpBound(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber())
    return ThrowType(env, "udpBound(nsFd, device, port): (number, string, number) expected");
  int nsFd = info[0].As<Napi::Number>().Int32Value();
  std::string dev = info[1].As<Napi::String>().Utf8Value();
  int port = info[2].As<Napi::Number>().Int32Value();
  if (dev.empty() || dev.size() >= IFNAMSIZ) return ThrowType(env, "udpBound: device name must be 1-15 characters");
  if (port < 0 || port > 65535) return ThrowType(env, "udpBound: port out of range");
  int fd = -1;
  const char* where = "";
  int err = InNetns(nsFd, [&](const char** w) {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { *w = "socket"; return errno; }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) { *w = "setsockopt(SO_REUSEADDR)"; goto fail; }
    if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) { *w = "setsockopt(SO_BROADCAST)"; goto fail; }
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size() + 1) != 0) { *w = "setsockopt(SO_BINDTODEVICE)"; goto fail; }
    {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(INADDR_ANY);
      if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) { *w = "bind"; goto fail; }
    }
    return 0;
  fail:
    int e = errno;
    close(fd);
    fd = -1;
    return e;
  }, &where);
  if (err) return ThrowErrno(env, err, where);
  return Napi::Number::New(env, HighFd(fd));
}

// openTap(nsFd, name, { vnetHdr, queues, persist }): opens (creating if absent) the TAP
// `name` inside nsFd's netns. Returns one fd per queue (IFF_MULTI_QUEUE when queues > 1
// or multiQueue is set). The TAP device's netns is the one its fd was opened in.
Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsObject())
    return ThrowType(env, "openTap(nsFd, name, opts) expected");
  int nsFd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Object opts = info[2].As<Napi::Object>();
  bool vnetHdr = opts.Get("vnetHdr").ToBoolean();
  bool persist = opts.Get("persist").ToBoolean();
  bool multi = opts.Get("multiQueue").ToBoolean();
  int queues = opts.Has("queues") && opts.Get("queues").IsNumber() ? opts.Get("queues").As<Napi::Number>().Int32Value() : 1;
  if (name.empty() || name.size() >= IFNAMSIZ) return ThrowType(env, "openTap: name must be 1-15 characters");
  if (queues < 1 || queues > 256) return ThrowType(env, "openTap: queues must be 1-256");
  if (queues > 1) multi = true;
  std::vector<int> fds;
  const char* where = "";
  int err = InNetns(nsFd, [&](const char** w) {
    for (int q = 0; q < queues; q++) {
      int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
      if (fd < 0) { *w = "open(/dev/net/tun)"; return errno; }
      fds.push_back(fd);
      ifreq ifr{};
      ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0) | (multi ? IFF_MULTI_QUEUE : 0);
      strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
      if (ioctl(fd, TUNSETIFF, &ifr) != 0) { *w = "ioctl(TUNSETIFF)"; return errno; }
      if (q == 0 && persist && ioctl(fd, TUNSETPERSIST, 1) != 0) { *w = "ioctl(TUNSETPERSIST)"; return errno; }
    }
    return 0;
  }, &where);
  if (err) {
    for (int fd : fds) close(fd);
    return ThrowErrno(env, err, where);
  }
  Napi::Array out = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) out.Set(i, Napi::Number::New(env, HighFd(fds[i])));
  return out;
}

// setTapPersist(fd, on): TUNSETPERSIST on an open TAP fd (off lets the kernel delete it
// when its last fd closes).
Napi::Value SetTapPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return ThrowType(env, "setTapPersist(fd, on) expected");
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TUNSETPERSIST, info[1].ToBoolean().Value() ? 1 : 0) != 0)
    return ThrowErrno(env, errno, "ioctl(TUNSETPERSIST)");
  return env.Undefined();
}

// sendFds(sockFd, fds, payload): one sendmsg with the fds as SCM_RIGHTS and payload bytes
// (at least one byte is sent: a zero-length stream message carries no ancillary data).
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsBuffer())
    return ThrowType(env, "sendFds(sockFd, fds[], payload Buffer) expected");
  int sock = info[0].As<Napi::Number>().Int32Value();
  Napi::Array arr = info[1].As<Napi::Array>();
  Napi::Buffer<uint8_t> payload = info[2].As<Napi::Buffer<uint8_t>>();
  if (arr.Length() < 1 || arr.Length() > 253) return ThrowType(env, "sendFds: 1-253 fds expected");
  std::vector<int> fds;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsNumber()) return ThrowType(env, "sendFds: fds must be numbers");
    fds.push_back(v.As<Napi::Number>().Int32Value());
  }
  uint8_t zero = 0;
  iovec iov{};
  iov.iov_base = payload.Length() ? payload.Data() : &zero;
  iov.iov_len = payload.Length() ? payload.Length() : 1;
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf.data();
  msg.msg_controllen = cbuf.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  ssize_t n;
  do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "sendmsg");
  return Napi::Number::New(env, static_cast<double>(n));
}

// recvFds(sockFd, maxBytes, maxFds): one blocking recvmsg; returns { data, fds }.
// For clients and tests; the sockFd should be blocking (or data already waiting).
Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return ThrowType(env, "recvFds(sockFd, maxBytes, maxFds) expected");
  int sock = info[0].As<Napi::Number>().Int32Value();
  int maxBytes = info[1].As<Napi::Number>().Int32Value();
  int maxFds = info[2].As<Napi::Number>().Int32Value();
  if (maxBytes < 1 || maxFds < 1 || maxFds > 253) return ThrowType(env, "recvFds: bad sizes");
  std::vector<uint8_t> buf(maxBytes);
  std::vector<char> cbuf(CMSG_SPACE(sizeof(int) * maxFds));
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf.data();
  msg.msg_controllen = cbuf.size();
  ssize_t n;
  do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "recvmsg");
  Napi::Array fds = Napi::Array::New(env);
  uint32_t k = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int* p = reinterpret_cast<int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; i++) fds.Set(k++, Napi::Number::New(env, p[i]));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(n)));
  out.Set("fds", fds);
  out.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0));
  return out;
}

// One netlink request (a whole nlmsghdr asking for an ack, or a dump) on fd, on the calling
// thread: the replies' bytes (this seq's messages up to and including NLMSG_DONE or the ack)
// into *reply; an errno (and *where) if it failed. The kernel answers inside sendmsg (a dump's
// later parts inside recv), so nothing here waits but for the locks the request itself takes.
int NlExchange(int fd, const uint8_t* req, size_t len, std::vector<char>* reply, const char** where) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do n = sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) { *where = "sendto(netlink)"; return errno; }
  uint32_t seq = reinterpret_cast<const nlmsghdr*>(req)->nlmsg_seq;
  // A dump fills up to the largest buffer the reader has offered, capped at 32 KiB.
  std::vector<char> buf(32768);
  for (bool done = false; !done;) {
    do n = recv(fd, buf.data(), buf.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) { *where = "recv(netlink)"; return errno; }
    ssize_t left = n;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(left)); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      const char* p = reinterpret_cast<const char*>(h);
      reply->insert(reply->end(), p, p + NLMSG_ALIGN(h->nlmsg_len));
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) { done = true; break; }
    }
  }
  return 0;
}

// One request on a socket of its own, made in nsFd's netns (pool and nft threads).
int NlRequest(int nsFd, int protocol, const std::vector<uint8_t>& req, std::vector<char>* reply, const char** where) {
  int fd = -1;
  int err = SocketInNetns(nsFd, AF_NETLINK, SOCK_RAW, protocol, &fd, where);
  if (err) return err;
  err = NlExchange(fd, req.data(), req.size(), reply, where);
  close(fd);
  return err;
}

// rtnlSocket(nsFd): an rtnetlink socket made in nsFd's netns for rtnlExchange. Its reads time
// out after 10 s (EAGAIN) rather than hold the event loop for ever should a reply never come.
Napi::Value RtnlSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "rtnlSocket(nsFd) expected");
  int fd = -1;
  const char* where = "";
  int err = SocketInNetns(info[0].As<Napi::Number>().Int32Value(), AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, &fd, &where);
  if (err) return ThrowErrno(env, err, where);
  timeval tv{10, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    err = errno;
    close(fd);
    return ThrowErrno(env, err, "setsockopt(SO_RCVTIMEO)");
  }
  return Napi::Number::New(env, HighFd(fd));
}

// rtnlExchange(fd, request): one rtnetlink request on the calling thread, on a socket from
// rtnlSocket: the replies' bytes. For the setup path, where the event loop turn an
// asynchronous socket waits per request buys nothing (the kernel has answered by then).
Napi::Value RtnlExchange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) return ThrowType(env, "rtnlExchange(fd, request) expected");
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  if (b.Length() < sizeof(nlmsghdr)) return ThrowType(env, "rtnlExchange: request shorter than a netlink header");
  std::vector<char> reply;
  const char* where = "";
  int err = NlExchange(info[0].As<Napi::Number>().Int32Value(), b.Data(), b.Length(), &reply, &where);
  if (err) return ThrowErrno(env, err, where);
  return Napi::Buffer<char>::Copy(env, reply.data(), reply.size());
}

// What one libnftables run gave: nft's return code, output and error text.
struct NftOutcome {
  int err = 0;
  const char* where = "";
  int rc = -1;
  std::string out, errText;
};

// Runs an nftables script (as `nft -f`) inside nsFd's netns on the calling thread.
NftOutcome RunNft(int nsFd, const std::string& text) {
  NftOutcome o;
  o.err = InNetns(nsFd, [&](const char** w) {
    // The context opens its netlink socket in the thread's netns: create and use it here.
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) { *w = "nft_ctx_new"; return ENOMEM; }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    o.rc = nft_run_cmd_from_buffer(ctx, text.c_str());
    const char* out = nft_ctx_get_output_buffer(ctx);
    const char* e = nft_ctx_get_error_buffer(ctx);
    if (out) o.out = out;
    if (e) o.errText = e;
    nft_ctx_free(ctx);
    return 0;
  }, &o.where);
  return o;
}

Napi::Object NftResult(Napi::Env env, const NftOutcome& o) {
  Napi::Object res = Napi::Object::New(env);
  res.Set("ok", Napi::Boolean::New(env, o.rc == 0));
  res.Set("output", Napi::String::New(env, o.out));
  res.Set("error", Napi::String::New(env, o.errText));
  return res;
}

// nftRun(nsFd, text): in process through libnftables, ~1 ms instead of ~25 ms for spawning
// nft. Returns { ok, output, error } (error is nft's own message text).
Napi::Value NftRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) return ThrowType(env, "nftRun(nsFd, text) expected");
  NftOutcome o = RunNft(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value());
  if (o.err) return ThrowErrno(env, o.err, o.where);
  return NftResult(env, o);
}

// nftRunAsync: the same on one of a few long-lived threads of its own, not the libuv pool.
// Closing an nftables netlink socket flushes nf_tables' destroy work while any table anywhere
// awaits its RCU grace period (nft_rcv_nl_event): 15-20 ms a script during other pods'
// teardowns. On the pool those waits queued behind the pool's link deletions (30-40 ms each,
// one at a time under the rtnl lock) and ran last: 50 teardowns at once ended ~260 ms after
// their last link deletion. Kept threads, not one per call: with a thread per call one
// setup measured 1.15x and one teardown 1.13x the pool's time (kept threads: 0.95-1.0x).
// A script for libnftables, or (raw) one nf_tables netlink request whose replies' bytes are the result.
struct NftJob {
  // fd: the job's own dup of the caller's netns fd (DupNs), closed with the job.
  NftJob(Napi::Env env, int fd) : deferred(Napi::Promise::Deferred::New(env)), nsFd(fd) {}
  ~NftJob() { if (nsFd >= 0) close(nsFd); }
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction done;
  int nsFd;
  std::string text;
  NftOutcome outcome;
  bool raw = false;
  std::vector<uint8_t> req;
  std::vector<char> reply;
};

constexpr size_t kNftThreads = 4;
// Plain pthread objects, never destroyed: a static std::condition_variable's destructor
// waits at process exit for the threads parked on it, forever.
pthread_mutex_t nftMu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t nftCv = PTHREAD_COND_INITIALIZER;
std::deque<NftJob*>* nftQueue = new std::deque<NftJob*>();
size_t nftThreads = 0, nftIdle = 0;

void DeliverNft(Napi::Env env, Napi::Function, NftJob* j) {
  if (j->outcome.err) j->deferred.Reject(ErrnoError(env, j->outcome.err, j->outcome.where).Value());
  else if (j->raw) j->deferred.Resolve(Napi::Buffer<char>::Copy(env, j->reply.data(), j->reply.size()));
  else j->deferred.Resolve(NftResult(env, j->outcome));
  delete j;
}

void* NftThread(void*) {
  for (;;) {
    pthread_mutex_lock(&nftMu);
    nftIdle++;
    while (nftQueue->empty()) pthread_cond_wait(&nftCv, &nftMu);
    nftIdle--;
    NftJob* job = nftQueue->front();
    nftQueue->pop_front();
    pthread_mutex_unlock(&nftMu);
    if (job->raw) job->outcome.err = NlRequest(job->nsFd, NETLINK_NETFILTER, job->req, &job->reply, &job->outcome.where);
    else job->outcome = RunNft(job->nsFd, job->text);
    Napi::ThreadSafeFunction done = job->done;
    done.BlockingCall(job, DeliverNft);
    done.Release();
  }
  return nullptr;
}

Napi::Value QueueNftJob(Napi::Env env, NftJob* job);

// A job run on another thread gets a dup of the caller's netns fd, taken now: the caller
// may close its fd (a pod stopped) while the job waits in a queue, and the number may be
// reused by then (another pod's netns). -1 (thrown) when the fd cannot be dup'ed.
int DupNs(Napi::Env env, const Napi::Value& v) {
  int fd = fcntl(v.As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "dup(netns fd)");
  return fd;
}

Napi::Value NftRunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) return ThrowType(env, "nftRunAsync(nsFd, text) expected");
  int ns = DupNs(env, info[0]);
  if (ns < 0) return env.Undefined();
  auto* job = new NftJob(env, ns);
  job->text = info[1].As<Napi::String>().Utf8Value();
  return QueueNftJob(env, job);
}

// A request of nfRequest/nfRequestAsync: (nsFd, a whole nlmsghdr) checked; false (thrown) if not.
bool NfRequestArgs(const Napi::CallbackInfo& info, const char* who) {
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer() || info[1].As<Napi::Buffer<uint8_t>>().Length() < sizeof(nlmsghdr)) {
    ThrowType(info.Env(), (std::string(who) + "(nsFd, request): a netns fd and a whole netlink message expected").c_str());
    return false;
  }
  return true;
}

// nfRequest(nsFd, request): one nf_tables netlink request (e.g. a counters dump) in the netns,
// on the calling thread, without libnftables (which lists the table's cache and prints text
// to read 8 counters): its replies' bytes.
Napi::Value NfRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NfRequestArgs(info, "nfRequest")) return env.Undefined();
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  std::vector<char> reply;
  const char* where = "";
  int err = NlRequest(info[0].As<Napi::Number>().Int32Value(), NETLINK_NETFILTER, std::vector<uint8_t>(b.Data(), b.Data() + b.Length()), &reply, &where);
  if (err) return ThrowErrno(env, err, where);
  return Napi::Buffer<char>::Copy(env, reply.data(), reply.size());
}

// nfRequestAsync(nsFd, request): the same on the nft threads (closing the socket may wait).
Napi::Value NfRequestAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!NfRequestArgs(info, "nfRequestAsync")) return env.Undefined();
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  int ns = DupNs(env, info[0]);
  if (ns < 0) return env.Undefined();
  auto* job = new NftJob(env, ns);
  job->raw = true;
  job->req.assign(b.Data(), b.Data() + b.Length());
  return QueueNftJob(env, job);
}

// Queues a job for the nft threads (one more thread when none is idle, up to kNftThreads).
Napi::Value QueueNftJob(Napi::Env env, NftJob* job) {
  Napi::Promise p = job->deferred.Promise();
  // Holds the event loop open until the result is delivered, as a pool job would.
  job->done = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "nftRunAsync", 0, 1);
  pthread_mutex_lock(&nftMu);
  nftQueue->push_back(job);
  if (nftQueue->size() > nftIdle && nftThreads < kNftThreads) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int err = pthread_create(&t, &attr, NftThread, nullptr);
    pthread_attr_destroy(&attr);
    if (!err) nftThreads++;
    else if (nftThreads == 0) {
      // No thread to run it: fail this call (a later one tries again).
      nftQueue->pop_back();
      pthread_mutex_unlock(&nftMu);
      job->done.Release();
      job->deferred.Reject(ErrnoError(env, err, "pthread_create").Value());
      delete job;
      return p;
    }
  }
  pthread_cond_signal(&nftCv);
  pthread_mutex_unlock(&nftMu);
  return p;
}

// rtnlRequest(nsFd, request): one rtnetlink request (a whole nlmsghdr asking for an ack)
// sent from a libuv pool thread on a socket of its own, made in the netns. rtnetlink runs a
// request inside sendmsg and waits for the rtnl lock there: another pod's link deletion holds
// it for 30-50 ms (RCU grace periods), which on the main thread stalled every pod. Resolves
// with the replies' bytes (this seq's messages up to and including NLMSG_DONE or the ack).
class RtnlWorker : public Napi::AsyncWorker {
 public:
  // nsFd: its own dup (DupNs), closed with the worker.
  RtnlWorker(Napi::Env env, int nsFd, std::vector<uint8_t> req)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), nsFd_(nsFd), req_(std::move(req)) {}
  ~RtnlWorker() override { close(nsFd_); }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = NlRequest(nsFd_, NETLINK_ROUTE, req_, &reply_, &where_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) deferred_.Reject(ErrnoError(env, err_, where_).Value());
    else deferred_.Resolve(Napi::Buffer<char>::Copy(env, reply_.data(), reply_.size()));
  }

 private:
  Napi::Promise::Deferred deferred_;
  int nsFd_;
  std::vector<uint8_t> req_;
  std::vector<char> reply_;
  int err_ = 0;
  const char* where_ = "";
};

Napi::Value RtnlRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) return ThrowType(env, "rtnlRequest(nsFd, request) expected");
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  if (b.Length() < sizeof(nlmsghdr)) return ThrowType(env, "rtnlRequest: request shorter than a netlink header");
  int ns = DupNs(env, info[0]);
  if (ns < 0) return env.Undefined();
  auto* w = new RtnlWorker(env, ns, std::vector<uint8_t>(b.Data(), b.Data() + b.Length()));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- IPv6 datagram sockets for RA and DHCPv6 (issue #15) ----
// dgram cannot adopt a raw socket (libuv's guess says UNKNOWN) nor tell a datagram's
// destination address; these sockets are made here and read by Watch6 below.

bool ParseIp6(const std::string& s, in6_addr* out) { return inet_pton(AF_INET6, s.c_str(), out) == 1; }

// open6(nsFd, device, kind): a non-blocking IPv6 socket in nsFd's netns, bound to `device`
// (SO_BINDTODEVICE), with IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT. kind "rs": raw ICMPv6,
// ICMP6_FILTER passing Router Solicitations only, unicast/multicast hop limit 255 (RFC 4861
// 6.1.2), no multicast loop, joined to ff02::2. kind "dhcp6": UDP [::]:547, IPV6_V6ONLY,
// joined to ff02::1:2. Returns { fd, ifindex } (the index in the pod netns).
Napi::Value Open6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsString())
    return ThrowType(env, "open6(nsFd, device, kind) expected");
  int nsFd = info[0].As<Napi::Number>().Int32Value();
  std::string dev = info[1].As<Napi::String>().Utf8Value();
  std::string kind = info[2].As<Napi::String>().Utf8Value();
  if (dev.empty() || dev.size() >= IFNAMSIZ) return ThrowType(env, "open6: device name must be 1-15 characters");
  if (kind != "rs" && kind != "dhcp6") return ThrowType(env, "open6: kind must be \"rs\" or \"dhcp6\"");
  bool raw = kind == "rs";
  int fd = -1;
  unsigned ifindex = 0;
  const char* where = "";
  int err = InNetns(nsFd, [&](const char** w) {
    ifindex = if_nametoindex(dev.c_str());
    if (ifindex == 0) { *w = "if_nametoindex"; return errno; }
    fd = raw ? socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6)
             : socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { *w = "socket"; return errno; }
    int one = 1, zero = 0, hops = 255;
    ipv6_mreq mreq{};
    mreq.ipv6mr_interface = ifindex;
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size() + 1) != 0) { *w = "setsockopt(SO_BINDTODEVICE)"; goto fail; }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0) { *w = "setsockopt(IPV6_RECVPKTINFO)"; goto fail; }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) != 0) { *w = "setsockopt(IPV6_RECVHOPLIMIT)"; goto fail; }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0) { *w = "setsockopt(IPV6_MULTICAST_IF)"; goto fail; }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero) != 0) { *w = "setsockopt(IPV6_MULTICAST_LOOP)"; goto fail; }
    if (raw) {
      icmp6_filter filter;
      ICMP6_FILTER_SETBLOCKALL(&filter);
      ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filter);
      if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0) { *w = "setsockopt(ICMP6_FILTER)"; goto fail; }
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0) { *w = "setsockopt(IPV6_MULTICAST_HOPS)"; goto fail; }
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) != 0) { *w = "setsockopt(IPV6_UNICAST_HOPS)"; goto fail; }
      inet_pton(AF_INET6, "ff02::2", &mreq.ipv6mr_multiaddr);
    } else {
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) { *w = "setsockopt(IPV6_V6ONLY)"; goto fail; }
      if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) { *w = "setsockopt(SO_REUSEADDR)"; goto fail; }
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(547);
      sa.sin6_addr = in6addr_any;
      if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) { *w = "bind"; goto fail; }
      inet_pton(AF_INET6, "ff02::1:2", &mreq.ipv6mr_multiaddr);
    }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) != 0) { *w = "setsockopt(IPV6_JOIN_GROUP)"; goto fail; }
    return 0;
  fail:
    int e = errno;
    close(fd);
    fd = -1;
    return e;
  }, &where);
  if (err) return ThrowErrno(env, err, where);
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, HighFd(fd)));
  out.Set("ifindex", Napi::Number::New(env, ifindex));
  return out;
}

// send6(fd, data, address, port, ifindex): one non-blocking sendto (port 0 for raw
// sockets). Returns the bytes sent, or -1 when the socket buffer is full (EAGAIN).
Napi::Value Send6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsString() || !info[3].IsNumber() || !info[4].IsNumber())
    return ThrowType(env, "send6(fd, data, address, port, ifindex) expected");
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  if (!ParseIp6(info[2].As<Napi::String>().Utf8Value(), &sa.sin6_addr)) return ThrowType(env, "send6: address is not IPv6");
  sa.sin6_port = htons(static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value()));
  sa.sin6_scope_id = info[4].As<Napi::Number>().Uint32Value();
  ssize_t n;
  do {
    n = sendto(info[0].As<Napi::Number>().Int32Value(), data.Data(), data.ByteLength(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Napi::Number::New(env, -1);
  if (n < 0) return ThrowErrno(env, errno, "sendto");
  return Napi::Number::New(env, static_cast<double>(n));
}

// Inits a uv_poll for fd on env's loop (data set, not started); on failure throws and
// returns false, and the caller frees what it made.
bool PollInit(Napi::Env env, uv_poll_t* poll, int fd, void* data, const char* who) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    ThrowType(env, (std::string(who) + ": no event loop").c_str());
    return false;
  }
  int rc = uv_poll_init(loop, poll, fd);
  if (rc != 0) {
    ThrowErrno(env, -rc, "uv_poll_init");
    return false;
  }
  poll->data = data;
  return true;
}

// A socket read on the calling thread's libuv loop (uv_poll), so a worker thread serves it
// without blocking: Watch6 (an open6 socket's datagrams) and WatchLinks (a netns's link
// events). close() stops it and closes the fd; a terminating worker closes it through an
// async cleanup hook (its loop must end empty).
struct Watch6State {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb = nullptr;
  napi_async_context ctx = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  int fd;
  bool closing = false;
  /** Reads what is ready and calls back (Watch6Datagrams, LinkEventsRead); status < 0: libuv saw an error and stopped polling. */
  void (*read)(struct Watch6State*, int status) = nullptr;
};

// Calls the watch's callback with argv; a throw there is the process's uncaught exception.
void WatchCall(Watch6State* st, size_t argc, napi_value* argv) {
  napi_value fn, recv, result;
  napi_get_reference_value(st->env, st->cb, &fn);
  napi_get_global(st->env, &recv);
  if (napi_make_callback(st->env, st->ctx, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(st->env, &exc);
    napi_fatal_exception(st->env, exc);
  }
}

void Watch6Closed(uv_handle_t* h) {
  auto* st = static_cast<Watch6State*>(h->data);
  if (st->cb) napi_delete_reference(st->env, st->cb);
  if (st->ctx) napi_async_destroy(st->env, st->ctx);
  if (st->hook) napi_remove_async_cleanup_hook(st->hook);
  delete st;
}

void Watch6Close(Watch6State* st) {
  if (st->closing) return;
  st->closing = true;
  uv_poll_stop(&st->poll);
  // The fd goes now, not in the close callback a loop turn later: whoever closed a watch (a
  // DHCP stop, then its 'stopped') holds none of its fds after. A stopped poll has left epoll.
  close(st->fd);
  st->fd = -1;
  uv_close(reinterpret_cast<uv_handle_t*>(&st->poll), Watch6Closed);
}

void Watch6Readable(uv_poll_t* h, int status, int events) {
  auto* st = static_cast<Watch6State*>(h->data);
  if (st->closing || (status == 0 && !(events & UV_READABLE))) return;
  st->read(st, status);
}

// Each datagram of an open6 socket: (data, source, destination, hopLimit, port).
void Watch6Datagrams(Watch6State* st, int status) {
  if (status < 0) return;
  napi_env env = st->env;
  // At most 64 datagrams a turn: a flood cannot starve the loop.
  for (int i = 0; i < 64 && !st->closing; i++) {
    uint8_t buf[2048];
    char cbuf[256];
    sockaddr_in6 src{};
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &src;
    msg.msg_namelen = sizeof src;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(st->fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained (other errors: the next readiness tries again)
    }
    int hopLimit = -1;
    in6_addr dst{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT) memcpy(&hopLimit, CMSG_DATA(c), sizeof hopLimit);
      if (c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = pi.ipi6_addr;
      }
    }
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &src.sin6_addr, s, sizeof s);
    inet_ntop(AF_INET6, &dst, d, sizeof d);
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value argv[5];
    void* copy;
    napi_create_buffer_copy(env, static_cast<size_t>(n), buf, &copy, &argv[0]);
    napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_string_utf8(env, d, NAPI_AUTO_LENGTH, &argv[2]);
    napi_create_int32(env, hopLimit, &argv[3]);
    napi_create_uint32(env, ntohs(src.sin6_port), &argv[4]);
    WatchCall(st, 5, argv);
    napi_close_handle_scope(env, scope);
  }
}

// Each datagram of a netns's link events (one or more rtnetlink messages) as a Buffer; null
// when the kernel dropped some (ENOBUFS: the socket's buffer overran), then reading goes on.
void LinkEventsRead(Watch6State* st, int status) {
  napi_env env = st->env;
  if (status < 0) {
    // An overrun sets the socket's error (POLLERR), and libuv stops polling on it: the
    // recv below reads the error (ENOBUFS: told as lost); then poll again.
    uv_poll_start(&st->poll, UV_READABLE, Watch6Readable);
  }
  for (int i = 0; i < 64 && !st->closing; i++) {
    // A link's message is ~1.5 KB; 32 KB holds any (MSG_TRUNC would say otherwise).
    static thread_local uint8_t buf[32768];
    ssize_t n = recv(st->fd, buf, sizeof buf, MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ENOBUFS) return;  // EAGAIN: drained
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value arg;
    if (n < 0 || static_cast<size_t>(n) > sizeof buf) {
      napi_get_null(env, &arg);
    } else {
      void* copy;
      napi_create_buffer_copy(env, static_cast<size_t>(n), buf, &copy, &arg);
    }
    WatchCall(st, 1, &arg);
    napi_close_handle_scope(env, scope);
  }
}

void Watch6Cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* st = static_cast<Watch6State*>(arg);
  st->hook = handle;
  if (st->closing) return;  // its close callback removes the hook
  Watch6Close(st);
}

// Starts watching fd (its owner from here on) with `read`; null (thrown) when it cannot.
Watch6State* WatchStart(Napi::Env env, int fd, Napi::Value cb, void (*read)(Watch6State*, int), const char* who) {
  auto* st = new Watch6State();
  st->env = env;
  st->fd = fd;
  st->read = read;
  if (!PollInit(env, &st->poll, st->fd, st, who)) {
    delete st;
    return nullptr;
  }
  napi_create_reference(env, cb, 1, &st->cb);
  napi_value name;
  napi_create_string_utf8(env, who, NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &st->ctx);
  napi_add_async_cleanup_hook(env, Watch6Cleanup, st, &st->hook);
  uv_poll_start(&st->poll, UV_READABLE, Watch6Readable);
  return st;
}

// The JS object of a watch: close() stops it (idempotent).
template <class T>
class WatchWrap : public Napi::ObjectWrap<T> {
 public:
  explicit WatchWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}
  static Napi::Function Define(Napi::Env env, const char* name) {
    return Napi::ObjectWrap<T>::DefineClass(env, name, {Napi::ObjectWrap<T>::InstanceMethod("close", &WatchWrap::Close)});
  }

 protected:
  Watch6State* state_ = nullptr;

  // (number, function) as a constructor's arguments; false (thrown, naming `usage`) if not.
  static bool Args(const Napi::CallbackInfo& info, const char* usage) {
    if (info.Length() >= 2 && info[0].IsNumber() && info[1].IsFunction()) return true;
    ThrowType(info.Env(), usage);
    return false;
  }

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_) {
      Watch6Close(state_);
      state_ = nullptr;
    }
    return info.Env().Undefined();
  }
};

class Watch6 : public WatchWrap<Watch6> {
 public:
  Watch6(const Napi::CallbackInfo& info) : WatchWrap<Watch6>(info) {
    if (!Args(info, "new Watch6(fd, onMessage) expected")) return;
    state_ = WatchStart(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1], Watch6Datagrams, "netlet.Watch6");
  }
};

// new WatchLinks(nsFd, onEvents): the link events (RTNLGRP_LINK) of nsFd's netns, on a
// netlink socket made there; onEvents(datagram) as they come, onEvents(null) when some were
// lost. Not the `netlink` package's socket: its ENOBUFS path aborts the process (measured:
// ~50 link events queued while the loop was busy). close() stops it.
class WatchLinks : public WatchWrap<WatchLinks> {
 public:
  WatchLinks(const Napi::CallbackInfo& info) : WatchWrap<WatchLinks>(info) {
    if (!Args(info, "new WatchLinks(nsFd, onEvents) expected")) return;
    Napi::Env env = info.Env();
    int fd = -1;
    const char* where = "";
    int err = SocketInNetns(info[0].As<Napi::Number>().Int32Value(), AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE, &fd, &where);
    if (err) {
      ThrowErrno(env, err, where);
      return;
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      int e = errno;
      close(fd);
      ThrowErrno(env, e, "bind");
      return;
    }
    fd = HighFd(fd);
    state_ = WatchStart(env, fd, info[1], LinkEventsRead, "netlet.WatchLinks");
    if (!state_) {
      close(fd);
      return;
    }
    // Link events do not keep the process alive (a runtime's pods outlive no process).
    uv_unref(reinterpret_cast<uv_handle_t*>(&state_->poll));
  }
};

// spawnPiped(file, argv, env, newGroup): starts a program without fork(). libuv's spawn
// forks, which turns every page of this process copy-on-write: each page written next costs
// a page fault (measured here: a pod setup's nft apply 8.4 ms after a spawn instead of 1.4).
// glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK): nothing is copied or protected.
// The child gets pipes on 0, 1 and 2, no other fd of ours, default signal dispositions and
// an empty mask, and its own process group with newGroup (a timeout kills the group).
// file is looked up in PATH. Returns { pid, pidfd, stdin, stdout, stderr } (parent ends,
// close-on-exec); the caller closes them. Exit: waitExit(pidfd).
Napi::Value SpawnPiped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsBoolean()) {
    return ThrowType(env, "spawnPiped(file, argv, env, newGroup) expected");
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  auto strings = [](Napi::Array a) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToString().Utf8Value());
    return out;
  };
  std::vector<std::string> args = strings(info[1].As<Napi::Array>());
  std::vector<std::string> envs = strings(info[2].As<Napi::Array>());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto closeAll = [&]() { for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) if (fd >= 0) close(fd); };
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    closeAll();
    return ThrowErrno(env, e, "pipe2");
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  if (info[3].As<Napi::Boolean>().Value()) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, file.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in[0] = out[1] = err[1] = -1;
  if (rc != 0) {
    closeAll();
    return ThrowErrno(env, rc, "posix_spawnp");
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    closeAll();
    return ThrowErrno(env, e, "pidfd_open");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, pid));
  o.Set("pidfd", Napi::Number::New(env, pidfd));
  o.Set("stdin", Napi::Number::New(env, in[1]));
  o.Set("stdout", Napi::Number::New(env, out[0]));
  o.Set("stderr", Napi::Number::New(env, err[0]));
  return o;
}

// waitExit(pidfd): resolves with { code, signal } once the process has exited (a uv_poll on
// the pidfd, then waitid reaps it); the pidfd is closed.
struct ExitWait {
  uv_poll_t poll;
  napi_env env;
  napi_deferred deferred;
  int pidfd;
};

void ExitWaitClosed(uv_handle_t* h) { delete static_cast<ExitWait*>(h->data); }

void ExitReadable(uv_poll_t* h, int status, int) {
  auto* w = static_cast<ExitWait*>(h->data);
  siginfo_t si{};
  int rc;
  do rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w->pidfd), &si, WEXITED | WNOHANG);
  while (rc < 0 && errno == EINTR);
  if (rc == 0 && si.si_pid == 0 && status >= 0) return;  // not yet (spurious readiness)
  int err = rc < 0 ? errno : 0;
  uv_poll_stop(&w->poll);
  // Closed before the promise settles (not in the close callback a loop turn later): whoever
  // awaited the exit holds no fd of it after.
  close(w->pidfd);
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (err) {
    Napi::Error e = ErrnoError(Napi::Env(env), err, "waitid");
    napi_reject_deferred(env, w->deferred, e.Value());
  } else {
    napi_value result = Napi::Object::New(env);
    Napi::Object o(env, result);
    bool signaled = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
    o.Set("code", signaled ? Napi::Env(env).Null() : Napi::Number::New(env, si.si_status));
    const char* sig = signaled ? sigabbrev_np(si.si_status) : nullptr;
    o.Set("signal", sig ? Napi::String::New(env, std::string("SIG") + sig) : Napi::Env(env).Null());
    napi_resolve_deferred(env, w->deferred, result);
  }
  napi_close_handle_scope(env, scope);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), ExitWaitClosed);
}

Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ThrowType(env, "waitExit(pidfd) expected");
  auto* w = new ExitWait();
  w->env = env;
  w->pidfd = info[0].As<Napi::Number>().Int32Value();
  if (!PollInit(env, &w->poll, w->pidfd, w, "waitExit")) {
    delete w;
    return env.Undefined();
  }
  napi_value promise;
  napi_create_promise(env, &w->deferred, &promise);
  uv_poll_start(&w->poll, UV_READABLE, ExitReadable);
  return Napi::Value(env, promise);
}

// sysctlIn(nsFd, name, value?): reads a /proc/sys/net entry as the netns nsFd sees it
// (the file is opened inside it: /proc/sys/net follows the opener's netns), then writes
// `value` when given. Returns the value before the write, trimmed.
Napi::Value SysctlIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) return ThrowType(env, "sysctlIn(nsFd, name, value?) expected");
  std::string name = info[1].As<Napi::String>().Utf8Value();
  bool write = info.Length() > 2 && info[2].IsString();
  std::string value = write ? info[2].As<Napi::String>().Utf8Value() : "";
  if (name.rfind("net/", 0) != 0 || name.find("..") != std::string::npos) return ThrowType(env, "sysctlIn: name must be under net/ without ..");
  std::string path = "/proc/sys/" + name;
  std::string before;
  const char* where = "";
  int err = InNetns(info[0].As<Napi::Number>().Int32Value(), [&](const char** w) {
    int fd = open(path.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) { *w = "open(/proc/sys)"; return errno; }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) { int e = errno; close(fd); *w = "read(/proc/sys)"; return e; }
    before.assign(buf, static_cast<size_t>(n));
    if (write && pwrite(fd, value.data(), value.size(), 0) < 0) { int e = errno; close(fd); *w = "write(/proc/sys)"; return e; }
    close(fd);
    return 0;
  }, &where);
  if (err) return ThrowErrno(env, err, where);
  while (!before.empty() && (before.back() == '\n' || before.back() == ' ')) before.pop_back();
  return Napi::String::New(env, before);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("nftRun", Napi::Function::New(env, NftRun));
  exports.Set("moveHigh", Napi::Function::New(env, MoveHigh));
  exports.Set("dupHigh", Napi::Function::New(env, DupHigh));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("nftRunAsync", Napi::Function::New(env, NftRunAsync));
  exports.Set("rtnlRequest", Napi::Function::New(env, RtnlRequest));
  exports.Set("rtnlSocket", Napi::Function::New(env, RtnlSocket));
  exports.Set("rtnlExchange", Napi::Function::New(env, RtnlExchange));
  exports.Set("nfRequest", Napi::Function::New(env, NfRequest));
  exports.Set("nfRequestAsync", Napi::Function::New(env, NfRequestAsync));
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("currentNetns", Napi::Function::New(env, CurrentNetns));
  exports.Set("socketIn", Napi::Function::New(env, SocketIn));
  exports.Set("udpBound", Napi::Function::New(env, UdpBound));
  exports.Set("openTap", Napi::Function::New(env, OpenTap));
  exports.Set("setTapPersist", Napi::Function::New(env, SetTapPersist));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds));
  exports.Set("open6", Napi::Function::New(env, Open6));
  exports.Set("send6", Napi::Function::New(env, Send6));
  exports.Set("Watch6", Watch6::Define(env, "Watch6"));
  exports.Set("WatchLinks", WatchLinks::Define(env, "WatchLinks"));
  exports.Set("sysctlIn", Napi::Function::New(env, SysctlIn));
  exports.Set("spawnPiped", Napi::Function::New(env, SpawnPiped));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  return exports;
}

}  // namespace

NODE_API_MODULE(netlet_native, Init)
