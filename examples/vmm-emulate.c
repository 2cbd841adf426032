/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmm-emulate: what a VMM does with libvpci, in one file.
 *
 *   1. Load a resolved layout (an instance type placed on one physical
 *      function; see vpci-layout(5), BINDING) and parse it.
 *   2. Build the emulated configuration space with vpci_emu_new(), giving
 *      it callbacks to the physical function.  A real VMM reads and writes
 *      the VFIO device's config region there (pread/pwrite on the region
 *      of VFIO_PCI_CONFIG_REGION_INDEX); here a small in-memory array
 *      stands in for the device.
 *   3. Forward every guest config access to vpci_emu_read() and
 *      vpci_emu_write(), and act on the events: map BARs, set up MSI-X
 *      routes, reset the device.
 *
 * Build against the installed library:
 *
 *   cc -o vmm-emulate vmm-emulate.c $(pkg-config --cflags --libs libvpci)
 *
 * Run:
 *
 *   ./vmm-emulate accel.resolved.vpci [SCRIPT]
 *
 * SCRIPT holds guest accesses, one a line ("#" starts a comment line,
 * echoed to the output):
 *
 *   read  OFF SIZE
 *   write OFF SIZE VALUE
 *
 * SIZE is 1, 2 or 4; VALUE is hex (0x optional).  OFF is a number, or
 * NAME+NUMBER where NAME is a capability of the layout ("pasid+0x06"):
 * the offset of the first capability of that name plus NUMBER, so a
 * script works whatever offset the layout gives the capability.  Without
 * SCRIPT the built-in one below runs; it expects a layout with a 64-bit
 * BAR 0, MSI-X, PCI Express and PASID capabilities, like
 * accel.resolved.vpci.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpci.h>

static const char builtin_script[] =
    "# identity: vendor and device ID\n"
    "read 0x00 4\n"
    "# a write to a read-only field is ignored\n"
    "write 0x02 2 0x1234\n"
    "read 0x00 4\n"
    "# BAR 0 (64-bit): save, size with all ones, restore\n"
    "read 0x10 4\n"
    "read 0x14 4\n"
    "write 0x10 4 0xffffffff\n"
    "write 0x14 4 0xffffffff\n"
    "read 0x10 4\n"
    "read 0x14 4\n"
    "write 0x10 4 0x0000000c\n"
    "write 0x14 4 0x00000000\n"
    "# BAR 0: the guest places it at 0x1_fe000000\n"
    "write 0x10 4 0xfe000000\n"
    "write 0x14 4 0x00000001\n"
    "read 0x10 4\n"
    "read 0x14 4\n"
    "# command: memory space (virtual) and bus master (reaches the device)\n"
    "read 0x04 2\n"
    "write 0x04 2 0x0006\n"
    "read 0x04 2\n"
    "# status: interrupt status comes from the device; writing 1s to the\n"
    "# w1c error bits clears them, the other bits ignore the write\n"
    "read 0x06 2\n"
    "write 0x06 2 0xffff\n"
    "read 0x06 2\n"
    "# MSI-X: enable\n"
    "read msix+0x02 2\n"
    "write msix+0x02 2 0x8000\n"
    "read msix+0x02 2\n"
    "# PASID: capability and control at the layout's offset; enable\n"
    "read pasid+0x04 4\n"
    "write pasid+0x06 2 0x0001\n"
    "read pasid+0x06 2\n"
    "# PASID: execute permission (bit 1) is not offered, privileged (2) is\n"
    "write pasid+0x06 2 0x0007\n"
    "read pasid+0x06 2\n"
    "# function level reset: every virtual register back to its value\n"
    "write pcie+0x08 2 0x8000\n"
    "read 0x04 2\n"
    "read 0x10 4\n"
    "read pasid+0x06 2\n";

/* The stand-in for the physical function: its config space, and what it
 * holds after a reset. */
struct phys_dev {
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    uint8_t cfg_at_reset[VPCI_CFG_SPACE_EXT];
};

