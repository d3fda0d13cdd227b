#!/usr/bin/env bash
# Installs the real protocol peers the channel tests talk to (Debian):
# dovecot (IMAP, LMTP) for the email channel. Safe to run again; does nothing
# when everything is there, and says so when it cannot install (not root, no apt).
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-core dovecot-imapd dovecot-lmtpd)
if [ ${#need[@]} -eq 0 ]; then
	echo "==> test peers present: dovecot"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "==> cannot install ${need[*]} (needs root and apt-get): the dovecot tests will be SKIPPED"
	exit 0
fi
echo "==> installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
# The packages' own service is not wanted: tests start dovecot themselves on
# loopback ports with a configuration in a temporary directory.
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
	echo "==> could not install ${need[*]}: the dovecot tests will be SKIPPED"
	exit 0
fi
command -v systemctl >/dev/null 2>&1 && systemctl disable --now dovecot >/dev/null 2>&1 || true
echo "==> installed: $(dovecot --version 2>/dev/null || echo dovecot)"
