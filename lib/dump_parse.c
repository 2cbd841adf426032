/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Parser for lspci -x/-xxx/-xxxx text (optionally with -v/-vv/-vvv and
 * -nn).  Published dumps are often damaged: mail clients wrap lines,
 * stderr gets interleaved, lines go missing or repeat.  We never guess
 * bytes: a device's size is the run of intact 16-byte lines from offset 0,
 * and every irregularity becomes a warning on that device.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_INPUT (64u << 20)
#define MAX_DEVICES 65536
#define NLINES (VPCI_CFG_SPACE_EXT / 16)

enum line_state { L_NONE = 0, L_OK, L_BAD };

struct parser {
    struct vpci_dump_dev *devs;
    size_t n, cap;
    bool overflow; /* more than MAX_DEVICES headers seen */
    /* State of the current (last) device. */
    uint8_t lines[NLINES];
    bool any_hex;
    unsigned junk_line; /* first unexplained line since the last hex */
    bool finished;      /* finish_device() already ran for it */
};

static void dev_warn(struct vpci_dump_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dev_warn(struct vpci_dump_dev *d, const char *fmt, ...)
{
    if (d->nwarnings >= ARRAY_SIZE(d->warnings))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->warnings[d->nwarnings], sizeof(d->warnings[0]), fmt, ap);
    va_end(ap);
    d->nwarnings++;
}

static int hexval(char c)
{
    return hex_digit((unsigned char)c);
}

/* Count of hex digits at s[0..n). */
static size_t hexrun(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && hexval(s[i]) >= 0)
        i++;
    return i;
}

static struct vpci_dump_dev *cur(struct parser *p)
{
    return p->n ? &p->devs[p->n - 1] : NULL;
}

/* Settle the size of the current device from the lines it got. */
static void finish_device(struct parser *p)
{
    struct vpci_dump_dev *d = cur(p);
    if (!d || p->finished)
        return;
    p->finished = true;
    unsigned i = 0;
    while (i < NLINES && p->lines[i] == L_OK)
        i++;
    d->size = i * 16;
    if (i < NLINES && p->lines[i] == L_NONE) {
        bool later = false;
        for (unsigned j = i + 1; j < NLINES; j++)
            later |= p->lines[j] != L_NONE;
        if (later)
            dev_warn(d, "hex line 0x%03x missing; size cut to %u bytes", i * 16,
                     d->size);
    }
    if (!p->any_hex)
        dev_warn(d, "no hex dump lines");
    else if (d->size != 64 && d->size != 128 && d->size != 256 &&
             d->size != VPCI_CFG_SPACE_EXT)
        dev_warn(d, "dump has %u bytes, not 64, 128, 256 or 4096", d->size);
    /* Bytes past the intact run are not trusted: do not leak them. */
    memset(d->cfg + d->size, 0, sizeof(d->cfg) - d->size);
}

static int new_device(struct parser *p, const char *slot, const char *desc,
                      size_t desc_len, unsigned line)
{
    if (p->overflow)
        return 0;
    finish_device(p);
    if (p->n >= MAX_DEVICES) {
        dev_warn(cur(p), "more than %u devices; the rest are ignored",
                 MAX_DEVICES);
        p->overflow = true;
        return 0;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        if (nc > MAX_DEVICES)
            nc = MAX_DEVICES;
        struct vpci_dump_dev *nd = realloc(p->devs, nc * sizeof(*nd));
        if (!nd)
            return -ENOMEM;
        p->devs = nd;
        p->cap = nc;
    }
    struct vpci_dump_dev *d = &p->devs[p->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->slot, sizeof(d->slot), "%s", slot);
    /* Keep the description printable and cut it on a UTF-8 boundary. */
    size_t n = desc_len < sizeof(d->desc) - 1 ? desc_len : sizeof(d->desc) - 1;
    if (n < desc_len)
        while (n > 0 && ((unsigned char)desc[n] & 0xc0) == 0x80)
            n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)desc[i];
        d->desc[i] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    d->desc[n] = '\0';
    d->line = line;
    memset(p->lines, 0, sizeof(p->lines));
    p->any_hex = false;
    p->junk_line = 0;
    p->finished = false;
    return 0;
}

