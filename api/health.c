/* SPDX-License-Identifier: BSD-2-Clause */
typedef int vpcid_health_unused;
