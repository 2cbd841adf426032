/* SPDX-License-Identifier: BSD-2-Clause */
/* Every rule of vpci-layout(5) that is not a matter of syntax. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layout_rules.h"

/* ----------------------------------------------- requires and binding */

typedef bool (*word_check)(const char *s);

static bool is_hex_n(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

static bool w_pciid(const char *s)
{
    return strlen(s) == 9 && s[4] == ':' && is_hex_n(s, 4) &&
           is_hex_n(s + 5, 4);
}

static bool w_driver(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
            return false;
    return true;
}

static bool w_typename(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
              strchr("._-", s[i])))
            return false;
    return true;
}

static bool w_uint(const char *s, unsigned long long max)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    if (n > 1 && s[0] == '0')
        return false;
    return strtoull(s, NULL, 10) <= max;
}

static bool w_version(const char *s)
{
    return w_uint(s, 2147483647u) && strcmp(s, "0");
}

static bool w_small(const char *s)
{
    return w_uint(s, 2147483647u);
}

static bool w_hash(const char *s)
{
    return strlen(s) == 71 && !strncmp(s, "sha256:", 7) && is_hex_n(s + 7, 64);
}

bool vpci_bdf_valid(const char *s)
{
    /* DDDD:BB:DD.F, lowercase hex, device <= 0x1f, function <= 7 */
    if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
        return false;
    if (!is_hex_n(s, 4) || !is_hex_n(s + 5, 2) || !is_hex_n(s + 8, 2))
        return false;
    if (s[11] < '0' || s[11] > '7')
        return false;
    return strtoul(s + 8, NULL, 16) <= 0x1f;
}

static bool w_path(const char *s)
{
    size_t n = strlen(s);
    return n > 1 && n < 256 && s[0] == '/';
}

static bool w_hexnum(const char *s)
{
    size_t n = strlen(s);
    return n > 2 && n <= 10 && s[0] == '0' && s[1] == 'x' &&
           is_hex_n(s + 2, n - 2);
}

struct stmt_rule {
    const char *key;
    const char *syntax; /* for messages */
    size_t min, max;    /* argument count */
    word_check each;    /* applied to every argument, or NULL */
};

static const struct stmt_rule requires_rules[] = {
    {"device", "device VVVV:DDDD...", 1, 16, w_pciid},
    {"subsystem", "subsystem VVVV:DDDD...", 1, 16, w_pciid},
    {"driver", "driver NAME...", 1, 16, w_driver},
    {"migration", "migration", 0, 0, NULL},
    {"pasid", "pasid [width N] [exec] [priv]", 0, 4, NULL},
    {"ats", "ats", 0, 0, NULL},
    {"pri", "pri", 0, 0, NULL},
    {"numa", "numa NODE", 1, 1, NULL},
    {"link", "link [speed GT/S] [width N]", 2, 4, NULL},
};

static const struct stmt_rule binding_rules[] = {
    {"instance-type", "instance-type NAME", 1, 1, w_typename},
    {"version", "version N", 1, 1, w_version},
    {"hash", "hash sha256:HEX", 1, 1, w_hash},
    {"fingerprint", "fingerprint sha256:HEX", 1, 1, w_hash},
    {"bdf", "bdf DDDD:BB:DD.F", 1, 1, vpci_bdf_valid},
    {"pf", "pf DDDD:BB:DD.F|none", 1, 1, NULL},
    {"iommu-group", "iommu-group N|none", 1, 1, NULL},
    {"vfio", "vfio PATH|none", 1, 1, NULL},
    {"map",
     "map cap|ecap NAME VOFF POFF|none, map bar N M|none or "
     "map rom rom|none",
     2, 4, NULL},
};

static const struct stmt_rule *find_rule(bool binding, const char *key,
                                         int *ret_rank)
{
    const struct stmt_rule *t = binding ? binding_rules : requires_rules;
    size_t n = binding ? ARRAY_SIZE(binding_rules) : ARRAY_SIZE(requires_rules);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].key, key)) {
            if (ret_rank)
                *ret_rank = (int)i;
            return &t[i];
        }
    return NULL;
}

int vpci_stmt_rank(bool binding, const char *key)
{
    int rank = 1000;
    find_rule(binding, key, &rank);
    return rank;
}

