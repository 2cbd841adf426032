/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The inventory as JSON: `vpcictl host scan -o json` and the REST API's
 * device object.  Key names and value forms are a fixed interface (IDs as
 * 4 lowercase hex digits, class as 6, BDFs with domain, null for unknown).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory.h"

static json_t *hex_str(unsigned v, int digits)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%0*x", digits, v);
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *bdf_list(char (*list)[INV_BDF_LEN], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *caps_json(const struct inv_func *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->ncaps; i++) {
        const struct vpci_cap_info *c = &f->caps[i];
        json_t *o = json_pack("{s:s, s:i, s:o, s:i, s:i}", "kind",
                              c->ext ? "ext" : "std", "id", (int)c->id, "name",
                              str_or_null(c->def ? c->def->name : NULL),
                              "offset", (int)c->off, "length", (int)c->len);
        if (o && c->ext)
            json_object_set_new(o, "version", json_integer(c->version));
        if (o && c->def)
            json_object_set_new(o, "title", json_string(c->def->title));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *bars_json(const struct inv_func *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->nbars; i++) {
        const struct inv_bar *b = &f->bars[i];
        json_array_append_new(
            a, json_pack("{s:i, s:s, s:b, s:I}", "index", (int)b->index, "type",
                         vpci_bar_type_name(b->type), "prefetch", b->prefetch,
                         "size", (json_int_t)b->size));
    }
    return a;
}

static json_t *pasid_json(const struct inv_pasid *p)
{
    if (!p->present)
        return json_null();
    return json_pack("{s:i, s:b, s:b}", "max_width", (int)p->max_width, "exec",
                     p->exec, "privileged", p->privileged);
}

static json_t *pri_json(const struct inv_pri *p)
{
    if (!p->present)
        return json_null();
    return json_pack("{s:I}", "max_requests", (json_int_t)p->max_requests);
}

static json_t *config_hex(const struct inv_func *f)
{
    char *buf = malloc(2 * (size_t)f->config_size + 1);
    if (!buf)
        return NULL;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < f->config_size; i++) {
        buf[2 * i] = digits[f->cfg[i] >> 4];
        buf[2 * i + 1] = digits[f->cfg[i] & 15];
    }
    buf[2 * (size_t)f->config_size] = '\0';
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

static json_t *warnings_json(char **w, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(w[i]));
    return a;
}

