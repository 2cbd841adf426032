# SPDX-License-Identifier: BSD-2-Clause
# Shared by the daemon tests. Not written yet.