#define STMT_FAIL(idx, ...)                                                    \
    do {                                                                       \
        *ret_bad = (idx);                                                      \
        snprintf(msg, msgsize, __VA_ARGS__);                                   \
        return -EINVAL;                                                        \
    } while (0)

static int check_pasid(const char *const *a, size_t n, size_t *ret_bad,
                       char *msg, size_t msgsize)
{
    size_t i = 0;
    if (i < n && !strcmp(a[i], "width")) {
        if (i + 1 >= n)
            STMT_FAIL(n + 1, "expected a PASID width (1-20) after 'width'");
        if (!w_uint(a[i + 1], 20) || !strcmp(a[i + 1], "0"))
            STMT_FAIL(i + 2, "expected a PASID width 1-20, found '%s'",
                      a[i + 1]);
        i += 2;
    }
    if (i < n && !strcmp(a[i], "exec"))
        i++;
    if (i < n && !strcmp(a[i], "priv"))
        i++;
    if (i < n)
        STMT_FAIL(i + 1,
                  "unexpected '%s': expected pasid [width N] [exec] [priv]",
                  a[i]);
    return 0;
}

static int check_link(const char *const *a, size_t n, size_t *ret_bad,
                      char *msg, size_t msgsize)
{
    static const char *const speeds[] = {"2.5", "5", "8", "16", "32", "64"};
    static const char *const widths[] = {"1", "2", "4", "8", "12", "16", "32"};
    size_t i = 0;
    bool any = false;
    if (i < n && !strcmp(a[i], "speed")) {
        bool ok = false;
        for (size_t k = 0; i + 1 < n && k < ARRAY_SIZE(speeds); k++)
            ok |= !strcmp(a[i + 1], speeds[k]);
        if (!ok)
            STMT_FAIL(i + 2 <= n ? i + 2 : n + 1,
                      "expected a link speed in GT/s (2.5, 5, 8, 16, 32 or "
                      "64) after 'speed'");
        i += 2;
        any = true;
    }
    if (i < n && !strcmp(a[i], "width")) {
        bool ok = false;
        for (size_t k = 0; i + 1 < n && k < ARRAY_SIZE(widths); k++)
            ok |= !strcmp(a[i + 1], widths[k]);
        if (!ok)
            STMT_FAIL(i + 2 <= n ? i + 2 : n + 1,
                      "expected a link width (1, 2, 4, 8, 12, 16 or 32) "
                      "after 'width'");
        i += 2;
        any = true;
    }
    if (i < n || !any)
        STMT_FAIL(i < n ? i + 1 : n + 1,
                  "expected link [speed GT/S] [width N]");
    return 0;
}

static int check_map(const char *const *a, size_t n, size_t *ret_bad, char *msg,
                     size_t msgsize)
{
    if (!strcmp(a[0], "cap") || !strcmp(a[0], "ecap")) {
        if (n != 4)
            STMT_FAIL(n < 4 ? n + 1 : 5, "expected map %s NAME VOFF POFF|none",
                      a[0]);
        if (!vpci_name_valid(a[1], strlen(a[1])) && !w_hexnum(a[1]))
            STMT_FAIL(2, "expected a capability name or hex ID, found '%s'",
                      a[1]);
        if (!w_hexnum(a[2]))
            STMT_FAIL(3, "expected the virtual offset as hex, found '%s'",
                      a[2]);
        if (!w_hexnum(a[3]) && strcmp(a[3], "none"))
            STMT_FAIL(4,
                      "expected the physical offset as hex or 'none', "
                      "found '%s'",
                      a[3]);
        return 0;
    }
    if (!strcmp(a[0], "bar")) {
        if (n != 3)
            STMT_FAIL(n < 3 ? n + 1 : 4, "expected map bar N M|none");
        if (!w_uint(a[1], 5))
            STMT_FAIL(2, "expected a BAR index 0-5, found '%s'", a[1]);
        if (!w_uint(a[2], 5) && strcmp(a[2], "none"))
            STMT_FAIL(3,
                      "expected a physical BAR index 0-5 or 'none', "
                      "found '%s'",
                      a[2]);
        return 0;
    }
    if (!strcmp(a[0], "rom")) {
        if (n != 2 || (strcmp(a[1], "rom") && strcmp(a[1], "none")))
            STMT_FAIL(n > 2 ? 3 : 2, "expected map rom rom|none");
        return 0;
    }
    STMT_FAIL(1, "expected cap, ecap, bar or rom after 'map', found '%s'",
              a[0]);
}

