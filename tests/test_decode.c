/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lspci dump text (vpci_dump_parse), the defensive capability walk
 * (vpci_decode) and the capability table.  Every fixture dump is parsed
 * and decoded; device counts and sizes are checked against SOURCES.md;
 * capability lists of real devices are pinned to what `lspci -F FILE -vvv`
 * (pciutils 3.9.0) prints for them; hostile text and bytes are built here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers */

/* Growable text for dumps built by the tests. */
struct text {
    char *s;
    size_t len, cap;
};

static void tx_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t nc = t->cap ? t->cap : 256;
        while (nc < t->len + n + 1)
            nc *= 2;
        t->s = realloc(t->s, nc);
        ck_assert_ptr_nonnull(t->s);
        t->cap = nc;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void tx_puts(struct text *t, const char *s)
{
    tx_add(t, s, strlen(s));
}

/* One hex line "OFF: b0 ... b15" of cfg at off, with a line ending. */
static void tx_hexline(struct text *t, const uint8_t *cfg, unsigned off,
                       const char *eol)
{
    char buf[80];
    int n = snprintf(buf, sizeof(buf), off < 0x100 ? "%02x:" : "%03x:", off);
    for (unsigned i = 0; i < 16; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %02x", cfg[off + i]);
    tx_add(t, buf, (size_t)n);
    tx_puts(t, eol);
}

/* A whole device as lspci -x/-xxx/-xxxx prints it. */
static void tx_device(struct text *t, const char *header, const uint8_t *cfg,
                      unsigned size, const char *eol)
{
    tx_puts(t, header);
    tx_puts(t, eol);
    for (unsigned off = 0; off < size; off += 16)
        tx_hexline(t, cfg, off, eol);
}

/* Config bytes with a recognisable pattern. */
static void pattern(uint8_t *cfg, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        cfg[i] = (uint8_t)(i * 7 + 3);
}

static struct vpci_dump_dev *parse_ok(const char *text, size_t len,
                                      size_t *ret_n)
{
    struct vpci_dump_dev *devs = NULL;
    struct vpci_error err = {0};
    /* An exact-size copy without a terminator: valgrind sees overreads. */
    char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    int r = vpci_dump_parse(copy, len, &devs, ret_n, &err);
    free(copy);
    ck_assert_msg(r == 0, "dump parse failed (%d): %s", r, err.msg);
    ck_assert_ptr_nonnull(devs);
    return devs;
}

/* Exactly these warnings, in order. */
static void expect_warnings(const struct vpci_dump_dev *d,
                            const char *const *want, size_t n)
{
    for (size_t i = 0; i < d->nwarnings && i < n; i++)
        ck_assert_msg(!strcmp(d->warnings[i], want[i]),
                      "%s: warning %zu is '%s', expected '%s'", d->slot, i,
                      d->warnings[i], want[i]);
    ck_assert_msg(d->nwarnings == n,
                  "%s: %zu warnings (first '%s'), "
                  "expected %zu",
                  d->slot, d->nwarnings, d->nwarnings ? d->warnings[0] : "", n);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static struct vpci_decoded *dec_alloc(void)
{
    struct vpci_decoded *d = malloc(sizeof(*d));
    ck_assert_ptr_nonnull(d);
    memset(d, 0x5a, sizeof(*d)); /* decode must overwrite everything */
    return d;
}

/* ------------------------------------------------------------ SOURCES.md */

struct src_row {
    char bdf[32];
    unsigned vid, did;
    unsigned bytes;
    bool noncontig;
};

struct src_file {
    char name[160]; /* base name of the file */
    unsigned ndev, next;
    bool have_count;
    struct src_row *rows;
    size_t nrows;
};

struct sources {
    struct src_file *f;
    size_t n;
};

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    memmove(s, s + i, n - i + 1);
}

/* Per-file sections: "### `NAME`", "* devices: N (M with 4096-byte ...)"
 * and table rows "| BDF | vvvv:dddd | BYTES | ...". */
static struct sources parse_sources(void)
{
    struct sources src = {0};
    char *text = tu_read(tu_fixture("dumps/SOURCES.md"), NULL);
    struct src_file *f = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "### `", 5)) {
            char *end = strchr(line + 5, '`');
            ck_assert_ptr_nonnull(end);
            *end = '\0';
            const char *base = strrchr(line + 5, '/');
            base = base ? base + 1 : line + 5;
            src.f = realloc(src.f, (src.n + 1) * sizeof(*src.f));
            ck_assert_ptr_nonnull(src.f);
            f = &src.f[src.n++];
            memset(f, 0, sizeof(*f));
            snprintf(f->name, sizeof(f->name), "%s", base);
            continue;
        }
        if (!f)
            continue;
        unsigned a, b;
        if (sscanf(line, "* devices: %u (%u with 4096-byte", &a, &b) == 2) {
            ck_assert_msg(!f->have_count, "%s: two device counts", f->name);
            f->ndev = a;
            f->next = b;
            f->have_count = true;
            continue;
        }
        if (line[0] != '|' || !strncmp(line, "| BDF", 5) ||
            !strncmp(line, "|---", 4))
            continue;
        char cell[4][200];
        char *p = line + 1;
        for (int c = 0; c < 4; c++) {
            char *bar = strchr(p, '|');
            ck_assert_msg(bar != NULL, "%s: short table row", f->name);
            size_t n = (size_t)(bar - p);
            ck_assert(n < sizeof(cell[c]));
            memcpy(cell[c], p, n);
            cell[c][n] = '\0';
            trim(cell[c]);
            p = bar + 1;
        }
        f->rows = realloc(f->rows, (f->nrows + 1) * sizeof(*f->rows));
        ck_assert_ptr_nonnull(f->rows);
        struct src_row *r = &f->rows[f->nrows++];
        memset(r, 0, sizeof(*r));
        ck_assert(strlen(cell[0]) < sizeof(r->bdf));
        memcpy(r->bdf, cell[0], strlen(cell[0]) + 1);
        ck_assert_msg(sscanf(cell[1], "%4x:%4x", &r->vid, &r->did) == 2,
                      "%s: bad vendor:device '%s'", f->name, cell[1]);
        ck_assert_msg(sscanf(cell[2], "%u", &r->bytes) == 1,
                      "%s: bad bytes '%s'", f->name, cell[2]);
        r->noncontig = strstr(cell[2], "non-contiguous") != NULL;
    }
    free(text);
    return src;
}

static void free_sources(struct sources *src)
{
    for (size_t i = 0; i < src->n; i++)
        free(src->f[i].rows);
    free(src->f);
}

static const struct src_file *find_source(const struct sources *src,
                                          const char *base)
{
    const struct src_file *hit = NULL;
    for (size_t i = 0; i < src->n; i++)
        if (!strcmp(src->f[i].name, base)) {
            ck_assert_msg(hit == NULL, "%s described twice", base);
            hit = &src->f[i];
        }
    return hit;
}

/* "00:1c.0" -> "0000:00:1c.0"; "?" (no header line) -> the assumed slot. */
static void norm_bdf(const char *bdf, char out[32])
{
    if (!strcmp(bdf, "?"))
        snprintf(out, 32, "0000:00:00.0");
    else if (strlen(bdf) == 7)
        snprintf(out, 32, "0000:%s", bdf);
    else
        snprintf(out, 32, "%s", bdf);
}

/* Check one directory of dumps against SOURCES.md.  clean: sizes exact
 * and no warnings.  Returns the number of files checked. */
static size_t check_dir_against_sources(const struct sources *src,
                                        const char *subdir, bool clean)
{
    char **list = tu_list_dumps(subdir);
    size_t nfiles = 0;
    for (char **name = list; *name; name++, nfiles++) {
        char rel[512];
        snprintf(rel, sizeof(rel), "%s/%s", subdir, *name);
        const struct src_file *f = find_source(src, *name);
        ck_assert_msg(f != NULL, "%s is not described in SOURCES.md", rel);
        ck_assert_msg(f->have_count, "%s: no 'devices: N' line", rel);
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(rel, &n);
        ck_assert_msg(n == f->ndev, "%s: %zu devices, SOURCES.md says %u", rel,
                      n, f->ndev);
        ck_assert_msg(f->nrows == n, "%s: %zu table rows for %zu devices", rel,
                      f->nrows, n);
        unsigned n4k = 0;
        for (size_t i = 0; i < n; i++) {
            const struct src_row *row = &f->rows[i];
            char bdf[32];
            norm_bdf(row->bdf, bdf);
            ck_assert_msg(!strcmp(d[i].slot, bdf),
                          "%s: device %zu is %s, SOURCES.md says %s", rel, i,
                          d[i].slot, bdf);
            ck_assert_msg(strlen(d[i].slot) >= 12 && d[i].slot[4] == ':',
                          "%s: slot %s has no domain", rel, d[i].slot);
            ck_assert_uint_ge(d[i].size, 4);
            unsigned vid = d[i].cfg[0] | d[i].cfg[1] << 8;
            unsigned did = d[i].cfg[2] | d[i].cfg[3] << 8;
            ck_assert_msg(vid == row->vid && did == row->did,
                          "%s %s: %04x:%04x, SOURCES.md says %04x:%04x", rel,
                          d[i].slot, vid, did, row->vid, row->did);
            if (!row->noncontig)
                ck_assert_msg(d[i].size == row->bytes,
                              "%s %s: %u bytes, SOURCES.md says %u", rel,
                              d[i].slot, d[i].size, row->bytes);
            else /* the parser keeps the intact run from offset 0 */
                ck_assert_msg(d[i].size < row->bytes && d[i].size % 16 == 0,
                              "%s %s: %u bytes of a damaged %u", rel, d[i].slot,
                              d[i].size, row->bytes);
            if (clean) {
                ck_assert_msg(d[i].nwarnings == 0, "%s %s: warning '%s'", rel,
                              d[i].slot, d[i].warnings[0]);
                ck_assert_msg(d[i].size == 64 || d[i].size == 256 ||
                                  d[i].size == 4096,
                              "%s %s: %u bytes", rel, d[i].slot, d[i].size);
                ck_assert_msg(d[i].line > 0, "%s: no line", rel);
                if (i)
                    ck_assert_uint_gt(d[i].line, d[i - 1].line);
            }
            /* Bytes past the intact run are never kept. */
            ck_assert(
                all_zero(d[i].cfg + d[i].size, sizeof(d[i].cfg) - d[i].size));
            n4k += d[i].size == 4096;
        }
        ck_assert_msg(n4k == f->next,
                      "%s: %u devices of 4096 bytes, "
                      "SOURCES.md says %u",
                      rel, n4k, f->next);
        free(d);
    }
    tu_free_list(list);
    return nfiles;
}

/* ------------------------------------------------------------ parse: corpus */

START_TEST(test_parse_clean_corpus)
{
    struct sources src = parse_sources();
    ck_assert_uint_ge(src.n, 60);
    size_t n = check_dir_against_sources(&src, "dumps", true);
    ck_assert_uint_eq(n, 57);
    n = check_dir_against_sources(&src, "dumps/nonreal", true);
    ck_assert_uint_eq(n, 4);
    free_sources(&src);
}
END_TEST

START_TEST(test_parse_messy_corpus_counts)
{
    struct sources src = parse_sources();
    size_t n = check_dir_against_sources(&src, "dumps/messy", false);
    ck_assert_uint_eq(n, 8);
    free_sources(&src);
}
END_TEST

/* Device counts pinned here too, independent of SOURCES.md. */
START_TEST(test_parse_pinned_counts)
{
    static const struct {
        const char *file;
        size_t n;
    } want[] = {
        {"dumps/amd-rd890-fam15h-hypertransport-256b.lspci", 2},
        {"dumps/contaq-82c693-1080-c693.lspci", 3},
        {"dumps/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci", 2},
        {"dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci", 1},
        {"dumps/intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci", 3},
        {"dumps/laptop-sunrisepoint-nvidia-mx150-10de-1d10-thunderbolt3-4k."
         "lspci",
         4},
        {"dumps/machine-alienware-m11x-gt215m-4k.lspci", 23},
        {"dumps/machine-asus-p6t6-x58-nf200-gt218-sas2008-4k.lspci", 53},
        {"dumps/machine-ibm-pcix-bridges-domains-256b.lspci", 31},
        {"dumps/machine-lenovo-t400-4k.lspci", 27},
        {"dumps/nvidia-4x-tu102-rtx2080ti-10de-1e07-4func-256b.lspci", 16},
        {"dumps/plda-fpga-1556-5555-and-linkdown-ffff-256b.lspci", 3},
        {"dumps/messy/machine-huananzhi-x99-bd4-navi23-vpd-stderr-"
         "corruption-4k.lspci",
         87},
        {"dumps/nonreal/qemu-virtio-net-fs-1af4-256b.lspci", 2},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(want[i].file, &n);
        ck_assert_msg(n == want[i].n, "%s: %zu devices, expected %zu",
                      want[i].file, n, want[i].n);
        free(d);
    }
}
END_TEST

START_TEST(test_parse_multi_device_file)
{
    size_t n;
    struct vpci_dump_dev *d = tu_dumps(
        "dumps/intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci", &n);
    ck_assert_uint_eq(n, 3);
    static const char *const slot[] = {"0000:00:01.0", "0000:00:01.1",
                                       "0000:00:1c.4"};
    static const unsigned line[] = {1, 259, 517};
    static const unsigned did[] = {0x2f02, 0x2f03, 0x8d18};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(d[i].slot, slot[i]);
        ck_assert_uint_eq(d[i].line, line[i]);
        ck_assert_uint_eq(d[i].size, 4096);
        EQX(d[i].cfg[2] | d[i].cfg[3] << 8, did[i]);
        ck_assert_uint_eq(d[i].nwarnings, 0);
        ck_assert(!strncmp(d[i].desc, "PCI bridge: Intel Corporation", 29));
    }
    free(d);

    /* Two devices with the same slot (a link that went down) stay two. */
    d = tu_dumps("dumps/plda-fpga-1556-5555-and-linkdown-ffff-256b.lspci", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(d[0].slot, "0000:01:00.0");
    ck_assert_str_eq(d[1].slot, "0000:01:00.0");
    EQX(d[0].cfg[0] | d[0].cfg[1] << 8, 0x1556);
    EQX(d[1].cfg[0] | d[1].cfg[1] << 8, 0xffff);
    ck_assert_str_eq(d[1].desc, "RAM memory: PLDA Device 5555 (rev ff)");
    free(d);
}
END_TEST

