/* SPDX-License-Identifier: BSD-2-Clause */
typedef int vpcid_body_unused;
