#!/usr/bin/env bash
# Installs what the browser tests need and nothing they can download at run
# time: Debian's chromium (Playwright's own browser builds are not fetched).
# CI runs as root on Debian; elsewhere install chromium by hand.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "chromium is missing and this is not root on Debian: install the 'chromium' package" >&2
	exit 1
fi
echo "==> installing chromium (Debian package) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