START_TEST(test_parse_domains_and_x_form)
{
    size_t n;
    /* Header lines with a domain keep it. */
    struct vpci_dump_dev *d = tu_dumps(
        "dumps/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci", &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(d[0].slot, "0002:01:00.0");
    ck_assert_str_eq(d[0].desc, "Ethernet controller: Cavium, Inc. THUNDERX "
                                "Network Interface Controller (rev 08)");
    free(d);

    /* lspci -x: 64 bytes for functions 1 and 2. */
    d = tu_dumps("dumps/contaq-82c693-1080-c693.lspci", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(d[0].slot, "0000:00:07.0");
    ck_assert_uint_eq(d[0].size, 256);
    ck_assert_str_eq(d[1].slot, "0000:00:07.1");
    ck_assert_uint_eq(d[1].size, 64);
    ck_assert_str_eq(d[2].slot, "0000:00:07.2");
    ck_assert_uint_eq(d[2].size, 64);
    EQX(d[0].cfg[0x40], 0x03); /* "40: 03 02 00 00 26 60 ..." */
    EQX(d[0].cfg[0x45], 0x60);
    ck_assert(all_zero(d[1].cfg + 64, sizeof(d[1].cfg) - 64));
    free(d);

    /* Domains other than 0 on one machine. */
    d = tu_dumps("dumps/machine-raptor-talos2-power9-256b.lspci", &n);
    ck_assert_uint_eq(n, 16);
    bool seen[4] = {false};
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(d[i].slot, "0003:01:00.0", 12))
            seen[0] = true;
        if (!strncmp(d[i].slot, "0004:01:00.1", 12))
            seen[1] = true;
        if (!strncmp(d[i].slot, "0031:01:00.0", 12))
            seen[2] = true;
        seen[3] |= !strncmp(d[i].slot, "0000:", 5);
    }
    ck_assert(seen[0] && seen[1] && seen[2]);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ parse: verbose
 */

START_TEST(test_parse_region_sizes)
{
    size_t n;
    struct vpci_dump_dev *d =
        tu_dumps("dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci", &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(d[0].slot, "0000:6a:01.0");
    ck_assert_str_eq(d[0].desc, "Class 0880: Device 8086:0b25");
    ck_assert_uint_eq(d[0].size, 4096);
    static const uint64_t dsa[7] = {0x10000, 0, 0x20000, 0, 0, 0, 0};
    for (int i = 0; i < 7; i++)
        EQX(d[0].region_size[i], dsa[i]);
    free(d);

    /* Memory, I/O and ROM; the SR-IOV VF regions are not the PF's. */
    d = tu_dumps("dumps/intel-82576-pf-8086-10c9-sriov-4k.lspci", &n);
    static const uint64_t igb[7] = {128 << 10, 4 << 20, 32,     16 << 10,
                                    0,         0,       4 << 20};
    for (int i = 0; i < 7; i++)
        EQX(d[0].region_size[i], igb[i]);
    free(d);

    /* Space-indented verbose text; VF BARs nested 16 spaces deep. */
    d = tu_dumps("dumps/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci", &n);
    static const uint64_t cxl[7] = {1 << 20, 0, 1 << 10, 0, 16 << 20, 0, 0};
    for (int i = 0; i < 7; i++)
        EQX(d[0].region_size[i], cxl[i]);
    for (int i = 0; i < 7; i++)
        EQX(d[1].region_size[i], 0);
    free(d);

    /* "[virtual]" EA regions. */
    d = tu_dumps("dumps/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci",
                 &n);
    static const uint64_t cav[7] = {1 << 30, 0, 0, 0, 1 << 20, 0, 0};
    for (int i = 0; i < 7; i++)
        EQX(d[0].region_size[i], cav[i]);
    free(d);

    /* "[size=8G]" */
    d = tu_dumps("dumps/messy/machine-huananzhi-x99-bd4-navi23-vpd-stderr-"
                 "corruption-4k.lspci",
                 &n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].slot, "0000:05:00.0")) {
            found = true;
            EQX(d[i].region_size[0], 8ull << 30);
            EQX(d[i].region_size[2], 256 << 20);
            EQX(d[i].region_size[4], 256);
            EQX(d[i].region_size[5], 1 << 20);
            EQX(d[i].region_size[6], 128 << 10);
        }
    ck_assert(found);
    free(d);

    /* Dumps without verbose text have no sizes. */
    d = tu_dumps("dumps/amd-radeon-pro-wx3100-1002-6985-rootport-1022-15d3-"
                 "256b.lspci",
                 &n);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 7; k++)
            EQX(d[i].region_size[k], 0);
    free(d);
}
END_TEST