int vpci_stmt_check(bool binding, const char *key, const char *const *args,
                    size_t nargs, size_t *ret_bad, char *msg, size_t msgsize)
{
    const struct stmt_rule *rule = find_rule(binding, key, NULL);
    if (!rule)
        STMT_FAIL(0, "unknown %s keyword '%s'",
                  binding ? "binding" : "requires", key);
    if (nargs < rule->min)
        STMT_FAIL(nargs + 1, "too few words: expected %s", rule->syntax);
    if (nargs > rule->max)
        STMT_FAIL(rule->max + 1, "too many words: expected %s", rule->syntax);
    for (size_t i = 0; rule->each && i < nargs; i++)
        if (!rule->each(args[i]))
            STMT_FAIL(i + 1, "malformed '%s': expected %s", args[i],
                      rule->syntax);
    if (!strcmp(key, "pasid"))
        return check_pasid(args, nargs, ret_bad, msg, msgsize);
    if (!strcmp(key, "link"))
        return check_link(args, nargs, ret_bad, msg, msgsize);
    if (!strcmp(key, "map"))
        return check_map(args, nargs, ret_bad, msg, msgsize);
    if (!strcmp(key, "numa") && !w_uint(args[0], 1023))
        STMT_FAIL(1, "expected a NUMA node 0-1023, found '%s'", args[0]);
    if (!strcmp(key, "pf") && strcmp(args[0], "none") &&
        !vpci_bdf_valid(args[0]))
        STMT_FAIL(1, "expected pf DDDD:BB:DD.F or 'none', found '%s'", args[0]);
    if (!strcmp(key, "iommu-group") && strcmp(args[0], "none") &&
        !w_small(args[0]))
        STMT_FAIL(1, "expected an IOMMU group number or 'none', found '%s'",
                  args[0]);
    if (!strcmp(key, "vfio") && strcmp(args[0], "none") && !w_path(args[0]))
        STMT_FAIL(1, "expected an absolute device path or 'none', found '%s'",
                  args[0]);
    return 0;
}

/* ------------------------------------------------------------ layout */

/* Owner of each config byte during the overlap check. */
enum {
    OWN_BAR = -2,
    OWN_ROM = -3,
    OWN_CAPPTR = -4,
};

struct vstate {
    const struct vpci_layout *l;
    struct vpci_error *err;
    /* owner[a] is meaningful only where the taken bit is set, so only
     * the 512-byte bitmap is cleared per validation. */
    uint64_t taken[VPCI_CFG_SPACE_EXT / 64];
    int32_t owner[VPCI_CFG_SPACE_EXT]; /* OWN_* or block << 16 | field+1 */
};

#define VFAIL(err, line, col, ...)                                             \
    do {                                                                       \
        vpci_seterr((err), (line), (col), __VA_ARGS__);                        \
        return -EINVAL;                                                        \
    } while (0)

static const char *block_kw(const struct vpci_block *b)
{
    switch (b->kind) {
    case VPCI_BLOCK_HEADER:
        return "header";
    case VPCI_BLOCK_CAP:
        return "cap";
    case VPCI_BLOCK_ECAP:
        return "ecap";
    case VPCI_BLOCK_RAW:
        return "raw";
    }
    return "?";
}

static void describe_owner(const struct vstate *s, int32_t o, char *buf,
                           size_t n)
{
    if (o == OWN_BAR) {
        snprintf(buf, n, "the BAR registers (use bar lines)");
    } else if (o == OWN_ROM) {
        snprintf(buf, n, "the ROM register (use a rom line)");
    } else if (o == OWN_CAPPTR) {
        snprintf(buf, n,
                 "the capability pointer at 0x34 (implied by the "
                 "chain)");
    } else {
        const struct vpci_block *b = &s->l->blocks[o >> 16];
        unsigned fi = (unsigned)(o & 0xffff);
        if (fi == 0) {
            snprintf(buf, n, "the header of %s at 0x%x (line %u)", block_kw(b),
                     b->off, b->line);
        } else {
            const struct vpci_field *f = &b->fields[fi - 1];
            if (f->is_bytes)
                snprintf(buf, n, "bytes at 0x%x (line %u)", field_abs(b, f),
                         f->line);
            else
                snprintf(buf, n, "field '%s' at 0x%x (line %u)", f->name,
                         field_abs(b, f), f->line);
        }
    }
}

