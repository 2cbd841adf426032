/* SPDX-License-Identifier: BSD-2-Clause */
typedef int vpcid_listen_unused;
