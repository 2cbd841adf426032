/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vpci-layout text format: every malformed file in fixtures/bad/ fails
 * at the line, column and message its first line states; the canonical
 * text of every golden fixture is exact to the byte; parse and format are
 * inverse; the builder API; error formatting; input limits.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, NULL-terminated names of the files in fixtures/SUB ending in
 * suffix; free with tu_free_list. */
static char **list_fixtures(const char *sub, const char *suffix, size_t *ret_n)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", tu_fixture(sub));
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    size_t n = 0, sl = strlen(suffix);
    char **list = calloc(1, sizeof(char *));
    ck_assert_ptr_nonnull(list);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= sl || strcmp(de->d_name + l - sl, suffix))
            continue;
        list = realloc(list, (n + 2) * sizeof(char *));
        ck_assert_ptr_nonnull(list);
        list[n] = strdup(de->d_name);
        ck_assert_ptr_nonnull(list[n]);
        list[++n] = NULL;
    }
    closedir(d);
    qsort(list, n, sizeof(char *), cmp_str);
    if (ret_n)
        *ret_n = n;
    return list;
}

static char *read_fixture(const char *rel, size_t *ret_len)
{
    return tu_read(tu_fixture(rel), ret_len);
}

static char *format_text(const struct vpci_layout *l)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(vpci_layout_format(l, &text, &len), 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

/* Equal strings, or a failure naming the first line that differs. */
static void assert_text_eq(const char *what, const char *got, const char *want)
{
    if (!strcmp(got, want))
        return;
    unsigned line = 1;
    size_t i = 0;
    size_t bol = 0;
    while (got[i] && got[i] == want[i]) {
        if (got[i] == '\n') {
            line++;
            bol = i + 1;
        }
        i++;
    }
    int gl = (int)strcspn(got + bol, "\n");
    int wl = (int)strcspn(want + bol, "\n");
    ck_abort_msg("%s: line %u differs:\n  got:  '%.*s'\n  want: '%.*s'", what,
                 line, gl, got + bol, wl, want + bol);
}

/* Parse text that must fail; returns the error and checks that *ret was
 * left alone (ret_* parameters are written only on success). */
static struct vpci_error parse_fail(const char *text, size_t len)
{
    struct vpci_layout *sentinel = (struct vpci_layout *)&sentinel;
    struct vpci_layout *l = sentinel;
    struct vpci_error err;
    memset(&err, 0x5a, sizeof(err));
    int r = vpci_layout_parse(text, len, &l, &err);
    ck_assert_msg(r == -EINVAL, "parse returned %d, expected -EINVAL", r);
    ck_assert_msg(l == sentinel, "parse wrote *ret on failure");
    ck_assert_msg(memchr(err.msg, '\0', sizeof(err.msg)) != NULL,
                  "error message not terminated");
    return err;
}

static void assert_err(const struct vpci_error *err, unsigned line,
                       unsigned col, const char *msg)
{
    ck_assert_msg(err->line == line && err->col == col &&
                      !strcmp(err->msg, msg),
                  "error is %u:%u: '%s', expected %u:%u: '%s'", err->line,
                  err->col, err->msg, line, col, msg);
}

static const char hdr256[] = "vpci-layout 1\n"
                             "space 256\n"
                             "header type0\n"
                             "  0x00 u16 vendor_id 0x1af4\n"
                             "  0x02 u16 device_id 0x1000\n"
                             "  0x06 u16 status 0x0010\n"
                             "  0x0e u8 header_type 0x00\n";

/* Semantic equality of two layouts, independent of block order between
 * kinds, of field order inside a block and of statement order.  On a
 * difference writes what differs to why and returns false. */
static bool same_layout(const struct vpci_layout *a,
                        const struct vpci_layout *b, char *why, size_t n)
{
#define DIFF(...)                                                              \
    do {                                                                       \
        snprintf(why, n, __VA_ARGS__);                                         \
        return false;                                                          \
    } while (0)
    if (a->format != b->format || a->space != b->space ||
        a->header_type != b->header_type)
        DIFF("format/space/header type differ");
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        const struct vpci_bar *x = &a->bars[i], *y = &b->bars[i];
        if (x->type != y->type || x->prefetch != y->prefetch ||
            x->size != y->size || x->from != y->from)
            DIFF("bar %u differs", i);
    }
    if (a->rom.size != b->rom.size || a->rom.from_phys != b->rom.from_phys)
        DIFF("rom differs");
    if (a->nblocks != b->nblocks)
        DIFF("%zu blocks vs %zu", a->nblocks, b->nblocks);
    /* Chain order: the sequence of cap (and of ecap) offsets. */
    for (int kind = VPCI_BLOCK_CAP; kind <= VPCI_BLOCK_ECAP; kind++) {
        size_t i = 1, j = 1;
        for (;;) {
            while (i < a->nblocks && (int)a->blocks[i].kind != kind)
                i++;
            while (j < b->nblocks && (int)b->blocks[j].kind != kind)
                j++;
            if (i >= a->nblocks || j >= b->nblocks)
                break;
            if (a->blocks[i].off != b->blocks[j].off)
                DIFF("chain order differs at 0x%x/0x%x", a->blocks[i].off,
                     b->blocks[j].off);
            i++;
            j++;
        }
        if (i < a->nblocks || j < b->nblocks)
            DIFF("chains differ in length");
    }
    for (size_t i = 0; i < a->nblocks; i++) {
        const struct vpci_block *x = &a->blocks[i], *y = NULL;
        for (size_t j = 0; j < b->nblocks && !y; j++)
            if (b->blocks[j].kind == x->kind && b->blocks[j].off == x->off)
                y = &b->blocks[j];
        if (!y)
            DIFF("block %zu (kind %d at 0x%x) missing", i, x->kind, x->off);
        if (x->id != y->id || x->version != y->version ||
            strcmp(x->name, y->name) || x->nfields != y->nfields)
            DIFF("block at 0x%x: id/version/name/field count differ", x->off);
        for (size_t f = 0; f < x->nfields; f++) {
            const struct vpci_field *p = &x->fields[f], *q = NULL;
            for (size_t g = 0; g < y->nfields && !q; g++)
                if (y->fields[g].off == p->off)
                    q = &y->fields[g];
            if (!q)
                DIFF("field at 0x%x+0x%x missing", x->off, p->off);
            if (p->len != q->len || p->is_bytes != q->is_bytes ||
                strcmp(p->name, q->name) || memcmp(p->val, q->val, p->len) ||
                memcmp(p->rw, q->rw, p->len) ||
                memcmp(p->w1c, q->w1c, p->len) ||
                memcmp(p->phys, q->phys, p->len))
                DIFF("field at 0x%x+0x%x differs", x->off, p->off);
        }
    }
    if (a->has_binding != b->has_binding)
        DIFF("has_binding differs");
    for (int pass = 0; pass < 2; pass++) {
        const struct vpci_stmt *x = pass ? a->binding : a->requires;
        const struct vpci_stmt *y = pass ? b->binding : b->requires;
        size_t nx = pass ? a->nbinding : a->nrequires;
        size_t ny = pass ? b->nbinding : b->nrequires;
        if (nx != ny)
            DIFF("%s: %zu lines vs %zu", pass ? "binding" : "requires", nx, ny);
        for (size_t i = 0; i < nx; i++) {
            bool found = false;
            for (size_t j = 0; j < ny && !found; j++) {
                if (strcmp(x[i].key, y[j].key) || x[i].nargs != y[j].nargs)
                    continue;
                found = true;
                for (size_t k = 0; k < x[i].nargs; k++)
                    found &= !strcmp(x[i].args[k], y[j].args[k]);
            }
            if (!found)
                DIFF("%s line '%s' missing", pass ? "binding" : "requires",
                     x[i].key);
        }
    }
    return true;
#undef DIFF
}

