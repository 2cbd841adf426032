/* SPDX-License-Identifier: BSD-2-Clause */
/* Content hash (identity) and guest-ABI fingerprint. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "internal.h"

/* "sha256:<hex>" of what ctx has taken in. */
static void digest_hex(struct sha256_ctx *ctx, char ret[VPCI_HASH_STRLEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[SHA256_DIGEST_SIZE];

    sha256_digest(ctx, sizeof(md), md);
    memcpy(ret, "sha256:", 7);
    for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
        ret[7 + 2 * i] = hex[md[i] >> 4];
        ret[8 + 2 * i] = hex[md[i] & 15];
    }
    ret[71] = '\0';
}

VPCI_EXPORT int vpci_sha256_hex(const void *data, size_t len,
                                char ret[VPCI_HASH_STRLEN])
{
    struct sha256_ctx ctx;

    if ((!data && len) || !ret)
        return -EINVAL;
    /* nettle: no provider lookup per call, which cost more than hashing
     * a whole layout with OpenSSL 3's EVP interface. */
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    digest_hex(&ctx, ret);
    return 0;
}

static void hash_text(void *ctx, const char *text, size_t len)
{
    sha256_update(ctx, len, (const uint8_t *)text);
}

/* Hashes take text as it is formatted, a few KiB at a time, so no copy
 * of the whole text is built (or allocated) just to be hashed. */
#define HASH_CHUNK 4096

VPCI_EXPORT int vpci_layout_hash(const struct vpci_layout *l,
                                 char ret[VPCI_HASH_STRLEN])
{
    struct sha256_ctx ctx;
    struct strbuf sb;
    char chunk[HASH_CHUNK];

    if (!ret)
        return -EINVAL;
    sha256_init(&ctx);
    strbuf_init_sink(&sb, chunk, sizeof(chunk), hash_text, &ctx);
    int r = vpci_layout_format_to(&sb, l, false);
    if (r == 0)
        r = strbuf_flush(&sb);
    strbuf_release(&sb);
    if (r < 0)
        return r;
    digest_hex(&ctx, ret);
    return 0;
}

/*
 * The fingerprint covers exactly what a guest can observe and rely on
 * across a migration: every byte's virtual value outside phys bits and its
 * three masks, and the BAR/ROM geometry.  Which physical BAR backs a BAR,
 * requires and binding are host matters and stay out.  The serialisation
 * is documented in vpci-layout(5); changing it changes every fingerprint.
 */
VPCI_EXPORT int vpci_layout_fingerprint(const struct vpci_layout *l,
                                        char ret[VPCI_HASH_STRLEN])
{
    struct vpci_render *r = malloc(sizeof(*r));
    struct strbuf sb;
    int rc;

    if (!r)
        return -ENOMEM;
    rc = vpci_render(l, r);
    if (rc < 0) {
        free(r);
        return rc;
    }
    strbuf_init(&sb);
    strbuf_printf(&sb, "vpci-fingerprint 1\nspace %u\nheader type%u\n", r->size,
                  r->header_type);
    /* "%03x %02x %02x %02x %02x\n" per described byte, written by hand:
     * printf here made the fingerprint the slowest step of a load. */
    static const char hx[] = "0123456789abcdef";
    strbuf_grow(&sb, 16 * 1024);
    for (unsigned i = 0; i < r->size; i++) {
        uint8_t b[4] = {(uint8_t)(r->val[i] & ~r->phys[i]), r->rw[i], r->w1c[i],
                        r->phys[i]};
        if (!(b[0] | b[1] | b[2] | b[3]))
            continue;
        char line[16];
        line[0] = hx[(i >> 8) & 15];
        line[1] = hx[(i >> 4) & 15];
        line[2] = hx[i & 15];
        for (unsigned k = 0; k < 4; k++) {
            line[3 + 3 * k] = ' ';
            line[4 + 3 * k] = hx[b[k] >> 4];
            line[5 + 3 * k] = hx[b[k] & 15];
        }
        line[15] = '\n';
        strbuf_append(&sb, line, sizeof(line));
    }
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *b = &r->bars[i];
        if (b->type == VPCI_BAR_NONE)
            continue;
        strbuf_printf(
            &sb, "bar %u %s%s 0x%llx\n", i, vpci_bar_type_name(b->type),
            b->prefetch ? " prefetch" : "", (unsigned long long)b->size);
    }
    strbuf_printf(&sb, "rom 0x%x\n", r->rom.size);
    free(r);
    char *text;
    size_t len;
    rc = strbuf_detach(&sb, &text, &len);
    if (rc < 0)
        return rc;
    rc = vpci_sha256_hex(text, len, ret);
    free(text);
    return rc;
}
