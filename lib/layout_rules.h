/* SPDX-License-Identifier: BSD-2-Clause */
/* Rules shared by the parser, the validator and the formatter. */
#ifndef VPCI_LAYOUT_RULES_H
#define VPCI_LAYOUT_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* [a-z][a-z0-9_]*, 1..VPCI_NAME_MAX characters. */
bool vpci_name_valid(const char *s, size_t n);
/* The same for a NUL-terminated name, in one pass: true if s is one. */
bool vpci_name_valid_str(const char *s);

/*
 * Check one requires (binding=false) or binding line.  On error writes a
 * message and the index of the offending word (0 = keyword, i = args[i-1],
 * nargs+1 = missing word at the end) and returns -EINVAL.
 */
int vpci_stmt_check(bool binding, const char *key, const char *const *args,
                    size_t nargs, size_t *ret_bad, char *msg, size_t msgsize);

/* DDDD:BB:DD.F in lowercase hex. */
bool vpci_bdf_valid(const char *s);

/* Position of a keyword in the canonical order of its section. */
int vpci_stmt_rank(bool binding, const char *key);

#endif