/* ------------------------------------------------------- bad fixtures */

START_TEST(test_bad_fixtures)
{
    size_t n = 0;
    char **names = list_fixtures("bad", ".vpci", &n);
    ck_assert_msg(n >= 110, "only %zu files in fixtures/bad", n);
    char report[4096] = "";
    size_t rlen = 0;
    unsigned nfail = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        char rel[600];
        snprintf(rel, sizeof(rel), "bad/%s", name);
        ck_assert_msg(strlen(name) > 9 && name[0] >= '0' && name[0] <= '9' &&
                          name[1] >= '0' && name[1] <= '9' && name[2] >= '0' &&
                          name[2] <= '9' && name[3] == '-',
                      "%s: not named NNN-description.vpci", name);
        size_t len;
        char *text = read_fixture(rel, &len);
        unsigned line = 0, col = 0;
        int pos = 0;
        ck_assert_msg(
            sscanf(text, "# expect: %u:%u: %n", &line, &col, &pos) == 2 &&
                pos > 0,
            "%s: first line is not '# expect: LINE:COL: MESSAGE'", name);
        size_t mlen = strcspn(text + pos, "\n");
        ck_assert_msg(mlen > 0 && mlen < 200, "%s: bad expected message", name);
        char want[200];
        memcpy(want, text + pos, mlen);
        want[mlen] = '\0';
        struct vpci_error err = parse_fail(text, len);
        if (err.line != line || err.col != col || !strstr(err.msg, want)) {
            nfail++;
            int k = snprintf(report + rlen, sizeof(report) - rlen,
                             "\n%s: got %u:%u: %s\n    want %u:%u: ...%s...",
                             name, err.line, err.col, err.msg, line, col, want);
            if (k > 0 && (size_t)k < sizeof(report) - rlen)
                rlen += (size_t)k;
        }
        free(text);
    }
    tu_free_list(names);
    ck_assert_msg(nfail == 0, "%u of %zu bad fixtures failed:%s", nfail, n,
                  report);
}
END_TEST

/* Repairing the one bad spot of a bad fixture removes its error: the
 * fixtures fail for the stated reason, not for another. */
START_TEST(test_bad_fixture_sanity)
{
    char *text = read_fixture("bad/004-format-version-2.vpci", NULL);
    char *p = strstr(text, "vpci-layout 2");
    ck_assert_ptr_nonnull(p);
    p[12] = '1';
    struct vpci_error err = parse_fail(text, strlen(text));
    /* the rest of that file ends after the space line */
    ck_assert_str_eq(err.msg, "unexpected end of file: expected "
                              "'header type0' or 'header type1'");
    free(text);

    size_t len;
    text = read_fixture("bad/037-nul-in-value.vpci", &len);
    char *nul = memchr(text, '\0', len);
    ck_assert_ptr_nonnull(nul);
    *nul = '0';
    struct vpci_layout *l = tu_layout_text(text);
    const struct vpci_field *f =
        vpci_block_find_field(&l->blocks[0], "interrupt_line");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(vpci_field_value(f), 0xff); /* "\0xff" -> "0xff" */
    vpci_layout_free(l);
    free(text);
}
END_TEST

/* ------------------------------------------------------ golden files */

START_TEST(test_golden_canon)
{
    size_t n = 0;
    char **names = list_fixtures("layouts", ".vpci", &n);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        char rel[600], crel[600];
        size_t bl = strlen(names[i]) - 5;
        snprintf(rel, sizeof(rel), "layouts/%s", names[i]);
        snprintf(crel, sizeof(crel), "layouts/%.*s.canon", (int)bl, names[i]);
        FILE *f = fopen(tu_fixture(crel), "rb");
        if (!f)
            continue;
        fclose(f);
        char *canon = read_fixture(crel, NULL);
        struct vpci_layout *l = tu_layout(rel);
        char *text = format_text(l);
        assert_text_eq(rel, text, canon);
        free(text);
        vpci_layout_free(l);
        free(canon);
        checked++;
    }
    tu_free_list(names);
    /* bridge, bytes, example, minimal, sections, sketch */
    ck_assert_uint_ge(checked, 6);
}
END_TEST

START_TEST(test_golden_messy)
{
    /* messy.vpci is example.vpci with every liberty the syntax allows:
     * tabs, comments, upper-case hex, leading zeros, 'cap OFF id ID' for
     * a known ID, fields and statements out of order, raw before ecaps. */
    char *canon = read_fixture("layouts/example.canon", NULL);
    struct vpci_layout *l = tu_layout("layouts/messy.vpci");
    char *text = format_text(l);
    assert_text_eq("messy.vpci", text, canon);
    free(text);
    vpci_layout_free(l);
    free(canon);
}
END_TEST

START_TEST(test_format_idempotent)
{
    size_t n = 0;
    char **names = list_fixtures("layouts", ".canon", &n);
    ck_assert_uint_ge(n, 6);
    for (size_t i = 0; i < n; i++) {
        char rel[600];
        snprintf(rel, sizeof(rel), "layouts/%s", names[i]);
        char *canon = read_fixture(rel, NULL);
        struct vpci_layout *l = tu_layout_text(canon);
        char *text = format_text(l);
        assert_text_eq(rel, text, canon);
        free(text);
        vpci_layout_free(l);
        free(canon);
    }
    tu_free_list(names);
}
END_TEST

START_TEST(test_roundtrip_equal)
{
    size_t n = 0;
    char **names = list_fixtures("layouts", ".vpci", &n);
    ck_assert_uint_ge(n, 7);
    for (size_t i = 0; i < n; i++) {
        char rel[600], why[200];
        snprintf(rel, sizeof(rel), "layouts/%s", names[i]);
        struct vpci_layout *l = tu_layout(rel);
        char *text = format_text(l);
        struct vpci_layout *back = tu_layout_text(text);
        ck_assert_msg(same_layout(l, back, why, sizeof(why)),
                      "%s: parse(format(x)) != x: %s", rel, why);
        free(text);
        vpci_layout_free(back);
        vpci_layout_free(l);
    }
    tu_free_list(names);
}
END_TEST