/*
 * "[DDDD:]BB:DD.F" followed by a space or the end of the line.  Fills
 * slot (normalised, lowercase) and the start of the description.
 */
static bool parse_header(const char *s, size_t n, char slot[16],
                         size_t *desc_start)
{
    size_t i = 0, dom_len = hexrun(s, n);
    unsigned long dom = 0;
    if (dom_len >= 4 && dom_len <= 6 && dom_len < n && s[dom_len] == ':') {
        for (size_t k = 0; k < dom_len; k++)
            dom = dom * 16 + (unsigned)hexval(s[k]);
        i = dom_len + 1;
    }
    if (n - i < 7 || hexrun(s + i, 2) != 2 || s[i + 2] != ':' ||
        hexrun(s + i + 3, 2) != 2 || s[i + 5] != '.' || s[i + 6] < '0' ||
        s[i + 6] > '7')
        return false;
    size_t e = i + 7;
    if (e < n && s[e] != ' ' && s[e] != '\t')
        return false;
    unsigned bus = (unsigned)(hexval(s[i]) * 16 + hexval(s[i + 1]));
    unsigned dev = (unsigned)(hexval(s[i + 3]) * 16 + hexval(s[i + 4]));
    if (dev > 0x1f)
        return false;
    snprintf(slot, 16, "%04lx:%02x:%02x.%c", dom, bus, dev, s[i + 6]);
    *desc_start = e < n ? e + 1 : n;
    return true;
}

/* "OFF:" with 2 or 3 hex digits and a space: a hex line (maybe damaged). */
static bool is_hex_line(const char *s, size_t n, unsigned *off, size_t *pos)
{
    size_t k = hexrun(s, n);
    if (k < 2 || k > 3 || k + 1 >= n || s[k] != ':' || s[k + 1] != ' ')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < k; i++)
        v = v * 16 + (unsigned)hexval(s[i]);
    *off = v;
    *pos = k + 1;
    return true;
}

static void hex_line(struct parser *p, const char *s, size_t n, unsigned off,
                     size_t pos, unsigned lineno)
{
    struct vpci_dump_dev *d = cur(p);
    uint8_t bytes[16];
    unsigned nb = 0;

    while (nb < 16 && pos + 3 <= n && s[pos] == ' ' &&
           hexrun(s + pos + 1, 2) == 2 &&
           (pos + 3 == n || s[pos + 3] == ' ' || s[pos + 3] == '\t')) {
        bytes[nb++] = (uint8_t)(hexval(s[pos + 1]) * 16 + hexval(s[pos + 2]));
        pos += 3;
    }
    while (pos < n && (s[pos] == ' ' || s[pos] == '\t'))
        pos++;
    bool clean = nb == 16 && pos == n;

    if (p->junk_line && p->any_hex)
        dev_warn(d, "line %u: unexpected text between hex lines", p->junk_line);
    p->junk_line = 0;
    p->any_hex = true;

    if (off % 16) {
        dev_warn(d, "line %u: hex line offset 0x%x is not a multiple of 16",
                 lineno, off);
        return;
    }
    if (off >= VPCI_CFG_SPACE_EXT) {
        dev_warn(d, "line %u: hex line 0x%x beyond 4096 bytes ignored", lineno,
                 off);
        return;
    }
    unsigned idx = off / 16;
    if (p->lines[idx] != L_NONE) {
        dev_warn(d, "line %u: duplicated hex line 0x%03x ignored", lineno, off);
        return;
    }
    if (!clean) {
        p->lines[idx] = L_BAD;
        dev_warn(d,
                 "line %u: hex line 0x%03x has %u valid bytes%s; data cut "
                 "there",
                 lineno, off, nb,
                 nb == 16 ? " and trailing text" : " (expected 16)");
        return;
    }
    p->lines[idx] = L_OK;
    memcpy(d->cfg + off, bytes, 16);
}

