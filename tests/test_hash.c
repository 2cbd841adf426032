/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Content hash, guest-ABI fingerprint and semantic diff.  The hash is the
 * SHA-256 of the canonical text without the binding section; the
 * fingerprint covers what a guest can observe; the diff names each
 * difference on its own line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static char *fixture_text(const char *rel)
{
    return tu_read(tu_fixture(rel), NULL);
}

/* text with the one occurrence of old replaced by new (malloc'ed). */
static char *replace1(const char *text, const char *old, const char *new)
{
    const char *at = strstr(text, old);
    ck_assert_msg(at != NULL, "'%s' not found", old);
    ck_assert_msg(strstr(at + 1, old) == NULL, "'%s' found twice", old);
    size_t lo = strlen(old), ln = strlen(new), lt = strlen(text);
    char *out = malloc(lt - lo + ln + 1);
    ck_assert_ptr_nonnull(out);
    size_t pre = (size_t)(at - text);
    memcpy(out, text, pre);
    memcpy(out + pre, new, ln);
    memcpy(out + pre + ln, at + lo, lt - pre - lo + 1);
    return out;
}

static void hash_of(const struct vpci_layout *l, char out[VPCI_HASH_STRLEN])
{
    memset(out, 'Z', VPCI_HASH_STRLEN);
    ck_assert_int_eq(vpci_layout_hash(l, out), 0);
}

static void fp_of(const struct vpci_layout *l, char out[VPCI_HASH_STRLEN])
{
    memset(out, 'Z', VPCI_HASH_STRLEN);
    ck_assert_int_eq(vpci_layout_fingerprint(l, out), 0);
}

static void hash_text(const char *text, char h[VPCI_HASH_STRLEN],
                      char fp[VPCI_HASH_STRLEN])
{
    struct vpci_layout *l = tu_layout_text(text);
    if (h)
        hash_of(l, h);
    if (fp)
        fp_of(l, fp);
    vpci_layout_free(l);
}

static void assert_hash_shape(const char *h)
{
    ck_assert_uint_eq(strlen(h), VPCI_HASH_STRLEN - 1);
    ck_assert_msg(!strncmp(h, "sha256:", 7), "'%s' lacks sha256:", h);
    for (size_t i = 7; i < 71; i++)
        ck_assert_msg((h[i] >= '0' && h[i] <= '9') ||
                          (h[i] >= 'a' && h[i] <= 'f'),
                      "'%s': not lowercase hex at %zu", h, i);
}

/* ------------------------------------------------------------ sha256 */