/* "field 'x' at 0x.." or "bytes at 0x..": built only for messages, as
 * formatting it for every field dominated validation. */
static const char *field_what(const struct vpci_field *f, unsigned a, char *buf,
                              size_t n)
{
    if (f->is_bytes)
        snprintf(buf, n, "bytes at 0x%x", a);
    else
        snprintf(buf, n, "field '%s' at 0x%x", f->name, a);
    return buf;
}

/* Mark bytes as owned by who; f (or, for capability headers, what) names
 * the claimant in the overlap message. */
static void mark(struct vstate *s, unsigned a, int32_t who)
{
    s->taken[a / 64] |= UINT64_C(1) << (a % 64);
    s->owner[a] = who;
}

static int claim_slow(struct vstate *s, unsigned from, unsigned len,
                      int32_t who, unsigned line, unsigned col,
                      const struct vpci_field *f, const char *what)
{
    for (unsigned a = from; a < from + len; a++) {
        if (s->taken[a / 64] >> (a % 64) & 1) {
            char other[128], buf[96];
            describe_owner(s, s->owner[a], other, sizeof(other));
            VFAIL(s->err, line, col, "%s overlaps %s at 0x%x",
                  f ? field_what(f, from, buf, sizeof(buf)) : what, other, a);
        }
        mark(s, a, who);
    }
    return 0;
}

/* Take bytes from..from+len-1 for who, or fail on the first one already
 * taken (f, or for capability headers what, names the claimant).  Nearly
 * every claim lies in one word of the bitmap: it is tested and taken at
 * once, and only an overlap (or a long run) goes byte by byte. */
static inline int claim(struct vstate *s, unsigned from, unsigned len,
                        int32_t who, unsigned line, unsigned col,
                        const struct vpci_field *f, const char *what)
{
    if (from % 64 + len < 64) {
        uint64_t bits = ((UINT64_C(1) << len) - 1) << (from % 64);
        if (!(s->taken[from / 64] & bits)) {
            s->taken[from / 64] |= bits;
            for (unsigned a = from; a < from + len; a++)
                s->owner[a] = who;
            return 0;
        }
    }
    return claim_slow(s, from, len, who, line, col, f, what);
}

static int check_bars(const struct vpci_layout *l, struct vpci_error *err)
{
    unsigned nbars = l->header_type == 1 ? 2 : VPCI_MAX_BARS;
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *b = &l->bars[i];
        if (b->type == VPCI_BAR_NONE)
            continue;
        if (i >= nbars)
            VFAIL(err, b->line, b->col,
                  "BAR %u does not exist in a type-1 header (BARs 0-1)", i);
        if (b->type == VPCI_BAR_MEM64) {
            if (i + 1 >= nbars)
                VFAIL(err, b->line, b->col,
                      "BAR %u is mem64 and needs BAR %u's register, which "
                      "does not exist",
                      i, i + 1);
            if (l->bars[i + 1].type != VPCI_BAR_NONE)
                VFAIL(err, l->bars[i + 1].line, l->bars[i + 1].col,
                      "BAR %u's register holds the upper half of mem64 BAR "
                      "%u",
                      i + 1, i);
        }
        if (!is_pow2_u64(b->size))
            VFAIL(err, b->line, b->col,
                  "BAR %u size 0x%llx is not a power of two", i,
                  (unsigned long long)b->size);
        if (b->type == VPCI_BAR_IO) {
            if (b->prefetch)
                VFAIL(err, b->line, b->col,
                      "BAR %u: an io BAR cannot be prefetchable", i);
            if (b->size < 4 || b->size > 256)
                VFAIL(err, b->line, b->col,
                      "BAR %u: io size 0x%llx outside 0x4-0x100", i,
                      (unsigned long long)b->size);
        } else if (b->size < 16) {
            VFAIL(err, b->line, b->col,
                  "BAR %u: memory size 0x%llx is below the minimum 0x10", i,
                  (unsigned long long)b->size);
        } else if (b->type == VPCI_BAR_MEM32 && b->size > 0x80000000ull) {
            VFAIL(err, b->line, b->col,
                  "BAR %u: mem32 size 0x%llx exceeds 0x80000000 (use mem64)", i,
                  (unsigned long long)b->size);
        } else if (b->size > (1ull << 63)) {
            VFAIL(err, b->line, b->col, "BAR %u: size too large", i);
        }
        if (b->from < -1 || b->from >= VPCI_MAX_BARS)
            VFAIL(err, b->line, b->col, "BAR %u: physical BAR %d out of range",
                  i, b->from);
    }
    const struct vpci_rom *r = &l->rom;
    if (r->size && (!is_pow2_u64(r->size) || r->size < 0x800))
        VFAIL(err, r->line, r->col,
              "ROM size 0x%x must be a power of two of at least 0x800",
              r->size);
    if (!r->size && r->from_phys)
        VFAIL(err, r->line, r->col, "a ROM with no size cannot come from rom");
    return 0;
}

