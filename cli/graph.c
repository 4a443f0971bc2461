/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `trellis graph [--socket FILE]...`: the network graph each hub on this
 * machine knows, in Graphviz dot (docs/MESH.md, "Many hubs"):
 * `trellis graph | dot -Tsvg -o network.svg`. */
#include "cli/cli.h"

#include "common/base/error.h"
#include "common/daemon/bus.h"
#include "tr-config.h"

#include <stdio.h>

#ifdef TR_HAVE_JSON_GLIB
#include <json-glib/json-glib.h>

/* The "dot" member of the status's "graph" object, or NULL. */
static char *
dot_of(const char *status, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *o, *g;

	if (!json_parser_load_from_data(parser, status, -1, error))
		return NULL;
	if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return NULL;
	o = json_node_get_object(json_parser_get_root(parser));
	if (!json_object_has_member(o, "graph"))
		return NULL;
	g = json_object_get_object_member(o, "graph");
	if (g == NULL || !json_object_has_member(g, "dot"))
		return NULL;
	return g_strdup(json_object_get_string_member(g, "dot"));
}
#endif

int
tr_cli_graph(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx =
	        g_option_context_new("- print the network graph a hub knows, in Graphviz dot");
	g_auto(GStrv) sockets = NULL;
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dir = NULL;

	tr_cli_add_socket_options(ctx, &sockets, &dir);
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
#ifndef TR_HAVE_JSON_GLIB
	fprintf(stderr, "trellis: graph needs json-glib, which this build lacks; "
	                "'trellis status' prints the daemons' JSON, graph.dot included\n");
	return TR_CLI_ERROR;
#else
	guint printed = 0;

	tr_cli_find_sockets(found, sockets, dir);
	for (guint i = 0; i < found->len; i++) {
		const char *sock = found->pdata[i];
		g_autoptr(GError) err = NULL;
		g_autofree char *status = tr_bus_get_status(sock, &err);
		g_autofree char *dot = NULL;

		if (status == NULL) {
			fprintf(stderr, "trellis: %s: no answer (%s)\n", sock, err->message);
			continue;
		}
		dot = dot_of(status, &err);
		if (dot == NULL) {
			if (err)
				fprintf(stderr, "trellis: %s: unreadable status: %s\n", sock,
				        err->message);
			continue; /* a client: no graph yet */
		}
		fputs(dot, stdout);
		printed++;
	}
	if (printed == 0) {
		fprintf(stderr, "trellis: no daemon with a network graph answered (%s)\n",
		        found->len ? "only clients, or no answer" : "no control socket found");
		return TR_CLI_ERROR;
	}
	return TR_CLI_OK;
#endif
}
