/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvpci: the vpci-layout format (see vpci-layout(5)).
 *
 * Pure library: buffers and structs in, buffers and structs out.  It never
 * opens files, never logs and never exits.  Functions return 0 (or a count)
 * on success and a negative errno value on failure; out-parameters named
 * ret_* are written only on success.  Every *_free() accepts NULL.
 */
#ifndef VPCI_H
#define VPCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VPCI_FORMAT_VERSION 1
#define VPCI_CFG_SPACE_STD 256
#define VPCI_CFG_SPACE_EXT 4096
#define VPCI_HASH_STRLEN 72 /* "sha256:" + 64 hex digits + NUL */
#define VPCI_NAME_MAX 32    /* field and capability names, without NUL */
#define VPCI_MAX_BARS 6

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Filled by parsers and validators.  line and col are 1-based; 0 means the
 * error has no position (a layout built in memory).  msg says what was
 * found and what was expected, without the position prefix.
 */
struct vpci_error {
    unsigned line;
    unsigned col;
    char msg[256];
};

/* Format "FILE:LINE:COL: error: MSG" (or "FILE: error: MSG") into buf. */
int vpci_error_format(const struct vpci_error *err, const char *file, char *buf,
                      size_t bufsize);

/* ------------------------------------------------------------------ */
/* Layout model                                                        */
/* ------------------------------------------------------------------ */

enum vpci_block_kind {
    VPCI_BLOCK_HEADER, /* "header type0|type1": absolute offsets 0x00-0x3f */
    VPCI_BLOCK_CAP,    /* "cap OFF NAME": offsets relative to OFF */
    VPCI_BLOCK_ECAP,   /* "ecap OFF NAME version V": relative to OFF */
    VPCI_BLOCK_RAW,    /* "raw": absolute offsets, bytes in no capability */
};

/*
 * One register (u8/u16/u32) or one run of raw bytes ("bytes N").  All four
 * arrays hold len bytes, little-endian, owned by the field (one allocation
 * starting at val; use the builder functions, never assign them).  For each
 * bit: rw, w1c and phys as in vpci-layout(5); rw and w1c never overlap.
 */
struct vpci_field {
    uint16_t off; /* relative to the block (absolute for header/raw) */
    uint16_t len; /* 1, 2 or 4 for registers; 1..4096 for bytes */
    bool is_bytes;
    char name[VPCI_NAME_MAX + 1]; /* empty for bytes fields */
    uint8_t *val;
    uint8_t *rw;
    uint8_t *w1c;
    uint8_t *phys;
    unsigned line, col; /* where it was written; 0 if built */
    /* Storage of the four arrays when len <= 4 (registers): private to
     * libvpci, which keeps the pointers right when fields move. */
    uint8_t small_[16];
};

struct vpci_block {
    enum vpci_block_kind kind;
    uint16_t off;                 /* capability offset; 0 for header and raw */
    uint16_t id;                  /* capability ID (8 bits std, 16 bits ext) */
    uint8_t version;              /* ecap version (4 bits) */
    char name[VPCI_NAME_MAX + 1]; /* table name, or empty if given by id */
    struct vpci_field *fields;
    size_t nfields;
    size_t cap_fields; /* allocated slots */
    unsigned line, col;
};

enum vpci_bar_type {
    VPCI_BAR_NONE = 0,
    VPCI_BAR_MEM32,
    VPCI_BAR_MEM64,
    VPCI_BAR_IO,
};

/* "mem32", "mem64", "io" (the layout keywords), or "none". */
const char *vpci_bar_type_name(enum vpci_bar_type t);

/* "bar N TYPE [prefetch] size S [from M]" */
struct vpci_bar {
    enum vpci_bar_type type;
    bool prefetch;
    uint64_t size; /* power of two; >= 16 for memory, >= 4 for I/O */
    int from;      /* physical BAR index backing it, -1 if none */
    unsigned line, col;
};