START_TEST(test_sha256_vectors)
{
    char h[VPCI_HASH_STRLEN];
    ck_assert_int_eq(vpci_sha256_hex("abc", 3, h), 0);
    ck_assert_str_eq(h, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a39617"
                        "7a9cb410ff61f20015ad");
    ck_assert_int_eq(vpci_sha256_hex("", 0, h), 0);
    ck_assert_str_eq(h, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
                        "934ca495991b7852b855");
    ck_assert_int_eq(vpci_sha256_hex(NULL, 0, h), 0);
    ck_assert_str_eq(h, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
                        "934ca495991b7852b855");
    static const char two_blocks[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ck_assert_int_eq(vpci_sha256_hex(two_blocks, strlen(two_blocks), h), 0);
    ck_assert_str_eq(h, "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff"
                        "2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    ck_assert_int_eq(vpci_sha256_hex(million, 1000000, h), 0);
    ck_assert_str_eq(h, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497"
                        "200e046d39ccc7112cd0");
    free(million);
    ck_assert_int_eq(vpci_sha256_hex(NULL, 1, h), -EINVAL);
    ck_assert_int_eq(vpci_sha256_hex("abc", 3, NULL), -EINVAL);
}
END_TEST

/* -------------------------------------------------------------- hash */

START_TEST(test_hash_shape)
{
    static const char *const names[] = {
        "layouts/bridge.vpci",  "layouts/bytes.vpci",    "layouts/example.vpci",
        "layouts/minimal.vpci", "layouts/sections.vpci", "layouts/sketch.vpci",
    };
    char seen[12][VPCI_HASH_STRLEN];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct vpci_layout *l = tu_layout(names[i]);
        char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
        hash_of(l, h);
        fp_of(l, fp);
        assert_hash_shape(h);
        assert_hash_shape(fp);
        for (size_t k = 0; k < n; k++) {
            ck_assert_str_ne(seen[k], h);
            ck_assert_str_ne(seen[k], fp);
        }
        memcpy(seen[n++], h, sizeof(h));
        memcpy(seen[n++], fp, sizeof(fp));
        vpci_layout_free(l);
    }
    ck_assert_int_eq(vpci_layout_hash(NULL, seen[0]), -EINVAL);
    ck_assert_int_eq(vpci_layout_fingerprint(NULL, seen[0]), -EINVAL);
}
END_TEST

/* Pinned values.  Cross-checked outside the library:
 *   sed '/^binding$/,$d' example.canon | head -c -1 | sha256sum
 *   sha256sum sketch.canon minimal.canon */
START_TEST(test_hash_pinned)
{
    static const struct {
        const char *file;
        const char *hash;
    } pins[] = {
        {"layouts/example.vpci", "sha256:10eb1ca70841afaacf8d5596e041ef78911a"
                                 "fc30a0ebd6dc18836f6a02cc792a"},
        {"layouts/sketch.vpci", "sha256:196f2118e237a934d2d807bd1daa8dd55acc"
                                "b31683ef196bb746be4561816ef1"},
        {"layouts/minimal.vpci", "sha256:c2923e16439585754558b99234f63309ddd8"
                                 "c4b83ede8327e19c6d29d88b83fb"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct vpci_layout *l = tu_layout(pins[i].file);
        char h[VPCI_HASH_STRLEN];
        hash_of(l, h);
        ck_assert_msg(!strcmp(h, pins[i].hash), "%s: %s, expected %s",
                      pins[i].file, h, pins[i].hash);
        vpci_layout_free(l);
    }

    /* the hash is the SHA-256 of the canonical text up to the blank line
     * before "binding" */
    char *canon = fixture_text("layouts/example.canon");
    char *b = strstr(canon, "\n\nbinding\n");
    ck_assert_ptr_nonnull(b);
    b[1] = '\0';
    struct vpci_layout *l = tu_layout("layouts/example.vpci");
    char *unbound = NULL;
    size_t len = 0;
    ck_assert_int_eq(vpci_layout_format_unbound(l, &unbound, &len), 0);
    ck_assert_str_eq(unbound, canon);
    ck_assert_uint_eq(len, strlen(canon));
    char h1[VPCI_HASH_STRLEN], h2[VPCI_HASH_STRLEN];
    ck_assert_int_eq(vpci_sha256_hex(canon, strlen(canon), h1), 0);
    hash_of(l, h2);
    ck_assert_str_eq(h1, h2);
    ck_assert_str_eq(h2, pins[0].hash);
    free(unbound);
    free(canon);
    vpci_layout_free(l);
}
END_TEST

/* The fingerprint's serialisation, written out for minimal.vpci: one line
 * per byte with anything set (value outside phys bits, rw, w1c, phys),
 * the BARs, the ROM size. */
START_TEST(test_fingerprint_pinned)
{
    static const char ser[] = "vpci-fingerprint 1\n"
                              "space 256\n"
                              "header type0\n"
                              "000 f4 00 00 00\n"
                              "001 1a 00 00 00\n"
                              "003 10 00 00 00\n"
                              "rom 0x0\n";
    char want[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    ck_assert_int_eq(vpci_sha256_hex(ser, strlen(ser), want), 0);
    ck_assert_str_eq(want, "sha256:a911459a428c319eb729db50b23b3e4aec6c5a8f1f3c"
                           "dde932f7dca34dfca784");
    struct vpci_layout *l = tu_layout("layouts/minimal.vpci");
    fp_of(l, fp);
    ck_assert_str_eq(fp, want);

    /* one BAR, a ROM, a masked byte: the same serialisation, extended */
    l->bars[2] = (struct vpci_bar){VPCI_BAR_MEM64, true, 0x4000, 1, 0, 0};
    l->rom.size = 0x800;
    ck_assert_int_eq(vpci_block_add_reg(&l->blocks[0], 0x3c, 1,
                                        "interrupt_line", 0xa5, 0xf0, 0x0c,
                                        0x05),
                     0);
    static const char ser2[] = "vpci-fingerprint 1\n"
                               "space 256\n"
                               "header type0\n"
                               "000 f4 00 00 00\n"
                               "001 1a 00 00 00\n"
                               "003 10 00 00 00\n"
                               "018 0c 00 00 00\n"
                               "03c a0 f0 0c 05\n"
                               "bar 2 mem64 prefetch 0x4000\n"
                               "rom 0x800\n";
    ck_assert_int_eq(vpci_sha256_hex(ser2, strlen(ser2), want), 0);
    fp_of(l, fp);
    ck_assert_str_eq(fp, want);
    vpci_layout_free(l);
}
END_TEST

/* The SYNOPSIS of vpci-layout(5) and the values its HASHES section gives
 * for it, the fingerprint text included. */
START_TEST(test_hash_manual_example)
{
    static const char layout[] =
        "vpci-layout 1\n"
        "space 256\n"
        "\n"
        "header type0\n"
        "  0x00 u16 vendor_id            0x1af4\n"
        "  0x02 u16 device_id            0x1041\n"
        "  0x04 u16 command              0x0000  rw 0x0547  phys 0x0144\n"
        "  0x06 u16 status               0x0010  w1c 0xf900\n"
        "  0x0b u8  base_class           0x02\n"
        "  0x0e u8  header_type          0x00\n"
        "  0x3c u8  interrupt_line       0x00  rw 0xff\n"
        "\n"
        "bar 1 mem32 size 0x1000 from 1\n"
        "rom none\n"
        "\n"
        "cap 0x40 msix                      # MSI-X, emulated by the VMM\n"
        "  0x02 u16 msgctl               0x0002  rw 0xc000\n"
        "  0x04 u32 table                0x00000001\n"
        "  0x08 u32 pba                  0x00000801\n";
    static const char fptext[] = "vpci-fingerprint 1\n"
                                 "space 256\n"
                                 "header type0\n"
                                 "000 f4 00 00 00\n"
                                 "001 1a 00 00 00\n"
                                 "002 41 00 00 00\n"
                                 "003 10 00 00 00\n"
                                 "004 00 47 00 44\n"
                                 "005 00 05 00 01\n"
                                 "006 10 00 00 00\n"
                                 "007 00 00 f9 00\n"
                                 "00b 02 00 00 00\n"
                                 "034 40 00 00 00\n"
                                 "03c 00 ff 00 00\n"
                                 "040 11 00 00 00\n"
                                 "042 02 00 00 00\n"
                                 "043 00 c0 00 00\n"
                                 "044 01 00 00 00\n"
                                 "048 01 00 00 00\n"
                                 "049 08 00 00 00\n"
                                 "bar 1 mem32 0x1000\n"
                                 "rom 0x0\n";
    char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN], want[VPCI_HASH_STRLEN];
    hash_text(layout, h, fp);
    ck_assert_str_eq(h, "sha256:ac8254686bc72c450b8c50f7f61750dc3c21f6055026"
                        "138fa8dffc1d57c2d290");
    ck_assert_str_eq(fp, "sha256:b085a516feff34923ceee4b5d32542e783a2064875ae"
                         "409b1d729368fb3c192a");
    ck_assert_int_eq(vpci_sha256_hex(fptext, strlen(fptext), want), 0);
    ck_assert_str_eq(fp, want);
}
END_TEST

START_TEST(test_hash_reformatting)
{
    char h0[VPCI_HASH_STRLEN], f0[VPCI_HASH_STRLEN];
    char h1[VPCI_HASH_STRLEN], f1[VPCI_HASH_STRLEN];
    struct vpci_layout *l = tu_layout("layouts/example.vpci");
    hash_of(l, h0);
    fp_of(l, f0);
    vpci_layout_free(l);
    /* messy.vpci: comments, tabs, case, order of fields and statements */
    l = tu_layout("layouts/messy.vpci");
    hash_of(l, h1);
    fp_of(l, f1);
    vpci_layout_free(l);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);

    /* the canonical text with a comment on every line and doubled spaces
     * between the words */
    char *canon = fixture_text("layouts/example.canon");
    size_t n = strlen(canon), nl = 0;
    for (size_t i = 0; i < n; i++)
        nl += canon[i] == '\n';
    char *noisy = malloc(2 * n + 32 * nl + 1);
    ck_assert_ptr_nonnull(noisy);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (canon[i] == '\n')
            k += (size_t)sprintf(noisy + k, "   # note %zu", i);
        if (canon[i] == ' ' && i > 0 && canon[i - 1] != ' ' &&
            canon[i - 1] != '\n')
            noisy[k++] = ' ';
        noisy[k++] = canon[i];
    }
    noisy[k] = '\0';
    hash_text(noisy, h1, f1);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(noisy);

    /* fields of a block in reverse order */
    char *rev = replace1(canon,
                         "  0x04 u16 pasid_cap            0x1406\n"
                         "  0x06 u16 pasid_ctl            0x0000  rw 0x0007\n",
                         "  0x06 u16 pasid_ctl 0x0 rw 0x7\n"
                         "  0x04 u16 pasid_cap 0x1406 # moved\n");
    hash_text(rev, h1, f1);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(rev);
    free(canon);
}
END_TEST

