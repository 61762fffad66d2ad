// netlet's native addon: the few syscalls Node lacks (setns, TUNSETIFF, SO_BINDTODEVICE,
// SCM_RIGHTS). Context-aware (N-API), holds no event-loop state, so it loads in worker
// threads. Every call is synchronous and returns fds; errors are thrown as JS errors with
// `code` (errno name) and `syscall`, never a crash.
#include <napi.h>
#include <nftables/libnftables.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
  int err = InNetns(nsFd, [&](const char** w) {
    fd = socket(domain, type | SOCK_CLOEXEC, proto);
    if (fd < 0) { *w = "socket"; return errno; }
    return 0;
  }, &where);
  if (err) return ThrowErrno(env, err, where);
  return Napi::Number::New(env, fd);
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
  return Napi::Number::New(env, fd);
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
  for (size_t i = 0; i < fds.size(); i++) out.Set(i, Napi::Number::New(env, fds[i]));
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

// nftRunAsync: the same on a libuv pool thread. Deleting a table waits for an RCU grace
// period (10-50 ms under load); on the main thread that stalled every other pod.
class NftWorker : public Napi::AsyncWorker {
 public:
  NftWorker(Napi::Env env, int nsFd, std::string text)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), nsFd_(nsFd), text_(std::move(text)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { outcome_ = RunNft(nsFd_, text_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (outcome_.err) deferred_.Reject(ErrnoError(env, outcome_.err, outcome_.where).Value());
    else deferred_.Resolve(NftResult(env, outcome_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  int nsFd_;
  std::string text_;
  NftOutcome outcome_;
};

Napi::Value NftRunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) return ThrowType(env, "nftRunAsync(nsFd, text) expected");
  auto* w = new NftWorker(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("nftRun", Napi::Function::New(env, NftRun));
  exports.Set("nftRunAsync", Napi::Function::New(env, NftRunAsync));
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("currentNetns", Napi::Function::New(env, CurrentNetns));
  exports.Set("socketIn", Napi::Function::New(env, SocketIn));
  exports.Set("udpBound", Napi::Function::New(env, UdpBound));
  exports.Set("openTap", Napi::Function::New(env, OpenTap));
  exports.Set("setTapPersist", Napi::Function::New(env, SetTapPersist));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds));
  return exports;
}

}  // namespace

NODE_API_MODULE(netlet_native, Init)
