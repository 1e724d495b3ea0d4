#!/bin/bash
# podman with runc enforces a profile it reads from the mount, and the
# access record of that read names podman as the opener.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/consumers.sh"

require_fuse
require_podman runc
podman_case podman_run
