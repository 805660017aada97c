#!/usr/bin/env bash
# The end-to-end tests drive Debian's Chromium. Install it when it is missing
# and we are allowed to (root); otherwise say exactly what to run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "chromium is missing: run 'sudo apt-get install chromium chromium-driver' and retry" >&2
	exit 1
fi
echo "installing Debian's chromium for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null
/usr/bin/chromium --version