json_t *vpcid_inventory_func_json(const struct inv_func *f)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "bdf", json_string(f->bdf));
    json_object_set_new(o, "vendor_id", hex_str(f->vendor_id, 4));
    json_object_set_new(o, "device_id", hex_str(f->device_id, 4));
    json_object_set_new(o, "subsystem_vendor_id",
                        hex_str(f->subsystem_vendor_id, 4));
    json_object_set_new(o, "subsystem_id", hex_str(f->subsystem_id, 4));
    json_object_set_new(o, "class", hex_str(f->class_code, 6));
    json_object_set_new(o, "revision",
                        f->revision >= 0 ? json_integer(f->revision)
                                         : json_null());
    json_object_set_new(o, "vendor_name", str_or_null(f->vendor_name));
    json_object_set_new(o, "device_name", str_or_null(f->device_name));
    json_object_set_new(o, "class_name", str_or_null(f->class_name));
    json_object_set_new(o, "subsystem_name", str_or_null(f->subsystem_name));
    json_object_set_new(o, "driver", str_or_null(f->driver));
    json_object_set_new(o, "iommu_group",
                        f->iommu_group >= 0 ? json_integer(f->iommu_group)
                                            : json_null());
    json_object_set_new(o, "iommu_group_peers",
                        bdf_list(f->group_peers, f->ngroup_peers));
    json_object_set_new(o, "numa_node", json_integer(f->numa_node));
    if (f->link.present)
        json_object_set_new(
            o, "link",
            json_pack(
                "{s:o, s:o, s:o, s:o}", "current_speed",
                str_or_null(f->link.cur_speed[0] ? f->link.cur_speed : NULL),
                "current_width",
                f->link.cur_width >= 0 ? json_integer(f->link.cur_width)
                                       : json_null(),
                "max_speed",
                str_or_null(f->link.max_speed[0] ? f->link.max_speed : NULL),
                "max_width",
                f->link.max_width >= 0 ? json_integer(f->link.max_width)
                                       : json_null()));
    else
        json_object_set_new(o, "link", json_null());
    json_object_set_new(o, "physfn",
                        str_or_null(f->physfn[0] ? f->physfn : NULL));
    json_object_set_new(o, "vfs", bdf_list(f->vfs, f->nvfs));
    if (f->has_sriov)
        json_object_set_new(o, "sriov",
                            json_pack("{s:i, s:i, s:o, s:i, s:i}", "total_vfs",
                                      (int)f->sriov.total_vfs, "num_vfs",
                                      (int)f->sriov.num_vfs, "vf_device_id",
                                      hex_str(f->sriov.vf_device_id, 4),
                                      "offset", (int)f->sriov.offset, "stride",
                                      (int)f->sriov.stride));
    else
        json_object_set_new(o, "sriov", json_null());
    json_object_set_new(o, "pasid", pasid_json(&f->pasid));
    json_object_set_new(o, "pri", pri_json(&f->pri));
    if (f->physfn[0]) {
        json_object_set_new(o, "pf_pasid", pasid_json(&f->pf_pasid));
        json_object_set_new(o, "pf_pri", pri_json(&f->pf_pri));
    }
    json_object_set_new(o, "capabilities", caps_json(f));
    json_object_set_new(o, "bars", bars_json(f));
    json_object_set_new(o, "rom_size", json_integer((json_int_t)f->rom_size));
    json_object_set_new(o, "config_size", json_integer(f->config_size));
    json_object_set_new(o, "config_partial", json_boolean(f->config_partial));
    json_object_set_new(o, "config", config_hex(f));
    json_object_set_new(o, "vfio_group_dev", str_or_null(f->vfio_group_dev));
    json_object_set_new(o, "vfio_cdev", str_or_null(f->vfio_cdev));
    json_object_set_new(o, "migration",
                        f->migration < 0 ? json_null()
                                         : json_boolean(f->migration));
    json_object_set_new(o, "warnings",
                        warnings_json(f->warnings, f->nwarnings));
    return o;
}

char *vpcid_inventory_json(const struct inv_host *h)
{
    json_t *devs = json_array();
    json_t *root = json_object();
    if (!devs || !root) {
        json_decref(devs);
        json_decref(root);
        return NULL;
    }
    json_object_set_new(root, "devices", devs);
    if (vpcid_inventory_devices_append(devs, h) < 0) {
        json_decref(root);
        return NULL;
    }
    json_object_set_new(root, "sysfs", json_string(h->sysfs_root));
    json_object_set_new(root, "warnings",
                        warnings_json(h->warnings, h->nwarnings));
    char *text =
        vpcid_json_text_nl(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, NULL);
    json_decref(root);
    return text;
}

int vpcid_inventory_devices_append(struct json_t *devs,
                                   const struct inv_host *h)
{
    for (size_t i = 0; i < h->nfuncs; i++) {
        json_t *d = vpcid_inventory_func_json(&h->funcs[i]);
        if (!d || json_array_append_new(devs, d) < 0)
            return -1;
    }
    return 0;
}

char *vpcid_json_text_nl(const struct json_t *root, size_t flags,
                         size_t *ret_len)
{
    char *text = json_dumps(root, flags);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *n = realloc(text, len + 2);
    if (!n) {
        free(text);
        return NULL;
    }
    n[len] = '\n';
    n[len + 1] = '\0';
    if (ret_len)
        *ret_len = len + 1;
    return n;
}