/* "rom none" or "rom size S [from rom]" */
struct vpci_rom {
    uint32_t size; /* 0 = no ROM; else a power of two >= 2048 */
    bool from_phys;
    unsigned line, col;
};

/*
 * One line of the requires or binding section: a keyword and its
 * arguments, kept as text and checked against the keyword table.
 */
struct vpci_stmt {
    char *key;
    char **args;
    size_t nargs;
    unsigned line, col;
};

struct vpci_layout {
    unsigned format;      /* VPCI_FORMAT_VERSION */
    unsigned space;       /* 256 or 4096 */
    unsigned header_type; /* 0 or 1 */
    /* blocks[0] is the header; the rest in file order, which is also the
     * order of the capability chains (std and ext chains separately). */
    struct vpci_block *blocks;
    size_t nblocks;
    size_t cap_blocks;
    struct vpci_bar bars[VPCI_MAX_BARS]; /* type1 uses only 0 and 1 */
    struct vpci_rom rom;
    struct vpci_stmt *requires;
    size_t nrequires;
    bool has_binding;
    struct vpci_stmt *binding;
    size_t nbinding;
};

/*
 * Parse and validate layout text.  file is used only in messages (may be
 * NULL).  On error fills err (if non-NULL) and returns -EINVAL (bad input)
 * or -ENOMEM.  On success *ret is owned by the caller (vpci_layout_free).
 */
int vpci_layout_parse(const char *text, size_t len, struct vpci_layout **ret,
                      struct vpci_error *err);

/* Check every rule of vpci-layout(5); 0 if valid, else -EINVAL and err. */
int vpci_layout_validate(const struct vpci_layout *l, struct vpci_error *err);

void vpci_layout_free(struct vpci_layout *l);

/* Building a layout in memory (derive, tools).  All return 0 or -errno. */
int vpci_layout_new(unsigned space, unsigned header_type,
                    struct vpci_layout **ret);
/* Appends a block; *ret points into l->blocks (valid until the next add). */
int vpci_layout_add_block(struct vpci_layout *l, enum vpci_block_kind kind,
                          uint16_t off, uint16_t id, uint8_t version,
                          const char *name, struct vpci_block **ret);
/* Appends a register field (len 1/2/4) with value and masks. */
int vpci_block_add_reg(struct vpci_block *b, uint16_t off, unsigned len,
                       const char *name, uint32_t val, uint32_t rw,
                       uint32_t w1c, uint32_t phys);
/* Appends a bytes field; rw/w1c/phys may be NULL (all zero). */
int vpci_block_add_bytes(struct vpci_block *b, uint16_t off, unsigned len,
                         const uint8_t *val, const uint8_t *rw,
                         const uint8_t *w1c, const uint8_t *phys);
int vpci_layout_add_stmt(struct vpci_layout *l, bool binding, const char *key,
                         const char *const *args, size_t nargs);
/* Deep copy. */
int vpci_layout_dup(const struct vpci_layout *l, struct vpci_layout **ret);
/* Remove block i (i > 0). */
void vpci_layout_remove_block(struct vpci_layout *l, size_t i);
/* Find a field by name in a block; NULL if none. */
const struct vpci_field *vpci_block_find_field(const struct vpci_block *b,
                                               const char *name);
/* Field value as an integer (registers only; bytes fields: first 4). */
uint32_t vpci_field_value(const struct vpci_field *f);

/*
 * Canonical text (vpci-layout(5), "Canonical form").  *ret_text is
 * NUL-terminated and malloc'ed; *ret_len excludes the NUL (may be NULL).
 * parse(format(x)) is equal to x.
 */
int vpci_layout_format(const struct vpci_layout *l, char **ret_text,
                       size_t *ret_len);

/* Same, without the binding section (the text the content hash covers). */
int vpci_layout_format_unbound(const struct vpci_layout *l, char **ret_text,
                               size_t *ret_len);

/* "sha256:<hex>" of the canonical text without binding. */
int vpci_layout_hash(const struct vpci_layout *l, char ret[VPCI_HASH_STRLEN]);

