/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Quirk files (data/quirks/ *.quirk, vpci-layout(5) "QUIRKS"):
 *
 *   # comment
 *   device 8086:0b25 [subsystem 8086:0000]
 *     hide cap|ecap NAME|0xID
 *     keep 0xOFF LEN [rw]
 *     pasid 0xOFF [width N] [exec] [priv]
 *
 * Line oriented like the layout format; the first error stops the parse
 * and names its line and column.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quirks.h"

#define MAX_QUIRKS 4096
#define MAX_ACTIONS 64
#define MAX_TOKS 12
#define MAX_LINE 1024

struct qtok {
    const char *s;
    size_t n;
    unsigned col;
};

struct qparser {
    struct vpci_quirks *q;
    struct vpci_error *err;
    unsigned line;
    struct qtok t[MAX_TOKS];
    size_t nt;
    size_t first; /* quirks before this text belong to other files */
};

#define QFAIL(p, col, ...)                                                     \
    do {                                                                       \
        vpci_seterr((p)->err, (p)->line, (col), __VA_ARGS__);                  \
        return -EINVAL;                                                        \
    } while (0)

static bool tis(const struct qtok *t, const char *lit)
{
    return t->n == strlen(lit) && !memcmp(t->s, lit, t->n);
}

static const char *tstr(const struct qtok *t, char buf[48])
{
    size_t n = t->n < 40 ? t->n : 40;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t->s[i];
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(buf + n, t->n > n ? "..." : "");
    return buf;
}

/* Number: 0x-prefixed hex or decimal, at most max. */
static int num(struct qparser *p, const struct qtok *t, uint64_t max,
               const char *what, uint64_t *ret)
{
    char b[48];
    const char *s = t->s;
    size_t n = t->n, i = 0;
    unsigned base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    uint64_t v = 0;
    if (i == n)
        QFAIL(p, t->col, "expected %s, found '%s'", what, tstr(t, b));
    for (; i < n; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            QFAIL(p, t->col, "expected %s, found '%s'", what, tstr(t, b));
        v = v * base + d;
        if (v > max)
            QFAIL(p, t->col, "%s '%s' exceeds 0x%llx", what, tstr(t, b),
                  (unsigned long long)max);
    }
    *ret = v;
    return 0;
}

/* "VVVV:DDDD", exactly four hex digits each. */
static int idpair(struct qparser *p, const struct qtok *t, uint16_t *a,
                  uint16_t *b)
{
    char buf[48];
    unsigned v[2] = {0, 0};
    if (t->n != 9 || t->s[4] != ':')
        QFAIL(p, t->col, "expected VVVV:DDDD (hex IDs), found '%s'",
              tstr(t, buf));
    for (size_t i = 0; i < 9; i++) {
        if (i == 4)
            continue;
        char c = t->s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            QFAIL(p, t->col,
                  "expected VVVV:DDDD (lowercase hex IDs), found '%s'",
                  tstr(t, buf));
        v[i > 4] = v[i > 4] * 16 + d;
    }
    *a = (uint16_t)v[0];
    *b = (uint16_t)v[1];
    return 0;
}

static int tokenize(struct qparser *p, const char *s, size_t n, bool *indented)
{
    p->nt = 0;
    *indented = n > 0 && (s[0] == ' ' || s[0] == '\t');
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '#')
            break;
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
            QFAIL(p, (unsigned)i + 1,
                  "unexpected byte 0x%02x (quirk files are ASCII)",
                  (unsigned char)c);
        if (p->nt == MAX_TOKS)
            QFAIL(p, (unsigned)i + 1, "too many words on one line");
        struct qtok *t = &p->t[p->nt++];
        t->s = s + i;
        t->col = (unsigned)i + 1;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
               s[i] != '#') {
            /* Inside a word too, not only where one starts. */
            if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
                QFAIL(p, (unsigned)i + 1,
                      "unexpected byte 0x%02x (quirk files are ASCII)",
                      (unsigned char)s[i]);
            i++;
        }
        t->n = (size_t)(s + i - t->s);
    }
    return 0;
}

static int end_of(struct qparser *p, size_t i, const char *what)
{
    char b[48];
    if (i < p->nt)
        QFAIL(p, p->t[i].col, "unexpected '%s' at the end of %s",
              tstr(&p->t[i], b), what);
    return 0;
}

