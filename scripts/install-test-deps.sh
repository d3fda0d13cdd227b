#!/usr/bin/env bash
# Installs the real protocol peers the channel tests talk to (Debian):
# dovecot (IMAP, LMTP) for the email channel and sipp (package sip-tester)
# for the voice channel. Safe to run again; does nothing when everything is
# there, and says so when it cannot install (not root, no apt).
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-core dovecot-imapd dovecot-lmtpd)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
if [ ${#need[@]} -eq 0 ]; then
	echo "==> test peers present: dovecot, sipp"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "==> cannot install ${need[*]} (needs root and apt-get): the dovecot and sipp tests will be SKIPPED"
	exit 0
fi
echo "==> installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
# The packages' own service is not wanted: tests start dovecot themselves on
# loopback ports with a configuration in a temporary directory.
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
	echo "==> could not install ${need[*]}: the tests that need them will be SKIPPED"
	exit 0
fi
command -v systemctl >/dev/null 2>&1 && systemctl disable --now dovecot >/dev/null 2>&1 || true
command -v dovecot >/dev/null 2>&1 && echo "==> dovecot: $(dovecot --version 2>/dev/null || echo installed)"
command -v sipp >/dev/null 2>&1 && echo "==> sipp: $(sipp -v 2>/dev/null | grep -m1 -o 'SIPp v[0-9.]*' || echo installed)"
exit 0