/* The comparator used above finds differences (else the round trip test
 * could not fail). */
START_TEST(test_roundtrip_comparator)
{
    char why[200];
    struct vpci_layout *a = tu_layout("layouts/example.vpci");
    struct vpci_layout *b = tu_layout("layouts/messy.vpci");
    ck_assert_msg(same_layout(a, b, why, sizeof(why)), "%s", why);

    struct vpci_layout *c;
    ck_assert_int_eq(vpci_layout_dup(a, &c), 0);
    /* one bit of one mask of one field */
    c->blocks[1].fields[1].rw[1] ^= 0x01;
    ck_assert(!same_layout(a, c, why, sizeof(why)));
    ck_assert_str_eq(why, "field at 0x60+0x8 differs");
    c->blocks[1].fields[1].rw[1] ^= 0x01;
    ck_assert(same_layout(a, c, why, sizeof(why)));
    c->bars[0].from = -1;
    ck_assert(!same_layout(a, c, why, sizeof(why)));
    ck_assert_str_eq(why, "bar 0 differs");
    vpci_layout_free(c);

    struct vpci_layout *d = tu_layout("layouts/sketch.vpci");
    ck_assert(!same_layout(a, d, why, sizeof(why)));
    vpci_layout_free(d);
    vpci_layout_free(a);
    vpci_layout_free(b);
}
END_TEST

START_TEST(test_every_fixture_parses)
{
    static const char *const sfx[] = {".vpci", ".canon"};
    size_t total = 0;
    for (int s = 0; s < 2; s++) {
        size_t n = 0;
        char **names = list_fixtures("layouts", sfx[s], &n);
        for (size_t i = 0; i < n; i++) {
            char rel[600];
            snprintf(rel, sizeof(rel), "layouts/%s", names[i]);
            size_t len;
            char *text = read_fixture(rel, &len);
            struct vpci_layout *l = NULL;
            struct vpci_error err;
            int r = vpci_layout_parse(text, len, &l, &err);
            ck_assert_msg(r == 0, "%s:%u:%u: %s", rel, err.line, err.col,
                          err.msg);
            ck_assert_int_eq(vpci_layout_validate(l, &err), 0);
            ck_assert_uint_eq(l->blocks[0].kind, VPCI_BLOCK_HEADER);
            vpci_layout_free(l);
            free(text);
            total++;
        }
        tu_free_list(names);
    }
    ck_assert_uint_ge(total, 13);
}
END_TEST

/* What the parser puts in the model for the example fixture. */
START_TEST(test_parse_model)
{
    struct vpci_layout *l = tu_layout("layouts/example.vpci");
    ck_assert_uint_eq(l->format, 1);
    ck_assert_uint_eq(l->space, 4096);
    ck_assert_uint_eq(l->header_type, 0);
    ck_assert_uint_eq(l->nblocks, 6);
    static const struct {
        enum vpci_block_kind kind;
        uint16_t off, id;
        uint8_t version;
        const char *name;
        size_t nfields;
        unsigned line;
    } want[] = {
        {VPCI_BLOCK_HEADER, 0, 0, 0, "", 6, 5},
        {VPCI_BLOCK_CAP, 0x60, 0x10, 0, "pcie", 2, 16},
        {VPCI_BLOCK_CAP, 0x9c, 0x11, 0, "msix", 1, 19},
        {VPCI_BLOCK_ECAP, 0x100, 0x0e, 1, "ari", 1, 21},
        {VPCI_BLOCK_ECAP, 0xff8, 0x1b, 1, "pasid", 2, 23},
        {VPCI_BLOCK_RAW, 0, 0, 0, "", 1, 26},
    };
    for (size_t i = 0; i < 6; i++) {
        const struct vpci_block *b = &l->blocks[i];
        ck_assert_uint_eq(b->kind, want[i].kind);
        ck_assert_uint_eq(b->off, want[i].off);
        ck_assert_uint_eq(b->id, want[i].id);
        ck_assert_uint_eq(b->version, want[i].version);
        ck_assert_str_eq(b->name, want[i].name);
        ck_assert_uint_eq(b->nfields, want[i].nfields);
        ck_assert_uint_eq(b->line, want[i].line);
        ck_assert_uint_eq(b->col, 1);
    }
    const struct vpci_field *f = &l->blocks[0].fields[2];
    ck_assert_str_eq(f->name, "command");
    ck_assert_uint_eq(f->off, 0x04);
    ck_assert_uint_eq(f->len, 2);
    ck_assert(!f->is_bytes);
    ck_assert_uint_eq(f->val[0], 0x00);
    ck_assert_uint_eq(f->rw[0], 0x06);
    ck_assert_uint_eq(f->rw[1], 0x04);
    ck_assert_uint_eq(f->phys[0], 0x06);
    ck_assert_uint_eq(f->phys[1], 0x00);
    ck_assert_uint_eq(f->w1c[0] | f->w1c[1], 0);
    ck_assert_uint_eq(f->line, 8);
    ck_assert_uint_eq(f->col, 3);
    f = &l->blocks[5].fields[0];
    ck_assert(f->is_bytes);
    ck_assert_str_eq(f->name, "");
    ck_assert_uint_eq(f->off, 0xa0);
    ck_assert_uint_eq(f->len, 4);
    ck_assert_uint_eq(vpci_field_value(f), 0x04030201);

    ck_assert_uint_eq(l->bars[0].type, VPCI_BAR_MEM64);
    ck_assert(l->bars[0].prefetch);
    ck_assert_uint_eq(l->bars[0].size, 0x2000000);
    ck_assert_int_eq(l->bars[0].from, 0);
    ck_assert_uint_eq(l->bars[0].line, 13);
    for (unsigned i = 1; i < VPCI_MAX_BARS; i++) {
        ck_assert_uint_eq(l->bars[i].type, VPCI_BAR_NONE);
        ck_assert_int_eq(l->bars[i].from, -1);
    }
    ck_assert_uint_eq(l->rom.size, 0);
    ck_assert(!l->rom.from_phys);

    ck_assert_uint_eq(l->nrequires, 4);
    ck_assert_str_eq(l->requires[3].key, "pasid");
    ck_assert_uint_eq(l->requires[3].nargs, 2);
    ck_assert_str_eq(l->requires[3].args[0], "width");
    ck_assert_str_eq(l->requires[3].args[1], "20");
    ck_assert_uint_eq(l->requires[3].line, 33);
    ck_assert_uint_eq(l->requires[3].col, 3);
    ck_assert(l->has_binding);
    ck_assert_uint_eq(l->nbinding, 4);
    ck_assert_str_eq(l->binding[3].key, "map");
    ck_assert_uint_eq(l->binding[3].nargs, 4);
    ck_assert_str_eq(l->binding[3].args[3], "0x70");
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_crlf_and_no_final_newline)
{
    char *canon = read_fixture("layouts/sketch.canon", NULL);
    size_t n = strlen(canon);
    char *crlf = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(crlf);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (canon[i] == '\n')
            crlf[k++] = '\r';
        crlf[k++] = canon[i];
    }
    crlf[k] = '\0';
    struct vpci_layout *l = tu_layout_text(crlf);
    char *text = format_text(l);
    assert_text_eq("CRLF sketch", text, canon);
    free(text);
    vpci_layout_free(l);

    /* without the final newline */
    canon[n - 1] = '\0';
    l = tu_layout_text(canon);
    text = format_text(l);
    canon[n - 1] = '\n';
    assert_text_eq("sketch without final newline", text, canon);
    free(text);
    vpci_layout_free(l);
    free(crlf);
    free(canon);
}
END_TEST