/* "[size=64K]" somewhere in s: the size in bytes, or 0. */
static uint64_t parse_size(const char *s, size_t n)
{
    static const char key[] = "[size=";
    size_t kl = sizeof(key) - 1;
    for (size_t i = 0; i + kl < n; i++) {
        if (memcmp(s + i, key, kl))
            continue;
        size_t j = i + kl, digits = 0;
        uint64_t v = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && digits < 15) {
            v = v * 10 + (uint64_t)(s[j] - '0');
            j++;
            digits++;
        }
        if (!digits || j >= n)
            return 0;
        unsigned shift = 0;
        switch (s[j]) {
        case 'K':
            shift = 10;
            j++;
            break;
        case 'M':
            shift = 20;
            j++;
            break;
        case 'G':
            shift = 30;
            j++;
            break;
        case 'T':
            shift = 40;
            j++;
            break;
        default:
            break;
        }
        if (j >= n || s[j] != ']')
            return 0;
        return v << shift;
    }
    return 0;
}

static bool starts(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && !memcmp(s, lit, l);
}

/* Verbose text: only the device's own Region/ROM lines (one level of
 * indentation; SR-IOV VF BARs are nested deeper and must not count). */
static void verbose_line(struct parser *p, const char *s, size_t n)
{
    struct vpci_dump_dev *d = cur(p);
    size_t ind = 0;
    if (n && s[0] == '\t') {
        ind = 1;
    } else {
        while (ind < n && s[ind] == ' ')
            ind++;
        if (ind > 8)
            return;
    }
    if (ind >= n || s[ind] == ' ' || s[ind] == '\t')
        return;
    s += ind;
    n -= ind;
    if (starts(s, n, "Region ") && n > 8 && s[7] >= '0' && s[7] <= '5' &&
        s[8] == ':') {
        uint64_t sz = parse_size(s, n);
        if (sz)
            d->region_size[s[7] - '0'] = sz;
    } else if (starts(s, n, "Expansion ROM at ")) {
        uint64_t sz = parse_size(s, n);
        if (sz)
            d->region_size[VPCI_MAX_BARS] = sz;
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

VPCI_EXPORT int vpci_dump_parse(const char *text, size_t len,
                                struct vpci_dump_dev **ret, size_t *ret_n,
                                struct vpci_error *err)
{
    if (!ret || !ret_n || (!text && len)) {
        vpci_seterr(err, 0, 0, "invalid arguments");
        return -EINVAL;
    }
    if (len > MAX_INPUT) {
        vpci_seterr(err, 0, 0, "dump text is %zu bytes; at most %u accepted",
                    len, MAX_INPUT);
        return -E2BIG;
    }

    struct parser p;
    memset(&p, 0, sizeof(p));
    unsigned lineno = 0, first_text = 0;
    size_t pos = 0;
    int r = 0;

    while (pos < len && r == 0) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
            n--;
        if (blank(s, n))
            continue;
        if (!first_text)
            first_text = lineno;

        char slot[16];
        size_t dstart;
        unsigned off;
        if (s[0] == '\t' || s[0] == ' ') {
            if (cur(&p) && !p.overflow)
                verbose_line(&p, s, n);
        } else if (parse_header(s, n, slot, &dstart)) {
            r = new_device(&p, slot, s + dstart, n - dstart, lineno);
        } else if (is_hex_line(s, n, &off, &dstart)) {
            if (p.overflow)
                continue;
            if (!cur(&p)) {
                /* Some posts keep the hex but drop the header line. */
                r = new_device(&p, "0000:00:00.0", "", 0, lineno);
                if (r)
                    break;
                dev_warn(cur(&p),
                         "line %u: hex lines without a device "
                         "header line; slot 0000:00:00.0 assumed",
                         lineno);
            }
            hex_line(&p, s, n, off, dstart, lineno);
        } else if (cur(&p) && !p.junk_line) {
            /* Only damage if more hex follows (see hex_line). */
            p.junk_line = lineno;
        }
    }
    if (r) {
        free(p.devs);
        vpci_seterr(err, 0, 0, "out of memory");
        return r;
    }
    if (!p.n) {
        vpci_seterr(err, first_text, first_text ? 1 : 0,
                    "no device found: expected a line like '00:1f.3 ...' "
                    "followed by hex lines '00: 86 80 ...'");
        free(p.devs);
        return -EINVAL;
    }
    finish_device(&p);
    *ret = p.devs;
    *ret_n = p.n;
    return 0;
}