START_TEST(test_parse_verbose_lines_built)
{
    uint8_t cfg[64];
    pattern(cfg, sizeof(cfg));
    struct text t = {0};
    tx_puts(&t, "\tRegion 0: Memory at 1000 [size=4K]\n"); /* no device yet */
    tx_puts(&t, "00:03.0 Ethernet controller: Foo\n");
    tx_puts(&t, "\tSubsystem: Foo\n");
    tx_puts(&t, "\tRegion 0: Memory at f0000000 (64-bit, prefetchable) "
                "[size=32M]\n");
    tx_puts(&t, "\tRegion 2: I/O ports at 1000 [disabled] [size=256]\n");
    tx_puts(&t, "\tRegion 3: Memory at f1000000 (32-bit) [size=3]\n");
    tx_puts(&t, "\tRegion 4: Memory at f2000000 (32-bit)\n");
    tx_puts(&t, "\tRegion 5: Memory at f3000000 [size=12Q]\n");
    tx_puts(&t, "\tRegion 6: Memory at f4000000 [size=4K]\n");
    tx_puts(&t, "\tExpansion ROM at f5000000 [disabled] [size=128K]\n");
    tx_puts(&t, "\tCapabilities: [160 v1] Single Root I/O Virtualization\n");
    tx_puts(&t, "\t\tRegion 1: Memory at f6000000 (64-bit) [size=16K]\n");
    tx_puts(&t, "                Region 1: Memory at f7000000 [size=8K]\n");
    tx_puts(&t, "  Region 1: Memory at f8000000 [size=1T]\n");
    for (unsigned off = 0; off < 64; off += 16)
        tx_hexline(&t, cfg, off, "\n");
    tx_puts(&t, "\tRegion 5: Memory at f9000000 [size=64]\n");

    size_t n;
    struct vpci_dump_dev *d = parse_ok(t.s, t.len, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(d[0].size, 64);
    ck_assert_uint_eq(d[0].nwarnings, 0);
    EQX(d[0].region_size[0], 32 << 20);
    EQX(d[0].region_size[1], 1ull << 40); /* two-space indent counts */
    EQX(d[0].region_size[2], 256);
    EQX(d[0].region_size[3], 3);
    EQX(d[0].region_size[4], 0);
    EQX(d[0].region_size[5], 64); /* verbose after the hex still counts */
    EQX(d[0].region_size[6], 128 << 10);
    free(d);
    free(t.s);
}
END_TEST

/* ------------------------------------------------------------ parse: built */

START_TEST(test_parse_sizes_built)
{
    static const unsigned sizes[] = {64, 256, 4096};
    uint8_t cfg[4096];
    pattern(cfg, sizeof(cfg));
    for (size_t k = 0; k < 3; k++) {
        struct text t = {0};
        tx_device(&t, "00:1f.3 SMBus: Intel Corporation Device", cfg, sizes[k],
                  "\n");
        size_t n;
        struct vpci_dump_dev *d = parse_ok(t.s, t.len, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(d[0].slot, "0000:00:1f.3");
        ck_assert_str_eq(d[0].desc, "SMBus: Intel Corporation Device");
        ck_assert_uint_eq(d[0].size, sizes[k]);
        ck_assert_uint_eq(d[0].line, 1);
        ck_assert_uint_eq(d[0].nwarnings, 0);
        ck_assert_mem_eq(d[0].cfg, cfg, sizes[k]);
        ck_assert(all_zero(d[0].cfg + sizes[k], 4096 - sizes[k]));
        for (int i = 0; i < 7; i++)
            EQX(d[0].region_size[i], 0);
        free(d);
        free(t.s);
    }
}
END_TEST

START_TEST(test_parse_crlf_and_no_final_newline)
{
    uint8_t cfg[256];
    pattern(cfg, sizeof(cfg));
    struct text a = {0}, b = {0};
    tx_device(&a, "02:00.0 Network controller: X", cfg, 256, "\n");
    tx_puts(&a, "\tRegion 0: Memory at 1000 [size=8K]\n");
    tx_device(&b, "02:00.0 Network controller: X", cfg, 256, "\r\n");
    tx_puts(&b, "\tRegion 0: Memory at 1000 [size=8K]"); /* no newline */
    size_t na, nb;
    struct vpci_dump_dev *da = parse_ok(a.s, a.len, &na);
    struct vpci_dump_dev *db = parse_ok(b.s, b.len, &nb);
    ck_assert_uint_eq(na, 1);
    ck_assert_uint_eq(nb, 1);
    ck_assert_str_eq(db[0].desc, "Network controller: X");
    ck_assert_uint_eq(db[0].nwarnings, 0);
    ck_assert_uint_eq(db[0].size, 256);
    EQX(db[0].region_size[0], 8192);
    ck_assert_mem_eq(da, db, sizeof(*da));
    free(da);
    free(db);
    free(a.s);
    free(b.s);
}
END_TEST

START_TEST(test_parse_slots)
{
    static const struct {
        const char *header;
        const char *slot; /* NULL: not a header line */
    } cases[] = {
        {"00:1f.3 SMBus", "0000:00:1f.3"},
        {"00:1F.3 SMBus", "0000:00:1f.3"},
        {"0000:00:1f.3 SMBus", "0000:00:1f.3"},
        {"0002:01:00.0 Ethernet", "0002:01:00.0"},
        {"ABCD:0a:1e.7 Bridge", "abcd:0a:1e.7"},
        {"10000:00:00.0 Host bridge", "10000:00:00.0"},
        {"ff:1f.7\tTabbed", "0000:ff:1f.7"},
        {"05:01.0", "0000:05:01.0"},
        {"00:20.0 Device number 0x20", NULL},
        {"00:1f.8 Function 8", NULL},
        {"00:1f.3x SMBus", NULL},
        {"0:1f.3 SMBus", NULL},
        {"000:00:1f.3 SMBus", NULL},
    };
    uint8_t cfg[64];
    pattern(cfg, sizeof(cfg));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct text t = {0};
        tx_device(&t, cases[i].header, cfg, 64, "\n");
        size_t n;
        struct vpci_dump_dev *d = parse_ok(t.s, t.len, &n);
        ck_assert_uint_eq(n, 1);
        if (cases[i].slot) {
            ck_assert_msg(!strcmp(d[0].slot, cases[i].slot),
                          "'%s' gave slot %s, expected %s", cases[i].header,
                          d[0].slot, cases[i].slot);
            ck_assert_uint_eq(d[0].nwarnings, 0);
        } else {
            /* The line is not a header: the hex gets the assumed slot. */
            ck_assert_msg(!strcmp(d[0].slot, "0000:00:00.0"),
                          "'%s' was taken as a header (%s)", cases[i].header,
                          d[0].slot);
            static const char *const w[] = {
                "line 2: hex lines without a device header line; slot "
                "0000:00:00.0 assumed"};
            expect_warnings(&d[0], w, 1);
        }
        ck_assert_uint_eq(d[0].size, 64);
        free(d);
        free(t.s);
    }
}
END_TEST

START_TEST(test_parse_no_device)
{
    static const struct {
        const char *text;
        unsigned line, col;
    } cases[] = {
        {"", 0, 0},
        {"\n\n   \n\t\n", 0, 0},
        {"hello\nworld\n", 1, 1},
        {"\n\nlspci: Unable to load libkmod resources\n", 3, 1},
        {"\tRegion 0: Memory at 1000 [size=4K]\n", 1, 1},
        {"00:\n", 1, 1},
        {"0: 00 11\n", 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vpci_dump_dev *d = (void *)1;
        size_t n = 77;
        struct vpci_error err = {0};
        int r =
            vpci_dump_parse(cases[i].text, strlen(cases[i].text), &d, &n, &err);
        ck_assert_msg(r == -EINVAL, "case %zu: %d", i, r);
        ck_assert_ptr_eq(d, (void *)1); /* ret_* untouched on failure */
        ck_assert_uint_eq(n, 77);
        ck_assert_str_eq(err.msg, "no device found: expected a line like "
                                  "'00:1f.3 ...' followed by hex lines "
                                  "'00: 86 80 ...'");
        ck_assert_uint_eq(err.line, cases[i].line);
        ck_assert_uint_eq(err.col, cases[i].col);
    }
    /* NULL text of length 0 is empty text. */
    struct vpci_dump_dev *d;
    size_t n;
    struct vpci_error err = {0};
    ck_assert_int_eq(vpci_dump_parse(NULL, 0, &d, &n, &err), -EINVAL);
    ck_assert(strstr(err.msg, "no device found") != NULL);
    /* Without an error struct. */
    ck_assert_int_eq(vpci_dump_parse("x\n", 2, &d, &n, NULL), -EINVAL);
}
END_TEST

START_TEST(test_parse_bad_args)
{
    struct vpci_dump_dev *d;
    size_t n;
    struct vpci_error err = {0};
    ck_assert_int_eq(vpci_dump_parse("00: 00\n", 7, NULL, &n, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "invalid arguments");
    ck_assert_int_eq(vpci_dump_parse("00: 00\n", 7, &d, NULL, &err), -EINVAL);
    ck_assert_int_eq(vpci_dump_parse(NULL, 5, &d, &n, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "invalid arguments");
    /* The size limit is checked before a byte is read. */
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(vpci_dump_parse("", (64u << 20) + 1, &d, &n, &err),
                     -E2BIG);
    ck_assert_str_eq(err.msg,
                     "dump text is 67108865 bytes; at most 67108864 accepted");
}
END_TEST

/* Damage inside one device's hex: each case with its exact warnings. */
START_TEST(test_parse_damaged_lines)
{
    uint8_t cfg[256];
    pattern(cfg, sizeof(cfg));
    char good[4][80];
    for (unsigned i = 0; i < 4; i++) {
        struct text t = {0};
        tx_hexline(&t, cfg, i * 16, "");
        snprintf(good[i], sizeof(good[i]), "%s", t.s);
        free(t.s);
    }
    static const struct {
        const char *what;
        const char *lines[6]; /* after the header; "G0".."G3" = good line */
        unsigned size;
        const char *warn[4];
    } cases[] = {
        {"truncated hex line",
         {"G0", "G1", "20: 00 11 22", "G3"},
         32,
         {"line 4: hex line 0x020 has 3 valid bytes (expected 16); data cut "
          "there",
          "dump has 32 bytes, not 64, 128, 256 or 4096"}},
        {"trailing text",
         {"G0", "10: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f junk",
          "G2", "G3"},
         16,
         {"line 3: hex line 0x010 has 16 valid bytes and trailing text; data "
          "cut there",
          "dump has 16 bytes, not 64, 128, 256 or 4096"}},
        {"glued bytes",
         {"G0", "G1", "G2", "30: 0001 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e"},
         48,
         {"line 5: hex line 0x030 has 0 valid bytes (expected 16); data cut "
          "there",
          "dump has 48 bytes, not 64, 128, 256 or 4096"}},
        {"odd offset",
         {"G0", "08: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", "G1",
          "G2", "G3"},
         64,
         {"line 3: hex line offset 0x8 is not a multiple of 16"}},
        {"duplicated line",
         {"G0", "G1", "10: ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff",
          "G2", "G3"},
         64,
         {"line 4: duplicated hex line 0x010 ignored"}},
        {"missing line",
         {"G0", "G1", "G3"},
         32,
         {"hex line 0x020 missing; size cut to 32 bytes",
          "dump has 32 bytes, not 64, 128, 256 or 4096"}},
        {"junk between hex lines",
         {"G0", "zz: 00 11", "G1", "G2", "G3"},
         64,
         {"line 3: unexpected text between hex lines"}},
        {"stderr in a line",
         {"G0", "G1", "2pcilib: sysfs_read_vpd: read failed",
          "0: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", "G3"},
         32,
         {"line 4: unexpected text between hex lines",
          "hex line 0x020 missing; size cut to 32 bytes",
          "dump has 32 bytes, not 64, 128, 256 or 4096"}},
        {"huge offsets",
         {
             "G0",
             "G1",
             "G2",
             "G3",
             "fff: 00 01",
             "1000: 00 01 02",
         },
         64,
         {"line 6: hex line offset 0xfff is not a multiple of 16"}},
        {"offset far away",
         {"G0", "G1", "G2", "G3",
          "ff0: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"},
         64,
         {"hex line 0x040 missing; size cut to 64 bytes"}},
        {"junk after the last line is no damage",
         {"G0", "G1", "G2", "G3", "lspci: Unable to load libkmod resources",
          "Kernel driver in use: foo"},
         64,
         {NULL}},
        {"no hex at all",
         {"Kernel driver in use: foo"},
         0,
         {"no hex dump lines"}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct text t = {0};
        tx_puts(&t, "01:00.0 Device\n");
        for (int k = 0; k < 6 && cases[c].lines[k]; k++) {
            const char *l = cases[c].lines[k];
            if (l[0] == 'G' && l[1] >= '0' && l[1] <= '3' && !l[2])
                tx_puts(&t, good[l[1] - '0']);
            else
                tx_puts(&t, l);
            tx_puts(&t, "\n");
        }
        size_t n;
        struct vpci_dump_dev *d = parse_ok(t.s, t.len, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_msg(d[0].size == cases[c].size, "%s: size %u, expected %u",
                      cases[c].what, d[0].size, cases[c].size);
        size_t nw = 0;
        while (nw < 4 && cases[c].warn[nw])
            nw++;
        expect_warnings(&d[0], cases[c].warn, nw);
        /* The intact run is the dumped bytes, the rest is zero. */
        ck_assert_mem_eq(d[0].cfg, cfg, d[0].size);
        ck_assert(all_zero(d[0].cfg + d[0].size, 4096 - d[0].size));
        free(d);
        free(t.s);
    }
}
END_TEST

START_TEST(test_parse_hostile_text)
{
    uint8_t cfg[256];
    pattern(cfg, sizeof(cfg));
    size_t n;
    struct vpci_dump_dev *d;

    /* A very long description is cut on a UTF-8 boundary, printable. */
    struct text t = {0};
    tx_puts(&t, "00:02.0 ");
    for (int i = 0; i < 5000; i++)
        tx_puts(&t, "\xc3\xa9"); /* e-acute: 2 bytes each */
    tx_puts(&t, "\n");
    for (unsigned off = 0; off < 256; off += 16)
        tx_hexline(&t, cfg, off, "\n");
    d = parse_ok(t.s, t.len, &n);
    ck_assert_uint_eq(n, 1);
    size_t dl = strlen(d[0].desc);
    ck_assert_uint_le(dl, sizeof(d[0].desc) - 1);
    ck_assert_uint_ge(dl, sizeof(d[0].desc) - 3);
    ck_assert_uint_eq(dl % 2, 0); /* whole characters only */
    ck_assert_uint_eq(d[0].size, 256);
    ck_assert_uint_eq(d[0].nwarnings, 0);
    free(d);
    free(t.s);

    /* A very long hex line: 16 good bytes then 100000 more. */
    memset(&t, 0, sizeof(t));
    tx_puts(&t, "00:02.0 VGA\n");
    tx_hexline(&t, cfg, 0, "");
    for (int i = 0; i < 100000; i++)
        tx_puts(&t, " 00");
    tx_puts(&t, "\n");
    d = parse_ok(t.s, t.len, &n);
    ck_assert_uint_eq(d[0].size, 0);
    static const char *const wl[] = {
        "line 2: hex line 0x000 has 16 valid bytes and trailing text; data "
        "cut there",
        "dump has 0 bytes, not 64, 128, 256 or 4096"};
    expect_warnings(&d[0], wl, 2);
    free(d);
    free(t.s);

    /* NUL bytes: in a description they become spaces; in hex they cut. */
    static const char nul_text[] =
        "00:03.0 Foo\0Bar\x01\x7f"
        "Baz\n"
        "00: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n"
        "10: 10 11 12\0"
        "13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f\n";
    d = parse_ok(nul_text, sizeof(nul_text) - 1, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(d[0].desc, "Foo Bar  Baz");
    ck_assert_uint_eq(d[0].size, 16);
    static const char *const wn[] = {
        "line 3: hex line 0x010 has 2 valid bytes (expected 16); data cut "
        "there",
        "dump has 16 bytes, not 64, 128, 256 or 4096"};
    expect_warnings(&d[0], wn, 2);
    free(d);

    /* Many warnings on one device: at most 8 kept, no overflow. */
    memset(&t, 0, sizeof(t));
    tx_puts(&t, "00:04.0 Many\n");
    for (int i = 0; i < 40; i++)
        tx_puts(&t, "04: 00\n");
    d = parse_ok(t.s, t.len, &n);
    ck_assert_uint_eq(d[0].nwarnings, 8);
    ck_assert_str_eq(d[0].warnings[0],
                     "line 2: hex line offset 0x4 is not a multiple of 16");
    ck_assert_str_eq(d[0].warnings[7],
                     "line 9: hex line offset 0x4 is not a multiple of 16");
    free(d);
    free(t.s);

    /* Binary junk must not crash: every byte value, many times. */
    memset(&t, 0, sizeof(t));
    uint32_t s = 12345;
    for (int i = 0; i < 200000; i++) {
        s = s * 1103515245u + 12345u;
        char c = (char)(s >> 16);
        tx_add(&t, &c, 1);
        if (i % 997 == 0)
            tx_puts(&t, "\n00:01.0 X\n00: 11 22\n");
    }
    d = NULL;
    struct vpci_error err = {0};
    int r = vpci_dump_parse(t.s, t.len, &d, &n, &err);
    ck_assert_int_eq(r, 0);
    ck_assert_uint_ge(n, 200);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_le(d[i].size, 4096);
        ck_assert_uint_eq(d[i].size % 16, 0);
        ck_assert_uint_le(d[i].nwarnings, 8);
        ck_assert_uint_lt(strlen(d[i].desc), sizeof(d[i].desc));
        ck_assert_uint_lt(strlen(d[i].slot), sizeof(d[i].slot));
    }
    free(d);
    free(t.s);
}
END_TEST

START_TEST(test_parse_several_devices_built)
{
    uint8_t a[256], b[4096], c[64];
    pattern(a, sizeof(a));
    pattern(b, sizeof(b));
    for (unsigned i = 0; i < sizeof(b); i++)
        b[i] ^= 0x55;
    memset(c, 0xff, sizeof(c));
    struct text t = {0};
    tx_device(&t, "00:00.0 Host bridge: A", a, 256, "\n");
    tx_puts(&t, "\n");
    tx_device(&t, "0001:02:03.4 Bridge: B", b, 4096, "\n");
    tx_puts(&t, "\n\n");
    tx_puts(&t, "03:00.0 Header only\n");
    tx_device(&t, "03:00.1 All ones", c, 64, "\n");

    size_t n;
    struct vpci_dump_dev *d = parse_ok(t.s, t.len, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(d[0].slot, "0000:00:00.0");
    ck_assert_uint_eq(d[0].size, 256);
    ck_assert_uint_eq(d[0].line, 1);
    ck_assert_mem_eq(d[0].cfg, a, 256);
    ck_assert_str_eq(d[1].slot, "0001:02:03.4");
    ck_assert_uint_eq(d[1].size, 4096);
    ck_assert_uint_eq(d[1].line, 19);
    ck_assert_mem_eq(d[1].cfg, b, 4096);
    ck_assert_str_eq(d[2].slot, "0000:03:00.0");
    ck_assert_uint_eq(d[2].size, 0);
    static const char *const w[] = {"no hex dump lines"};
    expect_warnings(&d[2], w, 1);
    ck_assert_str_eq(d[3].slot, "0000:03:00.1");
    ck_assert_uint_eq(d[3].size, 64);
    ck_assert_uint_eq(d[3].nwarnings, 0);
    ck_assert_mem_eq(d[3].cfg, c, 64);
    free(d);
    free(t.s);
}
END_TEST

/* What happens for each damaged real dump, pinned. */
START_TEST(test_parse_messy_pinned)
{
    size_t n;
    struct vpci_dump_dev *d;

    d = tu_dumps("dumps/messy/broadcom-bcm4352-14e4-43b1-truncated-320b.lspci",
                 &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(d[0].size, 320);
    static const char *const w320[] = {
        "dump has 320 bytes, not 64, 128, 256 or 4096"};
    expect_warnings(&d[0], w320, 1);
    free(d);

    d = tu_dumps("dumps/messy/intel-centrino-1000-8086-0084-truncated-320b."
                 "lspci",
                 &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(d[0].slot, "0000:02:00.0");
    ck_assert_uint_eq(d[0].size, 320);
    expect_warnings(&d[0], w320, 1);
    free(d);

    d = tu_dumps("dumps/messy/intel-0d93-draft-cap-dvsec-duplicated-line-4k."
                 "lspci",
                 &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(d[0].size, 4096);
    static const char *const wdup[] = {
        "line 90: duplicated hex line 0x050 ignored"};
    expect_warnings(&d[0], wdup, 1);
    free(d);

    d = tu_dumps("dumps/messy/qlogic-isp1020-1077-1020-256b.lspci", &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(d[0].slot, "0000:00:00.0");
    ck_assert_str_eq(d[0].desc, "");
    ck_assert_uint_eq(d[0].size, 256);
    static const char *const wq[] = {
        "line 1: hex lines without a device header line; slot 0000:00:00.0 "
        "assumed"};
    expect_warnings(&d[0], wq, 1);
    EQX(d[0].cfg[0] | d[0].cfg[1] << 8, 0x1077);
    free(d);

    d = tu_dumps("dumps/messy/machine-rockchip-rk3399-asm1184-gk106-256b."
                 "lspci",
                 &n);
    ck_assert_uint_eq(n, 10);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(d[i].slot, "0000:04:00.0")) {
            ck_assert_uint_eq(d[i].size, 128);
            static const char *const w[] = {
                "hex line 0x080 missing; size cut to 128 bytes"};
            expect_warnings(&d[i], w, 1);
        } else {
            ck_assert_uint_eq(d[i].size, 256);
            ck_assert_uint_eq(d[i].nwarnings, 0);
        }
    }
    free(d);

    d = tu_dumps("dumps/messy/machine-samsung-np350v5c-amd-682f-vpd-stderr-"
                 "corruption-4k.lspci",
                 &n);
    ck_assert_uint_eq(n, 16);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(d[i].slot, "0000:01:00.0")) {
            ck_assert_uint_eq(d[i].size, 3872);
            ck_assert_uint_eq(d[i].line, 1531);
            static const char *const w[] = {
                "line 1827: unexpected text between hex lines",
                "hex line 0xf20 missing; size cut to 3872 bytes",
                "dump has 3872 bytes, not 64, 128, 256 or 4096"};
            expect_warnings(&d[i], w, 3);
        } else {
            ck_assert_uint_eq(d[i].nwarnings, 0);
        }
    }
    free(d);

    d = tu_dumps("dumps/messy/machine-huananzhi-x99-bd4-navi23-vpd-stderr-"
                 "corruption-4k.lspci",
                 &n);
    ck_assert_uint_eq(n, 87);
    size_t damaged = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(d[i].slot, "0000:05:00.1")) {
            damaged++;
            ck_assert_uint_eq(d[i].size, 3856);
            static const char *const w[] = {
                "line 5123: hex line 0xf10 has 12 valid bytes (expected 16); "
                "data cut there",
                "line 5124: unexpected text between hex lines",
                "dump has 3856 bytes, not 64, 128, 256 or 4096"};
            expect_warnings(&d[i], w, 3);
        } else {
            ck_assert_uint_eq(d[i].nwarnings, 0);
        }
    }
    ck_assert_uint_eq(damaged, 1);
    free(d);

    /* In messy/, but nothing the parser sees as damage. */
    d = tu_dumps("dumps/messy/machine-acer-ich9-bcm57780-ar928x-4k.lspci", &n);
    ck_assert_uint_eq(n, 25);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(d[i].nwarnings, 0);
    free(d);
}
END_TEST

/* ------------------------------------------------------------ decode: corpus
 */

/* Invariants every decode result keeps, whatever the bytes. */
static void check_decoded(const uint8_t *cfg, size_t size,
                          const struct vpci_decoded *o, int r, const char *what)
{
    ck_assert_msg(r >= 0, "%s: decode returned %d", what, r);
    ck_assert_msg((size_t)r == o->nwarnings, "%s: %d != %zu warnings", what, r,
                  o->nwarnings);
    ck_assert_uint_le(o->nwarnings, VPCI_DECODE_MAX_WARN);
    ck_assert_uint_le(o->ncaps, VPCI_DECODE_MAX_CAPS);
    unsigned sz = size > 4096 ? 4096 : (unsigned)size;
    ck_assert_uint_eq(o->size, sz);
    ck_assert_uint_eq(o->vendor_id, cfg[0] | cfg[1] << 8);
    ck_assert_uint_eq(o->device_id, cfg[2] | cfg[3] << 8);
    ck_assert_uint_eq(o->class_code,
                      (unsigned)(cfg[9] | cfg[10] << 8 | cfg[11] << 16));
    unsigned ht = cfg[0x0e] & 0x7f;
    ck_assert_uint_eq(o->header_type, ht <= 2 ? ht : 0x7f);
    if (ht > 2)
        ck_assert_uint_eq(o->ncaps, 0);
    bool have_std = (cfg[6] & 0x10) != 0;
    bool can_ext = false;
    unsigned std_end = sz < 256 ? sz : 256;
    for (size_t i = 0; i < o->ncaps; i++) {
        const struct vpci_cap_info *c = &o->caps[i];
        ck_assert_msg(c->def == vpci_cap_find(c->ext, c->id),
                      "%s: cap %zu def mismatch", what, i);
        ck_assert_uint_eq(c->off % 4, 0);
        if (!c->ext) {
            ck_assert_msg(have_std, "%s: std cap without Cap+", what);
            ck_assert_msg(c->off >= 0x40 && c->off + c->len <= std_end &&
                              c->len >= 2,
                          "%s: cap 0x%x at 0x%x len %u outside 0x40-0x%x", what,
                          c->id, c->off, c->len, std_end);
            ck_assert_uint_eq(c->version, 0);
            ck_assert_uint_le(c->id, 0xff);
            can_ext |= c->id == 0x10 || c->id == 0x07;
            ck_assert_msg(cfg[c->off] == c->id, "%s: id byte", what);
        } else {
            ck_assert_msg(can_ext, "%s: ecap without a PCIe/PCI-X cap", what);
            ck_assert_msg(c->off >= 0x100 && c->off + c->len <= sz &&
                              c->len >= 4,
                          "%s: ecap 0x%x at 0x%x len %u outside 0x100-0x%x",
                          what, c->id, c->off, c->len, sz);
            ck_assert_uint_le(c->version, 15);
            EQX(cfg[c->off] | cfg[c->off + 1] << 8, c->id);
        }
        /* The length: from the registers if they tell, else up to the
         * next capability of the same space or the end of that space. */
        unsigned end = c->ext ? sz : std_end;
        unsigned want = vpci_cap_length(c->def, cfg, sz, c->off);
        if (!want) {
            want = end - c->off;
            for (size_t j = 0; j < o->ncaps; j++)
                if (o->caps[j].ext == c->ext && o->caps[j].off > c->off &&
                    (unsigned)(o->caps[j].off - c->off) < want)
                    want = (unsigned)(o->caps[j].off - c->off);
        }
        ck_assert_msg(c->len == want,
                      "%s: cap 0x%x at 0x%x len %u, "
                      "expected %u",
                      what, c->id, c->off, c->len, want);
        if (c->def)
            ck_assert_msg(
                c->len <= c->def->max_len &&
                    (c->len >= c->def->min_len || c->off + c->len == end ||
                     !vpci_cap_length(c->def, cfg, sz, c->off)),
                "%s: %s at 0x%x len %u not in %u..%u", what, c->def->name,
                c->off, c->len, c->def->min_len, c->def->max_len);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(
                !(o->caps[j].ext == c->ext && o->caps[j].off == c->off),
                "%s: two caps at 0x%x", what, c->off);
    }
    for (size_t i = 0; i < o->nwarnings; i++) {
        size_t l = strnlen(o->warnings[i], sizeof(o->warnings[i]));
        ck_assert_msg(l > 0 && l < sizeof(o->warnings[i]),
                      "%s: warning %zu not terminated", what, i);
    }
}

static size_t decode_dir(const char *subdir, size_t *ret_caps)
{
    char **list = tu_list_dumps(subdir);
    struct vpci_decoded *o = dec_alloc();
    size_t ndev = 0;
    for (char **name = list; *name; name++) {
        char rel[512];
        snprintf(rel, sizeof(rel), "%s/%s", subdir, *name);
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(rel, &n);
        for (size_t i = 0; i < n; i++, ndev++) {
            char what[600];
            snprintf(what, sizeof(what), "%s %s", rel, d[i].slot);
            int r = vpci_decode(d[i].cfg, d[i].size, o);
            if (d[i].size < 64) {
                ck_assert_int_eq(r, -EINVAL);
                continue;
            }
            check_decoded(d[i].cfg, d[i].size, o, r, what);
            *ret_caps += o->ncaps;
        }
        free(d);
    }
    free(o);
    tu_free_list(list);
    return ndev;
}

START_TEST(test_decode_every_dump)
{
    size_t caps = 0;
    size_t n = decode_dir("dumps", &caps);
    ck_assert_uint_eq(n, 344);
    ck_assert_uint_ge(caps, 1000);
    caps = 0;
    ck_assert_uint_eq(decode_dir("dumps/messy", &caps), 142);
    ck_assert_uint_ge(caps, 300);
    caps = 0;
    ck_assert_uint_eq(decode_dir("dumps/nonreal", &caps), 5);
    ck_assert_uint_ge(caps, 30);
}
END_TEST

/* Clean dumps decode without warnings, except functions reading all
 * ones (absent or powered off), whose header type is unknown. */
START_TEST(test_decode_clean_warnings)
{
    char **list = tu_list_dumps("dumps");
    struct vpci_decoded *o = dec_alloc();
    size_t absent = 0;
    for (char **name = list; *name; name++) {
        char rel[512];
        snprintf(rel, sizeof(rel), "dumps/%s", *name);
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(rel, &n);
        for (size_t i = 0; i < n; i++) {
            int r = vpci_decode(d[i].cfg, d[i].size, o);
            if (o->vendor_id == 0xffff) {
                absent++;
                ck_assert_int_eq(r, 1);
                ck_assert_str_eq(o->warnings[0], "unknown header type 0x7f");
                ck_assert_uint_eq(o->header_type, 0x7f);
            } else {
                ck_assert_msg(r == 0, "%s %s: '%s'", rel, d[i].slot,
                              o->warnings[0]);
            }
        }
        free(d);
    }
    ck_assert_uint_eq(absent, 3);
    free(o);
    tu_free_list(list);
}
END_TEST

START_TEST(test_decode_messy_warnings)
{
    static const struct {
        const char *file, *slot;
        const char *warning;
        size_t ncaps;
    } want[] = {
        {"dumps/messy/broadcom-bcm4352-14e4-43b1-truncated-320b.lspci",
         "0000:01:00.0",
         "extended capability at 0x150 is beyond the 320 bytes dumped", 0},
        {"dumps/messy/intel-centrino-1000-8086-0084-truncated-320b.lspci",
         "0000:02:00.0",
         "extended capability at 0x140 is beyond the 320 bytes dumped", 0},
        {"dumps/messy/machine-rockchip-rk3399-asm1184-gk106-256b.lspci",
         "0000:04:00.0", "capability at 0xb4 is beyond the 128 bytes dumped",
         3},
    };
    struct vpci_decoded *o = dec_alloc();
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        size_t n;
        struct vpci_dump_dev *d = tu_dumps(want[k].file, &n);
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(d[i].slot, want[k].slot))
                continue;
            found = true;
            ck_assert_int_eq(vpci_decode(d[i].cfg, d[i].size, o), 1);
            ck_assert_str_eq(o->warnings[0], want[k].warning);
            if (want[k].ncaps)
                ck_assert_uint_eq(o->ncaps, want[k].ncaps);
        }
        ck_assert(found);
        free(d);
    }
    /* The 320-byte dumps still have their first ecap (AER at 0x100). */
    size_t n;
    struct vpci_dump_dev *d = tu_dumps(
        "dumps/messy/intel-centrino-1000-8086-0084-truncated-320b.lspci", &n);
    vpci_decode(d[0].cfg, d[0].size, o);
    const struct vpci_cap_info *last = &o->caps[o->ncaps - 1];
    ck_assert(last->ext);
    EQX(last->id, 0x0001);
    EQX(last->off, 0x100);
    EQX(last->len, 0x2c);
    free(d);
    free(o);
}
END_TEST

/* ------------------------------------------------------------ decode: pinned
 */

struct xcap {
    bool ext;
    uint16_t id;
    uint8_t version;
    uint16_t off, len;
};
#define C(id, off, len)                                                        \
    {                                                                          \
        false, (id), 0, (off), (len)                                           \
    }
#define E(id, v, off, len)                                                     \
    {                                                                          \
        true, (id), (v), (off), (len)                                          \
    }

static void expect_caps(const char *file, const char *slot,
                        const struct xcap *want, size_t nwant,
                        unsigned header_type)
{
    size_t n;
    struct vpci_dump_dev *d = tu_dumps(file, &n);
    const struct vpci_dump_dev *dev = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].slot, slot))
            dev = &d[i];
    ck_assert_msg(dev != NULL, "%s: no %s", file, slot);
    struct vpci_decoded *o = dec_alloc();
    int r = vpci_decode(dev->cfg, dev->size, o);
    ck_assert_msg(r == 0, "%s %s: warning '%s'", file, slot, o->warnings[0]);
    ck_assert_uint_eq(o->header_type, header_type);
    for (size_t i = 0; i < nwant && i < o->ncaps; i++) {
        const struct vpci_cap_info *c = &o->caps[i];
        ck_assert_msg(c->ext == want[i].ext && c->id == want[i].id &&
                          c->version == want[i].version &&
                          c->off == want[i].off && c->len == want[i].len,
                      "%s %s cap %zu: %s 0x%x v%u at 0x%x len 0x%x, expected "
                      "%s 0x%x v%u at 0x%x len 0x%x",
                      file, slot, i, c->ext ? "ecap" : "cap", c->id, c->version,
                      c->off, c->len, want[i].ext ? "ecap" : "cap", want[i].id,
                      want[i].version, want[i].off, want[i].len);
        ck_assert_ptr_nonnull(c->def);
    }
    ck_assert_msg(o->ncaps == nwant, "%s %s: %zu caps, expected %zu", file,
                  slot, o->ncaps, nwant);
    free(o);
    free(d);
}

