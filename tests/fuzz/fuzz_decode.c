/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for hostile config bytes and lspci text: the decoder,
 * the dump parser and derive must never crash, and whatever derive
 * produces must validate (derive never emits an invalid layout).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void derive_check(const uint8_t *cfg, unsigned n)
{
    for (int p = 0; p < 2; p++) {
        struct vpci_device dev = {.cfg = cfg, .size = n};
        struct vpci_layout *l = NULL;
        struct vpci_error err;
        if (vpci_derive(&dev, p ? VPCI_POLICY_IDENTITY : VPCI_POLICY_VFIO, NULL,
                        &l, NULL, &err) < 0)
            continue;
        if (vpci_layout_validate(l, &err) < 0)
            abort();
        char *t;
        size_t len;
        if (vpci_layout_format(l, &t, &len) < 0)
            abort();
        struct vpci_layout *l2 = NULL;
        if (vpci_layout_parse(t, len, &l2, &err) < 0)
            abort(); /* derived text must parse back */
        free(t);
        vpci_layout_free(l2);
        vpci_layout_free(l);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vpci_decoded dec;
    uint8_t cfg[VPCI_CFG_SPACE_EXT];

    /* First byte picks the space size so short inputs reach 4 KiB. */
    if (size < 1)
        return 0;
    unsigned sizes[] = {64, 256, 4096, 320};
    unsigned n = sizes[data[0] & 3];
    memset(cfg, 0, sizeof(cfg));
    memcpy(cfg, data + 1, size - 1 < n ? size - 1 : n);
    if (vpci_decode(cfg, n, &dec) >= 0)
        derive_check(cfg, n);

    struct vpci_dump_dev *devs = NULL;
    size_t ndevs = 0;
    struct vpci_error err;
    if (vpci_dump_parse((const char *)data, size, &devs, &ndevs, &err) == 0) {
        for (size_t i = 0; i < ndevs && i < 4; i++)
            if (devs[i].size >= 64 &&
                vpci_decode(devs[i].cfg, devs[i].size, &dec) >= 0)
                derive_check(devs[i].cfg, devs[i].size);
        free(devs);
    }
    return 0;
}
