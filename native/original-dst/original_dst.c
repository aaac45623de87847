/*
 * originalDst(fd): the destination a connection was dialled to before an iptables REDIRECT/DNAT rewrote it,
 * read with getsockopt(SO_ORIGINAL_DST) (IP6T_SO_ORIGINAL_DST for IPv6). Node exposes neither, and a
 * transparent sidecar cannot route a captured connection without it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4.h>
#include <node_api.h>

/* From <linux/netfilter_ipv6/ip6_tables.h>, which drags in kernel-only headers on some systems. */
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  char code[32];
  snprintf(code, sizeof code, "E%d", err);
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value result(napi_env env, const char *address, unsigned port) {
  napi_value obj, addr, p;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &addr) != napi_ok) return NULL;
  if (napi_create_uint32(env, port, &p) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, "address", addr) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, "port", p) != napi_ok) return NULL;
  return obj;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) return throw_errno(env, "getsockname", errno);

  char text[INET6_ADDRSTRLEN];
  if (local.ss_family == AF_INET6) {
    struct sockaddr_in6 dst6;
    socklen_t len6 = sizeof dst6;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &dst6, &len6) == 0) {
      inet_ntop(AF_INET6, &dst6.sin6_addr, text, sizeof text);
      return result(env, text, ntohs(dst6.sin6_port));
    }
    /* An IPv4 connection on a dual-stack socket still answers to the IPv4 option. */
  }
  struct sockaddr_in dst;
  socklen_t len = sizeof dst;
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0) return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  inet_ntop(AF_INET, &dst.sin_addr, text, sizeof text);
  return result(env, text, ntohs(dst.sin_port));
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "originalDst", fn) != napi_ok) return NULL;
  return exports;
}
