#!/bin/bash
# podman with crun enforces a profile it reads from the mount, and the
# access record of that read names podman as the opener. On a hybrid
# cgroup host crun runs in a mount namespace without the v2 hierarchy.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/consumers.sh"

require_fuse
require_podman crun
podman_case crun_run