START_TEST(test_empty_sections)
{
    /* An empty requires section is dropped; an empty binding section is
     * kept (it says "this layout is bound, to nothing yet"); an empty raw
     * block describes nothing and is dropped. */
    char text[1024];
    snprintf(text, sizeof(text), "%sraw\nrequires\nbinding\n", hdr256);
    struct vpci_layout *l = tu_layout_text(text);
    ck_assert_uint_eq(l->nblocks, 2);
    ck_assert_uint_eq(l->nrequires, 0);
    ck_assert(l->has_binding);
    char *out = format_text(l);
    assert_text_eq("empty sections", out,
                   "vpci-layout 1\n"
                   "space 256\n"
                   "\n"
                   "header type0\n"
                   "  0x00 u16 vendor_id            0x1af4\n"
                   "  0x02 u16 device_id            0x1000\n"
                   "  0x06 u16 status               0x0010\n"
                   "  0x0e u8  header_type          0x00\n"
                   "\n"
                   "rom none\n"
                   "\n"
                   "binding\n");
    struct vpci_layout *back = tu_layout_text(out);
    ck_assert_uint_eq(back->nblocks, 1);
    ck_assert(back->has_binding);
    ck_assert_uint_eq(back->nbinding, 0);
    /* the dropped raw block is no difference */
    char *d = NULL;
    ck_assert_int_eq(vpci_layout_diff(l, back, &d), 0);
    ck_assert_str_eq(d, "");
    free(d);
    free(out);
    vpci_layout_free(back);
    vpci_layout_free(l);
}
END_TEST

/* ------------------------------------------------------------ builder */

START_TEST(test_builder_new)
{
    struct vpci_layout *l = (struct vpci_layout *)1;
    ck_assert_int_eq(vpci_layout_new(512, 0, &l), -EINVAL);
    ck_assert_int_eq(vpci_layout_new(256, 2, &l), -EINVAL);
    ck_assert_int_eq(vpci_layout_new(256, 0, NULL), -EINVAL);
    ck_assert_ptr_eq(l, (struct vpci_layout *)1);
    ck_assert_int_eq(vpci_layout_new(4096, 1, &l), 0);
    ck_assert_uint_eq(l->format, VPCI_FORMAT_VERSION);
    ck_assert_uint_eq(l->space, 4096);
    ck_assert_uint_eq(l->header_type, 1);
    ck_assert_uint_eq(l->nblocks, 1);
    ck_assert_uint_eq(l->blocks[0].kind, VPCI_BLOCK_HEADER);
    ck_assert_uint_eq(l->blocks[0].nfields, 0);
    ck_assert_uint_eq(l->blocks[0].line, 0);
    for (unsigned i = 0; i < VPCI_MAX_BARS; i++) {
        ck_assert_uint_eq(l->bars[i].type, VPCI_BAR_NONE);
        ck_assert_int_eq(l->bars[i].from, -1);
    }
    ck_assert_uint_eq(l->rom.size, 0);
    ck_assert_uint_eq(l->nrequires, 0);
    ck_assert_uint_eq(l->nbinding, 0);
    ck_assert(!l->has_binding);
    /* no IDs yet: the validator says so, with no position */
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_validate(l, &err), -EINVAL);
    assert_err(&err, 0, 0,
               "the header has no vendor_id (0x00 u16): every layout states "
               "it");
    vpci_layout_free(l);
    vpci_layout_free(NULL);
}
END_TEST

