/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NAME validation: command lines today, join requests later. */
#include "common/pki/pki.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128];
	GError *error = NULL;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (tr_pki_name_validate(text, &error)) {
		/* What passes is a safe file name: no separators, no dot files, bounded. */
		size_t len = strlen(text);
		if (len == 0 || len > TR_PKI_NAME_MAX || strchr(text, '/') || text[0] == '.' ||
		    text[0] == '-' || strstr(text, ".."))
			__builtin_trap();
		for (size_t i = 0; i < len; i++)
			if (!g_ascii_islower(text[i]) && !g_ascii_isdigit(text[i]) &&
			    !strchr("-_.", text[i]))
				__builtin_trap();
	} else if (error == NULL || error->message[0] == '\0') {
		__builtin_trap();
	}
	g_clear_error(&error);
	return 0;
}
