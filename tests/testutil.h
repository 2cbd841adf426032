/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef VPCI_TESTUTIL_H
#define VPCI_TESTUTIL_H

#include <check.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "vpci.h"

/* Absolute path of a file under tests/fixtures/ (static buffer). */
const char *tu_fixture(const char *rel);
/* Whole file, NUL-terminated, malloc'ed; aborts the test on failure. */
char *tu_read(const char *path, size_t *ret_len);
/* Parse a layout fixture or fail the test with the parser's message. */
struct vpci_layout *tu_layout(const char *rel);
/* Parse layout text or fail the test. */
struct vpci_layout *tu_layout_text(const char *text);
/* All devices of a dump fixture (free() the array). */
struct vpci_dump_dev *tu_dumps(const char *rel, size_t *ret_n);
/* Names of the *.lspci files under tests/fixtures/dumps/SUBDIR, sorted,
 * NULL-terminated; free with tu_free_list. */
char **tu_list_dumps(const char *subdir);
void tu_free_list(char **list);
/* Assert two integers are equal, printing both in hex. */
#define EQX(a, b)                                                              \
    do {                                                                       \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                       \
        ck_assert_msg(a_ == b_, "%s is %#" PRIx64 ", expected %#" PRIx64, #a,  \
                      a_, b_);                                                 \
    } while (0)

/* Deterministic pseudo-random numbers (xorshift32) for generated inputs;
 * tu_srand with a fixed seed makes a run repeatable. */
void tu_srand(uint32_t seed);
uint32_t tu_rand(void);

/* Run one suite; returns the process exit code. */
int tu_run(Suite *s);

#endif