START_TEST(test_builder_add)
{
    struct vpci_layout *l;
    struct vpci_block *b, *h;
    ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
    /* a second header is refused */
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_HEADER, 0, 0, 0, "", &b), -EINVAL);
    ck_assert_int_eq(vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x40, 1, 0,
                                           "abcdefghijklmnopqrstuvwxyz0123456",
                                           &b),
                     -EINVAL);
    ck_assert_int_eq(
        vpci_layout_add_block(NULL, VPCI_BLOCK_CAP, 0x40, 1, 0, "pm", &b),
        -EINVAL);
    ck_assert_uint_eq(l->nblocks, 1);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x40, 0x01, 0, "pm", &b), 0);
    ck_assert_ptr_eq(b, &l->blocks[1]);
    ck_assert_uint_eq(b->kind, VPCI_BLOCK_CAP);
    ck_assert_uint_eq(b->off, 0x40);
    ck_assert_uint_eq(b->id, 0x01);
    ck_assert_str_eq(b->name, "pm");
    ck_assert_uint_eq(b->nfields, 0);
    /* a NULL name is "", a name of VPCI_NAME_MAX characters fits */
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, NULL, NULL), 0);
    ck_assert_str_eq(l->blocks[2].name, "");
    ck_assert_int_eq(vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x50, 0x09, 0,
                                           "abcdefghijklmnopqrstuvwxyz012345",
                                           &b),
                     0);
    ck_assert_str_eq(b->name, "abcdefghijklmnopqrstuvwxyz012345");
    ck_assert_int_eq(vpci_block_add_reg(b, 0x02, 1,
                                        "abcdefghijklmnopqrstuvwxyz012345", 0,
                                        0, 0, 0),
                     0);
    ck_assert_str_eq(b->fields[0].name, "abcdefghijklmnopqrstuvwxyz012345");

    h = &l->blocks[0];
    ck_assert_int_eq(vpci_block_add_reg(h, 0x04, 3, "x", 0, 0, 0, 0), -EINVAL);
    ck_assert_int_eq(vpci_block_add_reg(h, 0x04, 2, NULL, 0, 0, 0, 0), -EINVAL);
    ck_assert_int_eq(vpci_block_add_reg(h, 0x04, 2,
                                        "abcdefghijklmnopqrstuvwxyz0123456", 0,
                                        0, 0, 0),
                     -EINVAL);
    ck_assert_int_eq(vpci_block_add_reg(NULL, 0x04, 2, "x", 0, 0, 0, 0),
                     -EINVAL);
    ck_assert_uint_eq(h->nfields, 0);
    ck_assert_int_eq(vpci_block_add_reg(h, 0x28, 4, "cardbus_cis", 0x11223344,
                                        0xff00ff00, 0x00ff0000, 0x00000001),
                     0);
    const struct vpci_field *f = &h->fields[0];
    static const uint8_t v[4] = {0x44, 0x33, 0x22, 0x11};
    static const uint8_t rw[4] = {0x00, 0xff, 0x00, 0xff};
    static const uint8_t w1c[4] = {0x00, 0x00, 0xff, 0x00};
    static const uint8_t ph[4] = {0x01, 0x00, 0x00, 0x00};
    ck_assert_mem_eq(f->val, v, 4);
    ck_assert_mem_eq(f->rw, rw, 4);
    ck_assert_mem_eq(f->w1c, w1c, 4);
    ck_assert_mem_eq(f->phys, ph, 4);
    ck_assert_uint_eq(f->off, 0x28);
    ck_assert_uint_eq(f->len, 4);
    ck_assert(!f->is_bytes);
    ck_assert_str_eq(f->name, "cardbus_cis");
    ck_assert_uint_eq(f->line, 0);
    ck_assert_uint_eq(vpci_field_value(f), 0x11223344);
    /* values wider than the register keep their low bytes */
    ck_assert_int_eq(
        vpci_block_add_reg(h, 0x04, 2, "command", 0x12345, 0xfffff, 0, 0), 0);
    ck_assert_uint_eq(vpci_field_value(&h->fields[1]), 0x2345);
    ck_assert_uint_eq(h->fields[1].rw[0], 0xff);
    ck_assert_uint_eq(h->fields[1].rw[1], 0xff);

    static const uint8_t bv[3] = {0xaa, 0xbb, 0xcc};
    static const uint8_t bp[3] = {0x00, 0xf0, 0x00};
    ck_assert_int_eq(vpci_block_add_bytes(h, 0x08, 0, bv, NULL, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(vpci_block_add_bytes(h, 0x08, 4097, bv, NULL, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(vpci_block_add_bytes(h, 0x08, 3, NULL, NULL, NULL, NULL),
                     -EINVAL);
    ck_assert_int_eq(vpci_block_add_bytes(h, 0x08, 3, bv, NULL, NULL, bp), 0);
    f = &h->fields[2];
    ck_assert(f->is_bytes);
    ck_assert_str_eq(f->name, "");
    ck_assert_uint_eq(f->len, 3);
    ck_assert_mem_eq(f->val, bv, 3);
    ck_assert_mem_eq(f->phys, bp, 3);
    static const uint8_t zero[3] = {0, 0, 0};
    ck_assert_mem_eq(f->rw, zero, 3);
    ck_assert_mem_eq(f->w1c, zero, 3);
    /* bytes fields: the first bytes, little-endian */
    ck_assert_uint_eq(vpci_field_value(f), 0xccbbaa);
    ck_assert_uint_eq(vpci_field_value(NULL), 0);

    /* find_field: by name, registers only */
    ck_assert_ptr_eq(vpci_block_find_field(h, "command"), &h->fields[1]);
    ck_assert_ptr_eq(vpci_block_find_field(h, "cardbus_cis"), &h->fields[0]);
    ck_assert_ptr_null(vpci_block_find_field(h, "status"));
    ck_assert_ptr_null(vpci_block_find_field(h, ""));
    ck_assert_ptr_null(vpci_block_find_field(h, NULL));
    ck_assert_ptr_null(vpci_block_find_field(NULL, "command"));

    /* statements */
    static const char *const dev[] = {"1af4:1000", "1af4:1041"};
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, NULL, dev, 2), -EINVAL);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "device", NULL, 2),
                     -EINVAL);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "device", dev, 2), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "migration", NULL, 0), 0);
    ck_assert(!l->has_binding);
    ck_assert_uint_eq(l->nrequires, 2);
    ck_assert_str_eq(l->requires[0].key, "device");
    ck_assert_uint_eq(l->requires[0].nargs, 2);
    ck_assert_str_eq(l->requires[0].args[1], "1af4:1041");
    ck_assert_ptr_ne(l->requires[0].args[1], dev[1]); /* copied */
    ck_assert_uint_eq(l->requires[1].nargs, 0);
    static const char *const ver[] = {"7"};
    ck_assert_int_eq(vpci_layout_add_stmt(l, true, "version", ver, 1), 0);
    ck_assert(l->has_binding);
    ck_assert_uint_eq(l->nbinding, 1);
    ck_assert_str_eq(l->binding[0].args[0], "7");
    vpci_layout_free(l);
}
END_TEST

/* example.canon, built in memory with fields, blocks and statements in a
 * scrambled order: the canonical text is the same. */
static struct vpci_layout *build_example(void)
{
    struct vpci_layout *l;
    struct vpci_block *b;
    ck_assert_int_eq(vpci_layout_new(4096, 0, &l), 0);
    b = &l->blocks[0];
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x3c, 1, "interrupt_line", 0xff, 0xff, 0, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x0e, 1, "header_type", 0x00, 0, 0, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x06, 2, "status", 0x0010, 0, 0xf900, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x04, 2, "command", 0x0000, 0x0406, 0, 0x0006),
        0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x02, 2, "device_id", 0x101e, 0, 0, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x00, 2, "vendor_id", 0x15b3, 0, 0, 0), 0);
    l->bars[0] = (struct vpci_bar){VPCI_BAR_MEM64, true, 0x2000000, 0, 0, 0};
    static const uint8_t raw[4] = {1, 2, 3, 4};
    ck_assert_int_eq(vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b),
                     0);
    ck_assert_int_eq(vpci_block_add_bytes(b, 0xa0, 4, raw, NULL, NULL, NULL),
                     0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x100, 0x0e, 1, "ari", &b),
        0);
    ck_assert_int_eq(vpci_block_add_reg(b, 0x04, 2, "ari_cap", 0, 0, 0, 0), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x60, 0x10, 0, "pcie", &b), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x08, 2, "devctl", 0x2937, 0x7cff, 0, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x02, 2, "pcie_caps", 0x0002, 0, 0, 0), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0xff8, 0x1b, 1, "pasid", &b),
        0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x06, 2, "pasid_ctl", 0, 0x0007, 0, 0), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x04, 2, "pasid_cap", 0x1406, 0, 0, 0), 0);
    ck_assert_int_eq(
        vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x9c, 0x11, 0, "msix", &b), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(b, 0x02, 2, "msgctl", 0x003f, 0xc000, 0, 0), 0);
    static const char *const pasid[] = {"width", "20"};
    static const char *const drv[] = {"mlx5_vfio_pci"};
    static const char *const dev[] = {"15b3:101e"};
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "pasid", pasid, 2), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "migration", NULL, 0), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "driver", drv, 1), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, false, "device", dev, 1), 0);
    static const char *const map[] = {"cap", "pcie", "0x60", "0x70"};
    static const char *const bdf[] = {"0000:3b:00.1"};
    static const char *const ver[] = {"1"};
    static const char *const it[] = {"cx6dx-vf-std"};
    ck_assert_int_eq(vpci_layout_add_stmt(l, true, "map", map, 4), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, true, "bdf", bdf, 1), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, true, "version", ver, 1), 0);
    ck_assert_int_eq(vpci_layout_add_stmt(l, true, "instance-type", it, 1), 0);
    return l;
}