/* "sha256:<hex>" of the guest-observable view (vpci-layout(5)). */
int vpci_layout_fingerprint(const struct vpci_layout *l,
                            char ret[VPCI_HASH_STRLEN]);

/* SHA-256 of a buffer as "sha256:<hex>". */
int vpci_sha256_hex(const void *data, size_t len, char ret[VPCI_HASH_STRLEN]);

/*
 * Semantic diff: one line per difference, e.g.
 *   "header.command: value 0x0000 -> 0x0006"
 *   "cap pcie: moved 0x60 -> 0x70"
 *   "ecap pasid@0xff8: only in B"
 * Returns the number of differences (0 = same guest-visible layout, same
 * BAR backing ("from"), same requires and same binding), *ret_text
 * malloc'ed (empty string when 0).
 */
int vpci_layout_diff(const struct vpci_layout *a, const struct vpci_layout *b,
                     char **ret_text);

/* ------------------------------------------------------------------ */
/* Render                                                              */
/* ------------------------------------------------------------------ */

/*
 * The guest-visible config space at reset.  Bytes no field describes are
 * 0 with all masks 0 (the safe default).  BAR and ROM registers hold only
 * their type bits; their geometry is in bars/rom.
 */
struct vpci_render {
    unsigned size;        /* 256 or 4096 */
    unsigned header_type; /* 0 or 1 */
    uint8_t val[VPCI_CFG_SPACE_EXT];
    uint8_t rw[VPCI_CFG_SPACE_EXT];
    uint8_t w1c[VPCI_CFG_SPACE_EXT];
    uint8_t phys[VPCI_CFG_SPACE_EXT];
    struct vpci_bar bars[VPCI_MAX_BARS];
    struct vpci_rom rom;
};

int vpci_render(const struct vpci_layout *l, struct vpci_render *out);

/* lspci -xxx/-xxxx text of r->val: "00:00.0 Class ..." then hex lines;
 * lspci -F decodes it.  malloc'ed. */
int vpci_render_lspci(const struct vpci_render *r, const char *slot,
                      char **ret_text);

/* ------------------------------------------------------------------ */
/* Emulated config space (for VMMs)                                    */
/* ------------------------------------------------------------------ */

enum vpci_event_kind {
    VPCI_EV_COMMAND,     /* command register changed: a = old, b = new */
    VPCI_EV_BAR,         /* BAR a programmed to address b (or ROM: a=6) */
    VPCI_EV_MSI_ENABLE,  /* MSI enable bit: a = 0/1 */
    VPCI_EV_MSIX_ENABLE, /* MSI-X enable bit: a = 0/1, b = function mask */
    VPCI_EV_FLR,         /* function level reset initiated */
    VPCI_EV_PM_STATE,    /* PMCSR power state write: a = old, b = new */
};

struct vpci_event {
    enum vpci_event_kind kind;
    uint64_t a, b;
};

struct vpci_emu_ops {
    /* Read size (1/2/4) bytes of the physical function at off. */
    int (*phys_read)(void *opaque, uint16_t off, unsigned size, uint32_t *ret);
    /* Write the bits of mask in val to the physical function. */
    int (*phys_write)(void *opaque, uint16_t off, unsigned size, uint32_t val,
                      uint32_t mask);
    /* A side effect the VMM must act on. */
    void (*event)(void *opaque, const struct vpci_event *ev);
};

struct vpci_emu;

/* ops may be NULL or have NULL members: phys bits then read 0. */
int vpci_emu_new(const struct vpci_layout *l, const struct vpci_emu_ops *ops,
                 void *opaque, struct vpci_emu **ret);
/* Guest access of size 1, 2 or 4 at off (naturally aligned, inside the
 * space).  -EINVAL for a bad size/alignment/offset. */
int vpci_emu_read(struct vpci_emu *e, uint16_t off, unsigned size,
                  uint32_t *ret);
int vpci_emu_write(struct vpci_emu *e, uint16_t off, unsigned size,
                   uint32_t val);
