/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vpci-layout text -> model.  Line oriented: top-level statements start in
 * column 1, the lines of a block are indented.  The first error stops the
 * parse and names its line and column; the model is then validated.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layout_rules.h"

#define MAX_TEXT (16u << 20)
#define MAX_LINE 65536u
#define MAX_BLOCKS 1100u
#define MAX_FIELDS_PER_BLOCK 4096u
#define MAX_STMTS 1024u

struct tok {
    const char *s;
    size_t n;
    unsigned col;
};

enum phase {
    PH_FORMAT,   /* expecting "vpci-layout 1" */
    PH_SPACE,    /* expecting "space N" */
    PH_HEADER,   /* expecting "header typeN" */
    PH_BODY,     /* bar, rom, cap, ecap, raw */
    PH_REQUIRES, /* inside requires */
    PH_BINDING,  /* inside binding */
};

struct parser {
    const char *text;
    size_t len;
    size_t pos;
    unsigned line;
    struct vpci_error *err;
    struct vpci_layout *l;
    enum phase phase;
    long cur_block; /* receives indented field lines, -1 if none */
    bool seen_rom, seen_raw, seen_requires, seen_binding;
    unsigned bar_line[VPCI_MAX_BARS];
    struct tok *toks;
    size_t ntoks, cap_toks;
};

#define FAIL(p, col, ...)                                                      \
    do {                                                                       \
        vpci_seterr((p)->err, (p)->line, (col), __VA_ARGS__);                  \
        return -EINVAL;                                                        \
    } while (0)

/* A token for messages: at most 40 characters, quoted by the caller. */
static const char *tokstr(const struct tok *t, char buf[48])
{
    size_t n = t->n > 40 ? 40 : t->n;
    memcpy(buf, t->s, n);
    if (t->n > 40) {
        memcpy(buf + 40, "...", 4);
    } else {
        buf[n] = '\0';
    }
    return buf;
}

static bool tok_is(const struct tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->n == n && !memcmp(t->s, s, n);
}

/* Per-byte tables, one lookup per byte.  char_class: CC_WORD for the
 * bytes a word is made of (printable ASCII except '#'), CC_NAME for those
 * of a field name after its first letter ([a-z0-9_]).  hex_value: the
 * digit's value, or -1 (a table: digits and letters mix in most values,
 * and range tests mispredicted on them). */