static uint32_t get_le(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int phys_read(void *opaque, uint16_t off, unsigned size, uint32_t *ret)
{
    struct phys_dev *d = opaque;

    if (off + size > sizeof(d->cfg))
        return -EINVAL;
    *ret = get_le(d->cfg + off, size);
    printf("  phys read  0x%03x %u -> 0x%0*" PRIx32 "\n", off, size,
           (int)size * 2, *ret);
    return 0;
}

static int phys_write(void *opaque, uint16_t off, unsigned size, uint32_t val,
                      uint32_t mask)
{
    struct phys_dev *d = opaque;
    uint32_t old;

    if (off + size > sizeof(d->cfg))
        return -EINVAL;
    old = get_le(d->cfg + off, size);
    put_le(d->cfg + off, size, (old & ~mask) | (val & mask));
    printf("  phys write 0x%03x %u <- 0x%0*" PRIx32 " mask 0x%0*" PRIx32 "\n",
           off, size, (int)size * 2, val, (int)size * 2, mask);
    return 0;
}

/* A real VMM acts here; the emulator has already updated its state. */
static void on_event(void *opaque, const struct vpci_event *ev)
{
    struct phys_dev *d = opaque;

    switch (ev->kind) {
    case VPCI_EV_COMMAND:
        printf("  event COMMAND 0x%04" PRIx64 " -> 0x%04" PRIx64 "\n", ev->a,
               ev->b);
        break;
    case VPCI_EV_BAR:
        printf("  event BAR %" PRIu64 " at 0x%016" PRIx64 "\n", ev->a, ev->b);
        break;
    case VPCI_EV_MSI_ENABLE:
        printf("  event MSI_ENABLE %" PRIu64 "\n", ev->a);
        break;
    case VPCI_EV_MSIX_ENABLE:
        printf("  event MSIX_ENABLE %" PRIu64 " mask %" PRIu64 "\n", ev->a,
               ev->b);
        break;
    case VPCI_EV_FLR:
        /* The emulator has reset the virtual state; the function itself
         * is the VMM's to reset (VFIO_DEVICE_RESET). */
        printf("  event FLR: resetting the physical function\n");
        memcpy(d->cfg, d->cfg_at_reset, sizeof(d->cfg));
        break;
    case VPCI_EV_PM_STATE:
        printf("  event PM_STATE D%" PRIu64 " -> D%" PRIu64 "\n", ev->a, ev->b);
        break;
    }
}

/* The whole file, NUL-terminated; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            char *n = realloc(buf, cap + 65536);

            if (!n) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = n;
            cap += 65536;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);

        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Offset of the first capability named name, or -1. */
static int cap_offset(const struct vpci_layout *l, const char *name)
{
    for (size_t i = 1; i < l->nblocks; i++) {
        const struct vpci_block *b = &l->blocks[i];

        if (b->kind != VPCI_BLOCK_CAP && b->kind != VPCI_BLOCK_ECAP)
            continue;
        if (!strcmp(b->name, name))
            return b->off;
    }
    return -1;
}

/* "0x10" or "pasid+0x06"; 0 and *ret, or -1 with a message. */
static int parse_offset(const struct vpci_layout *l, const char *word,
                        unsigned *ret)
{
    const char *plus = strchr(word, '+');
    char name[VPCI_NAME_MAX + 1];
    unsigned long base = 0, rel;
    char *end;

    if (plus) {
        size_t n = (size_t)(plus - word);
        int off;

        if (n == 0 || n > VPCI_NAME_MAX)
            return -1;
        memcpy(name, word, n);
        name[n] = '\0';
        off = cap_offset(l, name);
        if (off < 0) {
            fprintf(stderr, "no capability '%s' in the layout\n", name);
            return -1;
        }
        base = (unsigned long)off;
        word = plus + 1;
    }
    errno = 0;
    rel = strtoul(word, &end, 0);
    if (errno || *end || end == word || base + rel > 0xfff)
        return -1;
    *ret = (unsigned)(base + rel);
    return 0;
}

/* Run the script; 0, or -1 after a message. */
static int run_script(struct vpci_emu *emu, const struct vpci_layout *l,
                      const char *name, char *text)
{
    unsigned lineno = 0;

    for (char *line = text, *next; line && *line; line = next) {
        char op[8], offw[48], extra[2];
        unsigned off, size;
        uint32_t val;
        int n, r;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[0] == '#') {
            printf("%s\n", line);
            continue;
        }
        n = sscanf(line, "%7s %47s %u %" SCNx32 " %1s", op, offw, &size, &val,
                   extra);
        if (n <= 0)
            continue; /* blank line */
        if (!((n == 3 && !strcmp(op, "read")) ||
              (n == 4 && !strcmp(op, "write"))) ||
            parse_offset(l, offw, &off) < 0) {
            fprintf(stderr,
                    "%s:%u: expected 'read OFF SIZE' or 'write OFF SIZE "
                    "VALUE'\n",
                    name, lineno);
            return -1;
        }
        if (op[0] == 'r') {
            r = vpci_emu_read(emu, (uint16_t)off, size, &val);
            if (r == 0)
                printf("read  0x%03x %u -> 0x%0*" PRIx32 "\n", off, size,
                       (int)size * 2, val);
        } else {
            printf("write 0x%03x %u <- 0x%0*" PRIx32 "\n", off, size,
                   (int)size * 2, val);
            r = vpci_emu_write(emu, (uint16_t)off, size, val);
        }
        if (r < 0) {
            /* A VMM would end the guest's access here (reads as ~0). */
            printf("%s 0x%03x %u: %s\n", op, off, size, strerror(-r));
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct vpci_layout *l = NULL;
    struct vpci_emu *emu = NULL;
    struct vpci_error err;
    static struct phys_dev dev;
    const struct vpci_emu_ops ops = {
        .phys_read = phys_read,
        .phys_write = phys_write,
        .event = on_event,
    };
    char *text, *script = NULL;
    size_t len;
    int r, status = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s RESOLVED-LAYOUT [SCRIPT]\n", argv[0]);
        return 2;
    }

    /* 1. The resolved layout. */
    text = read_file(argv[1], &len);
    if (!text) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    r = vpci_layout_parse(text, len, &l, &err);
    free(text);
    if (r < 0) {
        char msg[512];

        vpci_error_format(&err, argv[1], msg, sizeof(msg));
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (!l->has_binding) {
        fprintf(stderr, "%s: not a resolved layout (no binding section)\n",
                argv[1]);
        goto out;
    }
    /* The binding says which function backs it; a VMM opens its vfio
     * node and follows the map lines. */
    for (size_t i = 0; i < l->nbinding; i++) {
        const struct vpci_stmt *s = &l->binding[i];

        if (strcmp(s->key, "instance-type") && strcmp(s->key, "version") &&
            strcmp(s->key, "bdf") && strcmp(s->key, "vfio"))
            continue;
        printf("binding %s", s->key);
        for (size_t j = 0; j < s->nargs; j++)
            printf(" %s", s->args[j]);
        printf("\n");
    }

    /* 2. The physical function.  Its interrupt status bit (status bit 3)
     * is set, so reads show the bits the layout marks phys coming from
     * the device. */
    put_le(dev.cfg + 0x06, 2, 0x0008);
    memcpy(dev.cfg_at_reset, dev.cfg, sizeof(dev.cfg));
    r = vpci_emu_new(l, &ops, &dev, &emu);
    if (r < 0) {
        fprintf(stderr, "vpci_emu_new: %s\n", strerror(-r));
        goto out;
    }

    /* 3. The guest's accesses. */
    if (argc == 3) {
        script = read_file(argv[2], &len);
        if (!script) {
            fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
            goto out;
        }
        r = run_script(emu, l, argv[2], script);
    } else {
        script = malloc(sizeof(builtin_script)); /* run_script cuts it */
        if (!script)
            goto out;
        memcpy(script, builtin_script, sizeof(builtin_script));
        r = run_script(emu, l, "built-in script", script);
    }
    if (r == 0)
        status = 0;
out:
    free(script);
    vpci_emu_free(emu);
    vpci_layout_free(l);
    return status;
}
