/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `trellis status [--json] [--socket FILE]...`: every daemon on this machine,
 * at a glance, as `wg show` does; --json for scripts. */
#include "cli/cli.h"

#include "common/daemon/bus.h"
#include "common/base/error.h"
#include "tr-config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * Without json-glib (the Windows build, when its source is not to be had:
 * docs/WINDOWS.md) both forms print the daemons' JSON.
 */
#ifdef TR_HAVE_JSON_GLIB
#include <json-glib/json-glib.h>

static const char *
str(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_string(n) : NULL;
}

static gint64
num(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	return n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_int(n) : 0;
}

static char *
bytes(gint64 n)
{
	return g_format_size_full((guint64)n, G_FORMAT_SIZE_IEC_UNITS);
}

static char *
ago(gint64 when)
{
	gint64 s = (gint64)time(NULL) - when;

	if (when == 0)
		return g_strdup("never");
	if (s < 120)
		return g_strdup_printf("%" G_GINT64_FORMAT " s ago", s);
	if (s < 7200)
		return g_strdup_printf("%" G_GINT64_FORMAT " min ago", s / 60);
	return g_strdup_printf("%" G_GINT64_FORMAT " h ago", s / 3600);
}

/* One session's lines: path, endpoint, cipher, last handshake, transfer. */
static void
print_session(JsonObject *o, const char *indent)
{
	g_autofree char *rx = bytes(num(o, "rx_bytes"));
	g_autofree char *tx = bytes(num(o, "tx_bytes"));
	g_autofree char *since = ago(num(o, "established"));
	JsonNode *addrs = json_object_get_member(o, "addresses");

	if (addrs && JSON_NODE_HOLDS_ARRAY(addrs)) {
		JsonArray *a = json_node_get_array(addrs);
		printf("%saddress:", indent);
		for (guint i = 0; i < json_array_get_length(a); i++)
			printf(" %s", json_array_get_string_element(a, i));
		printf("\n");
	}
	if (str(o, "path")) {
		const char *path = str(o, "path");
		printf("%spath: %s%s, endpoint %s\n", indent,
		       g_strcmp0(path, "udp") == 0   ? "UDP direct"
		       : g_strcmp0(path, "tcp") == 0 ? "TCP fallback (over TLS)"
		                                     : path,
		       "", str(o, "endpoint") ? str(o, "endpoint") : "(not yet known)");
		if (json_object_has_member(o, "peer_mtu")) {
			gint64 pmtu = num(o, "path_mtu");
			const char *search = str(o, "path_mtu_search");

			if (pmtu > 0)
				printf("%smtu: %" G_GINT64_FORMAT " (path MTU %" G_GINT64_FORMAT
				       "%s)\n",
				       indent, num(o, "peer_mtu"), pmtu,
				       g_strcmp0(search, "searching") == 0 ? ", checking again"
				                                           : "");
			else
				printf("%smtu: %" G_GINT64_FORMAT " (path MTU %s)\n", indent,
				       num(o, "peer_mtu"),
				       g_strcmp0(search, "no answer") == 0
				               ? "unknown: the peer does not answer probes"
				               : "being measured");
		}
		printf("%scipher: %s, compression %s, key epoch %" G_GINT64_FORMAT "\n", indent,
		       str(o, "cipher"), str(o, "compression"), num(o, "epoch"));
		printf("%slast handshake: %s\n", indent, since);
		printf("%stransfer: %s received (%" G_GINT64_FORMAT
		       " packets), %s sent (%" G_GINT64_FORMAT " packets)\n",
		       indent, rx, num(o, "rx_packets"), tx, num(o, "tx_packets"));
	}
}

static gboolean
flag(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);
	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
	       json_node_get_boolean(n);
}

