/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The capability table: names, lengths and register layouts of the
 * standard and extended PCI capabilities, plus the two header layouts.
 *
 * Field offsets are relative to the capability.  The header bytes every
 * capability has (std: ID and next pointer at +0/+1; ext: the ID/version/
 * next dword at +0) are implied and never listed, so derive can emit them
 * from the chain alone.  Bytes inside a capability that no field covers
 * are raw (reserved or structure-specific tables).
 *
 * Validation relies on two properties of every table: it names each
 * register once (a field at its table place cannot share its name with
 * another field), and its names are valid field names and its widths 1,
 * 2 or 4 (a field found at its table place needs no other shape check).
 */
#include <string.h>

#include "internal.h"

#define F(o, w, n)                                                             \
    {                                                                          \
        (o), (w), (n)                                                          \
    }

/* Per-lane register arrays (PL16/PL32 equalisation bytes, margining). */
/* clang-format off */
#define LANES32(M, p, b)                                                       \
    M(p, b, 0) M(p, b, 1) M(p, b, 2) M(p, b, 3) M(p, b, 4) M(p, b, 5)          \
    M(p, b, 6) M(p, b, 7) M(p, b, 8) M(p, b, 9) M(p, b, 10) M(p, b, 11)        \
    M(p, b, 12) M(p, b, 13) M(p, b, 14) M(p, b, 15) M(p, b, 16) M(p, b, 17)    \
    M(p, b, 18) M(p, b, 19) M(p, b, 20) M(p, b, 21) M(p, b, 22) M(p, b, 23)    \
    M(p, b, 24) M(p, b, 25) M(p, b, 26) M(p, b, 27) M(p, b, 28) M(p, b, 29)    \
    M(p, b, 30) M(p, b, 31)