/* placed: the table has this field's name, offset and width, so both
 * are known to be valid (every table name is a valid name). */
static int check_field_shape(const struct vpci_block *b,
                             const struct vpci_field *f, bool placed,
                             struct vpci_error *err)
{
    if (f->is_bytes) {
        if (f->len == 0 || f->len > VPCI_CFG_SPACE_EXT || f->name[0])
            VFAIL(err, f->line, f->col, "malformed bytes field");
    } else {
        if (f->len != 1 && f->len != 2 && f->len != 4)
            VFAIL(err, f->line, f->col, "field width must be 1, 2 or 4 bytes");
        if (!placed && !vpci_name_valid_str(f->name))
            VFAIL(err, f->line, f->col, "malformed field name '%s'", f->name);
        /* len is 1, 2 or 4: a mask, not a division */
        if (field_abs(b, f) & (f->len - 1u))
            VFAIL(err, f->line, f->col,
                  "field '%s' at 0x%x is not aligned to its width (u%u); use "
                  "bytes for unaligned data",
                  f->name, field_abs(b, f), 8 * f->len);
    }
    for (unsigned i = 0; i < f->len; i++)
        if (f->rw[i] & f->w1c[i])
            VFAIL(err, f->line, f->col,
                  "%s%s%s: a bit cannot be both rw and w1c (byte %u: 0x%02x)",
                  f->is_bytes ? "bytes" : "field '", f->is_bytes ? "" : f->name,
                  f->is_bytes ? "" : "'", i, f->rw[i] & f->w1c[i]);
    return 0;
}

/* strcmp() == 0 for short names, without the call. */
static inline bool name_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static bool def_is(const struct vpci_field_def *d, const struct vpci_field *f)
{
    return d->off == f->off && d->width == f->len && name_eq(d->name, f->name);
}

/* Named fields must sit where the capability table puts them: 1 if the
 * table has this name at this place, 0 if it does not know the name (or
 * the field is bytes), or an error.  *hint is where to look first: fields
 * are usually written in table order, so the entry after the last match
 * is nearly always the one. */
static int check_table_name(const struct vpci_field *f,
                            const struct vpci_field_def *defs, size_t ndefs,
                            size_t *hint, const char *where,
                            struct vpci_error *err)
{
    if (f->is_bytes)
        return 0;
    /* Common case: the table has this name at this offset and width. */
    for (size_t i = 0; i < ndefs; i++)
        if (def_is(&defs[i], f)) {
            *hint = i + 1;
            return 1;
        }
    bool name_known = false;
    for (size_t i = 0; i < ndefs; i++) {
        if (strcmp(defs[i].name, f->name))
            continue;
        name_known = true;
        if (defs[i].off == f->off && defs[i].width == f->len)
            return 1;
    }
    if (name_known) {
        for (size_t i = 0; i < ndefs; i++)
            if (!strcmp(defs[i].name, f->name))
                VFAIL(err, f->line, f->col,
                      "field '%s' of %s is at 0x%02x as u%u, not at 0x%02x "
                      "as u%u",
                      f->name, where, defs[i].off, 8 * defs[i].width, f->off,
                      8 * f->len);
    }
    return 0;
}

/* A digest of a field name, in one pass with no multiply: the duplicate
 * check compares these first and the text only when they match.  FNV
 * over every character cost more than the rest of validation. */
static uint32_t name_hash(const char *n)
{
    uint32_t h = 0;
    size_t len = 0;
    for (; n[len]; len++)
        h = (h << 5 | h >> 27) ^ (unsigned char)n[len];
    return h ^ (uint32_t)len << 24;
}