/* Back to the layout's values (reset, FLR). */
void vpci_emu_reset(struct vpci_emu *e);
/* Current address programmed in BAR i (0..5) or ROM (6). */
uint64_t vpci_emu_bar_addr(const struct vpci_emu *e, unsigned i);
void vpci_emu_free(struct vpci_emu *e);

/* ------------------------------------------------------------------ */
/* Capability table                                                    */
/* ------------------------------------------------------------------ */

struct vpci_field_def {
    uint16_t off;  /* relative to the capability (or absolute, header) */
    uint8_t width; /* 1, 2 or 4 */
    const char *name;
};

struct vpci_cap_def {
    bool ext;
    uint16_t id;
    const char *name;  /* layout keyword, e.g. "pcie", "pasid" */
    const char *title; /* for people, e.g. "PCI Express" */
    uint16_t min_len;  /* smallest valid length in bytes */
    uint16_t max_len;  /* largest possible length */
    const struct vpci_field_def *fields;
    size_t nfields;
};

/* NULL if unknown. */
const struct vpci_cap_def *vpci_cap_find(bool ext, uint16_t id);
const struct vpci_cap_def *vpci_cap_find_name(bool ext, const char *name);
/* The whole table, in ID order: std first, then ext. */
const struct vpci_cap_def *vpci_cap_table(size_t *ret_n);
/* Field definitions of the type-0 or type-1 header. */
const struct vpci_field_def *vpci_header_fields(unsigned header_type,
                                                size_t *ret_n);

/*
 * Length in bytes of the capability at off in cfg (size bytes), from its
 * own registers where the length varies (MSI flags, vendor length byte,
 * DVSEC/VSEC length, ...).  Clamped to the space and to max_len; 0 if it
 * cannot be determined.
 */
unsigned vpci_cap_length(const struct vpci_cap_def *d, const uint8_t *cfg,
                         size_t size, uint16_t off);

/* ------------------------------------------------------------------ */
/* Decoding raw config bytes                                           */
/* ------------------------------------------------------------------ */

#define VPCI_DECODE_MAX_CAPS 1024
#define VPCI_DECODE_MAX_WARN 32

struct vpci_cap_info {
    bool ext;
    uint16_t id;
    uint8_t version;
    uint16_t off;
    uint16_t len; /* vpci_cap_length(); unknown caps: up to the next one */
    const struct vpci_cap_def *def; /* NULL if unknown */
};

struct vpci_decoded {
    unsigned size;        /* bytes available */
    unsigned header_type; /* 0, 1, 2 (cardbus) or 0x7f (unknown) */
    uint16_t vendor_id, device_id;
    uint32_t class_code; /* base << 16 | sub << 8 | prog_if */
    size_t ncaps;
    struct vpci_cap_info caps[VPCI_DECODE_MAX_CAPS]; /* chain order */
    size_t nwarnings;
    char warnings[VPCI_DECODE_MAX_WARN][128];
};

/* Walk both capability chains defensively.  Problems (loops, bad
 * pointers, 0x00/0xff IDs, truncation) become warnings; returns the
 * number of warnings, or -EINVAL for size < 64. */
int vpci_decode(const uint8_t *cfg, size_t size, struct vpci_decoded *out);

/* ------------------------------------------------------------------ */
/* lspci dump text                                                     */
/* ------------------------------------------------------------------ */

struct vpci_dump_dev {
    char slot[16];  /* "0000:00:1f.3" (domain added if missing) */
    char desc[160]; /* rest of the header line */
    unsigned size;  /* contiguous bytes from 0: 64, 256, 4096, or less */
    uint8_t cfg[VPCI_CFG_SPACE_EXT];
    uint64_t region_size[VPCI_MAX_BARS + 1]; /* from verbose lines; [6] ROM */
    unsigned line;                           /* line of the header */
    size_t nwarnings;
    char warnings[8][128];
};

/*
 * Parse lspci -x/-xxx/-xxxx text, with or without verbose lines, one or
 * more devices.  Damage is reported as per-device warnings; only text with
 * no device at all is an error (-EINVAL, err filled).  *ret is an array of
 * *ret_n devices, free with free().
 */
