#!/usr/bin/env bash
# Installs what the browser tests need and nothing they can download at run
# time: Debian's chromium (Playwright's own browser builds are not fetched)
# and fonts with emoji, which agents and customers type and the screenshots
# must show. CI runs as root on Debian; elsewhere install them by hand.
set -euo pipefail

fonts_ok() { [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; }
if [ -x /usr/bin/chromium ] && fonts_ok; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	if [ -x /usr/bin/chromium ]; then
		echo "note: no emoji font (Debian package fonts-noto-color-emoji): screenshots show boxes for emoji" >&2
		exit 0
	fi
	echo "chromium is missing and this is not root on Debian: install the 'chromium' package" >&2
	exit 1
fi
echo "==> installing chromium and fonts (Debian packages) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version