/* Fields tracked as named by the table, per block (beyond it, every
 * field is compared). */
#define TRACKED_FIELDS 1024

static bool tracked(const uint64_t *in_table, size_t i)
{
    return i < TRACKED_FIELDS && (in_table[i / 64] >> (i % 64) & 1);
}

/*
 * A name says which register a line is about: one per block.  Fields the
 * capability table names at their own place (in_table) cannot repeat a
 * name: the table names each register once, so a second field of that
 * name would sit at the same place and has already been rejected as an
 * overlap, and fields it does not name have names it does not know.  So
 * only the others are compared, hashes first, text when they match.
 */
static int check_unique_names(const struct vpci_block *b,
                              const uint64_t *in_table, struct vpci_error *err)
{
    uint32_t small[64];
    uint32_t *h = b->nfields <= 64 ? small : malloc(b->nfields * sizeof(*h));
    if (!h)
        return -ENOMEM;
    int r = 0;
    for (size_t fi = 0; fi < b->nfields && r == 0; fi++) {
        const struct vpci_field *f = &b->fields[fi];
        h[fi] = 0;
        if (!f->name[0] || tracked(in_table, fi))
            continue;
        h[fi] = name_hash(f->name);
        for (size_t gi = 0; gi < fi; gi++) {
            const struct vpci_field *g = &b->fields[gi];
            if (h[gi] != h[fi] || tracked(in_table, gi) ||
                strcmp(g->name, f->name))
                continue;
            vpci_seterr(err, f->line, f->col,
                        "field name '%s' is already used at 0x%02x (line %u) "
                        "in this block",
                        f->name, g->off, g->line);
            r = -EINVAL;
            break;
        }
    }
    if (h != small)
        free(h);
    return r;
}

