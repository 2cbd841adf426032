/* SPDX-License-Identifier: BSD-2-Clause */
typedef int vpcid_instance_types_unused;