/* "port mapping: ..." (common/portmap/portmap.c writes the object). */
static void
print_port_mapping(JsonObject *o, const char *indent)
{
	JsonNode *n = json_object_get_member(o, "port_mapping");
	JsonObject *m;
	const char *state;

	if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n))
		return;
	m = json_node_get_object(n);
	state = str(m, "state");
	if (g_strcmp0(state, "disabled") == 0) {
		printf("%sport mapping: off (--no-port-forwarding)\n", indent);
	} else if (g_strcmp0(state, "mapped") == 0) {
		g_autofree char *lease = flag(m, "permanent")
		                                 ? g_strdup("permanent")
		                                 : g_strdup_printf("%" G_GINT64_FORMAT " s left",
		                                                   num(m, "lifetime_left"));
		g_autofree char *tcp =
		        num(m, "external_tcp_port") == 0 ? g_strdup("UDP")
		        : num(m, "external_tcp_port") == num(m, "external_port")
		                ? g_strdup("UDP and TCP")
		                : g_strdup_printf("UDP; TCP on port %" G_GINT64_FORMAT,
		                                  num(m, "external_tcp_port"));

		printf("%sport mapping: %s:%" G_GINT64_FORMAT
		       " (%s) to local port %" G_GINT64_FORMAT ", by %s, lease %s\n",
		       indent,
		       str(m, "external_address") ? str(m, "external_address") : "(unknown)",
		       num(m, "external_port"), tcp, num(m, "local_port"),
		       g_strcmp0(str(m, "protocol"), "upnp") == 0 ? "UPnP IGD" : "NAT-PMP", lease);
		if (flag(m, "not_connected"))
			printf("%s  the router says it is not connected (behind another NAT): a "
			       "lower-priority address\n",
			       indent);
	} else if (g_strcmp0(state, "failed") == 0) {
		printf("%sport mapping: none yet: %s\n", indent,
		       str(m, "error") ? str(m, "error") : "");
	} else {
		printf("%sport mapping: %s\n", indent,
		       g_strcmp0(state, "searching") == 0 ? "asking the router"
		                                          : "nothing to map yet");
	}
}

/* A client's pair sessions with other clients (client/mesh.c writes them). */
static void
print_pairs(JsonObject *o, const char *indent)
{
	JsonArray *pairs = json_object_has_member(o, "pairs")
	                           ? json_object_get_array_member(o, "pairs")
	                           : NULL;

	for (guint i = 0; pairs && i < json_array_get_length(pairs); i++) {
		JsonObject *p = json_array_get_object_element(pairs, i);
		JsonArray *addrs = json_object_has_member(p, "addresses")
		                           ? json_object_get_array_member(p, "addresses")
		                           : NULL;
		g_autoptr(GString) a = g_string_new(NULL);

		for (guint j = 0; addrs && j < json_array_get_length(addrs); j++)
			g_string_append_printf(a, "%s%s", j ? " " : "",
			                       json_array_get_string_element(addrs, j));
		printf("%speer %s: %s", indent, str(p, "peer"), str(p, "state"));
		if (str(p, "auth"))
			printf(", %s, cipher %s, handshake %" G_GINT64_FORMAT " s ago",
			       str(p, "auth"), str(p, "cipher"), num(p, "last_handshake_age_sec"));
		printf("\n%s  pair %s, path %s", indent, str(p, "id"), str(p, "path"));
		if (str(p, "endpoint"))
			printf(" %s", str(p, "endpoint"));
		if (json_object_has_member(p, "rtt_us"))
			printf(", rtt %.1f ms", (double)num(p, "rtt_us") / 1000.0);
		printf(", addresses %s\n", a->len ? a->str : "-");
		if (json_object_has_member(p, "tx_bytes"))
			printf("%s  sent %" G_GINT64_FORMAT " bytes, received %" G_GINT64_FORMAT
			       " bytes, %" G_GINT64_FORMAT " rekeys\n",
			       indent, num(p, "tx_bytes"), num(p, "rx_bytes"), num(p, "rekeys"));
	}
}