int vpci_dump_parse(const char *text, size_t len, struct vpci_dump_dev **ret,
                    size_t *ret_n, struct vpci_error *err);

/* ------------------------------------------------------------------ */
/* Quirks and derive                                                   */
/* ------------------------------------------------------------------ */

struct vpci_quirks; /* a parsed set of quirk files */

/* Parse quirk text (data/quirks/ *.quirk, see vpci-layout(5)) and add it to
 * *q (allocated when *q is NULL). */
int vpci_quirks_parse(const char *text, size_t len, struct vpci_quirks **q,
                      struct vpci_error *err);
void vpci_quirks_free(struct vpci_quirks *q);

enum vpci_policy {
    VPCI_POLICY_VFIO = 0, /* default: what vfio-pci + QEMU present */
    VPCI_POLICY_IDENTITY, /* the physical bytes, read-only */
};

/* Parse "vfio"/"identity"; -EINVAL otherwise. */
int vpci_policy_from_string(const char *s, enum vpci_policy *ret);

/* A physical function as derive sees it. */
struct vpci_device {
    const uint8_t *cfg; /* raw config bytes */
    unsigned size;      /* 64, 256, 4096 (or less if partial) */
    /* Facts config bytes do not carry (0 = unknown). */
    uint16_t vendor_id, device_id; /* sysfs IDs (a VF reads 0xffff) */
    uint64_t bar_size[VPCI_MAX_BARS];
    /* BAR type from sysfs resource flags; VPCI_BAR_NONE = read it from
     * the BAR register (a VF's BAR registers read 0). */
    enum vpci_bar_type bar_type[VPCI_MAX_BARS];
    bool bar_prefetch[VPCI_MAX_BARS];
    uint64_t rom_size;
    bool is_vf;
};

/* What derive decided that a reader of the layout should know: hidden
 * capabilities, quirks applied, BARs left out, decoder warnings. */
#define VPCI_DERIVE_MAX_NOTES 48
struct vpci_derive_notes {
    size_t n;
    size_t dropped; /* notes that did not fit */
    char note[VPCI_DERIVE_MAX_NOTES][160];
};

/* Derive a layout.  quirks and notes may be NULL.  The result validates.
 * Quirks apply to the vfio policy only: identity is the device as it is. */
int vpci_derive(const struct vpci_device *dev, enum vpci_policy policy,
                const struct vpci_quirks *quirks, struct vpci_layout **ret,
                struct vpci_derive_notes *notes, struct vpci_error *err);

/* ------------------------------------------------------------------ */
/* Compatibility and resolve                                           */
/* ------------------------------------------------------------------ */

/*
 * What the compatibility check knows about one physical function: its
 * config bytes (as derive reads them) plus host facts that config bytes do
 * not carry.  Pointers are borrowed for the duration of a call.  Unknown
 * facts are -1, 0 or NULL as noted; a rule that needs an unknown fact
 * fails with actual "unknown".
 */
struct vpci_host_device {
    struct vpci_device dev; /* cfg, size, IDs, BAR and ROM geometry, is_vf */
    const char *bdf;        /* "0000:3b:10.0" */
    uint16_t subsystem_vendor_id, subsystem_id; /* 0 unknown: from cfg */
    /* For a VF: its PF's config bytes (PASID and PRI live there); NULL if
     * unknown or not a VF. */
    const uint8_t *pf_cfg;
    unsigned pf_size;
    const char *pf;          /* the PF's BDF, NULL if not a VF */
    const char *driver;      /* bound host driver, NULL = none */
    bool vfio;               /* bound to vfio-pci or a vfio variant driver */
    int migration;           /* 1 supports live migration, 0 no, -1 unknown */
    int numa_node;           /* -1 unknown */
    unsigned link_speed_mts; /* current link speed in MT/s, 0 unknown */
    unsigned link_width;     /* current lanes, 0 unknown */
    int iommu_group;         /* -1 none */
    /* A peer in the IOMMU group that is neither vfio-bound nor unbound
     * (NULL: the group is viable). */
    const char *group_blocker;
    const char *group_blocker_driver;
    /* Held by an attachment or reservation: its id, NULL if free. */
    const char *reserved_by;
    /* Active attachments on the same PF (or on this PF): spreads load. */
    unsigned pf_load;
};