#define EXPECT_CAPS(file, slot, ht, ...)                                       \
    do {                                                                       \
        static const struct xcap w_[] = {__VA_ARGS__};                         \
        expect_caps("dumps/" file, slot, w_, sizeof(w_) / sizeof(w_[0]), ht);  \
    } while (0)

START_TEST(test_decode_pinned_dsa)
{
    /* lspci: Express (v2) RCiEP [40], MSI-X [80], PM [90], AER v2 [100],
     * LTR [150], TPH (ST table in the cap) [160], VC (LPEVC=1) [170],
     * DVSEC Len=24 [200], ATS [220], PASID [230], PRI [240]. */
    EXPECT_CAPS("intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci", "0000:6a:01.0", 0,
                C(0x10, 0x40, 0x3c), C(0x11, 0x80, 0x0c), C(0x01, 0x90, 8),
                E(0x0001, 2, 0x100, 0x2c), E(0x0018, 1, 0x150, 8),
                E(0x0017, 1, 0x160, 0x10), E(0x0002, 1, 0x170, 0x28),
                E(0x0023, 1, 0x200, 0x18), E(0x000f, 1, 0x220, 8),
                E(0x001b, 1, 0x230, 8), E(0x0013, 1, 0x240, 0x10));
}
END_TEST

START_TEST(test_decode_pinned_sriov_pf)
{
    /* lspci: PM [40], MSI Maskable+ 64bit+ [50], MSI-X [70], Express (v2)
     * Endpoint [a0], AER [100], DSN [140], ARI [150], SR-IOV [160]. */
    EXPECT_CAPS("intel-82576-pf-8086-10c9-sriov-4k.lspci", "0000:01:00.0", 0,
                C(0x01, 0x40, 8), C(0x05, 0x50, 24), C(0x11, 0x70, 0x0c),
                C(0x10, 0xa0, 0x3c), E(0x0001, 1, 0x100, 0x2c),
                E(0x0003, 1, 0x140, 0x0c), E(0x000e, 1, 0x150, 8),
                E(0x0010, 1, 0x160, 0x40));
    EXPECT_CAPS("intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci",
                "0000:09:00.0", 0, C(0x01, 0x40, 8), C(0x05, 0x50, 24),
                C(0x11, 0x70, 0x0c), C(0x10, 0xa0, 0x3c),
                E(0x0001, 1, 0x100, 0x2c), E(0x0003, 1, 0x140, 0x0c),
                E(0x000e, 1, 0x150, 8), E(0x0010, 1, 0x160, 0x40));
}
END_TEST

START_TEST(test_decode_pinned_thunderx_ea)
{
    /* lspci: Express (v2) Endpoint [40], MSI-X [80], EA NumEntries=4 each
     * EntrySize=4 [98] (4 + 4 * 20 bytes), ARI [100], VSEC Len=040 [108],
     * SR-IOV [180]. */
    EXPECT_CAPS("cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci",
                "0002:01:00.0", 0, C(0x10, 0x40, 0x3c), C(0x11, 0x80, 0x0c),
                C(0x14, 0x98, 0x54), E(0x000e, 1, 0x100, 8),
                E(0x000b, 1, 0x108, 0x40), E(0x0010, 1, 0x180, 0x40));
}
END_TEST