START_TEST(test_hash_excludes_binding)
{
    char h0[VPCI_HASH_STRLEN], f0[VPCI_HASH_STRLEN];
    char h1[VPCI_HASH_STRLEN], f1[VPCI_HASH_STRLEN];
    char *canon = fixture_text("layouts/example.canon");
    hash_text(canon, h0, f0);
    /* no binding at all */
    char *b = strstr(canon, "\nbinding\n");
    ck_assert_ptr_nonnull(b);
    char save = b[1];
    b[1] = '\0';
    hash_text(canon, h1, f1);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);
    /* an empty binding */
    b[1] = save;
    b[9] = '\0';
    hash_text(canon, h1, f1);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(canon);
    /* a different binding */
    canon = fixture_text("layouts/example.canon");
    char *t = replace1(canon, "  bdf 0000:3b:00.1\n  map cap pcie 0x60 0x70\n",
                       "  bdf 0000:af:01.7\n  map cap pcie 0x60 none\n"
                       "  map ecap ari 0x100 0x150\n  vfio /dev/vfio/7\n");
    hash_text(t, h1, f1);
    ck_assert_str_eq(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(t);
    /* but requires is part of the hash (not of the fingerprint) */
    t = replace1(canon, "  migration\n", "");
    hash_text(t, h1, f1);
    ck_assert_str_ne(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(t);
    t = replace1(canon, "  pasid width 20\n", "  pasid width 19\n");
    hash_text(t, h1, f1);
    ck_assert_str_ne(h1, h0);
    ck_assert_str_eq(f1, f0);
    free(t);
    free(canon);
}
END_TEST

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Every bit of every field array changes the hash, each to a different
 * value; the fingerprint too, except value bits under phys (the guest
 * reads those from the device). */
START_TEST(test_hash_every_bit)
{
    static const char *const files[] = {"layouts/sketch.vpci",
                                        "layouts/bytes.vpci"};
    for (size_t fi = 0; fi < 2; fi++) {
        struct vpci_layout *l = tu_layout(files[fi]);
        size_t cap = 16;
        for (size_t b = 0; b < l->nblocks; b++)
            for (size_t f = 0; f < l->blocks[b].nfields; f++)
                cap += 4u * l->blocks[b].fields[f].len;
        char(*hs)[VPCI_HASH_STRLEN] = calloc(cap, VPCI_HASH_STRLEN);
        char(*fs)[VPCI_HASH_STRLEN] = calloc(cap, VPCI_HASH_STRLEN);
        ck_assert_ptr_nonnull(hs);
        ck_assert_ptr_nonnull(fs);
        size_t nh = 0, nf = 0;
        hash_of(l, hs[nh++]);
        fp_of(l, fs[nf++]);
        unsigned phys_only = 0;
        for (size_t b = 0; b < l->nblocks; b++) {
            for (size_t f = 0; f < l->blocks[b].nfields; f++) {
                struct vpci_field *fld = &l->blocks[b].fields[f];
                uint8_t *arr[4] = {fld->val, fld->rw, fld->w1c, fld->phys};
                for (int a = 0; a < 4; a++) {
                    for (unsigned i = 0; i < fld->len; i++) {
                        /* a bit the guest sees: for values, one that is
                         * not phys */
                        uint8_t bit = 0x80;
                        if (a == 0) {
                            bit = 0;
                            for (int k = 7; k >= 0 && !bit; k--)
                                if (!(fld->phys[i] & (1u << k)))
                                    bit = (uint8_t)(1u << k);
                        }
                        if (!bit)
                            continue;
                        arr[a][i] ^= bit;
                        hash_of(l, hs[nh++]);
                        fp_of(l, fs[nf++]);
                        arr[a][i] ^= bit;
                    }
                }
                /* a value bit under phys: hash changes, fingerprint not */
                for (unsigned i = 0; i < fld->len; i++) {
                    if (!fld->phys[i])
                        continue;
                    uint8_t bit = fld->phys[i] & (uint8_t)-fld->phys[i];
                    char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
                    fld->val[i] ^= bit;
                    hash_of(l, h);
                    fp_of(l, fp);
                    fld->val[i] ^= bit;
                    ck_assert_str_ne(h, hs[0]);
                    ck_assert_str_eq(fp, fs[0]);
                    phys_only++;
                }
            }
        }
        ck_assert_uint_gt(phys_only, 0);
        ck_assert_uint_gt(nh, 100);
        qsort(hs, nh, VPCI_HASH_STRLEN, cmp_hash);
        qsort(fs, nf, VPCI_HASH_STRLEN, cmp_hash);
        for (size_t i = 1; i < nh; i++) {
            ck_assert_msg(strcmp(hs[i - 1], hs[i]), "%s: two changes, one hash",
                          files[fi]);
            ck_assert_msg(strcmp(fs[i - 1], fs[i]),
                          "%s: two changes, one fingerprint", files[fi]);
        }
        free(hs);
        free(fs);
        vpci_layout_free(l);
    }
}
END_TEST

/* Edits of the text: (hash changes, fingerprint changes) for each. */
START_TEST(test_hash_text_edits)
{
    static const struct {
        const char *old, *new;
        bool hash, fp;
    } edits[] = {
        /* guest-visible */
        {"size 0x2000000", "size 0x4000000", true, true},
        {"mem64 prefetch", "mem64", true, true},
        {"bar 0 mem64 prefetch size 0x2000000 from 0",
         "bar 0 mem32 prefetch size 0x2000000 from 0", true, true},
        {"rom none", "rom size 0x800", true, true},
        {"cap 0x9c msix", "cap 0x90 msix", true, true},
        {"ecap 0x100 ari version 1", "ecap 0x100 ari version 2", true, true},
        {"ecap 0xff8 pasid", "ecap 0xff0 pasid", true, true},
        {"rw 0x7cff", "rw 0x7cfe", true, true},
        {"w1c 0xf900", "w1c 0xf800", true, true},
        {"phys 0x0006", "phys 0x0004", true, true},
        {"4 01 02 03 04", "4 01 02 03 05", true, true},
        /* host-side only */
        {"from 0", "from 3", true, false},
        {"bar 0 mem64 prefetch size 0x2000000 from 0",
         "bar 0 mem64 prefetch size 0x2000000", true, false},
        {"rom none", "rom none # no ROM", false, false},
        {"  driver mlx5_vfio_pci\n", "  driver mlx5_vfio_pci vfio-pci\n", true,
         false},
        {"requires\n", "requires\n  ats\n", true, false},
        {"  version 1\n", "  version 2\n", false, false},
        /* the same bytes, written differently */
        {"  0x04 u16 command              0x0000  rw 0x0406  phys 0x0006\n",
         "  0x04 bytes 2 00 00  rw 06 04  phys 06 00\n", true, false},
        {"cap 0x60 pcie", "cap 0x60 id 0x10", false, false},
    };
    char *canon = fixture_text("layouts/example.canon");
    char h0[VPCI_HASH_STRLEN], f0[VPCI_HASH_STRLEN];
    hash_text(canon, h0, f0);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *t = replace1(canon, edits[i].old, edits[i].new);
        char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
        hash_text(t, h, fp);
        ck_assert_msg((strcmp(h, h0) != 0) == edits[i].hash,
                      "edit %zu ('%s'): hash %s", i, edits[i].new,
                      edits[i].hash ? "unchanged" : "changed");
        ck_assert_msg((strcmp(fp, f0) != 0) == edits[i].fp,
                      "edit %zu ('%s'): fingerprint %s", i, edits[i].new,
                      edits[i].fp ? "unchanged" : "changed");
        free(t);
    }
    free(canon);

    /* the chain order is guest-visible, the capabilities are the same */
    canon = fixture_text("layouts/sketch.canon");
    hash_text(canon, h0, f0);
    char *t = replace1(canon,
                       "cap 0x60 pcie\n"
                       "  0x02 u16 pcie_caps            0x0002\n"
                       "  0x04 u32 devcap               0x00008fe2\n"
                       "  0x08 u16 devctl               0x2937  rw 0x7cff\n"
                       "  0x0a u16 devsta               0x0000  w1c 0x000f\n"
                       "\n",
                       "");
    char *t2 = replace1(t, "ecap 0x100",
                        "cap 0x60 pcie\n"
                        "  0x02 u16 pcie_caps 0x0002\n"
                        "  0x04 u32 devcap 0x00008fe2\n"
                        "  0x08 u16 devctl 0x2937 rw 0x7cff\n"
                        "  0x0a u16 devsta 0x0000 w1c 0x000f\n"
                        "ecap 0x100");
    char h[VPCI_HASH_STRLEN], fp[VPCI_HASH_STRLEN];
    hash_text(t2, h, fp);
    ck_assert_str_ne(h, h0);
    ck_assert_str_ne(fp, f0);
    free(t2);
    free(t);
    free(canon);
}
END_TEST