#define VPCI_REASON_CODE_MAX 32
#define VPCI_COMPAT_MAX_REASONS 32

/* One failed rule.  code is stable (vpci-layout(5), COMPATIBILITY). */
struct vpci_reason {
    char code[VPCI_REASON_CODE_MAX];
    char message[160];
    char expected[96];
    char actual[96];
};

struct vpci_compat {
    bool compatible;
    int score; /* 0 when incompatible; higher is better */
    size_t nreasons;
    size_t dropped; /* failed rules that did not fit */
    struct vpci_reason reasons[VPCI_COMPAT_MAX_REASONS];
};

/* The rules a layout implies plus its requires section, compiled once and
 * evaluated against many devices (read-only: shareable across threads). */
struct vpci_rules;

/* Compile l (which must validate: -EINVAL and err otherwise) into rules;
 * the rules keep no pointer into l. */
int vpci_rules_new(const struct vpci_layout *l, struct vpci_rules **ret,
                   struct vpci_error *err);
void vpci_rules_free(struct vpci_rules *r);

/* Check d against r.  numa_pref >= 0 prefers that node in the score (a
 * soft preference; "requires numa" is the hard rule).  Every failed rule
 * is a reason, in rule order; the codes and the formats of expected and
 * actual are listed in vpci-layout(5), COMPATIBILITY.  Only the first
 * nreasons entries of out->reasons are written.  Allocates nothing and
 * touches no shared state: any number of threads may check at once.
 * 0, or -EINVAL on a bad argument. */
int vpci_compat_check(const struct vpci_rules *r,
                      const struct vpci_host_device *d, int numa_pref,
                      struct vpci_compat *out);

/* What the binding section of a resolved layout says beyond the layout
 * and the device's config bytes. */
struct vpci_bind_info {
    const char *instance_type;
    unsigned version;
    const char *vfio_path; /* NULL = "none" */
};

/*
 * The layout placed on device d: a copy of l with a binding section
 * (instance type, version, hash, fingerprint, bdf, pf, iommu group, vfio
 * path, and a map line for every capability, BAR and the ROM), replacing
 * any binding l had.  Its content hash and fingerprint equal l's.
 * -EINVAL (err) when d cannot back l (fewer than 64 config bytes, a phys
 * capability it lacks, a missing BAR or ROM) or b/d hold names the
 * binding syntax refuses; other failed compatibility rules do not stop
 * it.  *ret is the caller's (vpci_layout_free).
 */
int vpci_resolve(const struct vpci_layout *l, const struct vpci_host_device *d,
                 const struct vpci_bind_info *b, struct vpci_layout **ret,
                 struct vpci_error *err);

/* ------------------------------------------------------------------ */
/* Fleet: one layout for many devices, virtual capability placement    */
/* ------------------------------------------------------------------ */

/* One line of the report of vpci_layout_common(). */
#define VPCI_COMMON_MAX_NOTES 256
struct vpci_common_note {
    int input;       /* 0-based index of the input concerned; -1 = all */
    char what[48];   /* "header.device_id", "cap msix", "cap pcie.devcap",
                        "ecap ats", "bar 2", "rom", "requires" */
    char action[16]; /* "reduced", "dropped", "moved", "masked", "id",
                        "chosen" (input 1's read-only value presented) */
    char message[200];
};

struct vpci_common_report {
    size_t n;
    size_t dropped; /* notes that did not fit */
    struct vpci_common_note note[VPCI_COMMON_MAX_NOTES];
};