START_TEST(test_decode_pinned_cxl)
{
    /* lspci: MSI-X [40], Express (v2) Endpoint [80], DOE [100], DOE [130]. */
    EXPECT_CAPS("intel-cxl-mem-8086-0d93-doe-4k.lspci", "0000:df:00.0", 0,
                C(0x11, 0x40, 0x0c), C(0x10, 0x80, 0x3c),
                E(0x002e, 1, 0x100, 0x18), E(0x002e, 1, 0x130, 0x18));
    /* lspci: Express RCiEP [80], MSI 1/16 Maskable- 64bit+ [e0], PM [f8],
     * VSEC Len=008 [100], ARI [128], DLF [1e0], AER v2 [200], DOE [450],
     * DVSEC Len=56 [500], Len=20 [540], Len=36 [560], Len=16 [590]. */
    EXPECT_CAPS("intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci", "0000:7f:00.0", 0,
                C(0x10, 0x80, 0x3c), C(0x05, 0xe0, 14), C(0x01, 0xf8, 8),
                E(0x000b, 1, 0x100, 8), E(0x000e, 1, 0x128, 8),
                E(0x0025, 1, 0x1e0, 0x0c), E(0x0001, 2, 0x200, 0x2c),
                E(0x002e, 1, 0x450, 0x18), E(0x0023, 1, 0x500, 56),
                E(0x0023, 1, 0x540, 20), E(0x0023, 1, 0x560, 36),
                E(0x0023, 1, 0x590, 16));
    /* lspci: 19 capabilities; VSEC Len=04c [d00], DVSEC Len=56 [e00]. */
    EXPECT_CAPS("intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci", "0000:6b:00.0", 0,
                C(0x10, 0x40, 0x3c), C(0x05, 0x80, 24), C(0x01, 0xa0, 8),
                E(0x0001, 1, 0x100, 0x2c), E(0x0008, 1, 0x200, 0x1c),
                E(0x0009, 1, 0x300, 0x1c), E(0x0012, 1, 0x550, 0x30),
                E(0x0018, 1, 0x588, 8), E(0x0017, 1, 0x5b0, 0x2c),
                E(0x000f, 1, 0x6e0, 8), E(0x0015, 1, 0x700, 0x0c),
                E(0x0019, 1, 0x714, 0x0c), E(0x0013, 1, 0xb20, 0x10),
                E(0x001b, 1, 0xb40, 8), E(0x001f, 1, 0xb50, 0x0c),
                E(0x0010, 1, 0xb80, 0x40), E(0x000b, 1, 0xd00, 0x4c),
                E(0x0023, 1, 0xe00, 0x38), E(0x0003, 1, 0xe38, 0x0c));
}
END_TEST

START_TEST(test_decode_pinned_bridges)
{
    /* lspci: Express (v2) Root Port (Slot+) [40], MSI 1/1 Maskable- 64bit-
     * [80], Subsystem [90], PM [a0], AER [100] (root port: 0x38), ACS
     * [140], L1SS [200], Secondary PCIe [220]. */
    EXPECT_CAPS("intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci",
                "0000:00:1c.0", 1, C(0x10, 0x40, 0x3c), C(0x05, 0x80, 10),
                C(0x0d, 0x90, 8), C(0x01, 0xa0, 8), E(0x0001, 1, 0x100, 0x38),
                E(0x000d, 1, 0x140, 8), E(0x001e, 1, 0x200, 0x10),
                E(0x0019, 1, 0x220, 0x10));
    /* The chain goes backwards: MSI [80] first, then Express [40]. */
    EXPECT_CAPS("intel-bridge-8086-b002-ptm-4k.lspci", "0003:01:00.0", 1,
                C(0x05, 0x80, 10), C(0x10, 0x40, 0x3c),
                E(0x001f, 1, 0x100, 0x0c));
    /* Express (v1) Downstream Port [68]: 0x24 bytes; AER at 0xfb4 between
     * DSN [100] and Power Budgeting [138]. */
    EXPECT_CAPS("plx-pex8532-switch-10b5-8532-vc-pat-4k.lspci", "0000:12:08.0",
                1, C(0x01, 0x40, 8), C(0x05, 0x48, 14), C(0x10, 0x68, 0x24),
                E(0x0003, 1, 0x100, 0x0c), E(0x0001, 1, 0xfb4, 0x2c),
                E(0x0004, 1, 0x138, 0x10), E(0x0002, 1, 0x148, 0x40));
    /* HyperTransport MSI mapping [a0] (12) and slave interface [50] (28). */
    EXPECT_CAPS("broadcom-ht2100-bridge-1166-0140-ht-msimap-256b.lspci",
                "0000:0a:01.0", 1, C(0x08, 0xa0, 12), C(0x10, 0xb0, 0x24),
                C(0x01, 0x98, 8), C(0x05, 0x80, 14), C(0x0d, 0x78, 8),
                C(0x08, 0x50, 28));
    /* CardBus: the pointer is at 0x14. */
    EXPECT_CAPS("machine-lenovo-t400-4k.lspci", "0000:15:00.0", 2,
                C(0x01, 0xdc, 8));
}
END_TEST

START_TEST(test_decode_pinned_small)
{
    /* PCI Advanced Features [50] (6 bytes). */
    EXPECT_CAPS("intel-ich10-uhci-8086-3a34-pciaf-256b.lspci", "0000:00:1d.0",
                0, C(0x13, 0x50, 6));
    /* Debug port [44], PM [80]. */
    EXPECT_CAPS("nvidia-ck804-usb-ehci-10de-005b-debugport-256b.lspci",
                "0000:00:02.1", 0, C(0x0a, 0x44, 4), C(0x01, 0x80, 8));
}
END_TEST

/* ------------------------------------------------------------ decode: hostile
 */

/* A type-0 function with Cap+ and the chain starting at 0x40. */
static void base_cfg(uint8_t *c, size_t n)
{
    memset(c, 0, n);
    c[0] = 0x86;
    c[1] = 0x80;
    c[2] = 0x34;
    c[3] = 0x12;
    c[6] = 0x10;
    c[0x34] = 0x40;
}

static void put_cap(uint8_t *c, unsigned off, uint8_t id, uint8_t next)
{
    c[off] = id;
    c[off + 1] = next;
}

/* A PCIe v2 endpoint cap, which allows the extended chain. */
static void put_pcie(uint8_t *c, unsigned off, uint8_t next)
{
    put_cap(c, off, 0x10, next);
    c[off + 2] = 0x02;
}

static void put_ecap(uint8_t *c, unsigned off, uint16_t id, unsigned ver,
                     unsigned next)
{
    uint32_t h = id | (uint32_t)ver << 16 | (uint32_t)next << 20;
    c[off] = (uint8_t)h;
    c[off + 1] = (uint8_t)(h >> 8);
    c[off + 2] = (uint8_t)(h >> 16);
    c[off + 3] = (uint8_t)(h >> 24);
}

/* Decode from an exact-size heap copy (valgrind sees overreads). */
static int decode_exact(const uint8_t *cfg, size_t size, struct vpci_decoded *o)
{
    uint8_t *copy = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, cfg, size);
    int r = vpci_decode(copy, size, o);
    if (r >= 0)
        check_decoded(copy, size, o, r, "built");
    free(copy);
    return r;
}

static void expect_one_warning(const struct vpci_decoded *o, int r,
                               const char *w)
{
    ck_assert_int_eq(r, 1);
    ck_assert_uint_eq(o->nwarnings, 1);
    ck_assert_str_eq(o->warnings[0], w);
}

START_TEST(test_decode_std_hostile)
{
    uint8_t c[256];
    struct vpci_decoded *o = dec_alloc();
    int r;

    /* Loop over two caps. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x01, 0x50);
    put_cap(c, 0x50, 0x05, 0x40);
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "capability chain loops at 0x40");
    ck_assert_uint_eq(o->ncaps, 2);
    EQX(o->caps[0].off, 0x40);
    EQX(o->caps[1].off, 0x50);

    /* A cap pointing to itself. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x01, 0x40);
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "capability chain loops at 0x40");
    ck_assert_uint_eq(o->ncaps, 1);

    /* 48 caps in every dword slot, the last back to the first. */
    base_cfg(c, 256);
    for (unsigned p = 0x40; p < 0x100; p += 4)
        put_cap(c, p, 0x0a, (uint8_t)(p + 4 < 0x100 ? p + 4 : 0x40));
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "capability chain loops at 0x40");
    ck_assert_uint_eq(o->ncaps, 48);

    /* Header pointer into the header. */
    base_cfg(c, 256);
    c[0x34] = 0x20;
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r,
                       "capability pointer 0x20 at 0x34 points into the "
                       "header");
    ck_assert_uint_eq(o->ncaps, 0);

    /* A cap's next pointer into the header. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x01, 0x3c);
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r,
                       "capability pointer 0x3c at 0x41 points into the "
                       "header");
    ck_assert_uint_eq(o->ncaps, 1);

    /* ID 0xff ends the chain. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x01, 0x48);
    put_cap(c, 0x48, 0xff, 0x50);
    put_cap(c, 0x50, 0x05, 0x00);
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "capability ID 0xff at 0x48");
    ck_assert_uint_eq(o->ncaps, 1);

    /* ID 0x00 is kept (unknown, up to the next cap) and followed. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x00, 0x60);
    put_cap(c, 0x60, 0x01, 0x00);
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "capability ID 0x00 at 0x40");
    ck_assert_uint_eq(o->ncaps, 2);
    ck_assert_ptr_null(o->caps[0].def);
    EQX(o->caps[0].len, 0x20);
    EQX(o->caps[1].id, 0x01);
    EQX(o->caps[1].len, 8);

    /* The low two bits of pointers are ignored, no warning. */
    base_cfg(c, 256);
    c[0x34] = 0x43;
    put_cap(c, 0x40, 0x01, 0x53);
    put_cap(c, 0x50, 0x11, 0x00);
    r = decode_exact(c, 256, o);
    ck_assert_int_eq(r, 0);
    ck_assert_uint_eq(o->ncaps, 2);
    EQX(o->caps[1].off, 0x50);
    EQX(o->caps[1].len, 12);

    /* Cap- in status: no chain at all. */
    base_cfg(c, 256);
    c[6] = 0;
    put_cap(c, 0x40, 0x01, 0x00);
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    ck_assert_uint_eq(o->ncaps, 0);

    /* Unknown IDs own the bytes up to the next cap or the end. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x16, 0x80);
    put_cap(c, 0x80, 0x01, 0xc0);
    put_cap(c, 0xc0, 0x77, 0x00);
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    ck_assert_uint_eq(o->ncaps, 3);
    ck_assert_ptr_null(o->caps[0].def);
    EQX(o->caps[0].len, 0x40);
    EQX(o->caps[2].len, 0x40);

    /* A vendor cap near the end is clamped to the space. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x09, 0xf0);
    c[0x42] = 0x20;
    put_cap(c, 0xf0, 0x09, 0x00);
    c[0xf2] = 0x40;
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    EQX(o->caps[0].len, 0x20);
    EQX(o->caps[1].len, 0x10);

    /* Header types: 1 uses 0x34, 2 uses 0x14, others are unknown. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x01, 0x00);
    put_cap(c, 0x80, 0x05, 0x00);
    c[0x14] = 0x80;
    c[0x0e] = 0x81;
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    ck_assert_uint_eq(o->header_type, 1);
    EQX(o->caps[0].off, 0x40);
    c[0x0e] = 0x02;
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    ck_assert_uint_eq(o->header_type, 2);
    ck_assert_uint_eq(o->ncaps, 1);
    EQX(o->caps[0].off, 0x80);
    c[0x0e] = 0x03;
    r = decode_exact(c, 256, o);
    expect_one_warning(o, r, "unknown header type 0x03");
    ck_assert_uint_eq(o->header_type, 0x7f);
    ck_assert_uint_eq(o->ncaps, 0);

    free(o);
}
END_TEST

START_TEST(test_decode_ext_hostile)
{
    uint8_t c[4096];
    struct vpci_decoded *o = dec_alloc();
    int r;

    /* A plain chain: AER -> DSN. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0001, 1, 0x140);
    put_ecap(c, 0x140, 0x0003, 1, 0);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 3);
    ck_assert(o->caps[1].ext && o->caps[2].ext);
    EQX(o->caps[1].len, 0x2c);
    EQX(o->caps[2].len, 0x0c);

    /* Loop of two. */
    put_ecap(c, 0x140, 0x0003, 1, 0x100);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r, "extended capability chain loops at 0x100");
    ck_assert_uint_eq(o->ncaps, 3);

    /* Self loop. */
    put_ecap(c, 0x100, 0x0001, 1, 0x100);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r, "extended capability chain loops at 0x100");
    ck_assert_uint_eq(o->ncaps, 2);

    /* A long chain through every dword of the space, then a loop. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    for (unsigned p = 0x100; p < 0x1000; p += 4)
        put_ecap(c, p, 0x7777, 1, p + 4 < 0x1000 ? p + 4 : 0x100);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r, "extended capability chain loops at 0x100");
    ck_assert_uint_eq(o->ncaps, 1 + 960);

    /* All ones after the first: the rest is unreadable. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0001, 2, 0x200);
    memset(c + 0x200, 0xff, 4);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r,
                       "extended capability at 0x200 (from 0x100) reads "
                       "0xffffffff");
    ck_assert_uint_eq(o->ncaps, 2);
    memset(c + 0x200, 0x00, 4);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r,
                       "extended capability at 0x200 (from 0x100) reads "
                       "0x00000000");

    /* 0 or all ones at 0x100: no extended caps, not an error. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    memset(c + 0x100, 0xff, 4);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 1);
    memset(c + 0x100, 0x00, 4);
    put_ecap(c, 0x140, 0x0003, 1, 0); /* unreachable */
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 1);

    /* A next pointer below 0x100. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0001, 1, 0x080);
    r = decode_exact(c, 4096, o);
    expect_one_warning(o, r,
                       "extended capability at 0x100 points to 0x080, below "
                       "0x100");
    ck_assert_uint_eq(o->ncaps, 2);

    /* Low bits of the next pointer are ignored. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0001, 1, 0x143);
    put_ecap(c, 0x140, 0x0003, 1, 0);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    EQX(o->caps[2].off, 0x140);

    /* The zero-ID placeholder is followed. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0000, 0, 0x140);
    put_ecap(c, 0x140, 0x001b, 1, 0);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 3);
    ck_assert_ptr_nonnull(o->caps[1].def);
    ck_assert_str_eq(o->caps[1].def->name, "null");
    EQX(o->caps[1].len, 4);
    EQX(o->caps[2].id, 0x001b);

    /* Unknown ext IDs own the bytes up to the next one or the end. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x7777, 1, 0x200);
    put_ecap(c, 0x200, 0xfffe, 1, 0);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_ptr_null(o->caps[1].def);
    EQX(o->caps[1].len, 0x100);
    EQX(o->caps[2].len, 0xe00);

    /* No PCIe or PCI-X capability: no extended space. */
    base_cfg(c, 4096);
    put_cap(c, 0x40, 0x01, 0);
    put_ecap(c, 0x100, 0x0001, 1, 0);
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 1);
    put_cap(c, 0x40, 0x07, 0); /* PCI-X */
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 2);

    free(o);
}
END_TEST