/* -------------------------------------------------------------- diff */

static int diff_text(const char *ta, const char *tb, char **ret)
{
    struct vpci_layout *a = tu_layout_text(ta), *b = tu_layout_text(tb);
    *ret = (char *)1;
    int n = vpci_layout_diff(a, b, ret);
    ck_assert_ptr_nonnull(*ret);
    /* one line per difference */
    int lines = 0;
    for (const char *p = *ret; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, n);
    vpci_layout_free(a);
    vpci_layout_free(b);
    return n;
}

static void assert_diff(const char *ta, const char *tb, const char *want)
{
    char *d;
    int n = diff_text(ta, tb, &d);
    ck_assert_msg(!strcmp(d, want), "diff is:\n%s(%d lines)\nexpected:\n%s", d,
                  n, want);
    free(d);
}

START_TEST(test_diff_identical)
{
    char *a = fixture_text("layouts/example.vpci");
    char *b = fixture_text("layouts/messy.vpci");
    assert_diff(a, b, "");
    assert_diff(b, a, "");
    assert_diff(a, a, "");
    free(a);
    free(b);
    struct vpci_layout *l = tu_layout("layouts/example.vpci");
    char *d = NULL;
    ck_assert_int_eq(vpci_layout_diff(NULL, l, &d), -EINVAL);
    ck_assert_int_eq(vpci_layout_diff(l, NULL, &d), -EINVAL);
    ck_assert_int_eq(vpci_layout_diff(l, l, NULL), -EINVAL);
    ck_assert_ptr_null(d);
    vpci_layout_free(l);
}
END_TEST