START_TEST(test_builder_format)
{
    struct vpci_layout *l = build_example();
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_validate(l, &err), 0);
    char *canon = read_fixture("layouts/example.canon", NULL);
    char *text = format_text(l);
    /* the chain is pcie -> msix (file order), raw goes last */
    assert_text_eq("built example", text, canon);
    free(text);

    /* the same layout parsed from text is equal field by field */
    char why[200];
    struct vpci_layout *p = tu_layout("layouts/example.vpci");
    ck_assert_msg(same_layout(l, p, why, sizeof(why)), "%s", why);
    vpci_layout_free(p);
    vpci_layout_free(l);

    /* minimal.canon from the builder, no BARs, no ROM */
    ck_assert_int_eq(vpci_layout_new(256, 0, &l), 0);
    ck_assert_int_eq(
        vpci_block_add_reg(&l->blocks[0], 0, 2, "vendor_id", 0x1af4, 0, 0, 0),
        0);
    ck_assert_int_eq(
        vpci_block_add_reg(&l->blocks[0], 2, 2, "device_id", 0x1000, 0, 0, 0),
        0);
    ck_assert_int_eq(
        vpci_block_add_reg(&l->blocks[0], 0x0e, 1, "header_type", 0, 0, 0, 0),
        0);
    ck_assert_int_eq(vpci_layout_validate(l, &err), 0);
    free(canon);
    canon = read_fixture("layouts/minimal.canon", NULL);
    text = format_text(l);
    assert_text_eq("built minimal", text, canon);
    free(text);
    free(canon);
    vpci_layout_free(l);

    ck_assert_int_eq(vpci_layout_format(NULL, &text, NULL), -EINVAL);
}
END_TEST

START_TEST(test_builder_dup)
{
    struct vpci_layout *a = tu_layout("layouts/sections.vpci"), *c = NULL;
    ck_assert_int_eq(vpci_layout_dup(NULL, &c), -EINVAL);
    ck_assert_int_eq(vpci_layout_dup(a, NULL), -EINVAL);
    ck_assert_int_eq(vpci_layout_dup(a, &c), 0);
    char why[200];
    ck_assert_msg(same_layout(a, c, why, sizeof(why)), "%s", why);
    char *ta = format_text(a), *tc = format_text(c);
    ck_assert_str_eq(ta, tc);
    free(tc);
    /* positions are copied */
    ck_assert_uint_eq(c->blocks[0].line, a->blocks[0].line);
    ck_assert_uint_eq(c->blocks[3].line, a->blocks[3].line);
    ck_assert_uint_eq(c->blocks[3].fields[1].line, a->blocks[3].fields[1].line);
    ck_assert_uint_eq(c->requires[2].line, a->requires[2].line);
    ck_assert_uint_eq(c->binding[4].col, a->binding[4].col);
    /* deep: changing the copy leaves the original alone */
    struct vpci_field *f = &c->blocks[0].fields[2]; /* device_id */
    ck_assert_str_eq(f->name, "device_id");
    ck_assert_ptr_ne(f->val, a->blocks[0].fields[2].val);
    f->val[0] = 0xd4;
    c->binding[0].args[0][0] = 'X';
    c->requires[0].args[0][0] = 'X';
    ck_assert_uint_eq(vpci_field_value(&a->blocks[0].fields[2]), 0x10d3);
    ck_assert_uint_eq(vpci_field_value(f), 0x10d4);
    tc = format_text(a);
    ck_assert_str_eq(ta, tc);
    free(tc);
    free(ta);
    vpci_layout_free(c);
    vpci_layout_free(a);
}
END_TEST

START_TEST(test_builder_remove_block)
{
    struct vpci_layout *l = tu_layout("layouts/example.vpci");
    char *canon = read_fixture("layouts/example.canon", NULL);
    vpci_layout_remove_block(l, 0); /* the header stays */
    vpci_layout_remove_block(l, 6); /* out of range */
    vpci_layout_remove_block(NULL, 1);
    ck_assert_uint_eq(l->nblocks, 6);
    ck_assert_str_eq(l->blocks[2].name, "msix");
    vpci_layout_remove_block(l, 2);
    ck_assert_uint_eq(l->nblocks, 5);
    ck_assert_str_eq(l->blocks[1].name, "pcie");
    ck_assert_str_eq(l->blocks[2].name, "ari");
    ck_assert_str_eq(l->blocks[3].name, "pasid");
    ck_assert_uint_eq(l->blocks[4].kind, VPCI_BLOCK_RAW);
    ck_assert_uint_eq(vpci_field_value(&l->blocks[3].fields[0]), 0x1406);
    /* the text loses exactly the msix block */
    static const char msix[] = "cap 0x9c msix\n"
                               "  0x02 u16 msgctl               0x003f  rw "
                               "0xc000\n\n";
    char *at = strstr(canon, msix);
    ck_assert_ptr_nonnull(at);
    memmove(at, at + strlen(msix), strlen(at + strlen(msix)) + 1);
    char *text = format_text(l);
    assert_text_eq("example without msix", text, canon);
    free(text);
    /* the last block */
    vpci_layout_remove_block(l, 4);
    ck_assert_uint_eq(l->nblocks, 4);
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_validate(l, &err), 0);
    free(canon);
    vpci_layout_free(l);
}
END_TEST

