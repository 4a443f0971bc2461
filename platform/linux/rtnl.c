/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rtnetlink, spoken directly: one request, one acknowledgement, with the
 * kernel's extended error message when it gives one. A socket per request:
 * configuration is rare, and this keeps it thread-safe and stateless.
 */
#include "platform/linux/rtnl.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

typedef struct {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
	};
	char attrs[256];
} NlRequest;

static void
add_attr(NlRequest *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->h.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->h.nlmsg_len = NLMSG_ALIGN(req->h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* The kernel's own words for an error (NLMSGERR_ATTR_MSG), if it sent any. */
static const char *
ext_ack_message(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct rtattr *rta;
	int len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* capped: only the header of our request is echoed */
	rta = (const struct rtattr *)((const char *)e + sizeof(*e));
	len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*e));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(rta) > 1 &&
		    ((const char *)RTA_DATA(rta))[RTA_PAYLOAD(rta) - 1] == '\0')
			return RTA_DATA(rta);
	}
	return NULL;
}

/*
 * Sends @req and waits for its acknowledgement. A reply message of type
 * @reply_type is copied to @reply (up to @reply_size bytes) on the way.
 * @what says what was tried, for messages.
 */
static int
nl_talk(NlRequest *req, uint16_t reply_type, void *reply, size_t reply_size, const char *what,
        TrPlatError *err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	char ebuf[128];
	union {
		struct nlmsghdr h;
		char buf[8192];
	} rx;
	int one = 1, fd, rc = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return tr_plat_error_set(err, errno, "%s: cannot open a netlink socket: %s", what,
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	req->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->h.nlmsg_seq = 1;
	if (sendto(fd, req, req->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = tr_plat_error_set(err, errno, "%s: netlink send: %s", what,
		                       tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, &rx, sizeof(rx), 0);
		unsigned int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tr_plat_error_set(err, errno, "%s: netlink receive: %s", what,
			                       tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
			goto out;
		}
		len = (unsigned int)n;
		for (struct nlmsghdr *h = &rx.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != req->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				const char *kmsg;

				if (e->error == 0)
					goto out;
				kmsg = ext_ack_message(h);
				rc = tr_plat_error_set(
				        err, -e->error, "%s: %s%s%s%s", what,
				        tr_plat_strerror(-e->error, ebuf, sizeof(ebuf)),
				        kmsg ? " (" : "", kmsg ? kmsg : "", kmsg ? ")" : "");
				goto out;
			}
			if (h->nlmsg_type == reply_type && reply) {
				size_t plen = h->nlmsg_len;
				memcpy(reply, h, plen < reply_size ? plen : reply_size);
			}
		}
	}
out:
	close(fd);
	return rc;
}

static void
req_init(NlRequest *req, uint16_t type, uint16_t flags, size_t body)
{
	memset(req, 0, sizeof(*req));
	req->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	req->h.nlmsg_type = type;
	req->h.nlmsg_flags = flags;
}

int
tr_nl_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	char what[TR_IFNAME_MAX + 32];
	union {
		struct nlmsghdr h;
		char buf[4096];
	} reply;
	NlRequest req;
	const struct rtattr *rta;
	int len, rc;

	snprintf(what, sizeof(what), "cannot read the MTU of %s", dev->ifname);
	req_init(&req, RTM_GETLINK, 0, sizeof(req.ifi));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)dev->ifindex;
	memset(&reply, 0, sizeof(reply));
	rc = nl_talk(&req, RTM_NEWLINK, &reply, sizeof(reply), what, err);
	if (rc < 0)
		return rc;
	if (reply.h.nlmsg_type != RTM_NEWLINK || reply.h.nlmsg_len > sizeof(reply))
		return tr_plat_error_set(err, EPROTO, "%s: no answer from the kernel", what);
	rta = IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(&reply.h));
	len = (int)IFLA_PAYLOAD(&reply.h);
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_MTU && RTA_PAYLOAD(rta) == sizeof(uint32_t)) {
			uint32_t v;
			memcpy(&v, RTA_DATA(rta), sizeof(v));
			*mtu = v;
			return 0;
		}
	}
	return tr_plat_error_set(err, EPROTO, "%s: the kernel's answer has no MTU", what);
}

int
tr_nl_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err)
{
	char what[TR_IFNAME_MAX + 48];
	uint32_t v = mtu;
	NlRequest req;

	snprintf(what, sizeof(what), "cannot set the MTU of %s to %u", dev->ifname, mtu);
	req_init(&req, RTM_NEWLINK, 0, sizeof(req.ifi));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)dev->ifindex;
	add_attr(&req, IFLA_MTU, &v, sizeof(v));
	return nl_talk(&req, 0, NULL, 0, what, err);
}

int
tr_nl_set_up(TrDevice *dev, bool up, TrPlatError *err)
{
	char what[TR_IFNAME_MAX + 32];
	NlRequest req;

	snprintf(what, sizeof(what), "cannot bring %s %s", dev->ifname, up ? "up" : "down");
	req_init(&req, RTM_NEWLINK, 0, sizeof(req.ifi));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)dev->ifindex;
	req.ifi.ifi_change = IFF_UP;
	req.ifi.ifi_flags = up ? IFF_UP : 0;
	return nl_talk(&req, 0, NULL, 0, what, err);
}

int
tr_nl_address(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	char what[TR_IFNAME_MAX + 96], pbuf[64];
	size_t alen = p->family == TR_ADDR_IPV4 ? 4 : 16;
	NlRequest req;

	snprintf(what, sizeof(what), "cannot %s address %s %s %s", add ? "add" : "remove",
	         tr_plat_prefix_str(p, pbuf, sizeof(pbuf)), add ? "to" : "from", dev->ifname);
	req_init(&req, add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0,
	         sizeof(req.ifa));
	req.ifa.ifa_family = p->family == TR_ADDR_IPV4 ? AF_INET : AF_INET6;
	req.ifa.ifa_prefixlen = p->len;
	req.ifa.ifa_index = dev->ifindex;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	add_attr(&req, IFA_LOCAL, p->addr, alen);
	add_attr(&req, IFA_ADDRESS, p->addr, alen);
	if (p->family == TR_ADDR_IPV6) {
		/* a tunnel has no neighbours to collide with: usable at once */
		uint32_t flags = IFA_F_NODAD;
		add_attr(&req, IFA_FLAGS, &flags, sizeof(flags));
	}
	return nl_talk(&req, 0, NULL, 0, what, err);
}

int
tr_nl_route(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	char what[TR_IFNAME_MAX + 96], pbuf[64];
	size_t alen = p->family == TR_ADDR_IPV4 ? 4 : 16;
	uint32_t oif = dev->ifindex;
	NlRequest req;

	snprintf(what, sizeof(what), "cannot %s route %s %s %s", add ? "add" : "remove",
	         tr_plat_prefix_str(p, pbuf, sizeof(pbuf)), add ? "via" : "from", dev->ifname);
	req_init(&req, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_EXCL : 0,
	         sizeof(req.rtm));
	req.rtm.rtm_family = p->family == TR_ADDR_IPV4 ? AF_INET : AF_INET6;
	req.rtm.rtm_dst_len = p->len;
	req.rtm.rtm_table = RT_TABLE_MAIN;
	req.rtm.rtm_protocol = RTPROT_STATIC;
	req.rtm.rtm_scope = p->family == TR_ADDR_IPV4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	req.rtm.rtm_type = RTN_UNICAST;
	add_attr(&req, RTA_DST, p->addr, alen);
	add_attr(&req, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(&req, 0, NULL, 0, what, err);
}