START_TEST(test_diff_lines)
{
    static const struct {
        const char *old, *new, *want;
    } cases[] = {
        {"cap 0x60 pcie", "cap 0x70 pcie", "cap pcie: moved 0x60 -> 0x70\n"},
        {"rw 0x0406", "rw 0x0006", "header.command: rw 0x0406 -> 0x0006\n"},
        {"0x2937", "0x2930", "cap pcie.devctl: value 0x2937 -> 0x2930\n"},
        {"w1c 0xf900", "w1c 0xf000", "header.status: w1c 0xf900 -> 0xf000\n"},
        {"phys 0x0006", "phys 0x0002",
         "header.command: phys 0x0006 -> 0x0002\n"},
        {"ari version 1", "ari version 3", "ecap ari: version 1 -> 3\n"},
        {"0xa0 bytes 4 01 02 03 04", "0xa0 bytes 4 01 02 33 44",
         "raw.bytes@0xa0: bytes differ from byte 2 (0x03 -> 0x33)\n"},
        {"0xa0 bytes 4 01 02 03 04", "0xa4 bytes 4 01 02 03 04",
         "raw.bytes@0xa0: only in A\nraw.bytes@0xa4: only in B\n"},
        {"  0x3c u8  interrupt_line       0xff  rw 0xff\n", "",
         "header.interrupt_line: only in A\n"},
        {"  0x3c u8  interrupt_line       0xff  rw 0xff\n",
         "  0x3c u8  interrupt_line       0xff  rw 0xff\n"
         "  0x3d u8  interrupt_pin        0x01\n",
         "header.interrupt_pin: only in B\n"},
        {"cap 0x9c msix\n  0x02 u16 msgctl               0x003f  rw 0xc000\n\n",
         "", "cap chain: pcie msix -> pcie\ncap msix@0x9c: only in A\n"},
        {"ecap 0xff8 pasid version 1\n"
         "  0x04 u16 pasid_cap            0x1406\n"
         "  0x06 u16 pasid_ctl            0x0000  rw 0x0007\n\n",
         "", "ecap chain: ari pasid -> ari\necap pasid@0xff8: only in A\n"},
        {"bar 0 mem64 prefetch size 0x2000000 from 0\nrom none",
         "bar 0 mem32 size 0x1000\nbar 2 io size 0x20\nrom size 0x800 from rom",
         "bar 0: mem64 prefetch size 0x2000000 from 0 -> mem32 size 0x1000\n"
         "bar 2: none -> io size 0x20\n"
         "rom: size 0x0 -> size 0x800 from rom\n"},
        {"  migration\n", "  ats\n",
         "requires: - migration\nrequires: + ats\n"},
        {"  pasid width 20\n", "  pasid width 16 exec\n",
         "requires: - pasid width 20\nrequires: + pasid width 16 exec\n"},
    };
    char *canon = fixture_text("layouts/example.canon");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = replace1(canon, cases[i].old, cases[i].new);
        assert_diff(canon, t, cases[i].want);
        free(t);
    }
    /* the other direction: only in B, the chain the other way round */
    char *t =
        replace1(canon,
                 "cap 0x9c msix\n  0x02 u16 msgctl               0x003f  rw "
                 "0xc000\n\n",
                 "");
    assert_diff(t, canon,
                "cap chain: pcie -> pcie msix\ncap msix@0x9c: only in B\n");
    free(t);
    t = replace1(canon,
                 "ecap 0xff8 pasid version 1\n"
                 "  0x04 u16 pasid_cap            0x1406\n"
                 "  0x06 u16 pasid_ctl            0x0000  rw 0x0007\n\n",
                 "");
    assert_diff(t, canon,
                "ecap chain: ari -> ari pasid\necap pasid@0xff8: only in B\n");
    free(t);
    free(canon);
}
END_TEST