struct vpci_common_opts {
    /* Present this device ID (the operator's --id) instead of requiring
     * all inputs to agree on it; the vendor ID must still agree. */
    bool set_id;
    uint16_t vendor_id, device_id;
    /* Names of the inputs for messages (n entries), or NULL: "input N"
     * (1-based). */
    const char *const *names;
};

/*
 * The layout every input can present (vpci-layout(5), FLEET LAYOUTS):
 * identical IDs where they agree (or opts->vendor/device_id), the
 * capabilities present on all inputs, each at one offset, numeric
 * capability fields reduced to what all support, phys bits only where
 * every input has them, a "requires device" line per distinct physical
 * ID pair; a BAR or ROM not identical on all inputs is left out.  Every
 * reduction, drop and move is a note in rep (may be NULL).  Inputs that
 * are not one kind of device (header type, class or vendor differ, a BAR
 * of another type or prefetch bit, device IDs that differ without
 * set_id) fail with -EINVAL and err naming the inputs and what differs.
 * The rules are at the top of lib/common.c and in vpci-layout(5), FLEET
 * LAYOUTS.  The result validates; *ret is the caller's.
 */
int vpci_layout_common(const struct vpci_layout *const *in, size_t n,
                       const struct vpci_common_opts *opts,
                       struct vpci_layout **ret, struct vpci_common_report *rep,
                       struct vpci_error *err);

/*
 * Mark in busy (VPCI_CFG_SPACE_EXT bytes, nonzero = taken) every byte a
 * physical function uses: the 64-byte header, each capability of both
 * chains as vpci_decode() finds it (its vpci_cap_length()), and every
 * range a quirk matching the device keeps or puts a PASID at (8 bytes).
 * quirks may be NULL.  Bytes beyond dev->size are not marked, and no
 * byte is cleared: maps of several functions can be merged into one.
 * 0, -EINVAL or -ENOMEM.
 */
int vpci_device_busy(const struct vpci_device *dev,
                     const struct vpci_quirks *quirks, uint8_t *busy);

/*
 * The same for a layout (a device known only by a layout file): the
 * 64-byte header, each capability block from its offset over its header,
 * its fields and at least the capability table's smallest length, and
 * the raw block's fields.  0 or -EINVAL.
 */
int vpci_layout_busy(const struct vpci_layout *l, uint8_t *busy);

struct vpci_place_opts {
    unsigned width; /* Max PASID Width, 1..20 (0 = 20) */
    bool exec, priv;
    int at; /* offset, or -1 = auto */
    /* Maps of the listed devices (vpci_device_busy), nbusy of them, and
     * their names for messages (NULL: "device N"). */
    const uint8_t *const *busy;
    size_t nbusy;
    const char *const *names;
};

/*
 * Add a virtual PASID extended capability (ID 0x1b, version 1, 8 bytes:
 * pasid_cap read-only with width/exec/priv, pasid_ctl writable in the
 * enable bits the capability offers) to l at an offset free in l and in
 * every busy map, last in the extended chain; an empty extended chain
 * gets its "ecap 0x100 null" anchor (unless PASID goes at 0x100).  A
 * byte is taken on l when a field or capability of l covers it (a
 * capability from its header to the end of its last field), on a map
 * when nonzero.  auto takes 0xff8 when free (QEMU's default
 * x-vpasid-cap-offset), else the highest dword-aligned offset >= 0x100
 * whose 8 bytes are free everywhere.  -EINVAL, l unchanged, when l has
 * a 256-byte space or already has PASID, the width exceeds 20, the
 * offset is outside 0x100-0xff8 or misaligned, or it is taken: err then
 * says "0xOFF-0xEND: ecap NAME at 0xN on the layout" or "0xOFF-0xEND:
 * taken on device K (NAME)" (K 1-based), or that nothing is free.
 * *ret_off (may be NULL) gets the offset.
 */
int vpci_layout_place_pasid(struct vpci_layout *l,
                            const struct vpci_place_opts *o, uint16_t *ret_off,
                            struct vpci_error *err);

#ifdef __cplusplus
}
#endif

#endif /* VPCI_H */