enum { CC_WORD = 1, CC_NAME = 2 };
#define CC(c)                                                                  \
    (((c) > 0x20 && (c) < 0x7f && (c) != '#' ? CC_WORD : 0) |                  \
     (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9') || (c) == '_'   \
          ? CC_NAME                                                            \
          : 0))
#define HV(c)                                                                  \
    ((c) >= '0' && (c) <= '9'   ? (c) - '0'                                    \
     : (c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10                               \
     : (c) >= 'A' && (c) <= 'F' ? (c) - 'A' + 10                               \
                                : -1)
#define T4(M, c) M(c), M((c) + 1), M((c) + 2), M((c) + 3)
#define T16(M, c) T4(M, c), T4(M, (c) + 4), T4(M, (c) + 8), T4(M, (c) + 12)
#define T64(M, c)                                                              \
    T16(M, c), T16(M, (c) + 16), T16(M, (c) + 32), T16(M, (c) + 48)
static const uint8_t char_class[256] = {T64(CC, 0), T64(CC, 64), T64(CC, 128),
                                        T64(CC, 192)};
static const int8_t hex_value[256] = {T64(HV, 0), T64(HV, 64), T64(HV, 128),
                                      T64(HV, 192)};

static inline bool char_is(unsigned char c, unsigned cls)
{
    return char_class[c] & cls;
}

/* Hex number with a 0x prefix, at most max. */
static int parse_hex(struct parser *p, const struct tok *t, uint64_t max,
                     const char *what, uint64_t *ret)
{
    char b[48];
    if (t->n < 3 || t->s[0] != '0' || (t->s[1] != 'x' && t->s[1] != 'X'))
        FAIL(p, t->col, "expected %s as a hex number like 0x1f, found '%s'",
             what, tokstr(t, b));
    uint64_t v = 0;
    for (size_t i = 2; i < t->n; i++) {
        int d0 = hex_value[(unsigned char)t->s[i]];
        if (d0 < 0)
            FAIL(p, t->col, "expected %s as a hex number like 0x1f, found '%s'",
                 what, tokstr(t, b));
        unsigned d = (unsigned)d0;
        if (v > (UINT64_MAX >> 4))
            FAIL(p, t->col, "%s '%s' is too large (at most 0x%llx)", what,
                 tokstr(t, b), (unsigned long long)max);
        v = (v << 4) | d;
    }
    if (v > max)
        FAIL(p, t->col, "%s '%s' does not fit: at most 0x%llx", what,
             tokstr(t, b), (unsigned long long)max);
    *ret = v;
    return 0;
}

static int parse_dec(struct parser *p, const struct tok *t, uint64_t min,
                     uint64_t max, const char *what, uint64_t *ret)
{
    char b[48];
    uint64_t v = 0;
    if (t->n == 0 || t->n > 19)
        FAIL(p, t->col, "expected %s (a decimal number %llu-%llu), found '%s'",
             what, (unsigned long long)min, (unsigned long long)max,
             tokstr(t, b));
    for (size_t i = 0; i < t->n; i++) {
        if (!isdigit((unsigned char)t->s[i]))
            FAIL(p, t->col,
                 "expected %s (a decimal number %llu-%llu), found '%s'", what,
                 (unsigned long long)min, (unsigned long long)max,
                 tokstr(t, b));
        v = v * 10 + (unsigned)(t->s[i] - '0');
    }
    if (v < min || v > max)
        FAIL(p, t->col, "%s %llu is out of range %llu-%llu", what,
             (unsigned long long)v, (unsigned long long)min,
             (unsigned long long)max);
    *ret = v;
    return 0;
}

static int hexbyte(const struct tok *t)
{
    if (t->n != 2)
        return -1;
    int hi = hex_value[(unsigned char)t->s[0]],
        lo = hex_value[(unsigned char)t->s[1]];
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

bool vpci_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > VPCI_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!char_is((unsigned char)s[i], CC_NAME))
            return false;
    return true;
}

bool vpci_name_valid_str(const char *s)
{
    if (!(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    size_t i = 1;
    for (; i <= VPCI_NAME_MAX && s[i]; i++)
        if (!char_is((unsigned char)s[i], CC_NAME))
            return false;
    return i <= VPCI_NAME_MAX;
}

static int tokenize(struct parser *p, const char *line, size_t n,
                    bool *indented)
{
    p->ntoks = 0;
    *indented = n > 0 && (line[0] == ' ' || line[0] == '\t');
    size_t i = 0;
    while (i < n) {
        /* Blanks first, in a tight loop: canonical text pads names. */
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == n)
            break;
        unsigned char c = (unsigned char)line[i];
        if (c == '#' || (c == '\r' && i == n - 1))
            break;
        if (c < 0x21 || c > 0x7e)
            FAIL(p, (unsigned)i + 1,
                 "unexpected character 0x%02x: layout text is printable "
                 "ASCII outside comments",
                 c);
        size_t start = i;
        /* Word characters: printable ASCII but '#'. */
        while (i < n && char_is((unsigned char)line[i], CC_WORD))
            i++;
        c = i < n ? (unsigned char)line[i] : 0;
        if (i < n && c != ' ' && c != '\t' && c != '#' && c != '\r')
            FAIL(p, (unsigned)i + 1,
                 "unexpected character 0x%02x: layout text is printable "
                 "ASCII outside comments",
                 c);
        if (p->ntoks == p->cap_toks) {
            size_t nc = p->cap_toks ? p->cap_toks * 2 : 32;
            struct tok *nt = realloc(p->toks, nc * sizeof(*nt));
            if (!nt)
                return -ENOMEM;
            p->toks = nt;
            p->cap_toks = nc;
        }
        p->toks[p->ntoks++] =
            (struct tok){line + start, i - start, (unsigned)start + 1};
    }
    return 0;
}

static int expect_end(struct parser *p, size_t i, const char *what)
{
    char b[48];
    if (i < p->ntoks)
        FAIL(p, p->toks[i].col, "unexpected '%s' at the end of %s",
             tokstr(&p->toks[i], b), what);
    return 0;
}

static unsigned end_col(const struct parser *p)
{
    if (p->ntoks == 0)
        return 1;
    const struct tok *t = &p->toks[p->ntoks - 1];
    return t->col + (unsigned)t->n;
}

static int need(struct parser *p, size_t i, const char *what)
{
    if (i >= p->ntoks)
        FAIL(p, end_col(p), "expected %s at the end of the line", what);
    return 0;
}

/* ---------------------------------------------------------------- fields */

static int parse_masks_reg(struct parser *p, size_t i, unsigned width,
                           uint32_t m[3])
{
    static const char *const kw[3] = {"rw", "w1c", "phys"};
    bool seen[3] = {false, false, false};
    uint64_t max = width == 4 ? 0xffffffffu : ((1u << (8 * width)) - 1);
    char b[48];
    while (i < p->ntoks) {
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (tok_is(&p->toks[i], kw[j]))
                k = j;
        if (k < 0)
            FAIL(p, p->toks[i].col,
                 "expected rw, w1c or phys followed by a mask, found '%s'",
                 tokstr(&p->toks[i], b));
        if (seen[k])
            FAIL(p, p->toks[i].col, "'%s' given twice for this field", kw[k]);
        seen[k] = true;
        int r = need(p, i + 1, "a mask");
        if (r < 0)
            return r;
        uint64_t v;
        static const char *const what[3] = {"rw mask", "w1c mask", "phys mask"};
        r = parse_hex(p, &p->toks[i + 1], max, what[k], &v);
        if (r < 0)
            return r;
        m[k] = (uint32_t)v;
        i += 2;
    }
    return 0;
}

static int parse_field(struct parser *p, struct vpci_block *b)
{
    char bb[48];
    uint64_t off;
    int r;

    if (b->nfields >= MAX_FIELDS_PER_BLOCK)
        FAIL(p, p->toks[0].col, "too many fields in one block (at most %u)",
             MAX_FIELDS_PER_BLOCK);
    r = parse_hex(p, &p->toks[0], 0xfff, "a field offset", &off);
    if (r < 0)
        return r;
    if ((r = need(p, 1, "a width (u8, u16, u32 or bytes)")) < 0)
        return r;
    const struct tok *w = &p->toks[1];
    unsigned width = tok_is(w, "u8")    ? 1
                     : tok_is(w, "u16") ? 2
                     : tok_is(w, "u32") ? 4
                                        : 0;
    if (width) {
        if ((r = need(p, 2, "a field name")) < 0)
            return r;
        const struct tok *nt = &p->toks[2];
        if (!vpci_name_valid(nt->s, nt->n))
            FAIL(p, nt->col,
                 "expected a field name ([a-z][a-z0-9_]*, at most %d "
                 "characters), found '%s'",
                 VPCI_NAME_MAX, tokstr(nt, bb));
        if ((r = need(p, 3, "a value")) < 0)
            return r;
        uint64_t v;
        uint64_t max = width == 4 ? 0xffffffffu : ((1u << (8 * width)) - 1);
        const char *what = width == 1   ? "a u8 value"
                           : width == 2 ? "a u16 value"
                                        : "a u32 value";
        if ((r = parse_hex(p, &p->toks[3], max, what, &v)) < 0)
            return r;
        uint32_t m[3] = {0, 0, 0};
        if ((r = parse_masks_reg(p, 4, width, m)) < 0)
            return r;
        /* What vpci_block_add_reg does, minus checks already made. */
        struct vpci_field *rf = vpci_block_new_field(b, width);
        if (!rf)
            return -ENOMEM;
        rf->off = (uint16_t)off;
        memcpy(rf->name, nt->s, nt->n);
        le_put(rf->val, width, (uint32_t)v);
        le_put(rf->rw, width, m[0]);
        le_put(rf->w1c, width, m[1]);
        le_put(rf->phys, width, m[2]);
    } else if (tok_is(w, "bytes")) {
        uint64_t n;
        if ((r = need(p, 2, "a byte count")) < 0)
            return r;
        if ((r = parse_dec(p, &p->toks[2], 1, VPCI_CFG_SPACE_EXT,
                           "a byte count", &n)) < 0)
            return r;
        bool seen[4] = {true, false, false, false};
        static const char *const kw[4] = {"", "rw", "w1c", "phys"};
        /* Add the field, then fill its arrays in place; an error takes it
         * out again. */
        struct vpci_field *nf = vpci_block_new_field(b, (unsigned)n);
        if (!nf)
            return -ENOMEM;
        nf->off = (uint16_t)off;
        nf->is_bytes = true;
        uint8_t *arr[4] = {nf->val, nf->rw, nf->w1c, nf->phys};
        size_t i = 3;
        for (int group = 0;; group++) {
            int k = 0;
            if (group > 0) {
                if (i >= p->ntoks)
                    break;
                k = -1;
                for (int j = 1; j < 4; j++)
                    if (tok_is(&p->toks[i], kw[j]))
                        k = j;
                if (k < 0) {
                    vpci_seterr(p->err, p->line, p->toks[i].col,
                                "expected rw, w1c or phys followed by %u "
                                "bytes, found '%s'",
                                (unsigned)n, tokstr(&p->toks[i], bb));
                    r = -EINVAL;
                    goto out_bytes;
                }
                if (seen[k]) {
                    vpci_seterr(p->err, p->line, p->toks[i].col,
                                "'%s' given twice for this field", kw[k]);
                    r = -EINVAL;
                    goto out_bytes;
                }
                seen[k] = true;
                i++;
            }
            for (size_t j = 0; j < n; j++, i++) {
                if (i >= p->ntoks) {
                    vpci_seterr(p->err, p->line, end_col(p),
                                "expected %u bytes (two hex digits each), "
                                "found only %zu",
                                (unsigned)n, j);
                    r = -EINVAL;
                    goto out_bytes;
                }
                int v = hexbyte(&p->toks[i]);
                if (v < 0) {
                    vpci_seterr(p->err, p->line, p->toks[i].col,
                                "expected a byte as two hex digits like 'a5', "
                                "found '%s'",
                                tokstr(&p->toks[i], bb));
                    r = -EINVAL;
                    goto out_bytes;
                }
                arr[k][j] = (uint8_t)v;
            }
        }
        r = 0;
    out_bytes:
        if (r < 0) {
            if (nf->val != nf->small_)
                free(nf->val); /* the four arrays are one allocation */
            b->nfields--;
            return r;
        }
    } else {
        FAIL(p, w->col, "expected a width (u8, u16, u32 or bytes), found '%s'",
             tokstr(w, bb));
    }
    struct vpci_field *f = &b->fields[b->nfields - 1];
    f->line = p->line;
    f->col = p->toks[0].col;
    return 0;
}

/* ------------------------------------------------- fields, fast path */

/*
 * Field lines are most of a layout.  The common shapes of them,
 *   0xOFF u8|u16|u32 NAME 0xVALUE [rw|w1c|phys 0xMASK]...
 *   0xOFF bytes N HH... [rw|w1c|phys HH...]...
 * are read here in one pass, without the token array.  It takes a line
 * only when it is sure parse_field() would take it with the same result,
 * and changes nothing before it is sure; for anything else (every error,
 * unusual spellings such as 0x0060) it returns 0 and the line goes the
 * general way, which reports it.  So the general path alone defines the
 * format and every message.
 */
struct scan {
    const char *s;
    size_t i, n;
};

static inline void skip_blanks(struct scan *sc)
{
    while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t'))
        sc->i++;
}

/* Where a word may end without an error: a blank, a comment, a final
 * '\r' or the end of the line. */
static inline bool at_word_end(const struct scan *sc)
{
    if (sc->i == sc->n)
        return true;
    char c = sc->s[sc->i];
    return c == ' ' || c == '\t' || c == '#' ||
           (c == '\r' && sc->i == sc->n - 1);
}

/* Only blanks and perhaps a comment left. */
static inline bool at_line_end(struct scan *sc)
{
    skip_blanks(sc);
    return sc->i == sc->n || sc->s[sc->i] == '#' ||
           (sc->s[sc->i] == '\r' && sc->i == sc->n - 1);
}

/* The word w (inline, so that memcmp sees a constant length). */
static inline bool scan_word(struct scan *sc, const char *w, size_t len)
{
    if (sc->n - sc->i < len || memcmp(sc->s + sc->i, w, len))
        return false;
    sc->i += len;
    if (at_word_end(sc))
        return true;
    sc->i -= len;
    return false;
}

/* "0x" and one to eight hex digits, at most max. */
static inline bool scan_hex(struct scan *sc, uint32_t max, uint32_t *ret)
{
    const char *s = sc->s + sc->i;
    size_t avail = sc->n - sc->i, k = 2;
    uint32_t v = 0;
    if (avail < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    for (; k < avail && k < 10; k++) {
        int d = hex_value[(unsigned char)s[k]];
        if (d < 0)
            break;
        v = v << 4 | (uint32_t)d;
    }
    sc->i += k;
    if (k == 2 || !at_word_end(sc) || v > max)
        return false;
    *ret = v;
    return true;
}

/* One byte as two hex digits, after blanks. */
static bool scan_hexbyte(struct scan *sc, uint8_t *ret)
{
    skip_blanks(sc);
    if (sc->n - sc->i < 2)
        return false;
    int hi = hex_value[(unsigned char)sc->s[sc->i]],
        lo = hex_value[(unsigned char)sc->s[sc->i + 1]];
    sc->i += 2;
    if (hi < 0 || lo < 0 || !at_word_end(sc))
        return false;
    *ret = (uint8_t)(hi << 4 | lo);
    return true;
}

/* rw, w1c or phys: 0, 1, 2, or -1. */
static int scan_mask_kw(struct scan *sc)
{
    if (scan_word(sc, "rw", 2))
        return 0;
    if (scan_word(sc, "w1c", 3))
        return 1;
    if (scan_word(sc, "phys", 4))
        return 2;
    return -1;
}

/* The blanks that pad a name to its column, eight at a time: a run of a
 * different length on every line ends a byte loop with a mispredicted
 * branch.  A byte's top bit is set in the mask if it is not a blank. */
static void skip_padding(struct scan *sc)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = ones << 7;
    while (sc->n - sc->i >= 8) {
        uint64_t x;
        memcpy(&x, sc->s + sc->i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x); /* the first byte lowest */
#endif
        uint64_t sp = x ^ (ones * ' '), tab = x ^ (ones * '\t');
        /* per byte, exactly: top bit set iff the byte is non-zero */
        sp = ((sp & ~high) + ~high) | sp;
        tab = ((tab & ~high) + ~high) | tab;
        uint64_t other = sp & tab & high;
        if (other) {
            sc->i += (size_t)__builtin_ctzll(other) / 8;
            return;
        }
        sc->i += 8;
    }
    skip_blanks(sc);
}

/* Register values are 1, 2 or 4 bytes: one case each, so the compiler
 * writes each without a loop. */
static void put_reg(struct vpci_field *f, unsigned width, uint32_t v,
                    const uint32_t m[3])
{
    switch (width) {
    case 1:
        f->val[0] = (uint8_t)v;
        f->rw[0] = (uint8_t)m[0];
        f->w1c[0] = (uint8_t)m[1];
        f->phys[0] = (uint8_t)m[2];
        break;
    case 2:
        le_put(f->val, 2, v);
        le_put(f->rw, 2, m[0]);
        le_put(f->w1c, 2, m[1]);
        le_put(f->phys, 2, m[2]);
        break;
    default:
        le_put(f->val, 4, v);
        le_put(f->rw, 4, m[0]);
        le_put(f->w1c, 4, m[1]);
        le_put(f->phys, 4, m[2]);
        break;
    }
}

static int fast_bytes(struct parser *p, struct vpci_block *b, struct scan *sc,
                      uint16_t off, unsigned col)
{
    unsigned n = 0;
    size_t start;
    skip_blanks(sc);
    for (start = sc->i; sc->i < sc->n && sc->i - start < 5; sc->i++) {
        char c = sc->s[sc->i];
        if (c < '0' || c > '9')
            break;
        n = n * 10 + (unsigned)(c - '0');
    }
    if (sc->i == start || sc->i - start > 4 || !at_word_end(sc) || n < 1 ||
        n > VPCI_CFG_SPACE_EXT)
        return 0;
    struct vpci_field *f = vpci_block_new_field(b, n);
    if (!f)
        return -ENOMEM;
    uint8_t *arr[4] = {f->val, f->rw, f->w1c, f->phys};
    bool seen[4] = {true, false, false, false};
    for (int group = 0;; group++) {
        int k = 0;
        if (group > 0) {
            if (at_line_end(sc))
                break;
            k = scan_mask_kw(sc) + 1;
            if (k == 0 || seen[k])
                goto undo;
            seen[k] = true;
        }
        for (unsigned j = 0; j < n; j++)
            if (!scan_hexbyte(sc, &arr[k][j]))
                goto undo;
    }
    f->off = off;
    f->is_bytes = true;
    f->line = p->line;
    f->col = col;
    return 1;
undo:
    if (f->val != f->small_)
        free(f->val);
    b->nfields--;
    return 0;
}

/* 1 if the line was read, 0 if it must go the general way, or -ENOMEM. */
static int parse_field_fast(struct parser *p, struct vpci_block *b,
                            const char *line, size_t n)
{
    struct scan sc = {line, 0, n};
    uint32_t off, v, m[3] = {0, 0, 0};
    unsigned width;

    skip_blanks(&sc);
    unsigned col = (unsigned)sc.i + 1;
    if (b->nfields >= MAX_FIELDS_PER_BLOCK || !scan_hex(&sc, 0xfff, &off))
        return 0;
    skip_blanks(&sc);
    if (scan_word(&sc, "u8", 2))
        width = 1;
    else if (scan_word(&sc, "u16", 3))
        width = 2;
    else if (scan_word(&sc, "u32", 3))
        width = 4;
    else if (scan_word(&sc, "bytes", 5))
        return fast_bytes(p, b, &sc, (uint16_t)off, col);
    else
        return 0;
    skip_blanks(&sc);
    const char *name = line + sc.i;
    if (sc.i == n || name[0] < 'a' || name[0] > 'z')
        return 0;
    for (sc.i++; sc.i < n && char_is((unsigned char)line[sc.i], CC_NAME);)
        sc.i++;
    size_t nl = (size_t)(line + sc.i - name);
    if (nl > VPCI_NAME_MAX || !at_word_end(&sc))
        return 0;
    uint32_t max = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    skip_padding(&sc);
    if (!scan_hex(&sc, max, &v))
        return 0;
    bool seen[3] = {false, false, false};
    while (!at_line_end(&sc)) {
        int k = scan_mask_kw(&sc);
        if (k < 0 || seen[k])
            return 0;
        seen[k] = true;
        skip_blanks(&sc);
        if (!scan_hex(&sc, max, &m[k]))
            return 0;
    }
    struct vpci_field *f = vpci_block_new_field(b, width);
    if (!f)
        return -ENOMEM;
    f->off = (uint16_t)off;
    memcpy(f->name, name, nl);
    put_reg(f, width, v, m);
    f->line = p->line;
    f->col = col;
    return 1;
}

/* ---------------------------------------------------------- statements */

static int parse_stmt(struct parser *p, bool binding)
{
    size_t max = binding ? MAX_STMTS : 64;
    size_t n = binding ? p->l->nbinding : p->l->nrequires;
    if (n >= max)
        FAIL(p, p->toks[0].col,
             "too many lines in the %s section (at most %zu)",
             binding ? "binding" : "requires", max);
    if (p->ntoks > 65)
        FAIL(p, p->toks[65].col, "too many words on one line (at most 64)");
    char *words[65];
    size_t nw = 0;
    int r = 0;
    for (; nw < p->ntoks; nw++) {
        words[nw] = strndup(p->toks[nw].s, p->toks[nw].n);
        if (!words[nw]) {
            r = -ENOMEM;
            goto out;
        }
    }
    size_t bad = 0;
    char msg[200];
    if (vpci_stmt_check(binding, words[0], (const char *const *)words + 1,
                        nw - 1, &bad, msg, sizeof(msg)) < 0) {
        unsigned col = bad < p->ntoks ? p->toks[bad].col : end_col(p);
        vpci_seterr(p->err, p->line, col, "%s", msg);
        r = -EINVAL;
        goto out;
    }
    /* Each keyword once, except map lines in a binding. */
    const struct vpci_stmt *list = binding ? p->l->binding : p->l->requires;
    if (strcmp(words[0], "map"))
        for (size_t i = 0; i < n; i++)
            if (!strcmp(list[i].key, words[0])) {
                vpci_seterr(p->err, p->line, p->toks[0].col,
                            "'%s' given twice in the %s section (first on "
                            "line %u)",
                            words[0], binding ? "binding" : "requires",
                            list[i].line);
                r = -EINVAL;
                goto out;
            }
    r = vpci_layout_add_stmt(p->l, binding, words[0],
                             (const char *const *)words + 1, nw - 1);
    if (r == 0) {
        struct vpci_stmt *s = binding ? &p->l->binding[p->l->nbinding - 1]
                                      : &p->l->requires[p->l->nrequires - 1];
        s->line = p->line;
        s->col = p->toks[0].col;
    }
out:
    for (size_t i = 0; i < nw; i++)
        free(words[i]);
    return r;
}

/* ------------------------------------------------------------ top level */

static int parse_bar(struct parser *p)
{
    char b[48];
    uint64_t idx, size, from;
    int r;
    unsigned nbars = p->l->header_type == 1 ? 2 : VPCI_MAX_BARS;

    if ((r = need(p, 1, "a BAR index")) < 0)
        return r;
    if ((r = parse_dec(p, &p->toks[1], 0, nbars - 1, "a BAR index", &idx)) < 0)
        return r;
    if (p->bar_line[idx])
        FAIL(p, p->toks[1].col, "BAR %u is already described on line %u",
             (unsigned)idx, p->bar_line[idx]);
    struct vpci_bar *bar = &p->l->bars[idx];
    if ((r = need(p, 2, "a BAR type (mem32, mem64 or io)")) < 0)
        return r;
    const struct tok *t = &p->toks[2];
    if (tok_is(t, "mem32"))
        bar->type = VPCI_BAR_MEM32;
    else if (tok_is(t, "mem64"))
        bar->type = VPCI_BAR_MEM64;
    else if (tok_is(t, "io"))
        bar->type = VPCI_BAR_IO;
    else
        FAIL(p, t->col, "expected a BAR type (mem32, mem64 or io), found '%s'",
             tokstr(t, b));
    size_t i = 3;
    if (i < p->ntoks && tok_is(&p->toks[i], "prefetch")) {
        bar->prefetch = true;
        i++;
    }
    if ((r = need(p, i, "'size'")) < 0)
        return r;
    if (!tok_is(&p->toks[i], "size"))
        FAIL(p, p->toks[i].col, "expected %s'size', found '%s'",
             i == 3 ? "'prefetch' or " : "", tokstr(&p->toks[i], b));
    if ((r = need(p, i + 1, "a BAR size")) < 0)
        return r;
    if ((r = parse_hex(p, &p->toks[i + 1], UINT64_MAX, "a BAR size", &size)) <
        0)
        return r;
    bar->size = size;
    bar->line = p->line;
    bar->col = p->toks[0].col;
    i += 2;
    if (i < p->ntoks && tok_is(&p->toks[i], "from")) {
        if ((r = need(p, i + 1, "a physical BAR index")) < 0)
            return r;
        if ((r = parse_dec(p, &p->toks[i + 1], 0, VPCI_MAX_BARS - 1,
                           "a physical BAR index", &from)) < 0)
            return r;
        bar->from = (int)from;
        i += 2;
    }
    p->bar_line[idx] = p->line;
    return expect_end(p, i, "the bar line");
}

static int parse_rom(struct parser *p)
{
    char b[48];
    int r;
    if (p->seen_rom)
        FAIL(p, p->toks[0].col, "the ROM is already described");
    p->seen_rom = true;
    p->l->rom.line = p->line;
    p->l->rom.col = p->toks[0].col;
    if ((r = need(p, 1, "'none' or 'size'")) < 0)
        return r;
    if (tok_is(&p->toks[1], "none"))
        return expect_end(p, 2, "the rom line");
    if (!tok_is(&p->toks[1], "size"))
        FAIL(p, p->toks[1].col, "expected 'none' or 'size', found '%s'",
             tokstr(&p->toks[1], b));
    uint64_t size;
    if ((r = need(p, 2, "a ROM size")) < 0)
        return r;
    if ((r = parse_hex(p, &p->toks[2], 0x80000000u, "a ROM size", &size)) < 0)
        return r;
    p->l->rom.size = (uint32_t)size;
    size_t i = 3;
    if (i < p->ntoks && tok_is(&p->toks[i], "from")) {
        if ((r = need(p, i + 1, "'rom'")) < 0)
            return r;
        if (!tok_is(&p->toks[i + 1], "rom"))
            FAIL(p, p->toks[i + 1].col,
                 "expected 'rom' (the physical expansion ROM), found '%s'",
                 tokstr(&p->toks[i + 1], b));
        p->l->rom.from_phys = true;
        i += 2;
    }
    return expect_end(p, i, "the rom line");
}

static int parse_cap(struct parser *p, bool ext)
{
    char b[48];
    uint64_t off, id, version = 0;
    int r;

    if (p->l->nblocks >= MAX_BLOCKS)
        FAIL(p, 1, "too many capabilities (at most %u)", MAX_BLOCKS);
    if ((r = need(p, 1, "a capability offset")) < 0)
        return r;
    if ((r = parse_hex(p, &p->toks[1], 0xfff, "a capability offset", &off)) < 0)
        return r;
    if ((r = need(p, 2,
                  ext ? "an extended capability name or 'id'"
                      : "a capability name or 'id'")) < 0)
        return r;
    const struct tok *t = &p->toks[2];
    const struct vpci_cap_def *def = NULL;
    size_t i;
    if (tok_is(t, "id")) {
        if ((r = need(p, 3, "a capability ID")) < 0)
            return r;
        if ((r = parse_hex(p, &p->toks[3], ext ? 0xffff : 0xff,
                           "a capability ID", &id)) < 0)
            return r;
        def = vpci_cap_find(ext, (uint16_t)id);
        i = 4;
    } else {
        char name[VPCI_NAME_MAX + 1];
        if (t->n <= VPCI_NAME_MAX) {
            memcpy(name, t->s, t->n);
            name[t->n] = '\0';
            def = vpci_cap_find_name(ext, name);
        }
        if (!def)
            FAIL(p, t->col,
                 "unknown %s '%s': expected a name from vpci-layout(5) or "
                 "'id 0x%s'",
                 ext ? "extended capability" : "capability", tokstr(t, b),
                 ext ? "NNNN" : "NN");
        id = def->id;
        i = 3;
    }
    if (ext) {
        if ((r = need(p, i, "'version'")) < 0)
            return r;
        if (!tok_is(&p->toks[i], "version"))
            FAIL(p, p->toks[i].col, "expected 'version', found '%s'",
                 tokstr(&p->toks[i], b));
        if ((r = need(p, i + 1, "a capability version")) < 0)
            return r;
        if ((r = parse_dec(p, &p->toks[i + 1], 0, 15, "a capability version",
                           &version)) < 0)
            return r;
        i += 2;
    }
    if ((r = expect_end(p, i, ext ? "the ecap line" : "the cap line")) < 0)
        return r;
    struct vpci_block *blk;
    r = vpci_layout_add_block(p->l, ext ? VPCI_BLOCK_ECAP : VPCI_BLOCK_CAP,
                              (uint16_t)off, (uint16_t)id, (uint8_t)version,
                              def ? def->name : "", &blk);
    if (r < 0)
        return r;
    blk->line = p->line;
    blk->col = p->toks[0].col;
    p->cur_block = (long)p->l->nblocks - 1;
    return 0;
}

static int parse_top(struct parser *p)
{
    char b[48];
    const struct tok *t = &p->toks[0];
    uint64_t v;
    int r;

    switch (p->phase) {
    case PH_FORMAT:
        if (!tok_is(t, "vpci-layout"))
            FAIL(p, t->col,
                 "expected 'vpci-layout 1' as the first statement, found '%s'",
                 tokstr(t, b));
        if ((r = need(p, 1, "the format version")) < 0)
            return r;
        if (!tok_is(&p->toks[1], "1"))
            FAIL(p, p->toks[1].col,
                 "unsupported format version '%s': this library reads "
                 "version 1",
                 tokstr(&p->toks[1], b));
        p->phase = PH_SPACE;
        return expect_end(p, 2, "the vpci-layout line");
    case PH_SPACE:
        if (!tok_is(t, "space"))
            FAIL(p, t->col, "expected 'space 256' or 'space 4096', found '%s'",
                 tokstr(t, b));
        if ((r = need(p, 1, "256 or 4096")) < 0)
            return r;
        if (tok_is(&p->toks[1], "256"))
            v = 256;
        else if (tok_is(&p->toks[1], "4096"))
            v = 4096;
        else
            FAIL(p, p->toks[1].col,
                 "expected a config space size of 256 or 4096, found '%s'",
                 tokstr(&p->toks[1], b));
        p->l->space = (unsigned)v;
        p->phase = PH_HEADER;
        return expect_end(p, 2, "the space line");
    case PH_HEADER:
        if (!tok_is(t, "header"))
            FAIL(p, t->col,
                 "expected 'header type0' or 'header type1', found '%s'",
                 tokstr(t, b));
        if ((r = need(p, 1, "type0 or type1")) < 0)
            return r;
        if (tok_is(&p->toks[1], "type0"))
            p->l->header_type = 0;
        else if (tok_is(&p->toks[1], "type1"))
            p->l->header_type = 1;
        else
            FAIL(p, p->toks[1].col,
                 "expected a header type (type0 or type1), found '%s'",
                 tokstr(&p->toks[1], b));
        p->l->blocks[0].line = p->line;
        p->l->blocks[0].col = t->col;
        p->cur_block = 0;
        p->phase = PH_BODY;
        return expect_end(p, 2, "the header line");
    default:
        break;
    }

    bool body = tok_is(t, "bar") || tok_is(t, "rom") || tok_is(t, "cap") ||
                tok_is(t, "ecap") || tok_is(t, "raw");
    if (body && p->phase != PH_BODY)
        FAIL(p, t->col, "'%s' after the %s section: %s", tokstr(t, b),
             p->phase == PH_REQUIRES ? "requires" : "binding",
             "bars, the ROM, capabilities and raw bytes come first");
    p->cur_block = -1;
    if (tok_is(t, "bar"))
        return parse_bar(p);
    if (tok_is(t, "rom"))
        return parse_rom(p);
    if (tok_is(t, "cap"))
        return parse_cap(p, false);
    if (tok_is(t, "ecap"))
        return parse_cap(p, true);
    if (tok_is(t, "raw")) {
        if (p->seen_raw)
            FAIL(p, t->col, "only one raw block is allowed");
        p->seen_raw = true;
        struct vpci_block *blk;
        r = vpci_layout_add_block(p->l, VPCI_BLOCK_RAW, 0, 0, 0, "", &blk);
        if (r < 0)
            return r;
        blk->line = p->line;
        blk->col = t->col;
        p->cur_block = (long)p->l->nblocks - 1;
        return expect_end(p, 1, "the raw line");
    }
    if (tok_is(t, "requires")) {
        if (p->seen_requires || p->phase == PH_BINDING)
            FAIL(p, t->col, "%s",
                 p->seen_requires
                     ? "only one requires section is allowed"
                     : "the requires section comes before the binding");
        p->seen_requires = true;
        p->phase = PH_REQUIRES;
        return expect_end(p, 1, "the requires line");
    }
    if (tok_is(t, "binding")) {
        if (p->seen_binding)
            FAIL(p, t->col, "only one binding section is allowed");
        p->seen_binding = true;
        p->l->has_binding = true;
        p->phase = PH_BINDING;
        return expect_end(p, 1, "the binding line");
    }
    if (tok_is(t, "header") || tok_is(t, "space") || tok_is(t, "vpci-layout"))
        FAIL(p, t->col, "'%s' may appear only once, at the top", tokstr(t, b));
    FAIL(p, t->col,
         "unknown keyword '%s': expected bar, rom, cap, ecap, raw, requires "
         "or binding",
         tokstr(t, b));
}

static int parse_indented(struct parser *p)
{
    if (p->phase == PH_REQUIRES)
        return parse_stmt(p, false);
    if (p->phase == PH_BINDING)
        return parse_stmt(p, true);
    if (p->cur_block < 0)
        FAIL(p, p->toks[0].col,
             "indented line outside a block: fields belong to a header, cap, "
             "ecap or raw block");
    return parse_field(p, &p->l->blocks[p->cur_block]);
}

VPCI_EXPORT int vpci_layout_parse(const char *text, size_t len,
                                  struct vpci_layout **ret,
                                  struct vpci_error *err)
{
    struct parser p = {0};
    int r;

    if (!text || !ret)
        return -EINVAL;
    if (err)
        memset(err, 0, sizeof(*err));
    if (len > MAX_TEXT) {
        vpci_seterr(err, 0, 0,
                    "layout text is too large (%zu bytes, at most "
                    "%u)",
                    len, MAX_TEXT);
        return -EINVAL;
    }
    if (memchr(text, '\0', len)) {
        size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);
        unsigned line = 1;
        size_t bol = 0; /* start of the NUL's line */
        for (size_t i = 0; i < at; i++)
            if (text[i] == '\n') {
                line++;
                bol = i + 1;
            }
        vpci_seterr(err, line, (unsigned)(at - bol) + 1,
                    "NUL byte in layout text");
        return -EINVAL;
    }
    r = vpci_layout_new(VPCI_CFG_SPACE_STD, 0, &p.l);
    if (r < 0)
        return r;
    p.text = text;
    p.len = len;
    p.err = err;
    p.cur_block = -1;

    while (p.pos < len) {
        const char *line = text + p.pos;
        const char *nl = memchr(line, '\n', len - p.pos);
        size_t n = nl ? (size_t)(nl - line) : len - p.pos;
        p.pos += n + (nl ? 1 : 0);
        p.line++;
        if (n > MAX_LINE) {
            vpci_seterr(err, p.line, MAX_LINE + 1,
                        "line too long (at most %u characters)", MAX_LINE);
            r = -EINVAL;
            goto fail;
        }
        if (p.phase == PH_BODY && p.cur_block >= 0 && n > 0 &&
            (line[0] == ' ' || line[0] == '\t')) {
            r = parse_field_fast(&p, &p.l->blocks[p.cur_block], line, n);
            if (r < 0)
                goto fail;
            if (r > 0)
                continue;
        }
        bool indented;
        if ((r = tokenize(&p, line, n, &indented)) < 0)
            goto fail;
        if (p.ntoks == 0)
            continue;
        if (indented && p.phase >= PH_BODY)
            r = parse_indented(&p);
        else if (indented)
            r = (vpci_seterr(err, p.line, p.toks[0].col,
                             "unexpected indentation: '%s' is a top-level "
                             "statement",
                             p.phase == PH_FORMAT  ? "vpci-layout"
                             : p.phase == PH_SPACE ? "space"
                                                   : "header"),
                 -EINVAL);
        else
            r = parse_top(&p);
        if (r < 0)
            goto fail;
    }
    if (p.phase < PH_BODY) {
        vpci_seterr(err, p.line + 1, 1, "unexpected end of file: expected %s",
                    p.phase == PH_FORMAT  ? "'vpci-layout 1'"
                    : p.phase == PH_SPACE ? "'space 256' or 'space 4096'"
                                          : "'header type0' or 'header type1'");
        r = -EINVAL;
        goto fail;
    }
    free(p.toks);
    p.toks = NULL;
    r = vpci_layout_validate(p.l, err);
    if (r < 0)
        goto fail;
    *ret = p.l;
    return 0;
fail:
    if (r == -ENOMEM)
        vpci_seterr(err, p.line, 1, "out of memory");
    free(p.toks);
    vpci_layout_free(p.l);
    return r;
}