START_TEST(test_decode_truncated)
{
    uint8_t c[4096];
    struct vpci_decoded *o = dec_alloc();
    int r;

    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0x64);
    put_cap(c, 0x64, 0x01, 0);
    put_ecap(c, 0x100, 0x0001, 1, 0x140);
    put_ecap(c, 0x140, 0x0003, 1, 0);

    /* 64 bytes: the first cap is beyond. */
    r = decode_exact(c, 64, o);
    expect_one_warning(o, r,
                       "capability at 0x40 is beyond the 64 bytes "
                       "dumped");
    ck_assert_uint_eq(o->ncaps, 0);
    ck_assert_uint_eq(o->size, 64);

    /* 100 bytes: PCIe is cut to 100 - 0x40, PM at 0x64 is beyond. */
    r = decode_exact(c, 100, o);
    expect_one_warning(o, r,
                       "capability at 0x64 is beyond the 100 bytes "
                       "dumped");
    ck_assert_uint_eq(o->ncaps, 1);
    EQX(o->caps[0].len, 100 - 0x40);

    /* 256 bytes with PCIe: the extended chain is simply not there. */
    ck_assert_int_eq(decode_exact(c, 256, o), 0);
    ck_assert_uint_eq(o->ncaps, 2);
    ck_assert_int_eq(decode_exact(c, 259, o), 0);
    ck_assert_uint_eq(o->ncaps, 2);

    /* 290 bytes: AER cut to 34 bytes, DSN at 0x140 beyond. */
    r = decode_exact(c, 290, o);
    expect_one_warning(o, r,
                       "extended capability at 0x140 is beyond the "
                       "290 bytes dumped");
    ck_assert_uint_eq(o->ncaps, 3);
    EQX(o->caps[2].len, 34);

    /* Whole space. */
    ck_assert_int_eq(decode_exact(c, 4096, o), 0);
    ck_assert_uint_eq(o->ncaps, 4);

    /* Larger buffers are read as 4096 bytes. */
    uint8_t *big = calloc(1, 8192);
    ck_assert_ptr_nonnull(big);
    memcpy(big, c, 4096);
    ck_assert_int_eq(vpci_decode(big, 8192, o), 0);
    ck_assert_uint_eq(o->size, 4096);
    ck_assert_uint_eq(o->ncaps, 4);
    free(big);

    /* Too small or missing: -EINVAL and a cleared result. */
    memset(o, 0x5a, sizeof(*o));
    ck_assert_int_eq(vpci_decode(c, 63, o), -EINVAL);
    ck_assert_uint_eq(o->ncaps, 0);
    ck_assert_uint_eq(o->nwarnings, 0);
    ck_assert_uint_eq(o->size, 0);
    ck_assert_int_eq(vpci_decode(c, 0, o), -EINVAL);
    ck_assert_int_eq(vpci_decode(NULL, 256, o), -EINVAL);
    ck_assert_int_eq(vpci_decode(c, 256, NULL), -EINVAL);
    free(o);
}
END_TEST

/* ------------------------------------------------------------ decode: random
 */

START_TEST(test_decode_random)
{
    size_t ntab;
    const struct vpci_cap_def *tab = vpci_cap_table(&ntab);
    struct vpci_decoded *o = dec_alloc();
    tu_srand(0x2545f491u);
    size_t total_caps = 0, total_warn = 0, with_ext = 0;
    for (int iter = 0; iter < 10000; iter++) {
        unsigned size;
        switch (tu_rand() % 8) {
        case 0:
            size = 64;
            break;
        case 1:
            size = 256;
            break;
        case 2:
        case 3:
            size = 4096;
            break;
        case 4:
            size = 64 + tu_rand() % (4096 - 63);
            break;
        case 5:
            size = 256 + tu_rand() % 64;
            break;
        case 6:
            size = 64 + tu_rand() % 200;
            break;
        default:
            size = 4096 - tu_rand() % 64;
            break;
        }
        uint8_t *c = malloc(size);
        ck_assert_ptr_nonnull(c);
        for (unsigned i = 0; i < size; i++)
            c[i] = (uint8_t)tu_rand();
        /* Mostly plausible: Cap+, a known header type, real IDs. */
        if (tu_rand() % 8)
            c[6] |= 0x10;
        if (tu_rand() % 8)
            c[0x0e] = (uint8_t)(tu_rand() % 3);
        unsigned where = (c[0x0e] & 0x7f) == 2 ? 0x14 : 0x34;
        unsigned p = 0x40 + 4 * (tu_rand() % 48);
        c[where] = (uint8_t)p;
        unsigned nstd = tu_rand() % 16;
        for (unsigned k = 0; k < nstd && p + 2 <= size; k++) {
            const struct vpci_cap_def *d = &tab[tu_rand() % ntab];
            c[p] = !d->ext ? (uint8_t)d->id : (uint8_t)tu_rand();
            if (k == 0 && tu_rand() % 2)
                c[p] = 0x10; /* PCIe first: extended chain walked */
            unsigned next;
            switch (tu_rand() % 6) {
            case 0:
                next = tu_rand() & 0xff;
                break; /* anything */
            case 1:
                next = 0;
                break;
            default:
                next = 0x40 + 4 * (tu_rand() % 48);
                break;
            }
            c[p + 1] = (uint8_t)next;
            p = next & 0xfc;
            if (p < 0x40)
                break;
        }
        if (size >= 0x104) {
            unsigned e = 0x100;
            unsigned next_max = size > 0x104 ? size : 0x104;
            unsigned next_ext = tu_rand() % 6;
            for (unsigned k = 0; k < 24 && e + 4 <= size; k++) {
                const struct vpci_cap_def *d = &tab[tu_rand() % ntab];
                uint16_t id = d->ext ? d->id : (uint16_t)tu_rand();
                unsigned nx;
                if (next_ext == 0)
                    nx = tu_rand() & 0xfff;
                else if (tu_rand() % 8 == 0)
                    nx = 0;
                else
                    nx = 0x100 + 4 * (tu_rand() % ((next_max - 0x100) / 4 + 1));
                put_ecap(c, e, id, tu_rand() & 0xf, nx & 0xfff);
                e = nx & 0xffc;
                if (e < 0x100)
                    break;
            }
        }
        int r = vpci_decode(c, size, o);
        char what[64];
        snprintf(what, sizeof(what), "random %d (size %u)", iter, size);
        check_decoded(c, size, o, r, what);
        total_caps += o->ncaps;
        total_warn += o->nwarnings;
        for (size_t i = 0; i < o->ncaps; i++)
            if (o->caps[i].ext) {
                with_ext++;
                break;
            }
        /* Same bytes, same answer. */
        struct vpci_decoded *o2 = dec_alloc();
        ck_assert_int_eq(vpci_decode(c, size, o2), r);
        ck_assert_uint_eq(o2->ncaps, o->ncaps);
        ck_assert_mem_eq(o2->caps, o->caps, o->ncaps * sizeof(o->caps[0]));
        free(o2);
        /* Every length of every table entry at a random offset. */
        for (int k = 0; k < 4; k++) {
            const struct vpci_cap_def *d = &tab[tu_rand() % ntab];
            uint16_t off = (uint16_t)(tu_rand() % (size + 8));
            unsigned len = vpci_cap_length(d, c, size, off);
            if (off >= size || (!d->ext && off >= 256)) {
                ck_assert_uint_eq(len, 0);
                continue;
            }
            unsigned end = d->ext || size < 256 ? size : 256;
            ck_assert_msg(len <= end - off && len <= d->max_len,
                          "%s at 0x%x of %u: length %u", d->name, off, size,
                          len);
        }
        free(c);
    }
    /* The generator reaches the interesting paths. */
    ck_assert_uint_ge(total_caps, 35000);
    ck_assert_uint_ge(total_warn, 6000);
    ck_assert_uint_ge(with_ext, 2000);
    free(o);
}
END_TEST

/* ------------------------------------------------------------ cap table */