/* clang-format on */
#define LANE_U8(p, b, i) F((b) + (i), 1, p #i),
#define LANE_U16(p, b, i) F((b) + 2 * (i), 2, p #i),
#define LMR_LANE(p, b, i)                                                      \
    F((b) + 4 * (i), 2, p "ctl" #i), F((b) + 4 * (i) + 2, 2, p "sta" #i),

/* ------------------------------------------------------------------ */
/* Headers                                                             */
/* ------------------------------------------------------------------ */

static const struct vpci_field_def hdr0[] = {
    F(0x00, 2, "vendor_id"),       F(0x02, 2, "device_id"),
    F(0x04, 2, "command"),         F(0x06, 2, "status"),
    F(0x08, 1, "revision_id"),     F(0x09, 1, "prog_if"),
    F(0x0a, 1, "subclass"),        F(0x0b, 1, "base_class"),
    F(0x0c, 1, "cache_line_size"), F(0x0d, 1, "latency_timer"),
    F(0x0e, 1, "header_type"),     F(0x0f, 1, "bist"),
    F(0x28, 4, "cardbus_cis"),     F(0x2c, 2, "subsystem_vendor"),
    F(0x2e, 2, "subsystem_id"),    F(0x35, 1, "reserved_35"),
    F(0x36, 2, "reserved_36"),     F(0x38, 4, "reserved_38"),
    F(0x3c, 1, "interrupt_line"),  F(0x3d, 1, "interrupt_pin"),
    F(0x3e, 1, "min_gnt"),         F(0x3f, 1, "max_lat"),
};

static const struct vpci_field_def hdr1[] = {
    F(0x00, 2, "vendor_id"),
    F(0x02, 2, "device_id"),
    F(0x04, 2, "command"),
    F(0x06, 2, "status"),
    F(0x08, 1, "revision_id"),
    F(0x09, 1, "prog_if"),
    F(0x0a, 1, "subclass"),
    F(0x0b, 1, "base_class"),
    F(0x0c, 1, "cache_line_size"),
    F(0x0d, 1, "latency_timer"),
    F(0x0e, 1, "header_type"),
    F(0x0f, 1, "bist"),
    F(0x18, 1, "primary_bus"),
    F(0x19, 1, "secondary_bus"),
    F(0x1a, 1, "subordinate_bus"),
    F(0x1b, 1, "secondary_latency"),
    F(0x1c, 1, "io_base"),
    F(0x1d, 1, "io_limit"),
    F(0x1e, 2, "secondary_status"),
    F(0x20, 2, "memory_base"),
    F(0x22, 2, "memory_limit"),
    F(0x24, 2, "prefetch_base"),
    F(0x26, 2, "prefetch_limit"),
    F(0x28, 4, "prefetch_base_upper"),
    F(0x2c, 4, "prefetch_limit_upper"),
    F(0x30, 2, "io_base_upper"),
    F(0x32, 2, "io_limit_upper"),
    F(0x35, 1, "reserved_35"),
    F(0x36, 2, "reserved_36"),
    F(0x3c, 1, "interrupt_line"),
    F(0x3d, 1, "interrupt_pin"),
    F(0x3e, 2, "bridge_control"),
};

/* ------------------------------------------------------------------ */
/* Standard capabilities                                               */
/* ------------------------------------------------------------------ */

static const struct vpci_field_def f_pm[] = {
    F(0x02, 2, "pmc"),
    F(0x04, 2, "pmcsr"),
    F(0x06, 1, "pmcsr_bse"),
    F(0x07, 1, "pm_data"),
};
static const struct vpci_field_def f_agp[] = {
    F(0x02, 1, "agp_version"),
    F(0x04, 4, "agp_status"),
    F(0x08, 4, "agp_command"),
};
static const struct vpci_field_def f_vpd[] = {
    F(0x02, 2, "vpd_addr"),
    F(0x04, 4, "vpd_data"),
};
static const struct vpci_field_def f_slotid[] = {
    F(0x02, 1, "slotid_esr"),
    F(0x03, 1, "slotid_chassis"),
};
/*
 * MSI is the one capability whose table has overlapping alternatives: the
 * registers after the address move by 4 bytes when the 64-bit address bit
 * (msgctl bit 7) is set.  Derive picks msg_addr_hi/msg_data/mask/pending
 * when msgctl bit 7 is set and msg_data32/mask32/pending32 when it is
 * clear, and (in both cases) only fields inside vpci_cap_length(), which
 * drops mask/pending when the per-vector-mask bit (msgctl bit 8) is clear.
 */
static const struct vpci_field_def f_msi[] = {
    F(0x02, 2, "msgctl"),     F(0x04, 4, "msg_addr"), F(0x08, 4, "msg_addr_hi"),
    F(0x0c, 2, "msg_data"),   F(0x10, 4, "mask"),     F(0x14, 4, "pending"),
    F(0x08, 2, "msg_data32"), F(0x0c, 4, "mask32"),   F(0x10, 4, "pending32"),
};
static const struct vpci_field_def f_chswap[] = {
    F(0x02, 1, "chswap_csr"),
};
/* Type-0 PCI-X layout (command + status, ECC registers for v1/v2). */
static const struct vpci_field_def f_pcix[] = {
    F(0x02, 2, "pcix_cmd"),         F(0x04, 4, "pcix_status"),
    F(0x08, 4, "pcix_ecc_csr"),     F(0x0c, 4, "pcix_ecc_addr_lo"),
    F(0x10, 4, "pcix_ecc_addr_hi"), F(0x14, 4, "pcix_ecc_attr"),
};
static const struct vpci_field_def f_ht[] = {
    F(0x02, 2, "ht_cmd"),
};
static const struct vpci_field_def f_vendor[] = {
    F(0x02, 1, "vndr_len"),
};
static const struct vpci_field_def f_debug[] = {
    F(0x02, 2, "dbg_port"),
};
static const struct vpci_field_def f_hotplug[] = {
    F(0x02, 1, "shpc_dword_sel"),
    F(0x03, 1, "shpc_pending"),
    F(0x04, 4, "shpc_data"),
};
static const struct vpci_field_def f_ssvid[] = {
    F(0x04, 2, "ssvid_vendor"),
    F(0x06, 2, "ssvid_device"),
};
static const struct vpci_field_def f_secure[] = {
    F(0x02, 2, "sec_cap"),     F(0x04, 4, "sec_base_lo"),
    F(0x08, 4, "sec_base_hi"), F(0x0c, 4, "sec_range"),
    F(0x10, 4, "sec_misc"),
};
static const struct vpci_field_def f_pcie[] = {
    F(0x02, 2, "pcie_caps"), F(0x04, 4, "devcap"),  F(0x08, 2, "devctl"),
    F(0x0a, 2, "devsta"),    F(0x0c, 4, "lnkcap"),  F(0x10, 2, "lnkctl"),
    F(0x12, 2, "lnksta"),    F(0x14, 4, "sltcap"),  F(0x18, 2, "sltctl"),
    F(0x1a, 2, "sltsta"),    F(0x1c, 2, "rootctl"), F(0x1e, 2, "rootcap"),
    F(0x20, 4, "rootsta"),   F(0x24, 4, "devcap2"), F(0x28, 2, "devctl2"),
    F(0x2a, 2, "devsta2"),   F(0x2c, 4, "lnkcap2"), F(0x30, 2, "lnkctl2"),
    F(0x32, 2, "lnksta2"),   F(0x34, 4, "sltcap2"), F(0x38, 2, "sltctl2"),
    F(0x3a, 2, "sltsta2"),
};
static const struct vpci_field_def f_msix[] = {
    F(0x02, 2, "msgctl"),
    F(0x04, 4, "table"),
    F(0x08, 4, "pba"),
};
static const struct vpci_field_def f_sata[] = {
    F(0x02, 2, "sata_rev"),
    F(0x04, 4, "sata_cr1"),
};
static const struct vpci_field_def f_af[] = {
    F(0x02, 1, "af_len"),
    F(0x03, 1, "af_cap"),
    F(0x04, 1, "af_ctl"),
    F(0x05, 1, "af_sta"),
};
static const struct vpci_field_def f_ea[] = {
    F(0x02, 1, "ea_num_ent"),
};
static const struct vpci_field_def f_fpb[] = {
    F(0x04, 4, "fpb_cap"),
    F(0x08, 4, "fpb_rid_ctl1"),
    F(0x0c, 4, "fpb_rid_ctl2"),
    F(0x10, 4, "fpb_mem_low_ctl"),
    F(0x14, 4, "fpb_mem_high_ctl1"),
    F(0x18, 4, "fpb_mem_high_ctl2"),
    F(0x1c, 4, "fpb_vec_access_ctl"),
    F(0x20, 4, "fpb_vec_access_data"),
};

/* ------------------------------------------------------------------ */
/* Extended capabilities                                               */
/* ------------------------------------------------------------------ */

static const struct vpci_field_def f_aer[] = {
    F(0x04, 4, "aer_uncor_status"), F(0x08, 4, "aer_uncor_mask"),
    F(0x0c, 4, "aer_uncor_sever"),  F(0x10, 4, "aer_cor_status"),
    F(0x14, 4, "aer_cor_mask"),     F(0x18, 4, "aer_cap"),
    F(0x1c, 4, "aer_header_log0"),  F(0x20, 4, "aer_header_log1"),
    F(0x24, 4, "aer_header_log2"),  F(0x28, 4, "aer_header_log3"),
    F(0x2c, 4, "aer_root_cmd"),     F(0x30, 4, "aer_root_status"),
    F(0x34, 2, "aer_cor_src"),      F(0x36, 2, "aer_uncor_src"),
    F(0x38, 4, "aer_prefix_log0"),  F(0x3c, 4, "aer_prefix_log1"),
    F(0x40, 4, "aer_prefix_log2"),  F(0x44, 4, "aer_prefix_log3"),
};
/* VC, VC9 and MFVC share the port-level registers and VC0's resource. */
static const struct vpci_field_def f_vc[] = {
    F(0x04, 4, "vc_cap1"),     F(0x08, 4, "vc_cap2"),
    F(0x0c, 2, "vc_ctl"),      F(0x0e, 2, "vc_sta"),
    F(0x10, 4, "vc_res_cap0"), F(0x14, 4, "vc_res_ctl0"),
    F(0x1a, 2, "vc_res_sta0"),
};
static const struct vpci_field_def f_dsn[] = {
    F(0x04, 4, "dsn_lo"),
    F(0x08, 4, "dsn_hi"),
};
static const struct vpci_field_def f_pwrbudget[] = {
    F(0x04, 1, "pwr_data_sel"),
    F(0x08, 4, "pwr_data"),
    F(0x0c, 1, "pwr_cap"),
};
static const struct vpci_field_def f_rclink[] = {
    F(0x04, 4, "rclink_esd"),
};
static const struct vpci_field_def f_rcilink[] = {
    F(0x04, 4, "rcilink_cap"),
    F(0x08, 2, "rcilink_ctl"),
    F(0x0a, 2, "rcilink_sta"),
};
static const struct vpci_field_def f_rcec_assoc[] = {
    F(0x04, 4, "rcec_bitmap"),
    F(0x08, 4, "rcec_bus"),
};
static const struct vpci_field_def f_rcrb[] = {
    F(0x04, 2, "rcrb_vendor"),
    F(0x06, 2, "rcrb_device"),
    F(0x08, 4, "rcrb_cap"),
    F(0x0c, 4, "rcrb_ctl"),
};
static const struct vpci_field_def f_vsec[] = {
    F(0x04, 4, "vsec_hdr"),
};
static const struct vpci_field_def f_acs[] = {
    F(0x04, 2, "acs_cap"),
    F(0x06, 2, "acs_ctl"),
    F(0x08, 4, "acs_egress_ctl"),
};
static const struct vpci_field_def f_ari[] = {
    F(0x04, 2, "ari_cap"),
    F(0x06, 2, "ari_ctl"),
};
static const struct vpci_field_def f_ats[] = {
    F(0x04, 2, "ats_cap"),
    F(0x06, 2, "ats_ctl"),
};
static const struct vpci_field_def f_sriov[] = {
    F(0x04, 4, "sriov_cap"),        F(0x08, 2, "sriov_ctl"),
    F(0x0a, 2, "sriov_sta"),        F(0x0c, 2, "sriov_initial_vf"),
    F(0x0e, 2, "sriov_total_vf"),   F(0x10, 2, "sriov_num_vf"),
    F(0x12, 1, "sriov_fdl"),        F(0x14, 2, "sriov_vf_offset"),
    F(0x16, 2, "sriov_vf_stride"),  F(0x1a, 2, "sriov_vf_did"),
    F(0x1c, 4, "sriov_sup_pgsize"), F(0x20, 4, "sriov_sys_pgsize"),
    F(0x24, 4, "vf_bar0"),          F(0x28, 4, "vf_bar1"),
    F(0x2c, 4, "vf_bar2"),          F(0x30, 4, "vf_bar3"),
    F(0x34, 4, "vf_bar4"),          F(0x38, 4, "vf_bar5"),
    F(0x3c, 4, "sriov_vfm"),
};
static const struct vpci_field_def f_mcast[] = {
    F(0x04, 2, "mcast_cap"),
    F(0x06, 2, "mcast_ctl"),
    F(0x08, 4, "mcast_base_lo"),
    F(0x0c, 4, "mcast_base_hi"),
    F(0x10, 4, "mcast_rcv_lo"),
    F(0x14, 4, "mcast_rcv_hi"),
    F(0x18, 4, "mcast_block_all_lo"),
    F(0x1c, 4, "mcast_block_all_hi"),
    F(0x20, 4, "mcast_block_untrans_lo"),
    F(0x24, 4, "mcast_block_untrans_hi"),
    F(0x28, 4, "mcast_overlay_lo"),
    F(0x2c, 4, "mcast_overlay_hi"),
};
static const struct vpci_field_def f_pri[] = {
    F(0x04, 2, "pri_ctl"),
    F(0x06, 2, "pri_sta"),
    F(0x08, 4, "pri_max_req"),
    F(0x0c, 4, "pri_alloc_req"),
};
static const struct vpci_field_def f_rebar[] = {
    F(0x04, 4, "rebar_cap0"), F(0x08, 4, "rebar_ctl0"),
    F(0x0c, 4, "rebar_cap1"), F(0x10, 4, "rebar_ctl1"),
    F(0x14, 4, "rebar_cap2"), F(0x18, 4, "rebar_ctl2"),
    F(0x1c, 4, "rebar_cap3"), F(0x20, 4, "rebar_ctl3"),
    F(0x24, 4, "rebar_cap4"), F(0x28, 4, "rebar_ctl4"),
    F(0x2c, 4, "rebar_cap5"), F(0x30, 4, "rebar_ctl5"),
};
static const struct vpci_field_def f_vf_rebar[] = {
    F(0x04, 4, "vf_rebar_cap0"), F(0x08, 4, "vf_rebar_ctl0"),
    F(0x0c, 4, "vf_rebar_cap1"), F(0x10, 4, "vf_rebar_ctl1"),
    F(0x14, 4, "vf_rebar_cap2"), F(0x18, 4, "vf_rebar_ctl2"),
    F(0x1c, 4, "vf_rebar_cap3"), F(0x20, 4, "vf_rebar_ctl3"),
    F(0x24, 4, "vf_rebar_cap4"), F(0x28, 4, "vf_rebar_ctl4"),
    F(0x2c, 4, "vf_rebar_cap5"), F(0x30, 4, "vf_rebar_ctl5"),
};
static const struct vpci_field_def f_dpa[] = {
    F(0x04, 4, "dpa_cap"),
    F(0x08, 4, "dpa_latency"),
    F(0x0c, 2, "dpa_sta"),
    F(0x0e, 2, "dpa_ctl"),
};
static const struct vpci_field_def f_tph[] = {
    F(0x04, 4, "tph_cap"),
    F(0x08, 4, "tph_ctl"),
};
static const struct vpci_field_def f_ltr[] = {
    F(0x04, 2, "ltr_max_snoop"),
    F(0x06, 2, "ltr_max_nosnoop"),
};
static const struct vpci_field_def f_secpci[] = {
    F(0x04, 4, "secpci_lnkctl3"), F(0x08, 4, "secpci_lane_err_sta"),
    LANES32(LANE_U16, "secpci_eq_ctl", 0x0c)};
static const struct vpci_field_def f_pasid[] = {
    F(0x04, 2, "pasid_cap"),
    F(0x06, 2, "pasid_ctl"),
};
static const struct vpci_field_def f_lnr[] = {
    F(0x04, 2, "lnr_cap"),
    F(0x06, 2, "lnr_ctl"),
};
static const struct vpci_field_def f_dpc[] = {
    F(0x04, 2, "dpc_cap"),
    F(0x06, 2, "dpc_ctl"),
    F(0x08, 2, "dpc_sta"),
    F(0x0a, 2, "dpc_src_id"),
    F(0x0c, 4, "dpc_rp_pio_sta"),
    F(0x10, 4, "dpc_rp_pio_mask"),
    F(0x14, 4, "dpc_rp_pio_sever"),
    F(0x18, 4, "dpc_rp_pio_syserr"),
    F(0x1c, 4, "dpc_rp_pio_exc"),
    F(0x20, 4, "dpc_rp_pio_hdr_log0"),
    F(0x24, 4, "dpc_rp_pio_hdr_log1"),
    F(0x28, 4, "dpc_rp_pio_hdr_log2"),
    F(0x2c, 4, "dpc_rp_pio_hdr_log3"),
    F(0x30, 4, "dpc_rp_pio_imp_spec"),
    F(0x34, 4, "dpc_rp_pio_prefix_log0"),
    F(0x38, 4, "dpc_rp_pio_prefix_log1"),
    F(0x3c, 4, "dpc_rp_pio_prefix_log2"),
    F(0x40, 4, "dpc_rp_pio_prefix_log3"),
};
static const struct vpci_field_def f_l1ss[] = {
    F(0x04, 4, "l1ss_cap"),
    F(0x08, 4, "l1ss_ctl1"),
    F(0x0c, 4, "l1ss_ctl2"),
};
static const struct vpci_field_def f_ptm[] = {
    F(0x04, 4, "ptm_cap"),
    F(0x08, 4, "ptm_ctl"),
};
static const struct vpci_field_def f_frs[] = {
    F(0x04, 4, "frs_cap"),
    F(0x08, 4, "frs_ctl"),
    F(0x0c, 4, "frs_msg_queue"),
};
static const struct vpci_field_def f_rtr[] = {
    F(0x04, 4, "rtr_cap1"),
    F(0x08, 4, "rtr_cap2"),
};
static const struct vpci_field_def f_dvsec[] = {
    F(0x04, 4, "dvsec_hdr1"),
    F(0x08, 2, "dvsec_hdr2"),
};
static const struct vpci_field_def f_dlf[] = {
    F(0x04, 4, "dlf_cap"),
    F(0x08, 4, "dlf_sta"),
};
static const struct vpci_field_def f_pl16[] = {
    F(0x04, 4, "pl16_cap"),           F(0x08, 4, "pl16_ctl"),
    F(0x0c, 4, "pl16_sta"),           F(0x10, 4, "pl16_ldpm"),
    F(0x14, 4, "pl16_fdpm"),          F(0x18, 4, "pl16_sdpm"),
    LANES32(LANE_U8, "pl16_eq", 0x20)};
static const struct vpci_field_def f_lmr[] = {
    F(0x04, 2, "lmr_port_cap"), F(0x06, 2, "lmr_port_sta"),
    LANES32(LMR_LANE, "lmr_lane_", 0x08)};
static const struct vpci_field_def f_npem[] = {
    F(0x04, 4, "npem_cap"),
    F(0x08, 4, "npem_ctl"),
    F(0x0c, 4, "npem_sta"),
};
static const struct vpci_field_def f_pl32[] = {
    F(0x04, 4, "pl32_cap"),    F(0x08, 4, "pl32_ctl"),
    F(0x0c, 4, "pl32_sta"),    F(0x10, 4, "pl32_rx_ts1"),
    F(0x14, 4, "pl32_rx_ts2"), F(0x18, 4, "pl32_tx_ts1"),
    F(0x1c, 4, "pl32_tx_ts2"), LANES32(LANE_U8, "pl32_eq", 0x20)};
static const struct vpci_field_def f_doe[] = {
    F(0x04, 4, "doe_cap"), F(0x08, 4, "doe_ctl"), F(0x0c, 4, "doe_sta"),
    F(0x10, 4, "doe_wmb"), F(0x14, 4, "doe_rmb"),
};
static const struct vpci_field_def f_dev3[] = {
    F(0x04, 4, "dev3_cap"),
    F(0x08, 4, "dev3_ctl"),
    F(0x0c, 4, "dev3_sta"),
};
static const struct vpci_field_def f_ide[] = {
    F(0x04, 4, "ide_cap"),
    F(0x08, 4, "ide_ctl"),
};

#define STD(id, name, title, mn, mx, f)                                        \
    {                                                                          \
        false, (id), (name), (title), (mn), (mx), (f), ARRAY_SIZE(f)           \
    }
#define STD0(id, name, title, mn, mx)                                          \
    {                                                                          \
        false, (id), (name), (title), (mn), (mx), NULL, 0                      \
    }
#define EXT(id, name, title, mn, mx, f)                                        \
    {                                                                          \
        true, (id), (name), (title), (mn), (mx), (f), ARRAY_SIZE(f)            \
    }
#define EXT0(id, name, title, mn, mx)                                          \
    {                                                                          \
        true, (id), (name), (title), (mn), (mx), NULL, 0                       \
    }

/* Largest a capability can be: the rest of its config space. */
#define STD_SPAN 0xc0  /* 0x40..0xff */
#define EXT_SPAN 0xf00 /* 0x100..0xfff */

static const struct vpci_cap_def caps[] = {
    STD(0x01, "pm", "Power Management", 8, 8, f_pm),
    STD(0x02, "agp", "AGP", 12, 12, f_agp),
    STD(0x03, "vpd", "Vital Product Data", 8, 8, f_vpd),
    STD(0x04, "slotid", "Slot Identification", 4, 4, f_slotid),
    STD(0x05, "msi", "MSI", 10, 24, f_msi),
    STD(0x06, "chswap", "CompactPCI Hot Swap", 4, 4, f_chswap),
    STD(0x07, "pcix", "PCI-X", 8, 24, f_pcix),
    STD(0x08, "ht", "HyperTransport", 4, 28, f_ht),
    STD(0x09, "vendor", "Vendor Specific", 3, 0xff, f_vendor),
    STD(0x0a, "debug", "Debug Port", 4, 4, f_debug),
    STD0(0x0b, "ccrc", "CompactPCI Central Resource Control", 4, STD_SPAN),
    STD(0x0c, "hotplug", "PCI Standard Hot-Plug Controller", 8, 8, f_hotplug),
    STD(0x0d, "ssvid", "Bridge Subsystem Vendor ID", 8, 8, f_ssvid),
    STD0(0x0e, "agp3", "AGP 8x", 4, STD_SPAN),
    STD(0x0f, "secure", "Secure Device", 0x14, 0x14, f_secure),
    STD(0x10, "pcie", "PCI Express", 0x0c, 0x3c, f_pcie),
    STD(0x11, "msix", "MSI-X", 12, 12, f_msix),
    STD(0x12, "sata", "SATA Data/Index Configuration", 8, 16, f_sata),
    STD(0x13, "af", "PCI Advanced Features", 6, 6, f_af),
    STD(0x14, "ea", "Enhanced Allocation", 4, STD_SPAN, f_ea),
    STD(0x15, "fpb", "Flattening Portal Bridge", 0x24, 0x24, f_fpb),

    EXT0(0x0000, "null", "Null (placeholder)", 4, 4),
    EXT(0x0001, "aer", "Advanced Error Reporting", 0x2c, 0x48, f_aer),
    EXT(0x0002, "vc", "Virtual Channel", 0x1c, 0xb0, f_vc),
    EXT(0x0003, "dsn", "Device Serial Number", 0x0c, 0x0c, f_dsn),
    EXT(0x0004, "pwrbudget", "Power Budgeting", 0x10, 0x10, f_pwrbudget),
    EXT(0x0005, "rclink", "Root Complex Link Declaration", 0x10, EXT_SPAN,
        f_rclink),
    EXT(0x0006, "rcilink", "Root Complex Internal Link Control", 0x0c, 0x0c,
        f_rcilink),
    EXT(0x0007, "rcec_assoc", "Root Complex Event Collector Association", 0x08,
        0x0c, f_rcec_assoc),
    EXT(0x0008, "mfvc", "Multi-Function Virtual Channel", 0x1c, 0xb0, f_vc),
    EXT(0x0009, "vc9", "Virtual Channel (MFVC present)", 0x1c, 0xb0, f_vc),
    EXT(0x000a, "rcrb", "Root Complex Register Block Header", 0x14, 0x14,
        f_rcrb),
    EXT(0x000b, "vsec", "Vendor-Specific Extended", 0x08, EXT_SPAN, f_vsec),
    EXT0(0x000c, "cac", "Configuration Access Correlation", 4, EXT_SPAN),
    EXT(0x000d, "acs", "Access Control Services", 0x08, 0x28, f_acs),
    EXT(0x000e, "ari", "Alternative Routing-ID Interpretation", 8, 8, f_ari),
    EXT(0x000f, "ats", "Address Translation Services", 8, 8, f_ats),
    EXT(0x0010, "sriov", "Single Root I/O Virtualization", 0x40, 0x40, f_sriov),
    EXT0(0x0011, "mriov", "Multi-Root I/O Virtualization", 4, EXT_SPAN),
    EXT(0x0012, "mcast", "Multicast", 0x30, 0x30, f_mcast),
    EXT(0x0013, "pri", "Page Request Interface", 0x10, 0x10, f_pri),
    EXT(0x0015, "rebar", "Resizable BAR", 0x0c, 0x34, f_rebar),
    EXT(0x0016, "dpa", "Dynamic Power Allocation", 0x11, 0x30, f_dpa),
    EXT(0x0017, "tph", "TPH Requester", 0x0c, EXT_SPAN, f_tph),
    EXT(0x0018, "ltr", "Latency Tolerance Reporting", 8, 8, f_ltr),
    EXT(0x0019, "secpci", "Secondary PCI Express", 0x0c, 0x4c, f_secpci),
    EXT0(0x001a, "pmux", "Protocol Multiplexing", 4, EXT_SPAN),
    EXT(0x001b, "pasid", "Process Address Space ID", 8, 8, f_pasid),
    EXT(0x001c, "lnr", "LN Requester", 8, 8, f_lnr),
    EXT(0x001d, "dpc", "Downstream Port Containment", 0x0c, 0x44, f_dpc),
    EXT(0x001e, "l1ss", "L1 PM Substates", 0x10, 0x10, f_l1ss),
    EXT(0x001f, "ptm", "Precision Time Measurement", 0x0c, 0x0c, f_ptm),
    EXT0(0x0020, "mpcie", "PCI Express over M-PHY", 4, EXT_SPAN),
    EXT(0x0021, "frs", "FRS Queueing", 0x10, 0x10, f_frs),
    EXT(0x0022, "rtr", "Readiness Time Reporting", 0x0c, 0x0c, f_rtr),
    EXT(0x0023, "dvsec", "Designated Vendor-Specific", 0x0a, EXT_SPAN, f_dvsec),
    EXT(0x0024, "vf_rebar", "VF Resizable BAR", 0x0c, 0x34, f_vf_rebar),
    EXT(0x0025, "dlf", "Data Link Feature", 0x0c, 0x0c, f_dlf),
    EXT(0x0026, "pl16", "Physical Layer 16.0 GT/s", 0x20, 0x40, f_pl16),
    EXT(0x0027, "lmr", "Lane Margining at the Receiver", 0x08, 0x88, f_lmr),
    EXT0(0x0028, "hierarchy_id", "Hierarchy ID", 4, EXT_SPAN),
    EXT(0x0029, "npem", "Native PCIe Enclosure Management", 0x10, 0x10, f_npem),
    EXT(0x002a, "pl32", "Physical Layer 32.0 GT/s", 0x20, 0x40, f_pl32),
    EXT(0x002e, "doe", "Data Object Exchange", 0x18, 0x18, f_doe),
    EXT(0x002f, "dev3", "Device 3", 0x10, 0x10, f_dev3),
    EXT(0x0030, "ide", "Integrity and Data Encryption", 0x0c, EXT_SPAN, f_ide),
};

VPCI_EXPORT const struct vpci_cap_def *vpci_cap_table(size_t *ret_n)
{
    if (ret_n)
        *ret_n = ARRAY_SIZE(caps);
    return caps;
}

VPCI_EXPORT const struct vpci_cap_def *vpci_cap_find(bool ext, uint16_t id)
{
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
        if (caps[i].ext == ext && caps[i].id == id)
            return &caps[i];
    return NULL;
}

VPCI_EXPORT const struct vpci_cap_def *vpci_cap_find_name(bool ext,
                                                          const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
        if (caps[i].ext == ext && caps[i].name[0] == name[0] &&
            !strcmp(caps[i].name, name))
            return &caps[i];
    return NULL;
}

VPCI_EXPORT const struct vpci_field_def *
vpci_header_fields(unsigned header_type, size_t *ret_n)
{
    const struct vpci_field_def *f;
    size_t n;

    switch (header_type) {
    case 0:
        f = hdr0;
        n = ARRAY_SIZE(hdr0);
        break;
    case 1:
        f = hdr1;
        n = ARRAY_SIZE(hdr1);
        break;
    default:
        return NULL;
    }
    if (ret_n)
        *ret_n = n;
    return f;
}

/* ------------------------------------------------------------------ */
/* Lengths                                                             */
/* ------------------------------------------------------------------ */

/* Reads outside the buffer return 0: every caller's input is hostile. */
static uint32_t rd(const uint8_t *cfg, size_t size, size_t pos, unsigned len)
{
    if (pos > size || size - pos < len)
        return 0;
    return le_get(cfg + pos, len);
}

/*
 * Offset of the first standard capability with this ID, or 0.  Bounded by
 * the number of dword slots so a looping chain cannot hang us.
 */
static unsigned find_std(const uint8_t *cfg, size_t size, uint8_t id)
{
    if (size < 0x40 || !(rd(cfg, size, 0x06, 2) & 0x10))
        return 0;
    unsigned ptr = rd(cfg, size, (cfg[0x0e] & 0x7f) == 2 ? 0x14 : 0x34, 1);
    for (unsigned steps = 0; steps < 48; steps++) {
        ptr &= 0xfc;
        if (ptr < 0x40 || ptr + 2 > size)
            return 0;
        if (cfg[ptr] == id)
            return ptr;
        ptr = cfg[ptr + 1];
    }
    return 0;
}

/* PCIe device/port type (pcie_caps bits 7:4), or -1 without a PCIe cap. */
static int pcie_type(const uint8_t *cfg, size_t size)
{
    unsigned p = find_std(cfg, size, 0x10);
    return p ? (int)((rd(cfg, size, p + 2, 2) >> 4) & 0xf) : -1;
}

/* Maximum link width from Link Capabilities; 0 if unknown. */
static unsigned max_link_width(const uint8_t *cfg, size_t size)
{
    unsigned p = find_std(cfg, size, 0x10);
    if (!p)
        return 0;
    unsigned w = (rd(cfg, size, p + 0x0c, 4) >> 4) & 0x3f;
    return w > 32 ? 32 : w;
}

static unsigned round4(unsigned v)
{
    return (v + 3) & ~3u;
}

static unsigned msi_len(uint16_t ctl)
{
    bool is64 = ctl & 0x80, maskable = ctl & 0x100;
    if (maskable)
        return is64 ? 24 : 20;
    return is64 ? 14 : 10;
}

/* EA: a fixed dword (plus one for bridges), then self-sized entries. */
static unsigned ea_len(const uint8_t *cfg, size_t size, size_t off)
{
    unsigned n = rd(cfg, size, off + 2, 1) & 0x3f;
    unsigned len = 4;
    if ((rd(cfg, size, 0x0e, 1) & 0x7f) == 1)
        len += 4;
    for (unsigned i = 0; i < n && len < STD_SPAN; i++) {
        uint32_t h = rd(cfg, size, off + len, 4);
        len += 4 + 4 * (h & 7);
    }
    return len;
}

/* VC/VC9/MFVC: resources for VC0 plus the extended VCs, then the VC
 * arbitration table.  Port arbitration tables are pointed to from the
 * resource registers and are left to the raw bytes after the cap. */
static unsigned vc_len(const uint8_t *cfg, size_t size, size_t off)
{
    unsigned evcc = rd(cfg, size, off + 4, 4) & 7;
    uint32_t cap2 = rd(cfg, size, off + 8, 4);
    unsigned phases = 0;
    if (cap2 & 0x8)
        phases = 128;
    else if (cap2 & 0x4)
        phases = 64;
    else if (cap2 & 0x2)
        phases = 32;
    unsigned len = 0x10 + (1 + evcc) * 12;
    if (phases)
        len = ((len + 15) & ~15u) + phases * 4 / 8;
    return len;
}

static unsigned rebar_len(const uint8_t *cfg, size_t size, size_t off)
{
    unsigned n = (rd(cfg, size, off + 8, 4) >> 5) & 7;
    if (n < 1)
        n = 1;
    if (n > 6)
        n = 6;
    return 4 + 8 * n;
}

/* Length from the registers alone, before clamping; 0 = unknown. */
static unsigned raw_len(const struct vpci_cap_def *d, const uint8_t *cfg,
                        size_t size, size_t off)
{
    if (!d->ext) {
        switch (d->id) {
        case 0x05:
            return msi_len((uint16_t)rd(cfg, size, off + 2, 2));
        case 0x07: /* bridges: 16; devices: 8, or 24 with ECC (v1/v2) */
            if ((rd(cfg, size, 0x0e, 1) & 0x7f) == 1)
                return 16;
            return (rd(cfg, size, off + 2, 2) & 0x3000) ? 24 : 8;
        case 0x08: { /* by the HT capability type in byte 3 */
            uint8_t t = (uint8_t)rd(cfg, size, off + 3, 1);
            if ((t & 0xe0) == 0x00)
                return 28; /* slave/primary interface */
            if ((t & 0xe0) == 0x20)
                return 24; /* host/secondary interface */
            if ((t & 0xf8) == 0xa8)
                return 12; /* MSI mapping */
            return 4;
        }
        case 0x09: {
            unsigned l = rd(cfg, size, off + 2, 1);
            return l < 3 ? 3 : l;
        }
        case 0x10: {
            /* As vfio (vfio_cap_len): v1 endpoints end after Link Status
             * (0x14) and real v1 endpoints put their next capability right
             * there; RCiEPs have no link (0x0c).  v1 ports keep their slot
             * and root registers (0x24).  v2 structures are 0x3c (the
             * slot-2 registers are reserved but part of it). */
            unsigned caps16 = rd(cfg, size, off + 2, 2);
            unsigned type = (caps16 >> 4) & 0xf;
            if ((caps16 & 0xf) > 1)
                return 0x3c;
            if (type == 9)
                return 0x0c;
            return (type == 4 || type == 6 || type == 10) ? 0x24 : 0x14;
        }
        case 0x12: /* SATA: inline index/data pair when BAR loc is 0xf */
            return (rd(cfg, size, off + 4, 1) & 0xf) == 0xf ? 16 : 8;
        case 0x14:
            return ea_len(cfg, size, off);
        default:
            break;
        }
    } else {
        switch (d->id) {
        case 0x0001: {
            /* As vfio: 0x2c for functions without root-port registers
             * (real endpoints place the next capability at +0x30); root
             * ports and RCECs add the root registers (0x38); the TLP
             * prefix log (aer_cap bit 11) always sits at 0x38-0x47. */
            uint32_t c = rd(cfg, size, off + 0x18, 4);
            if (c & 0x800)
                return 0x48;
            int t = pcie_type(cfg, size);
            return (t == 4 || t == 10) ? 0x38 : 0x2c;
        }
        case 0x0002:
        case 0x0008:
        case 0x0009:
            return vc_len(cfg, size, off);
        case 0x0005: {
            unsigned n = (rd(cfg, size, off + 4, 4) >> 8) & 0xff;
            return 0x10 + 16 * n;
        }
        case 0x0007:
            return ((rd(cfg, size, off, 4) >> 16) & 0xf) >= 2 ? 0x0c : 0x08;
        case 0x000b:
        case 0x0023:
            return rd(cfg, size, off + 4, 4) >> 20;
        case 0x000d: {
            uint16_t c = (uint16_t)rd(cfg, size, off + 4, 2);
            if (!(c & 0x20))
                return 8;
            unsigned bits = (c >> 8) & 0xff;
            bits = bits ? (bits + 31) & ~31u : 256;
            return 8 + bits / 8;
        }
        case 0x0015:
        case 0x0024:
            return rebar_len(cfg, size, off);
        case 0x0016:
            return 0x10 + (rd(cfg, size, off + 4, 4) & 0x1f) + 1;
        case 0x0017: {
            uint32_t c = rd(cfg, size, off + 4, 4);
            if (((c >> 9) & 3) != 1)
                return 0x0c;
            unsigned n = ((c >> 16) & 0x7ff) + 1;
            return 0x0c + round4(2 * n);
        }
        case 0x0019: {
            unsigned w = max_link_width(cfg, size);
            return 0x0c + round4(2 * w);
        }
        case 0x001d: {
            /* RP extensions: the RP PIO registers end at 0x20, then the
             * RP PIO log of Log Size dwords (header log from 4, ImpSpec
             * log from 5, TLP prefix log for the rest; 9 at most). */
            uint16_t c = (uint16_t)rd(cfg, size, off + 4, 2);
            if (!(c & 0x20))
                return 0x0c;
            unsigned n = (c >> 8) & 0xf;
            if (n < 4)
                n = 0;
            return 0x20 + 4 * (n > 9 ? 9 : n);
        }
        case 0x0026:
        case 0x002a:
            return 0x20 + round4(max_link_width(cfg, size));
        case 0x0027:
            return 0x08 + 4 * max_link_width(cfg, size);
        default:
            break;
        }
    }
    /* Fixed-size structures; others (min < max) are unknown. */
    return d->min_len == d->max_len ? d->min_len : 0;
}

VPCI_EXPORT unsigned vpci_cap_length(const struct vpci_cap_def *d,
                                     const uint8_t *cfg, size_t size,
                                     uint16_t off)
{
    if (!d || !cfg || off >= size)
        return 0;
    unsigned len = raw_len(d, cfg, size, off);
    if (!len)
        return 0;
    if (len < d->min_len)
        len = d->min_len;
    if (len > d->max_len)
        len = d->max_len;
    /* A std capability never reaches into the extended space. */
    size_t end = size;
    if (!d->ext && end > VPCI_CFG_SPACE_STD)
        end = VPCI_CFG_SPACE_STD;
    if (off >= end)
        return 0;
    if (len > end - off)
        len = (unsigned)(end - off);
    return len;
}