static int check_block(struct vstate *s, size_t bi)
{
    const struct vpci_layout *l = s->l;
    const struct vpci_block *b = &l->blocks[bi];
    struct vpci_error *err = s->err;
    const struct vpci_cap_def *def = NULL;
    int r;

    if ((bi == 0) != (b->kind == VPCI_BLOCK_HEADER))
        VFAIL(err, b->line, b->col, "the header must be the first block");
    if (b->kind == VPCI_BLOCK_CAP || b->kind == VPCI_BLOCK_ECAP) {
        bool ext = b->kind == VPCI_BLOCK_ECAP;
        unsigned lo = ext ? 0x100 : 0x40, hi = ext ? 0xffc : 0xfc;
        if (ext && l->space < VPCI_CFG_SPACE_EXT)
            VFAIL(err, b->line, b->col,
                  "extended capability in a 256-byte space: use 'space 4096'");
        if (b->off < lo || b->off > hi || (b->off & 3))
            VFAIL(err, b->line, b->col,
                  "%s offset 0x%x must be dword aligned in 0x%x-0x%x",
                  block_kw(b), b->off, lo, hi);
        if (!ext && b->id > 0xff)
            VFAIL(err, b->line, b->col, "capability ID 0x%x exceeds 0xff",
                  b->id);
        if (ext && b->version > 15)
            VFAIL(err, b->line, b->col, "version %u exceeds 15", b->version);
        def = vpci_cap_find(ext, b->id);
        if (b->name[0] && (!def || strcmp(def->name, b->name)))
            VFAIL(err, b->line, b->col,
                  "capability name '%s' does not match ID 0x%x", b->name,
                  b->id);
        r = claim(
            s, b->off, ext ? 4 : 2, (int32_t)(bi << 16), b->line, b->col, NULL,
            ext ? "the extended capability header" : "the capability header");
        if (r < 0)
            return r;
    } else if (b->off != 0) {
        VFAIL(err, b->line, b->col, "%s block has an offset", block_kw(b));
    }

    size_t nhdr = 0, hint = 0;
    const struct vpci_field_def *hdr =
        vpci_header_fields(l->header_type, &nhdr);
    /* Cleared as far as this block needs: a kilobit per block showed. */
    uint64_t in_table[TRACKED_FIELDS / 64];
    size_t ntracked = b->nfields < TRACKED_FIELDS ? b->nfields : TRACKED_FIELDS;
    memset(in_table, 0, (ntracked + 63) / 64 * sizeof(in_table[0]));
    const struct vpci_field_def *table = NULL;
    size_t ntable = 0;
    if (b->kind == VPCI_BLOCK_HEADER) {
        table = hdr;
        ntable = nhdr;
    } else if (def) {
        table = def->fields;
        ntable = def->nfields;
    }
    for (size_t fi = 0; fi < b->nfields; fi++) {
        const struct vpci_field *f = &b->fields[fi];
        unsigned a = field_abs(b, f);
        char wbuf[96];
#define what field_what(f, a, wbuf, sizeof(wbuf))
        /* Fields are usually written in table order: the entry after the
         * last match is looked at first, before anything else.  A field
         * found there needs no name check, and no further table check. */
        bool placed = !f->is_bytes && hint < ntable && def_is(&table[hint], f);
        if (placed) {
            hint++;
            if (fi < TRACKED_FIELDS)
                in_table[fi / 64] |= UINT64_C(1) << (fi % 64);
        }
        if ((r = check_field_shape(b, f, placed, err)) < 0)
            return r;
        switch (b->kind) {
        case VPCI_BLOCK_HEADER:
            if (a + f->len > 0x40)
                VFAIL(err, f->line, f->col,
                      "%s is outside the header (0x00-0x3f); use a cap, ecap "
                      "or raw block",
                      what);
            if (placed)
                break;
            if ((r = check_table_name(f, hdr, nhdr, &hint, "the header", err)) <
                0)
                return r;
            if (r > 0 && fi < TRACKED_FIELDS)
                in_table[fi / 64] |= UINT64_C(1) << (fi % 64);
            break;
        case VPCI_BLOCK_CAP:
        case VPCI_BLOCK_ECAP: {
            bool ext = b->kind == VPCI_BLOCK_ECAP;
            unsigned hlen = ext ? 4 : 2;
            unsigned end = ext ? VPCI_CFG_SPACE_EXT : VPCI_CFG_SPACE_STD;
            if (f->off < hlen)
                VFAIL(err, f->line, f->col,
                      "%s covers the implied %s header (offsets 0x00-0x%02x "
                      "of the block)",
                      what, ext ? "extended capability" : "capability",
                      hlen - 1);
            if (a + f->len > end)
                VFAIL(err, f->line, f->col,
                      "%s ends past 0x%x, outside the %s space", what, end - 1,
                      ext ? "extended" : "standard");
            if (def && f->off + f->len > def->max_len)
                VFAIL(err, f->line, f->col,
                      "%s is outside %s, which is at most 0x%x bytes long",
                      what, def->name, def->max_len);
            if (!def || placed)
                break;
            if ((r = check_table_name(f, def->fields, def->nfields, &hint,
                                      def->name, err)) < 0)
                return r;
            if (r > 0 && fi < TRACKED_FIELDS)
                in_table[fi / 64] |= UINT64_C(1) << (fi % 64);
            break;
        }
        case VPCI_BLOCK_RAW:
            if (a < 0x40)
                VFAIL(err, f->line, f->col,
                      "%s is in the header: raw blocks start at 0x40", what);
            break;
        }
        if (a + f->len > l->space)
            VFAIL(err, f->line, f->col,
                  "%s ends at 0x%x, past the end of the %u-byte space", what,
                  a + f->len - 1, l->space);
#undef what
        r = claim(s, a, f->len, (int32_t)((bi << 16) | (fi + 1)), f->line,
                  f->col, f, NULL);
        if (r < 0)
            return r;
    }
    return check_unique_names(b, in_table, s->err);
}