START_TEST(test_diff_chain_and_many)
{
    /* the same capabilities at the same offsets, linked in another order */
    char *canon = fixture_text("layouts/sketch.canon");
    static const char pcie[] =
        "cap 0x60 pcie\n"
        "  0x02 u16 pcie_caps            0x0002\n"
        "  0x04 u32 devcap               0x00008fe2\n"
        "  0x08 u16 devctl               0x2937  rw 0x7cff\n"
        "  0x0a u16 devsta               0x0000  w1c 0x000f\n"
        "\n";
    char *t = replace1(canon, pcie, "");
    char *t2 = replace1(t, "ecap 0x100",
                        "cap 0x60 pcie\n"
                        "  0x02 u16 pcie_caps 0x0002\n"
                        "  0x04 u32 devcap 0x00008fe2\n"
                        "  0x08 u16 devctl 0x2937 rw 0x7cff\n"
                        "  0x0a u16 devsta 0x0000 w1c 0xf\n"
                        "ecap 0x100");
    assert_diff(canon, t2, "cap chain: pcie msix -> msix pcie\n");
    free(t2);
    free(t);

    /* several differences, in the documented order: header, bars, chains,
     * blocks of A, blocks only in B, requires */
    t = replace1(canon, "  0x02 u16 device_id            0x101e\n",
                 "  0x02 u16 device_id            0x101f\n");
    t2 = replace1(t,
                  "ecap 0x150 ats version 1\n"
                  "  0x04 u16 ats_cap              0x0020\n"
                  "  0x06 u16 ats_ctl              0x0000  rw 0x801f\n",
                  "ecap 0x150 ats version 1\n"
                  "  0x04 u16 ats_cap              0x0020\n"
                  "  0x06 u16 ats_ctl              0x0000  rw 0x001f\n"
                  "\n"
                  "ecap 0x200 pri version 1\n");
    free(t);
    t = replace1(t2, "  driver mlx5_vfio_pci\n", "");
    free(t2);
    t2 = replace1(t, "bar 0 mem64 prefetch size 0x2000000 from 0",
                  "bar 0 mem64 prefetch size 0x2000000 from 1");
    assert_diff(canon, t2,
                "bar 0: mem64 prefetch size 0x2000000 from 0 -> mem64 "
                "prefetch size 0x2000000 from 1\n"
                "ecap chain: ari ats pasid -> ari ats pri pasid\n"
                "header.device_id: value 0x101e -> 0x101f\n"
                "ecap ats.ats_ctl: rw 0x801f -> 0x001f\n"
                "ecap pri@0x200: only in B\n"
                "requires: - driver mlx5_vfio_pci\n");
    free(t2);
    free(t);
    free(canon);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hash");
    TCase *tc;

    tc = tcase_create("sha256");
    tcase_add_test(tc, test_sha256_vectors);
    suite_add_tcase(s, tc);

    tc = tcase_create("hash");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hash_shape);
    tcase_add_test(tc, test_hash_pinned);
    tcase_add_test(tc, test_fingerprint_pinned);
    tcase_add_test(tc, test_hash_manual_example);
    tcase_add_test(tc, test_hash_reformatting);
    tcase_add_test(tc, test_hash_excludes_binding);
    tcase_add_test(tc, test_hash_every_bit);
    tcase_add_test(tc, test_hash_text_edits);
    suite_add_tcase(s, tc);

    tc = tcase_create("diff");
    tcase_add_test(tc, test_diff_identical);
    tcase_add_test(tc, test_diff_lines);
    tcase_add_test(tc, test_diff_chain_and_many);
    suite_add_tcase(s, tc);

    return tu_run(s);
}
