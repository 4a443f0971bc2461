/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The invite token parser: `trellis join` reads whatever was pasted. */
#include "common/pki/invite-token.h"
#include "common/pki/pki.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL;
	g_autoptr(TrInviteToken) token = NULL;
	GError *error = NULL;

	if (size > TR_INVITE_TOKEN_MAX + 64)
		return 0;
	text = g_strndup((const char *)data, size);
	token = tr_invite_token_parse(text, &error);
	if (token != NULL) {
		/* What parses is well formed, and encodes back to a token that parses
		 * to the same fields. */
		g_autofree char *again = NULL;
		g_autoptr(TrInviteToken) back = NULL;

		if (error != NULL || !tr_pki_name_validate(token->name, NULL) ||
		    token->servers == NULL || token->servers[0] == NULL ||
		    g_strv_length(token->servers) > TR_INVITE_MAX_SERVERS || token->expires <= 0)
			__builtin_trap();
		again = tr_invite_token_encode(token, NULL);
		if (again == NULL)
			__builtin_trap();
		back = tr_invite_token_parse(again, NULL);
		if (back == NULL || strcmp(back->name, token->name) != 0 ||
		    memcmp(back->secret, token->secret, sizeof(back->secret)) != 0 ||
		    back->expires != token->expires)
			__builtin_trap();
	} else if (error == NULL || error->message[0] == '\0') {
		__builtin_trap();
	}
	g_clear_error(&error);
	return 0;
}
