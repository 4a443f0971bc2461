/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS the POSIX way: through resolvconf(8) when it is there, or by rewriting
 * resolv.conf in place (bind mounts and symlinks stay as they are) with the
 * old content kept in memory and in a backup file beside it, restored on
 * close. A backup left by a crashed run is taken as the original.
 */
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESOLV_CONF_MAX (64 * 1024)

int
tr_posix_dns_check(const TrDnsConfig *dns, TrPlatError *err)
{
	uint8_t bin[16];

	for (size_t i = 0; i < dns->n_servers; i++) {
		const char *s = dns->servers[i];
		if (!s || (inet_pton(AF_INET, s, bin) != 1 && inet_pton(AF_INET6, s, bin) != 1))
			return tr_plat_error_set(
			        err, EINVAL,
			        "DNS server '%s' is not a numeric IPv4 or IPv6 address",
			        s ? s : "(null)");
	}
	for (size_t i = 0; i < dns->n_domains; i++) {
		const char *d = dns->domains[i];
		if (!d || !*d || strlen(d) > 253 || strpbrk(d, " \t\r\n#;\\"))
			return tr_plat_error_set(err, EINVAL,
			                         "search domain '%s' is not a domain name",
			                         d ? d : "(null)");
	}
	if (dns->n_servers == 0 && dns->n_domains == 0)
		return tr_plat_error_set(err, EINVAL,
		                         "neither DNS servers nor search domains given");
	return 0;
}

int
tr_posix_dns_format(const TrDnsConfig *dns, const char *ifname, char *buf, size_t size,
                    TrPlatError *err)
{
	size_t off = 0;
	int n;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		n = snprintf(buf + off, size - off, __VA_ARGS__);                                  \
		if (n < 0 || (size_t)n >= size - off)                                              \
			return tr_plat_error_set(err, ENOSPC, "DNS settings are too long");        \
		off += (size_t)n;                                                                  \
	} while (0)

	PUT("# set by Trellis for %s\n", ifname);
	for (size_t i = 0; i < dns->n_servers; i++)
		PUT("nameserver %s\n", dns->servers[i]);
	if (dns->n_domains) {
		PUT("search");
		for (size_t i = 0; i < dns->n_domains; i++)
			PUT(" %s", dns->domains[i]);
		PUT("\n");
	}
#undef PUT
	return 0;
}

int
tr_posix_dns_resolvconf_set(TrPosixDns *st, const char *ifname, const TrDnsConfig *dns,
                            TrPlatError *err)
{
	const char *argv[] = {"resolvconf", "-a", ifname, NULL};
	char text[4096];
	int rc;

	rc = tr_posix_dns_format(dns, ifname, text, sizeof(text), err);
	if (rc < 0)
		return rc;
	rc = tr_posix_run(argv, NULL, text, "resolvconf -a", err);
	if (rc < 0)
		return rc;
	st->method = TR_DNS_RESOLVCONF;
	return 0;
}

static int
read_file(const char *path, char **out, size_t *len, TrPlatError *err)
{
	char ebuf[128];
	char *buf;
	ssize_t r;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return tr_plat_error_set(err, errno, "cannot read %s: %s", path,
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	buf = malloc(RESOLV_CONF_MAX + 1);
	if (!buf) {
		close(fd);
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	}
	while ((r = read(fd, buf + off, RESOLV_CONF_MAX - off)) > 0 || (r < 0 && errno == EINTR))
		off += r > 0 ? (size_t)r : 0;
	if (r < 0 || off == RESOLV_CONF_MAX) {
		int e = r < 0 ? errno : EFBIG;
		close(fd);
		free(buf);
		return tr_plat_error_set(err, e, "cannot read %s: %s", path,
		                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	*len = off;
	return 0;
}

/* Writes in place (O_TRUNC): a bind-mounted or symlinked file stays one. */
static int
write_file(const char *path, const char *data, size_t len, int flags, TrPlatError *err)
{
	char ebuf[128];
	size_t off = 0;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | flags, 0644);

	if (fd < 0)
		return tr_plat_error_set(err, errno, "cannot write %s: %s", path,
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return tr_plat_error_set(err, e, "cannot write %s: %s", path,
			                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return tr_plat_error_set(err, errno, "cannot write %s: %s", path,
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	return 0;
}

static void
dns_state_free(TrPosixDns *st)
{
	free(st->path);
	free(st->saved);
	free(st->backup);
	memset(st, 0, sizeof(*st));
}

int
tr_posix_dns_file_set(TrPosixDns *st, const char *path, const char *ifname, const TrDnsConfig *dns,
                      TrPlatError *err)
{
	char text[8192];
	size_t len, blen;
	int rc;

	if (!path)
		path = "/etc/resolv.conf";
	rc = tr_posix_dns_format(dns, ifname, text, sizeof(text), err);
	if (rc < 0)
		return rc;
	len = strlen(text);
	st->path = strdup(path);
	blen = strlen(path) + sizeof(".trellis-backup");
	st->backup = malloc(blen);
	if (!st->path || !st->backup) {
		dns_state_free(st);
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	}
	snprintf(st->backup, blen, "%s.trellis-backup", path);
	if (access(st->backup, F_OK) == 0) {
		/* left by a run that did not get to restore it: that is the original */
		rc = read_file(st->backup, &st->saved, &st->saved_len, err);
	} else {
		rc = read_file(path, &st->saved, &st->saved_len, err);
		if (rc == 0)
			rc = write_file(st->backup, st->saved, st->saved_len, O_CREAT | O_EXCL,
			                err);
	}
	if (rc == 0)
		rc = write_file(path, text, len, 0, err);
	if (rc < 0) {
		dns_state_free(st);
		return rc;
	}
	st->method = TR_DNS_FILE;
	return 0;
}

int
tr_posix_dns_clear(TrPosixDns *st, const char *ifname, TrPlatError *err)
{
	const char *argv[] = {"resolvconf", "-d", ifname, NULL};
	int rc = 0;

	switch (st->method) {
	case TR_DNS_RESOLVCONF:
		rc = tr_posix_run(argv, NULL, NULL, "resolvconf -d", err);
		break;
	case TR_DNS_FILE:
		rc = write_file(st->path, st->saved, st->saved_len, 0, err);
		if (rc == 0)
			unlink(st->backup);
		break;
	default:
		break;
	}
	dns_state_free(st);
	return rc;
}

bool
tr_posix_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && n + strlen(name) + 2 <= sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}