/* Rules only a layout built in memory can break: no position. */
START_TEST(test_validate_built)
{
    static const struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "BAR 2 does not exist in a type-1 header (BARs 0-1)"},
        {1, "only one raw block is allowed"},
        {2, "unknown requires keyword 'sriov'"},
        {3, "capability ID 0x100 exceeds 0xff"},
        {4, "capability name 'msix' does not match ID 0x10"},
        {5, "BAR 0: physical BAR 6 out of range"},
        {6, "'version' given twice in the binding section"},
        {7, "field 'x': a bit cannot be both rw and w1c (byte 0: 0x01)"},
        {8, "malformed field name 'Bad'"},
        {9, "version 16 exceeds 15"},
        {10, "unsupported format version 2"},
        {11, "expected a NUMA node 0-1023, found '4096'"},
        {12, "raw block has an offset"},
        {13, "a layout starts with its header block"},
        {14, "field width must be 1, 2 or 4 bytes"},
        {15, "header type must be 0 or 1"},
        {16, "malformed bytes field"},
        {17, "space must be 256 or 4096"},
        {18, "the header must be the first block"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vpci_layout *l;
        struct vpci_block *b;
        int ht = cases[i].what == 0 ? 1 : 0;
        ck_assert_int_eq(vpci_layout_new(4096, (unsigned)ht, &l), 0);
        b = &l->blocks[0];
        vpci_block_add_reg(b, 0, 2, "vendor_id", 0x1af4, 0, 0, 0);
        vpci_block_add_reg(b, 2, 2, "device_id", 0x1000, 0, 0, 0);
        vpci_block_add_reg(b, 6, 2, "status", 0x10, 0, 0, 0);
        vpci_block_add_reg(b, 0x0e, 1, "header_type", (uint32_t)ht, 0, 0, 0);
        struct vpci_error err;
        ck_assert_msg(vpci_layout_validate(l, &err) == 0, "case %zu: %s", i,
                      err.msg);
        static const char *const one[] = {"1"};
        static const char *const numa[] = {"4096"};
        switch (cases[i].what) {
        case 0:
            l->bars[2] =
                (struct vpci_bar){VPCI_BAR_MEM32, false, 0x1000, -1, 0, 0};
            break;
        case 1:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", NULL);
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", NULL);
            break;
        case 2:
            vpci_layout_add_stmt(l, false, "sriov", NULL, 0);
            break;
        case 3:
            vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x40, 0x100, 0, "", NULL);
            break;
        case 4:
            vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x40, 0x10, 0, "msix",
                                  NULL);
            break;
        case 5:
            l->bars[0] =
                (struct vpci_bar){VPCI_BAR_MEM32, false, 0x1000, 6, 0, 0};
            break;
        case 6:
            vpci_layout_add_stmt(l, true, "version", one, 1);
            vpci_layout_add_stmt(l, true, "version", one, 1);
            break;
        case 7:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b);
            vpci_block_add_reg(b, 0x40, 1, "x", 0, 0x03, 0x01, 0);
            break;
        case 8:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b);
            vpci_block_add_reg(b, 0x40, 1, "Bad", 0, 0, 0, 0);
            break;
        case 9:
            vpci_layout_add_block(l, VPCI_BLOCK_ECAP, 0x100, 0x0e, 16, "ari",
                                  NULL);
            break;
        case 10:
            l->format = 2;
            break;
        case 11:
            vpci_layout_add_stmt(l, false, "numa", numa, 1);
            break;
        case 12:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0x40, 0, 0, "", NULL);
            break;
        case 13:
            l->blocks[0].kind = VPCI_BLOCK_RAW;
            break;
        case 14:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b);
            vpci_block_add_reg(b, 0x40, 4, "x", 0, 0, 0, 0);
            b->fields[0].len = 3;
            break;
        case 15:
            l->header_type = 2;
            break;
        case 16:
            vpci_layout_add_block(l, VPCI_BLOCK_RAW, 0, 0, 0, "", &b);
            vpci_block_add_bytes(b, 0x40, 2, (const uint8_t *)"ab", NULL, NULL,
                                 NULL);
            strcpy(b->fields[0].name, "x");
            break;
        case 17:
            l->space = 512;
            break;
        case 18:
            vpci_layout_add_block(l, VPCI_BLOCK_CAP, 0x40, 0x01, 0, "pm", &b);
            b->kind = VPCI_BLOCK_HEADER;
            break;
        }
        memset(&err, 0x5a, sizeof(err));
        ck_assert_msg(vpci_layout_validate(l, &err) == -EINVAL,
                      "case %zu validates", i);
        ck_assert_msg(err.line == 0 && err.col == 0 &&
                          !strcmp(err.msg, cases[i].msg),
                      "case %zu: %u:%u: '%s', expected '%s'", i, err.line,
                      err.col, err.msg, cases[i].msg);
        vpci_layout_free(l);
    }
    ck_assert_int_eq(vpci_layout_validate(NULL, NULL), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(test_error_format)
{
    struct vpci_error err = {12, 7, "boom"};
    char buf[128];
    ck_assert_int_eq(vpci_error_format(&err, "a.vpci", buf, sizeof(buf)), 24);
    ck_assert_str_eq(buf, "a.vpci:12:7: error: boom");
    ck_assert_int_eq(vpci_error_format(&err, NULL, buf, sizeof(buf)), 25);
    ck_assert_str_eq(buf, "<input>:12:7: error: boom");
    err.col = 0; /* a line but no column: column 1 */
    vpci_error_format(&err, "a.vpci", buf, sizeof(buf));
    ck_assert_str_eq(buf, "a.vpci:12:1: error: boom");
    err.line = 0; /* no position */
    ck_assert_int_eq(vpci_error_format(&err, "a.vpci", buf, sizeof(buf)), 19);
    ck_assert_str_eq(buf, "a.vpci: error: boom");
    /* truncation: NUL-terminated, returns the full length */
    err = (struct vpci_error){3, 4, "a long message"};
    ck_assert_int_eq(vpci_error_format(&err, "f", buf, 8), 28);
    ck_assert_str_eq(buf, "f:3:4: ");
    ck_assert_int_eq(vpci_error_format(&err, "f", buf, 0), -EINVAL);
    ck_assert_int_eq(vpci_error_format(NULL, "f", buf, 8), -EINVAL);
    ck_assert_int_eq(vpci_error_format(&err, "f", NULL, 8), -EINVAL);

    /* from a real parse */
    static const char text[] = "# x\nvpci-layout 2\n";
    err = parse_fail(text, strlen(text));
    vpci_error_format(&err, "bad.vpci", buf, sizeof(buf));
    ck_assert_str_eq(buf, "bad.vpci:2:13: error: unsupported format version "
                          "'2': this library reads version 1");
}
END_TEST

START_TEST(test_parse_args)
{
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_parse(NULL, 0, &l, &err), -EINVAL);
    ck_assert_int_eq(vpci_layout_parse(hdr256, strlen(hdr256), NULL, &err),
                     -EINVAL);
    /* err may be NULL */
    ck_assert_int_eq(vpci_layout_parse("bogus", 5, &l, NULL), -EINVAL);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(vpci_layout_parse(hdr256, strlen(hdr256), &l, NULL), 0);
    ck_assert_ptr_nonnull(l);
    vpci_layout_free(l);
    /* only len bytes are read: the text need not be NUL-terminated */
    char *copy = strdup(hdr256);
    ck_assert_ptr_nonnull(copy);
    size_t n = strlen(copy);
    ck_assert_int_eq(vpci_layout_parse(copy, n - 16, &l, &err), -EINVAL);
    /* the header_type line was cut to "  0x0e u8 h" */
    assert_err(&err, 7, 12, "expected a value at the end of the line");
    free(copy);
}
END_TEST

