/* SPDX-License-Identifier: BSD-2-Clause */
typedef int vpcid_config_unused;