START_TEST(test_table_names_and_ids)
{
    static const struct {
        bool ext;
        uint16_t id;
        const char *name;
    } want[] = {
        {false, 0x01, "pm"},         {false, 0x03, "vpd"},
        {false, 0x05, "msi"},        {false, 0x09, "vendor"},
        {false, 0x10, "pcie"},       {false, 0x11, "msix"},
        {false, 0x13, "af"},         {true, 0x0001, "aer"},
        {true, 0x0002, "vc"},        {true, 0x0003, "dsn"},
        {true, 0x0004, "pwrbudget"}, {true, 0x000b, "vsec"},
        {true, 0x000d, "acs"},       {true, 0x000e, "ari"},
        {true, 0x000f, "ats"},       {true, 0x0010, "sriov"},
        {true, 0x0013, "pri"},       {true, 0x0015, "rebar"},
        {true, 0x0017, "tph"},       {true, 0x0018, "ltr"},
        {true, 0x0019, "secpci"},    {true, 0x001b, "pasid"},
        {true, 0x001d, "dpc"},       {true, 0x001e, "l1ss"},
        {true, 0x001f, "ptm"},       {true, 0x0023, "dvsec"},
        {true, 0x0025, "dlf"},       {true, 0x0026, "pl16"},
        {true, 0x0027, "lmr"},       {true, 0x002a, "pl32"},
        {true, 0x002e, "doe"},       {true, 0x0000, "null"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct vpci_cap_def *d = vpci_cap_find(want[i].ext, want[i].id);
        ck_assert_msg(d != NULL, "no %s 0x%x", want[i].ext ? "ecap" : "cap",
                      want[i].id);
        ck_assert_str_eq(d->name, want[i].name);
        ck_assert(d->ext == want[i].ext);
        ck_assert_ptr_eq(vpci_cap_find_name(want[i].ext, want[i].name), d);
        ck_assert_ptr_nonnull(d->title);
        ck_assert_uint_gt(strlen(d->title), 2);
    }
    /* Names are per space and exact. */
    ck_assert_ptr_null(vpci_cap_find_name(false, "pasid"));
    ck_assert_ptr_null(vpci_cap_find_name(true, "msix"));
    ck_assert_ptr_null(vpci_cap_find_name(false, "PCIE"));
    ck_assert_ptr_null(vpci_cap_find_name(false, "pci"));
    ck_assert_ptr_null(vpci_cap_find_name(false, ""));
    ck_assert_ptr_null(vpci_cap_find_name(false, NULL));
    /* Unassigned IDs. */
    ck_assert_ptr_null(vpci_cap_find(false, 0x00));
    ck_assert_ptr_null(vpci_cap_find(false, 0x16));
    ck_assert_ptr_null(vpci_cap_find(false, 0xff));
    ck_assert_ptr_null(vpci_cap_find(true, 0x0014));
    ck_assert_ptr_null(vpci_cap_find(true, 0x002b));
    ck_assert_ptr_null(vpci_cap_find(true, 0xffff));
    /* Titles people recognise. */
    ck_assert_str_eq(vpci_cap_find(false, 0x10)->title, "PCI Express");
    ck_assert_str_eq(vpci_cap_find(true, 0x001b)->title,
                     "Process Address Space ID");
    ck_assert_str_eq(vpci_cap_find(true, 0x0010)->title,
                     "Single Root I/O Virtualization");
}
END_TEST

START_TEST(test_table_order_and_fields)
{
    size_t n = 0;
    const struct vpci_cap_def *t = vpci_cap_table(&n);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_ge(n, 60);
    ck_assert_ptr_eq(vpci_cap_table(NULL), t);
    for (size_t i = 0; i < n; i++) {
        const struct vpci_cap_def *d = &t[i];
        if (i) {
            const struct vpci_cap_def *p = &t[i - 1];
            ck_assert_msg(p->ext < d->ext ||
                              (p->ext == d->ext && p->id < d->id),
                          "table not in ID order at %s", d->name);
        }
        ck_assert_ptr_eq(vpci_cap_find(d->ext, d->id), d);
        ck_assert_ptr_eq(vpci_cap_find_name(d->ext, d->name), d);
        size_t nl = strlen(d->name);
        ck_assert(nl > 0 && nl <= VPCI_NAME_MAX);
        for (size_t k = 0; k < nl; k++)
            ck_assert_msg((d->name[k] >= 'a' && d->name[k] <= 'z') ||
                              (d->name[k] >= '0' && d->name[k] <= '9') ||
                              d->name[k] == '_',
                          "bad name '%s'", d->name);
        unsigned hdr = d->ext ? 4 : 2;
        ck_assert_uint_ge(d->min_len, d->ext ? 4 : 3 - (d->id != 0x09));
        ck_assert_uint_le(d->min_len, d->max_len);
        ck_assert_uint_le(d->max_len, d->ext ? 0xf00 : 0xff);
        ck_assert((d->fields == NULL) == (d->nfields == 0));
        for (size_t f = 0; f < d->nfields; f++) {
            const struct vpci_field_def *fd = &d->fields[f];
            ck_assert_msg(fd->width == 1 || fd->width == 2 || fd->width == 4,
                          "%s.%s width %u", d->name, fd->name, fd->width);
            ck_assert_msg(fd->off >= hdr,
                          "%s.%s at 0x%x overlaps the "
                          "header",
                          d->name, fd->name, fd->off);
            ck_assert_msg(fd->off + fd->width <= d->max_len,
                          "%s.%s ends past max_len", d->name, fd->name);
            ck_assert_msg(fd->off % fd->width == 0, "%s.%s misaligned", d->name,
                          fd->name);
            ck_assert(strlen(fd->name) > 0 &&
                      strlen(fd->name) <= VPCI_NAME_MAX);
            for (size_t g = 0; g < f; g++) {
                const struct vpci_field_def *gd = &d->fields[g];
                ck_assert_msg(strcmp(fd->name, gd->name), "%s: two %s", d->name,
                              fd->name);
                bool overlap = fd->off < gd->off + gd->width &&
                               gd->off < fd->off + fd->width;
                /* Only MSI has alternative layouts (32/64-bit). */
                bool alt = !d->ext && d->id == 0x05 &&
                           (strstr(fd->name, "32") != NULL) !=
                               (strstr(gd->name, "32") != NULL);
                ck_assert_msg(!overlap || alt, "%s: %s overlaps %s", d->name,
                              fd->name, gd->name);
            }
        }
    }
}
END_TEST

static void expect_field(bool ext, const char *cap, const char *field,
                         unsigned off, unsigned width)
{
    const struct vpci_cap_def *d = vpci_cap_find_name(ext, cap);
    ck_assert_msg(d != NULL, "no %s", cap);
    for (size_t i = 0; i < d->nfields; i++)
        if (!strcmp(d->fields[i].name, field)) {
            ck_assert_msg(d->fields[i].off == off &&
                              d->fields[i].width == width,
                          "%s.%s is 0x%x/%u, expected 0x%x/%u", cap, field,
                          d->fields[i].off, d->fields[i].width, off, width);
            return;
        }
    ck_assert_msg(0, "%s has no field %s", cap, field);
}

/* Register offsets from the PCI and PCIe specifications. */
START_TEST(test_table_spec_offsets)
{
    expect_field(false, "pm", "pmc", 0x02, 2);
    expect_field(false, "pm", "pmcsr", 0x04, 2);
    expect_field(false, "msi", "msgctl", 0x02, 2);
    expect_field(false, "msi", "msg_addr", 0x04, 4);
    expect_field(false, "msi", "msg_addr_hi", 0x08, 4);
    expect_field(false, "msi", "msg_data", 0x0c, 2);
    expect_field(false, "msi", "mask", 0x10, 4);
    expect_field(false, "msi", "pending", 0x14, 4);
    expect_field(false, "msi", "msg_data32", 0x08, 2);
    expect_field(false, "msi", "mask32", 0x0c, 4);
    expect_field(false, "msi", "pending32", 0x10, 4);
    expect_field(false, "msix", "msgctl", 0x02, 2);
    expect_field(false, "msix", "table", 0x04, 4);
    expect_field(false, "msix", "pba", 0x08, 4);
    expect_field(false, "vpd", "vpd_addr", 0x02, 2);
    expect_field(false, "vpd", "vpd_data", 0x04, 4);
    expect_field(false, "vendor", "vndr_len", 0x02, 1);
    expect_field(false, "af", "af_ctl", 0x04, 1);
    expect_field(false, "af", "af_sta", 0x05, 1);
    expect_field(false, "pcie", "pcie_caps", 0x02, 2);
    expect_field(false, "pcie", "devcap", 0x04, 4);
    expect_field(false, "pcie", "devctl", 0x08, 2);
    expect_field(false, "pcie", "devsta", 0x0a, 2);
    expect_field(false, "pcie", "lnkcap", 0x0c, 4);
    expect_field(false, "pcie", "lnkctl", 0x10, 2);
    expect_field(false, "pcie", "lnksta", 0x12, 2);
    expect_field(false, "pcie", "sltcap", 0x14, 4);
    expect_field(false, "pcie", "rootctl", 0x1c, 2);
    expect_field(false, "pcie", "rootsta", 0x20, 4);
    expect_field(false, "pcie", "devcap2", 0x24, 4);
    expect_field(false, "pcie", "devctl2", 0x28, 2);
    expect_field(false, "pcie", "lnkctl2", 0x30, 2);
    expect_field(false, "pcie", "sltsta2", 0x3a, 2);
    expect_field(true, "aer", "aer_uncor_status", 0x04, 4);
    expect_field(true, "aer", "aer_uncor_mask", 0x08, 4);
    expect_field(true, "aer", "aer_uncor_sever", 0x0c, 4);
    expect_field(true, "aer", "aer_cor_status", 0x10, 4);
    expect_field(true, "aer", "aer_cor_mask", 0x14, 4);
    expect_field(true, "aer", "aer_cap", 0x18, 4);
    expect_field(true, "aer", "aer_header_log0", 0x1c, 4);
    expect_field(true, "aer", "aer_root_cmd", 0x2c, 4);
    expect_field(true, "aer", "aer_root_status", 0x30, 4);
    expect_field(true, "aer", "aer_cor_src", 0x34, 2);
    expect_field(true, "aer", "aer_prefix_log0", 0x38, 4);
    expect_field(true, "vc", "vc_cap1", 0x04, 4);
    expect_field(true, "vc", "vc_ctl", 0x0c, 2);
    expect_field(true, "vc", "vc_res_ctl0", 0x14, 4);
    expect_field(true, "vc", "vc_res_sta0", 0x1a, 2);
    expect_field(true, "dsn", "dsn_lo", 0x04, 4);
    expect_field(true, "dsn", "dsn_hi", 0x08, 4);
    expect_field(true, "pwrbudget", "pwr_data_sel", 0x04, 1);
    expect_field(true, "pwrbudget", "pwr_data", 0x08, 4);
    expect_field(true, "pwrbudget", "pwr_cap", 0x0c, 1);
    expect_field(true, "vsec", "vsec_hdr", 0x04, 4);
    expect_field(true, "acs", "acs_cap", 0x04, 2);
    expect_field(true, "acs", "acs_ctl", 0x06, 2);
    expect_field(true, "acs", "acs_egress_ctl", 0x08, 4);
    expect_field(true, "ari", "ari_cap", 0x04, 2);
    expect_field(true, "ari", "ari_ctl", 0x06, 2);
    expect_field(true, "ats", "ats_cap", 0x04, 2);
    expect_field(true, "ats", "ats_ctl", 0x06, 2);
    expect_field(true, "sriov", "sriov_cap", 0x04, 4);
    expect_field(true, "sriov", "sriov_ctl", 0x08, 2);
    expect_field(true, "sriov", "sriov_total_vf", 0x0e, 2);
    expect_field(true, "sriov", "sriov_num_vf", 0x10, 2);
    expect_field(true, "sriov", "sriov_vf_offset", 0x14, 2);
    expect_field(true, "sriov", "sriov_vf_stride", 0x16, 2);
    expect_field(true, "sriov", "sriov_vf_did", 0x1a, 2);
    expect_field(true, "sriov", "sriov_sys_pgsize", 0x20, 4);
    expect_field(true, "sriov", "vf_bar0", 0x24, 4);
    expect_field(true, "sriov", "vf_bar5", 0x38, 4);
    expect_field(true, "sriov", "sriov_vfm", 0x3c, 4);
    expect_field(true, "pri", "pri_ctl", 0x04, 2);
    expect_field(true, "pri", "pri_sta", 0x06, 2);
    expect_field(true, "pri", "pri_max_req", 0x08, 4);
    expect_field(true, "pri", "pri_alloc_req", 0x0c, 4);
    expect_field(true, "rebar", "rebar_cap0", 0x04, 4);
    expect_field(true, "rebar", "rebar_ctl0", 0x08, 4);
    expect_field(true, "rebar", "rebar_ctl5", 0x30, 4);
    expect_field(true, "ltr", "ltr_max_snoop", 0x04, 2);
    expect_field(true, "ltr", "ltr_max_nosnoop", 0x06, 2);
    expect_field(true, "secpci", "secpci_lnkctl3", 0x04, 4);
    expect_field(true, "secpci", "secpci_lane_err_sta", 0x08, 4);
    expect_field(true, "secpci", "secpci_eq_ctl0", 0x0c, 2);
    expect_field(true, "secpci", "secpci_eq_ctl31", 0x4a, 2);
    expect_field(true, "pasid", "pasid_cap", 0x04, 2);
    expect_field(true, "pasid", "pasid_ctl", 0x06, 2);
    expect_field(true, "l1ss", "l1ss_cap", 0x04, 4);
    expect_field(true, "l1ss", "l1ss_ctl1", 0x08, 4);
    expect_field(true, "l1ss", "l1ss_ctl2", 0x0c, 4);
    expect_field(true, "dpc", "dpc_cap", 0x04, 2);
    expect_field(true, "dpc", "dpc_ctl", 0x06, 2);
    expect_field(true, "dpc", "dpc_sta", 0x08, 2);
    expect_field(true, "dpc", "dpc_src_id", 0x0a, 2);
    expect_field(true, "dpc", "dpc_rp_pio_sta", 0x0c, 4);
    expect_field(true, "ptm", "ptm_cap", 0x04, 4);
    expect_field(true, "ptm", "ptm_ctl", 0x08, 4);
    expect_field(true, "tph", "tph_cap", 0x04, 4);
    expect_field(true, "tph", "tph_ctl", 0x08, 4);
    expect_field(true, "dlf", "dlf_cap", 0x04, 4);
    expect_field(true, "dlf", "dlf_sta", 0x08, 4);
    expect_field(true, "pl16", "pl16_cap", 0x04, 4);
    expect_field(true, "pl16", "pl16_sdpm", 0x18, 4);
    expect_field(true, "pl16", "pl16_eq0", 0x20, 1);
    expect_field(true, "pl16", "pl16_eq31", 0x3f, 1);
    expect_field(true, "pl32", "pl32_cap", 0x04, 4);
    expect_field(true, "pl32", "pl32_tx_ts2", 0x1c, 4);
    expect_field(true, "pl32", "pl32_eq0", 0x20, 1);
    expect_field(true, "lmr", "lmr_port_cap", 0x04, 2);
    expect_field(true, "lmr", "lmr_port_sta", 0x06, 2);
    expect_field(true, "lmr", "lmr_lane_ctl0", 0x08, 2);
    expect_field(true, "lmr", "lmr_lane_sta0", 0x0a, 2);
    expect_field(true, "lmr", "lmr_lane_sta31", 0x86, 2);
    expect_field(true, "dvsec", "dvsec_hdr1", 0x04, 4);
    expect_field(true, "dvsec", "dvsec_hdr2", 0x08, 2);
    expect_field(true, "doe", "doe_cap", 0x04, 4);
    expect_field(true, "doe", "doe_ctl", 0x08, 4);
    expect_field(true, "doe", "doe_sta", 0x0c, 4);
    expect_field(true, "doe", "doe_wmb", 0x10, 4);
    expect_field(true, "doe", "doe_rmb", 0x14, 4);

    /* Fixed sizes from the specifications. */
    static const struct {
        bool ext;
        const char *name;
        unsigned min, max;
    } len[] = {
        {false, "pm", 8, 8},         {false, "msi", 10, 24},
        {false, "msix", 12, 12},     {false, "pcie", 0x0c, 0x3c},
        {false, "vpd", 8, 8},        {false, "af", 6, 6},
        {false, "vendor", 3, 0xff},  {true, "dsn", 12, 12},
        {true, "ari", 8, 8},         {true, "ats", 8, 8},
        {true, "sriov", 0x40, 0x40}, {true, "pri", 0x10, 0x10},
        {true, "ltr", 8, 8},         {true, "pasid", 8, 8},
        {true, "l1ss", 0x10, 0x10},  {true, "ptm", 0x0c, 0x0c},
        {true, "dlf", 0x0c, 0x0c},   {true, "doe", 0x18, 0x18},
        {true, "aer", 0x2c, 0x48},   {true, "null", 4, 4},
    };
    for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
        const struct vpci_cap_def *d =
            vpci_cap_find_name(len[i].ext, len[i].name);
        ck_assert_ptr_nonnull(d);
        ck_assert_msg(d->min_len == len[i].min && d->max_len == len[i].max,
                      "%s: %u..%u, expected %u..%u", len[i].name, d->min_len,
                      d->max_len, len[i].min, len[i].max);
    }
}
END_TEST

START_TEST(test_table_headers)
{
    for (unsigned ht = 0; ht < 2; ht++) {
        size_t n = 0;
        const struct vpci_field_def *f = vpci_header_fields(ht, &n);
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_eq(vpci_header_fields(ht, NULL), f);
        uint8_t cover[64] = {0};
        for (size_t i = 0; i < n; i++) {
            ck_assert(f[i].width == 1 || f[i].width == 2 || f[i].width == 4);
            ck_assert_uint_eq(f[i].off % f[i].width, 0);
            ck_assert_uint_le(f[i].off + f[i].width, 64);
            if (i)
                ck_assert_uint_ge(f[i].off, f[i - 1].off + f[i - 1].width);
            for (unsigned b = 0; b < f[i].width; b++)
                cover[f[i].off + b] = 1;
            for (size_t k = 0; k < i; k++)
                ck_assert(strcmp(f[i].name, f[k].name));
        }
        /* Everything but BARs, ROM and the capability pointer. */
        for (unsigned b = 0; b < 64; b++) {
            bool bar = ht == 0
                           ? (b >= 0x10 && b < 0x28) || (b >= 0x30 && b < 0x34)
                           : (b >= 0x10 && b < 0x18) || (b >= 0x38 && b < 0x3c);
            bool want = !bar && b != 0x34;
            ck_assert_msg(cover[b] == want, "type %u byte 0x%02x covered %d",
                          ht, b, cover[b]);
        }
        ck_assert_str_eq(f[0].name, "vendor_id");
        ck_assert_str_eq(f[2].name, "command");
        ck_assert_uint_eq(f[2].off, 0x04);
        ck_assert_str_eq(f[3].name, "status");
    }
    size_t n;
    const struct vpci_field_def *f0 = vpci_header_fields(0, &n);
    ck_assert_uint_eq(n, 22);
    ck_assert_str_eq(f0[13].name, "subsystem_vendor");
    ck_assert_uint_eq(f0[13].off, 0x2c);
    const struct vpci_field_def *f1 = vpci_header_fields(1, &n);
    ck_assert_uint_eq(n, 32);
    ck_assert_str_eq(f1[12].name, "primary_bus");
    ck_assert_uint_eq(f1[12].off, 0x18);
    ck_assert_str_eq(f1[n - 1].name, "bridge_control");
    ck_assert_uint_eq(f1[n - 1].off, 0x3e);
    n = 99;
    ck_assert_ptr_null(vpci_header_fields(2, &n));
    ck_assert_uint_eq(n, 99);
    ck_assert_ptr_null(vpci_header_fields(0x7f, NULL));
}
END_TEST

static unsigned len_at(bool ext, uint16_t id, const uint8_t *c, size_t size,
                       uint16_t off)
{
    const struct vpci_cap_def *d = vpci_cap_find(ext, id);
    ck_assert_ptr_nonnull(d);
    return vpci_cap_length(d, c, size, off);
}