static int check_header(const struct vpci_layout *l, struct vpci_error *err)
{
    const struct vpci_block *h = &l->blocks[0];
    static const struct {
        const char *name;
        uint16_t off;
        uint8_t len;
    } required[] = {
        {"vendor_id", 0x00, 2},
        {"device_id", 0x02, 2},
        {"header_type", 0x0e, 1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
        const struct vpci_field *f = NULL;
        for (size_t j = 0; j < h->nfields; j++)
            if (h->fields[j].off == required[i].off &&
                h->fields[j].len == required[i].len && !h->fields[j].is_bytes)
                f = &h->fields[j];
        if (!f)
            VFAIL(err, h->line, h->col,
                  "the header has no %s (0x%02x u%u): every layout states it",
                  required[i].name, required[i].off, 8 * required[i].len);
        if (required[i].off == 0x0e && (f->val[0] & 0x7f) != l->header_type)
            VFAIL(err, f->line, f->col,
                  "header_type 0x%02x does not match 'header type%u' (low 7 "
                  "bits must be %u)",
                  f->val[0], l->header_type, l->header_type);
    }
    bool has_std = false;
    for (size_t i = 1; i < l->nblocks; i++)
        has_std |= l->blocks[i].kind == VPCI_BLOCK_CAP;
    if (has_std) {
        bool ok = false;
        for (size_t j = 0; j < h->nfields; j++) {
            const struct vpci_field *f = &h->fields[j];
            if (f->off <= 0x06 && f->off + f->len > 0x06)
                ok = (f->val[0x06 - f->off] & 0x10) &&
                     !(f->phys[0x06 - f->off] & 0x10);
        }
        if (!ok)
            VFAIL(err, h->line, h->col,
                  "capabilities are present but status bit 4 (capabilities "
                  "list) is not a virtual 1");
    }
    return 0;
}

VPCI_EXPORT int vpci_layout_validate(const struct vpci_layout *l,
                                     struct vpci_error *err)
{
    int r;

    if (!l)
        return -EINVAL;
    if (l->format != VPCI_FORMAT_VERSION)
        VFAIL(err, 0, 0, "unsupported format version %u", l->format);
    if (l->space != VPCI_CFG_SPACE_STD && l->space != VPCI_CFG_SPACE_EXT)
        VFAIL(err, 0, 0, "space must be 256 or 4096");
    if (l->header_type > 1)
        VFAIL(err, 0, 0, "header type must be 0 or 1");
    if (l->nblocks == 0 || l->blocks[0].kind != VPCI_BLOCK_HEADER)
        VFAIL(err, 0, 0, "a layout starts with its header block");

    /* 16 KiB on the stack: a heap block this size per validation cost
     * more than the validation itself. */
    struct vstate vs;
    struct vstate *s = &vs;
    s->l = l;
    s->err = err;
    memset(s->taken, 0, sizeof(s->taken));
    unsigned bar_lo = 0x10, bar_hi = l->header_type == 1 ? 0x18 : 0x28;
    unsigned rom = l->header_type == 1 ? 0x38 : 0x30;
    for (unsigned a = bar_lo; a < bar_hi; a++)
        mark(s, a, OWN_BAR);
    for (unsigned a = rom; a < rom + 4; a++)
        mark(s, a, OWN_ROM);
    mark(s, 0x34, OWN_CAPPTR);

    r = check_bars(l, err);
    for (size_t i = 0; r == 0 && i < l->nblocks; i++)
        r = check_block(s, i);
    if (r < 0)
        return r;
    if ((r = check_header(l, err)) < 0)
        return r;

    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];
        if (b->kind != VPCI_BLOCK_ECAP)
            continue;
        if (b->off != 0x100)
            VFAIL(err, b->line, b->col,
                  "the first extended capability must be at 0x100 (found "
                  "0x%x); use 'ecap 0x100 null version 0' as a placeholder",
                  b->off);
        break;
    }
    size_t nraw = 0;
    for (size_t i = 1; i < l->nblocks; i++)
        nraw += l->blocks[i].kind == VPCI_BLOCK_RAW;
    if (nraw > 1)
        VFAIL(err, 0, 0, "only one raw block is allowed");

    for (int pass = 0; pass < 2; pass++) {
        const struct vpci_stmt *st = pass ? l->binding : l->requires;
        size_t n = pass ? l->nbinding : l->nrequires;
        for (size_t i = 0; i < n; i++) {
            size_t bad;
            char msg[200];
            if (vpci_stmt_check(pass, st[i].key,
                                (const char *const *)st[i].args, st[i].nargs,
                                &bad, msg, sizeof(msg)) < 0)
                VFAIL(err, st[i].line, st[i].col, "%s", msg);
            if (strcmp(st[i].key, "map"))
                for (size_t j = 0; j < i; j++)
                    if (!strcmp(st[j].key, st[i].key))
                        VFAIL(err, st[i].line, st[i].col,
                              "'%s' given twice in the %s section", st[i].key,
                              pass ? "binding" : "requires");
        }
    }
    return 0;
}