/* The nodes the daemon's graph knows (docs/MESH.md, "Many hubs"). */
static void
print_graph(JsonObject *o, const char *indent)
{
	JsonObject *g = json_object_has_member(o, "graph")
	                        ? json_object_get_object_member(o, "graph")
	                        : NULL;
	JsonArray *nodes = g && json_object_has_member(g, "nodes")
	                           ? json_object_get_array_member(g, "nodes")
	                           : NULL;
	guint n = nodes ? json_array_get_length(nodes) : 0;
	const char *self;

	if (g == NULL)
		return;
	self = str(g, "self") ? str(g, "self") : "?";
	printf("%sgraph: %s, %u other node%s known\n", indent, self, n ? n - 1 : 0,
	       n == 2 ? "" : "s");
	for (guint i = 0; i < n; i++) {
		JsonObject *p = json_array_get_object_element(nodes, i);
		const char *name = str(p, "name") ? str(p, "name") : "?";
		const char *hop = str(p, "next_hop") ? str(p, "next_hop") : "?";
		const char *kind = flag(p, "hub") ? " (hub)" : "";

		if (strcmp(name, self) == 0)
			continue;
		if (flag(p, "reachable"))
			printf("%s  %s%s: reachable, next hop %s, %" G_GINT64_FORMAT
			       " hop%s, %.1f ms\n",
			       indent, name, kind, hop, num(p, "hops"),
			       num(p, "hops") == 1 ? "" : "s",
			       (double)num(p, "distance_us") / 1000.0);
		else
			printf("%s  %s%s: unreachable\n", indent, name, kind);
	}
}

/* A client's hubs in order of preference (docs/MESH.md, "Clients with
 * several hubs"): which one it is on, which refused it. */
static void
print_hubs(JsonObject *o, const char *indent)
{
	JsonArray *hubs =
	        json_object_has_member(o, "hubs") ? json_object_get_array_member(o, "hubs") : NULL;
	guint n = hubs ? json_array_get_length(hubs) : 0;

	if (n == 0)
		return;
	printf("%shubs:", indent);
	for (guint i = 0; i < n; i++) {
		JsonObject *h = json_array_get_object_element(hubs, i);

		printf("%s %s%s%s", i ? "," : "", str(h, "hub") ? str(h, "hub") : "?",
		       flag(h, "current") ? " (current)" : "",
		       flag(h, "refused") ? " (refused)" : "");
	}
	printf("\n");
}

static void
print_status(const char *socket, JsonObject *o)
{
	const char *role = str(o, "role");

	if (g_strcmp0(role, "hub") == 0) {
		JsonArray *peers = json_object_get_array_member(o, "peers");
		guint n = peers ? json_array_get_length(peers) : 0;

		printf("hub: listening on port %" G_GINT64_FORMAT ", device %s, %u session%s\n",
		       num(o, "port"), str(o, "device"), n, n == 1 ? "" : "s");
		printf("  control: %s\n", socket);
		print_port_mapping(o, "  ");
		print_graph(o, "  ");
		for (guint i = 0; i < n; i++) {
			JsonObject *p = json_array_get_object_element(peers, i);
			printf("\n  %s %s\n    connection: %s\n", str(p, "kind"),
			       str(p, "identity"), str(p, "connection"));
			/* A hub link: whether pairs across hubs go over it (docs/MESH.md). */
			if (json_object_has_member(p, "pairs_across_hubs"))
				printf("    pairs across hubs: %s\n",
				       flag(p, "pairs_across_hubs") ? "yes"
				                                    : "no (the node announced "
				                                      "none: an older version, or "
				                                      "--no-mesh)");
			print_session(p, "    ");
		}
	} else {
		const char *state = str(o, "state");
		g_autofree char *shown = NULL;

		/* Between attempts: say so, and why the last one ended. */
		if (json_object_has_member(o, "retrying") &&
		    json_object_get_boolean_member(o, "retrying"))
			state = shown = g_strdup_printf("reconnecting (%s)",
			                                str(o, "last_error") ? str(o, "last_error")
			                                                     : "connection lost");
		printf("client: %s%s%s\n", state, str(o, "server") ? ", hub " : "",
		       str(o, "server") ? str(o, "server") : "");
		printf("  control: %s\n", socket);
		if (str(o, "identity"))
			printf("  identity: %s, device %s\n", str(o, "identity"), str(o, "device"));
		print_hubs(o, "  ");
		print_port_mapping(o, "  ");
		print_session(o, "  ");
		print_pairs(o, "  ");
	}
}

#endif /* TR_HAVE_JSON_GLIB */

/* The networks configured in the configuration directory that no running
 * daemon serves (its socket is PROGRAM-NAME.sock): one line each. */