START_TEST(test_cap_length)
{
    uint8_t c[4096];

    /* MSI: 32/64-bit, with and without per-vector masking. */
    static const struct {
        uint16_t ctl;
        unsigned len;
    } msi[] = {{0x0000, 10}, {0x0080, 14}, {0x0100, 20}, {0x0180, 24},
               {0x008e, 14}, {0xff7f, 20}, {0xfe7f, 10}};
    for (size_t i = 0; i < sizeof(msi) / sizeof(msi[0]); i++) {
        base_cfg(c, 256);
        put_cap(c, 0x50, 0x05, 0);
        c[0x52] = (uint8_t)msi[i].ctl;
        c[0x53] = (uint8_t)(msi[i].ctl >> 8);
        ck_assert_uint_eq(len_at(false, 0x05, c, 256, 0x50), msi[i].len);
    }
    /* ...clamped by the end of the std space. */
    put_cap(c, 0xf0, 0x05, 0);
    c[0xf2] = 0x80;
    c[0xf3] = 0x01;
    ck_assert_uint_eq(len_at(false, 0x05, c, 4096, 0xf0), 16);
    ck_assert_uint_eq(len_at(false, 0x05, c, 0xf8, 0xf0), 8);

    /* Vendor: its length byte, at least 3. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x09, 0);
    c[0x42] = 0x14;
    ck_assert_uint_eq(len_at(false, 0x09, c, 256, 0x40), 0x14);
    c[0x42] = 0;
    ck_assert_uint_eq(len_at(false, 0x09, c, 256, 0x40), 3);
    c[0x42] = 0xff;
    ck_assert_uint_eq(len_at(false, 0x09, c, 256, 0x40), 0xc0);

    /* PCIe by version and port type. */
    static const struct {
        uint16_t caps;
        unsigned len;
    } pcie[] = {
        {0x0002, 0x3c}, /* v2 endpoint */
        {0x0001, 0x14}, /* v1 endpoint */
        {0x0091, 0x0c}, /* v1 RCiEP */
        {0x0041, 0x24}, /* v1 root port */
        {0x0061, 0x24}, /* v1 downstream port */
        {0x0051, 0x14}, /* v1 upstream port */
        {0x00a1, 0x24}, /* v1 root complex event collector */
        {0x0092, 0x3c}, /* v2 RCiEP */
    };
    for (size_t i = 0; i < sizeof(pcie) / sizeof(pcie[0]); i++) {
        base_cfg(c, 256);
        put_cap(c, 0x40, 0x10, 0);
        c[0x42] = (uint8_t)pcie[i].caps;
        c[0x43] = (uint8_t)(pcie[i].caps >> 8);
        ck_assert_msg(len_at(false, 0x10, c, 256, 0x40) == pcie[i].len,
                      "pcie caps 0x%04x: %u", pcie[i].caps,
                      len_at(false, 0x10, c, 256, 0x40));
    }

    /* AER: endpoint, root port, TLP prefix log. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    put_ecap(c, 0x100, 0x0001, 2, 0);
    ck_assert_uint_eq(len_at(true, 0x0001, c, 4096, 0x100), 0x2c);
    c[0x42] = 0x42; /* root port */
    ck_assert_uint_eq(len_at(true, 0x0001, c, 4096, 0x100), 0x38);
    c[0x42] = 0xa2; /* RCEC */
    ck_assert_uint_eq(len_at(true, 0x0001, c, 4096, 0x100), 0x38);
    c[0x119] = 0x08; /* aer_cap bit 11 */
    ck_assert_uint_eq(len_at(true, 0x0001, c, 4096, 0x100), 0x48);

    /* DVSEC and VSEC: the length in header 1, bits 31:20. */
    base_cfg(c, 4096);
    put_ecap(c, 0x200, 0x0023, 1, 0);
    c[0x206] = 0x80; /* 0x018 << 20 */
    c[0x207] = 0x01;
    ck_assert_uint_eq(len_at(true, 0x0023, c, 4096, 0x200), 0x18);
    ck_assert_uint_eq(len_at(true, 0x000b, c, 4096, 0x200), 0x18);
    c[0x206] = 0x00; /* 0: unknown */
    c[0x207] = 0x00;
    ck_assert_uint_eq(len_at(true, 0x0023, c, 4096, 0x200), 0);
    c[0x207] = 0xff; /* 0xff0 is clamped to the space */
    ck_assert_uint_eq(len_at(true, 0x0023, c, 4096, 0x200), 0xe00);

    /* ACS: 8, or 8 + the egress control vector. */
    base_cfg(c, 4096);
    ck_assert_uint_eq(len_at(true, 0x000d, c, 4096, 0x100), 8);
    c[0x104] = 0x20;
    c[0x105] = 0x00; /* 256 bits */
    ck_assert_uint_eq(len_at(true, 0x000d, c, 4096, 0x100), 8 + 32);
    c[0x105] = 0x08; /* 8 bits -> one dword */
    ck_assert_uint_eq(len_at(true, 0x000d, c, 4096, 0x100), 12);
    c[0x105] = 0x21; /* 33 bits -> two dwords */
    ck_assert_uint_eq(len_at(true, 0x000d, c, 4096, 0x100), 16);

    /* TPH: ST table in the capability, 2 bytes per entry. */
    base_cfg(c, 4096);
    ck_assert_uint_eq(len_at(true, 0x0017, c, 4096, 0x100), 0x0c);
    c[0x105] = 0x02; /* location 1 */
    c[0x106] = 0x02; /* 3 entries */
    ck_assert_uint_eq(len_at(true, 0x0017, c, 4096, 0x100), 0x0c + 8);
    c[0x105] = 0x04; /* location 2 (MSI-X table) */
    ck_assert_uint_eq(len_at(true, 0x0017, c, 4096, 0x100), 0x0c);

    /* Resizable BAR: 4 + 8 per BAR (1..6). */
    base_cfg(c, 4096);
    ck_assert_uint_eq(len_at(true, 0x0015, c, 4096, 0x100), 12);
    c[0x108] = 3 << 5;
    ck_assert_uint_eq(len_at(true, 0x0015, c, 4096, 0x100), 28);
    c[0x108] = 7 << 5;
    ck_assert_uint_eq(len_at(true, 0x0015, c, 4096, 0x100), 52);

    /* DPC: the RP extensions add the RP PIO registers and a log of Log
     * Size dwords from 0x20 (header log 4, ImpSpec 1, TLP prefixes). */
    static const struct {
        uint8_t cap_lo, cap_hi;
        unsigned len;
    } dpc[] = {
        {0x00, 0x04, 0x0c}, /* no RP extensions: log size ignored */
        {0x20, 0x00, 0x20}, /* log size 0..3: no log registers */
        {0x20, 0x03, 0x20}, {0x20, 0x04, 0x30}, /* header log */
        {0x20, 0x05, 0x34},                     /* + ImpSpec log */
        {0x20, 0x06, 0x38}, {0x20, 0x09, 0x44}, /* + prefix log */
        {0x20, 0x0f, 0x44},                     /* at most 9 dwords */
    };
    for (size_t i = 0; i < sizeof(dpc) / sizeof(dpc[0]); i++) {
        base_cfg(c, 4096);
        c[0x104] = dpc[i].cap_lo;
        c[0x105] = dpc[i].cap_hi;
        ck_assert_msg(len_at(true, 0x001d, c, 4096, 0x100) == dpc[i].len,
                      "DPC cap 0x%02x%02x: %u", dpc[i].cap_hi, dpc[i].cap_lo,
                      len_at(true, 0x001d, c, 4096, 0x100));
    }

    /* Per-lane structures follow the link width of the PCIe cap. */
    base_cfg(c, 4096);
    put_pcie(c, 0x40, 0);
    c[0x4c] = 0x00; /* x16: width is lnkcap bits 9:4 */
    c[0x4d] = 0x01;
    ck_assert_uint_eq(len_at(true, 0x0019, c, 4096, 0x100), 0x0c + 32);
    ck_assert_uint_eq(len_at(true, 0x0026, c, 4096, 0x100), 0x20 + 16);
    ck_assert_uint_eq(len_at(true, 0x002a, c, 4096, 0x100), 0x20 + 16);
    ck_assert_uint_eq(len_at(true, 0x0027, c, 4096, 0x100), 0x08 + 64);
    c[0x4c] = 1 << 4; /* x1 */
    c[0x4d] = 0;
    ck_assert_uint_eq(len_at(true, 0x0019, c, 4096, 0x100), 0x10);
    ck_assert_uint_eq(len_at(true, 0x0026, c, 4096, 0x100), 0x24);
    ck_assert_uint_eq(len_at(true, 0x0027, c, 4096, 0x100), 0x0c);
    c[6] = 0; /* no capability list: width unknown */
    ck_assert_uint_eq(len_at(true, 0x0019, c, 4096, 0x100), 0x0c);
    ck_assert_uint_eq(len_at(true, 0x0026, c, 4096, 0x100), 0x20);

    /* EA: entries sized by their own headers; bridges add a dword. */
    base_cfg(c, 256);
    put_cap(c, 0x40, 0x14, 0);
    c[0x42] = 2;
    c[0x44] = 2; /* entry 0: 2 more dwords */
    c[0x50] = 4; /* entry 1: 4 more dwords */
    ck_assert_uint_eq(len_at(false, 0x14, c, 256, 0x40), 4 + 12 + 20);
    c[0x0e] = 1;
    c[0x48] = 4; /* with the bridge dword, entry 0 is at 0x48 */
    c[0x5c] = 1; /* entry 1 at 0x48 + 20 */
    ck_assert_uint_eq(len_at(false, 0x14, c, 256, 0x40), 8 + 20 + 8);

    /* PCI-X: bridge 16; device 8, or 24 with ECC. */
    base_cfg(c, 256);
    ck_assert_uint_eq(len_at(false, 0x07, c, 256, 0x40), 8);
    c[0x43] = 0x10;
    ck_assert_uint_eq(len_at(false, 0x07, c, 256, 0x40), 24);
    c[0x0e] = 1;
    ck_assert_uint_eq(len_at(false, 0x07, c, 256, 0x40), 16);

    /* HyperTransport by type. */
    base_cfg(c, 256);
    c[0x43] = 0x00;
    ck_assert_uint_eq(len_at(false, 0x08, c, 256, 0x40), 28);
    c[0x43] = 0x20;
    ck_assert_uint_eq(len_at(false, 0x08, c, 256, 0x40), 24);
    c[0x43] = 0xa8;
    ck_assert_uint_eq(len_at(false, 0x08, c, 256, 0x40), 12);
    c[0x43] = 0x80;
    ck_assert_uint_eq(len_at(false, 0x08, c, 256, 0x40), 4);

    /* Root complex event collector association: v1 8, v2 12. */
    base_cfg(c, 4096);
    put_ecap(c, 0x100, 0x0007, 1, 0);
    ck_assert_uint_eq(len_at(true, 0x0007, c, 4096, 0x100), 8);
    put_ecap(c, 0x100, 0x0007, 2, 0);
    ck_assert_uint_eq(len_at(true, 0x0007, c, 4096, 0x100), 12);

    /* Fixed sizes and the edge cases. */
    base_cfg(c, 4096);
    ck_assert_uint_eq(len_at(true, 0x0010, c, 4096, 0x100), 0x40);
    ck_assert_uint_eq(len_at(true, 0x0010, c, 4096, 0xfe0), 0x20);
    ck_assert_uint_eq(len_at(true, 0x001b, c, 4096, 0x100), 8);
    ck_assert_uint_eq(len_at(false, 0x01, c, 256, 0x40), 8);
    ck_assert_uint_eq(len_at(false, 0x01, c, 256, 0xfc), 4);
    ck_assert_uint_eq(len_at(false, 0x01, c, 4096, 0x100), 0);
    ck_assert_uint_eq(len_at(true, 0x001b, c, 0x200, 0x200), 0);
    ck_assert_uint_eq(vpci_cap_length(NULL, c, 256, 0x40), 0);
    ck_assert_uint_eq(
        vpci_cap_length(vpci_cap_find(false, 0x01), NULL, 256, 0x40), 0);
    /* Unknown-length structures report 0 (the decoder then bounds them). */
    ck_assert_uint_eq(len_at(false, 0x0b, c, 256, 0x40), 0);
    ck_assert_uint_eq(len_at(true, 0x0011, c, 4096, 0x100), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decode");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_parse_clean_corpus);
    tcase_add_test(tc, test_parse_messy_corpus_counts);
    tcase_add_test(tc, test_parse_pinned_counts);
    tcase_add_test(tc, test_parse_multi_device_file);
    tcase_add_test(tc, test_parse_domains_and_x_form);
    tcase_add_test(tc, test_parse_region_sizes);
    tcase_add_test(tc, test_parse_verbose_lines_built);
    tcase_add_test(tc, test_parse_sizes_built);
    tcase_add_test(tc, test_parse_crlf_and_no_final_newline);
    tcase_add_test(tc, test_parse_slots);
    tcase_add_test(tc, test_parse_no_device);
    tcase_add_test(tc, test_parse_bad_args);
    tcase_add_test(tc, test_parse_damaged_lines);
    tcase_add_test(tc, test_parse_hostile_text);
    tcase_add_test(tc, test_parse_several_devices_built);
    tcase_add_test(tc, test_parse_messy_pinned);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_decode_every_dump);
    tcase_add_test(tc, test_decode_clean_warnings);
    tcase_add_test(tc, test_decode_messy_warnings);
    tcase_add_test(tc, test_decode_pinned_dsa);
    tcase_add_test(tc, test_decode_pinned_sriov_pf);
    tcase_add_test(tc, test_decode_pinned_thunderx_ea);
    tcase_add_test(tc, test_decode_pinned_cxl);
    tcase_add_test(tc, test_decode_pinned_bridges);
    tcase_add_test(tc, test_decode_pinned_small);
    tcase_add_test(tc, test_decode_std_hostile);
    tcase_add_test(tc, test_decode_ext_hostile);
    tcase_add_test(tc, test_decode_truncated);
    tcase_add_test(tc, test_decode_random);
    suite_add_tcase(s, tc);

    tc = tcase_create("table");
    tcase_add_test(tc, test_table_names_and_ids);
    tcase_add_test(tc, test_table_order_and_fields);
    tcase_add_test(tc, test_table_spec_offsets);
    tcase_add_test(tc, test_table_headers);
    tcase_add_test(tc, test_cap_length);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
