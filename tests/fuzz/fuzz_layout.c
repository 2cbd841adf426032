/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the layout parser.  Beyond "does not crash" it
 * checks the format's promises on every input that parses: the canonical
 * text is a fixed point, re-parses to the same hash and fingerprint, and
 * renders and emulates without touching memory it should not.  The same
 * bytes also go through the quirk parser, which shares the line syntax.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vpci_layout *l = NULL, *l2 = NULL;
    struct vpci_error err;
    char *t1 = NULL, *t2 = NULL;
    size_t n1, n2;
    char h1[VPCI_HASH_STRLEN], h2[VPCI_HASH_STRLEN];
    char f1[VPCI_HASH_STRLEN], f2[VPCI_HASH_STRLEN];

    struct vpci_quirks *q = NULL;
    if (vpci_quirks_parse((const char *)data, size, &q, &err) < 0) {
        if (q || err.msg[0] == '\0')
            abort(); /* a failed parse leaves nothing and says why */
    }
    vpci_quirks_free(q);

    if (vpci_layout_parse((const char *)data, size, &l, &err) < 0) {
        if (err.msg[0] == '\0')
            abort(); /* every rejection must say why */
        return 0;
    }
    if (vpci_layout_format(l, &t1, &n1) < 0)
        abort();
    if (vpci_layout_parse(t1, n1, &l2, &err) < 0)
        abort(); /* canonical text must parse */
    if (vpci_layout_format(l2, &t2, &n2) < 0)
        abort();
    if (n1 != n2 || memcmp(t1, t2, n1))
        abort(); /* format is a fixed point */
    if (vpci_layout_hash(l, h1) < 0 || vpci_layout_hash(l2, h2) < 0 ||
        strcmp(h1, h2))
        abort();
    if (vpci_layout_fingerprint(l, f1) < 0 ||
        vpci_layout_fingerprint(l2, f2) < 0 || strcmp(f1, f2))
        abort();
    char *d = NULL;
    if (vpci_layout_diff(l, l2, &d) != 0)
        abort(); /* a layout and its canonical form do not differ */
    free(d);

    struct vpci_emu *e = NULL;
    if (vpci_emu_new(l, NULL, NULL, &e) == 0) {
        uint32_t v;
        for (unsigned off = 0; off < l->space; off += 4) {
            vpci_emu_write(e, (uint16_t)off, 4, 0xffffffffu);
            vpci_emu_read(e, (uint16_t)off, 4, &v);
        }
        vpci_emu_free(e);
    }
    free(t1);
    free(t2);
    vpci_layout_free(l);
    vpci_layout_free(l2);
    return 0;
}