static void
print_stopped(GPtrArray *sockets, gboolean as_json)
{
	g_autoptr(GDir) d = NULL;
	const char *name;

	if (as_json)
		return;
	d = g_dir_open(tr_cli_config_dir(), 0, NULL);
	while (d && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *net = NULL;
		g_autofree char *tail = NULL;
		gboolean running = FALSE;

		if (!g_str_has_suffix(name, ".conf"))
			continue;
		net = g_strndup(name, strlen(name) - 5);
		tail = g_strdup_printf("-%s.sock", net);
		for (guint i = 0; i < sockets->len; i++)
			running |= g_str_has_suffix(sockets->pdata[i], tail);
		if (!running)
			printf("%s: not running (%s/%s; start it with: trellis up %s)\n", net,
			       tr_cli_config_dir(), name, net);
	}
}

void
tr_cli_add_socket_options(GOptionContext *ctx, char ***sockets, char **dir)
{
	const GOptionEntry entries[] = {
	        {"socket", 's', 0, G_OPTION_ARG_FILENAME_ARRAY, sockets,
	         "Ask the daemon on this control socket (repeatable; default: every socket "
	         "in " TR_RUNSTATEDIR ")",
	         "FILE"},
	        {"dir", 0, 0, G_OPTION_ARG_FILENAME, dir, "Look for control sockets here", "DIR"},
	        {NULL},
	};

	g_option_context_add_main_entries(ctx, entries, NULL); /* copied */
}

void
tr_cli_find_sockets(GPtrArray *found, char **sockets, const char *dir)
{
	if (sockets) {
		for (guint i = 0; sockets[i]; i++)
			g_ptr_array_add(found, g_strdup(sockets[i]));
	} else {
		g_autoptr(GDir) d = g_dir_open(dir ? dir : tr_bus_dir(), 0, NULL);
		const char *name;

		while (d && (name = g_dir_read_name(d)) != NULL) {
			if (g_str_has_suffix(name, ".sock"))
				g_ptr_array_add(found, g_build_filename(dir ? dir : tr_bus_dir(),
				                                        name, NULL));
		}
		g_ptr_array_sort(found, (GCompareFunc)g_strcmp0);
	}
}

int
tr_cli_status(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx =
	        g_option_context_new("- show every Trellis daemon's sessions");
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) sockets = NULL;
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) json_out = g_string_new("[");
	gboolean as_json = FALSE;
	g_autofree char *dir = NULL;
	guint answered = 0;
	const GOptionEntry entries[] = {
	        {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON for scripts", NULL},
	        {NULL},
	};

	g_option_context_add_main_entries(ctx, entries, NULL);
	tr_cli_add_socket_options(ctx, &sockets, &dir);
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
	tr_cli_find_sockets(found, sockets, dir);
	if (found->len == 0 && sockets == NULL) {
		/* Nothing running is a state, not an error. */
		if (as_json)
			printf("[]\n");
		else
			printf("no Trellis network is running (no control socket in %s)\n",
			       dir ? dir : tr_bus_dir());
		print_stopped(found, as_json);
		return TR_CLI_OK;
	}
	for (guint i = 0; i < found->len; i++) {
		const char *sock = found->pdata[i];
		g_autoptr(GError) err = NULL;
		g_autofree char *status = tr_bus_get_status(sock, &err);

		if (status == NULL) {
			fprintf(stderr, "trellis: %s: no answer (%s)\n", sock, err->message);
			continue;
		}
#ifndef TR_HAVE_JSON_GLIB
		g_string_append_printf(json_out, "%s%s", answered++ ? "," : "", status);
		continue;
#else
		g_autoptr(JsonParser) parser = json_parser_new();
		if (!json_parser_load_from_data(parser, status, -1, &err) ||
		    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
			fprintf(stderr, "trellis: %s: unreadable status: %s\n", sock,
			        err ? err->message : "not an object");
			continue;
		}
		if (answered++)
			g_string_append_c(json_out, ',');
		if (as_json) {
			g_string_append(json_out, status);
		} else {
			if (answered > 1)
				printf("\n");
			print_status(sock, json_node_get_object(json_parser_get_root(parser)));
		}
#endif
	}
#ifndef TR_HAVE_JSON_GLIB
	as_json = TRUE;
#endif
	if (as_json)
		printf("%s]\n", json_out->str);
	print_stopped(found, as_json);
	/* Sockets named on the command line must answer; stale ones found are reported. */
	return answered > 0 || sockets == NULL ? TR_CLI_OK : TR_CLI_ERROR;
}