/* ------------------------------------------------------------- limits */

START_TEST(test_limit_text_size)
{
    const size_t max = 16u << 20;
    char *big = malloc(max + 1);
    ck_assert_ptr_nonnull(big);
    /* exactly the limit: the layout, then comment lines of 64 KiB */
    size_t h = strlen(hdr256);
    memcpy(big, hdr256, h);
    for (size_t i = h; i < max; i++)
        big[i] = (i - h) % 65536 == 65535 ? '\n' : '#';
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    int r = vpci_layout_parse(big, max, &l, &err);
    ck_assert_msg(r == 0, "%u:%u: %s", err.line, err.col, err.msg);
    ck_assert_uint_eq(l->blocks[0].nfields, 4);
    vpci_layout_free(l);
    /* one byte more: refused before it is read, with no position */
    big[max] = '\n';
    err = parse_fail(big, max + 1);
    assert_err(&err, 0, 0,
               "layout text is too large (16777217 bytes, at most "
               "16777216)");
    free(big);
}
END_TEST

START_TEST(test_limit_line_length)
{
    /* 65536 characters are fine, 65537 are not */
    size_t h = strlen(hdr256);
    char *text = malloc(h + 65540);
    ck_assert_ptr_nonnull(text);
    memcpy(text, hdr256, h);
    memset(text + h, '#', 65536);
    text[h + 65536] = '\n';
    struct vpci_layout *l = NULL;
    struct vpci_error err;
    ck_assert_int_eq(vpci_layout_parse(text, h + 65537, &l, &err), 0);
    vpci_layout_free(l);
    text[h + 65536] = '#';
    text[h + 65537] = '\n';
    err = parse_fail(text, h + 65538);
    assert_err(&err, 8, 65537, "line too long (at most 65536 characters)");
    /* also on the last line, without a newline */
    err = parse_fail(text, h + 65537);
    assert_err(&err, 8, 65537, "line too long (at most 65536 characters)");
    free(text);
}
END_TEST

/* head, then line n times. */
static char *repeat_line(const char *head, const char *line, unsigned n)
{
    size_t hl = strlen(head), ll = strlen(line);
    char *text = malloc(hl + (size_t)n * ll + 2);
    ck_assert_ptr_nonnull(text);
    memcpy(text, head, hl);
    for (unsigned i = 0; i < n; i++)
        memcpy(text + hl + (size_t)i * ll, line, ll);
    text[hl + (size_t)n * ll] = '\0';
    return text;
}

START_TEST(test_limit_fields)
{
    /* 4096 fields in a block parse (and then fail validation); 4097 do
     * not parse */
    char head[1024];
    snprintf(head, sizeof(head), "%sraw\n", hdr256);
    char *text = repeat_line(head, "  0x040 bytes 1 a5\n", 4096);
    struct vpci_error err = parse_fail(text, strlen(text));
    /* hdr256 is 7 lines, raw is line 8, fields start on line 9 */
    assert_err(&err, 10, 3,
               "bytes at 0x40 overlaps bytes at 0x40 (line 9) at 0x40");
    free(text);
    text = repeat_line(head, "  0x040 bytes 1 a5\n", 4097);
    err = parse_fail(text, strlen(text));
    assert_err(&err, 9 + 4096, 3,
               "too many fields in one block (at most 4096)");
    free(text);
}
END_TEST

START_TEST(test_limit_caps)
{
    char *text = repeat_line(hdr256, "cap 0x40 pm\n", 1099);
    struct vpci_error err = parse_fail(text, strlen(text));
    assert_err(&err, 9, 1,
               "the capability header overlaps the header of cap at 0x40 "
               "(line 8) at 0x40");
    free(text);
    text = repeat_line(hdr256, "cap 0x40 pm\n", 1100);
    err = parse_fail(text, strlen(text));
    assert_err(&err, 8 + 1099, 1, "too many capabilities (at most 1100)");
    free(text);
}
END_TEST

START_TEST(test_limit_binding_lines)
{
    char head[1024];
    snprintf(head, sizeof(head), "%sbinding\n", hdr256);
    char *text = repeat_line(head, "  map bar 0 0\n", 1024);
    struct vpci_layout *l = tu_layout_text(text);
    ck_assert_uint_eq(l->nbinding, 1024);
    vpci_layout_free(l);
    free(text);
    text = repeat_line(head, "  map bar 0 0\n", 1025);
    struct vpci_error err = parse_fail(text, strlen(text));
    assert_err(&err, 9 + 1024, 3,
               "too many lines in the binding section (at most 1024)");
    free(text);
}
END_TEST

START_TEST(test_limit_words)
{
    /* "  map x x ...": the keyword at column 3, word k at 5 + 2k */
    char head[1024];
    snprintf(head, sizeof(head), "%sbinding\n  map", hdr256);
    char *text = repeat_line(head, " x", 64);
    strcat(text, "\n");
    struct vpci_error err = parse_fail(text, strlen(text));
    assert_err(&err, 9, 5 + 2 * 5,
               "too many words: expected map cap|ecap NAME VOFF POFF|none, "
               "map bar N M|none or map rom rom|none");
    free(text);
    text = repeat_line(head, " x", 65);
    strcat(text, "\n");
    err = parse_fail(text, strlen(text));
    assert_err(&err, 9, 5 + 2 * 65, "too many words on one line (at most 64)");
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layout");
    TCase *tc;

    tc = tcase_create("bad");
    tcase_add_test(tc, test_bad_fixtures);
    tcase_add_test(tc, test_bad_fixture_sanity);
    suite_add_tcase(s, tc);

    tc = tcase_create("golden");
    tcase_add_test(tc, test_golden_canon);
    tcase_add_test(tc, test_golden_messy);
    tcase_add_test(tc, test_format_idempotent);
    tcase_add_test(tc, test_roundtrip_equal);
    tcase_add_test(tc, test_roundtrip_comparator);
    tcase_add_test(tc, test_every_fixture_parses);
    tcase_add_test(tc, test_parse_model);
    tcase_add_test(tc, test_crlf_and_no_final_newline);
    tcase_add_test(tc, test_empty_sections);
    suite_add_tcase(s, tc);

    tc = tcase_create("builder");
    tcase_add_test(tc, test_builder_new);
    tcase_add_test(tc, test_builder_add);
    tcase_add_test(tc, test_builder_format);
    tcase_add_test(tc, test_builder_dup);
    tcase_add_test(tc, test_builder_remove_block);
    tcase_add_test(tc, test_validate_built);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, test_error_format);
    tcase_add_test(tc, test_parse_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_limit_text_size);
    tcase_add_test(tc, test_limit_line_length);
    tcase_add_test(tc, test_limit_fields);
    tcase_add_test(tc, test_limit_caps);
    tcase_add_test(tc, test_limit_binding_lines);
    tcase_add_test(tc, test_limit_words);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
