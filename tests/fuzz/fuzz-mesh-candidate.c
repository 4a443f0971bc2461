/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Candidates as PAIR_START and CANDIDATES carry them: each one decoded,
 * re-encoded to the same bytes, and added to a list whose order must hold. */
#include "common/base/candidate.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TrCandidateList list = {0};
	size_t off = 0;

	/* The input is a run of (length byte, candidate bytes). */
	while (off < size) {
		size_t n = MIN((size_t)data[off], size - off - 1);
		TrCandidate c;

		off++;
		if (tr_candidate_decode(data + off, n, &c, NULL)) {
			uint8_t out[TR_CANDIDATE_WIRE_MAX];
			char text[80];

			if (tr_candidate_encode(&c, out) != n || memcmp(out, data + off, n) != 0)
				__builtin_trap();
			tr_candidate_to_string(&c, text, sizeof(text));
			tr_candidate_list_add(&list, &c);
			if (list.n > TR_CANDIDATE_MAX)
				__builtin_trap();
		}
		off += n;
	}
	for (unsigned i = 0; i < list.n; i++) {
		if (!tr_candidate_usable(&list.items[i]))
			__builtin_trap();
		for (unsigned j = i + 1; j < list.n; j++) {
			if (tr_candidate_same_endpoint(&list.items[i], &list.items[j]))
				__builtin_trap();
		}
	}
	return 0;
}