static int need(struct qparser *p, size_t i, const char *what)
{
    if (i < p->nt)
        return 0;
    unsigned col = 1;
    if (p->nt)
        col = p->t[p->nt - 1].col + (unsigned)p->t[p->nt - 1].n;
    QFAIL(p, col, "expected %s at the end of the line", what);
}

static int device_line(struct qparser *p)
{
    char b[48];
    int r;
    if (p->q->n >= MAX_QUIRKS)
        QFAIL(p, 1, "too many quirks (at most %d)", MAX_QUIRKS);
    struct quirk nq = {0};
    nq.line = p->line;
    if ((r = need(p, 1, "VVVV:DDDD")) < 0 ||
        (r = idpair(p, &p->t[1], &nq.vendor, &nq.device)) < 0)
        return r;
    size_t i = 2;
    if (i < p->nt) {
        if (!tis(&p->t[i], "subsystem"))
            QFAIL(p, p->t[i].col,
                  "expected 'subsystem' or the end of the "
                  "line, found '%s'",
                  tstr(&p->t[i], b));
        if ((r = need(p, i + 1, "SSSS:SSSS")) < 0 ||
            (r = idpair(p, &p->t[i + 1], &nq.subsys_vendor, &nq.subsys_id)) < 0)
            return r;
        nq.has_subsys = true;
        i += 2;
    }
    if ((r = end_of(p, i, "the device line")) < 0)
        return r;
    struct quirk *nv = realloc(p->q->q, (p->q->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    p->q->q = nv;
    p->q->q[p->q->n++] = nq;
    return 0;
}

static int cap_ref(struct qparser *p, size_t i, bool ext, uint16_t *id)
{
    char b[48], name[VPCI_NAME_MAX + 1];
    const struct qtok *t = &p->t[i];
    if (t->n > 2 && t->s[0] == '0' && t->s[1] == 'x') {
        uint64_t v;
        int r = num(p, t, ext ? 0xffff : 0xff, "a capability ID", &v);
        if (r < 0)
            return r;
        *id = (uint16_t)v;
        return 0;
    }
    const struct vpci_cap_def *d = NULL;
    if (t->n <= VPCI_NAME_MAX) {
        memcpy(name, t->s, t->n);
        name[t->n] = '\0';
        d = vpci_cap_find_name(ext, name);
    }
    if (!d)
        QFAIL(p, t->col,
              "unknown %s '%s': expected a name from "
              "vpci-layout(5) or a hex ID",
              ext ? "extended capability" : "capability", tstr(t, b));
    *id = d->id;
    return 0;
}

static int action_line(struct qparser *p)
{
    char b[48];
    int r;
    uint64_t v;
    if (p->q->n == p->first)
        QFAIL(p, p->t[0].col, "an action needs a 'device' line above it");
    struct quirk *q = &p->q->q[p->q->n - 1];
    if (q->nactions >= MAX_ACTIONS)
        QFAIL(p, p->t[0].col, "too many actions for one device (at most %d)",
              MAX_ACTIONS);
    struct quirk_action a = {0};
    a.line = p->line;
    a.exec = a.priv = -1;
    const struct qtok *kw = &p->t[0];
    size_t i;
    if (tis(kw, "hide")) {
        a.kind = QUIRK_HIDE;
        if ((r = need(p, 1, "'cap' or 'ecap'")) < 0)
            return r;
        if (tis(&p->t[1], "ecap"))
            a.ext = true;
        else if (!tis(&p->t[1], "cap"))
            QFAIL(p, p->t[1].col, "expected 'cap' or 'ecap', found '%s'",
                  tstr(&p->t[1], b));
        if ((r = need(p, 2, "a capability name or ID")) < 0 ||
            (r = cap_ref(p, 2, a.ext, &a.id)) < 0)
            return r;
        i = 3;
    } else if (tis(kw, "keep")) {
        a.kind = QUIRK_KEEP;
        if ((r = need(p, 1, "an offset")) < 0 ||
            (r = num(p, &p->t[1], 0xfff, "an offset", &v)) < 0)
            return r;
        a.off = (uint16_t)v;
        if ((r = need(p, 2, "a length in bytes")) < 0 ||
            (r = num(p, &p->t[2], 0x1000, "a length in bytes", &v)) < 0)
            return r;
        if (v == 0)
            QFAIL(p, p->t[2].col, "expected a length of at least 1");
        if (a.off < 0x40)
            QFAIL(p, p->t[1].col,
                  "keep offset 0x%x is in the header (0x00-0x3f)", a.off);
        if (a.off + v > VPCI_CFG_SPACE_EXT)
            QFAIL(p, p->t[2].col, "range 0x%x+%llu ends past 0xfff", a.off,
                  (unsigned long long)v);
        a.len = (uint16_t)v;
        i = 3;
        if (i < p->nt && tis(&p->t[i], "rw")) {
            a.rw = true;
            i++;
        }
    } else if (tis(kw, "pasid")) {
        a.kind = QUIRK_PASID;
        if ((r = need(p, 1, "an offset")) < 0 ||
            (r = num(p, &p->t[1], 0xfff, "an offset", &v)) < 0)
            return r;
        if (v < 0x100 || v > 0xff8 || (v & 3))
            QFAIL(p, p->t[1].col,
                  "PASID offset 0x%llx must be dword aligned in 0x100-0xff8",
                  (unsigned long long)v);
        a.off = (uint16_t)v;
        i = 2;
        while (i < p->nt) {
            if (tis(&p->t[i], "width")) {
                if ((r = need(p, i + 1, "a width")) < 0 ||
                    (r = num(p, &p->t[i + 1], 20, "a PASID width", &v)) < 0)
                    return r;
                if (v == 0)
                    QFAIL(p, p->t[i + 1].col, "expected a PASID width of 1-20");
                a.width = (unsigned)v;
                i += 2;
            } else if (tis(&p->t[i], "exec")) {
                a.exec = 1;
                i++;
            } else if (tis(&p->t[i], "priv")) {
                a.priv = 1;
                i++;
            } else {
                QFAIL(p, p->t[i].col,
                      "expected 'width', 'exec' or 'priv', found '%s'",
                      tstr(&p->t[i], b));
            }
        }
    } else {
        QFAIL(p, kw->col, "expected 'hide', 'keep' or 'pasid', found '%s'",
              tstr(kw, b));
    }
    if ((r = end_of(p, i, "the action")) < 0)
        return r;
    struct quirk_action *nv =
        realloc(q->actions, (q->nactions + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    q->actions = nv;
    q->actions[q->nactions++] = a;
    return 0;
}

VPCI_EXPORT int vpci_quirks_parse(const char *text, size_t len,
                                  struct vpci_quirks **qp,
                                  struct vpci_error *err)
{
    if (!qp || (!text && len))
        return -EINVAL;
    bool fresh = !*qp;
    if (fresh && !(*qp = calloc(1, sizeof(**qp))))
        return -ENOMEM;
    struct qparser p = {.q = *qp, .err = err, .first = (*qp)->n};
    size_t before = p.first;
    int r = 0;
    size_t pos = 0;
    while (pos < len && r == 0) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        p.line++;
        if (n > MAX_LINE) {
            vpci_seterr(err, p.line, MAX_LINE + 1, "line longer than %d bytes",
                        MAX_LINE);
            r = -EINVAL;
            break;
        }
        if (memchr(s, '\0', n)) {
            vpci_seterr(err, p.line,
                        (unsigned)((const char *)memchr(s, '\0', n) - s) + 1,
                        "unexpected NUL byte");
            r = -EINVAL;
            break;
        }
        bool indented;
        if ((r = tokenize(&p, s, n, &indented)) < 0 || p.nt == 0)
            continue;
        if (tis(&p.t[0], "device")) {
            if (indented) {
                vpci_seterr(err, p.line, p.t[0].col,
                            "'device' starts a quirk and is not indented");
                r = -EINVAL;
            } else {
                r = device_line(&p);
            }
        } else if (!indented) {
            char b[48];
            vpci_seterr(err, p.line, p.t[0].col,
                        "expected 'device VVVV:DDDD', found '%s'",
                        tstr(&p.t[0], b));
            r = -EINVAL;
        } else {
            r = action_line(&p);
        }
    }
    if (r < 0) {
        /* Leave *qp as it was before this text: drop what it added. */
        for (size_t i = before; i < p.q->n; i++)
            free(p.q->q[i].actions);
        p.q->n = before;
        if (fresh) {
            vpci_quirks_free(*qp);
            *qp = NULL;
        }
        return r;
    }
    return 0;
}

VPCI_EXPORT void vpci_quirks_free(struct vpci_quirks *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        free(q->q[i].actions);
    free(q->q);
    free(q);
}
