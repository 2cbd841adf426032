/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef VPCID_FACTS_H
#define VPCID_FACTS_H
#endif
