#!/usr/bin/env bash
# Installs Dovecot's IMAP server for the IMAP poller's tests, unless it is already there.
# The tests start their own dovecot process with their own config on 127.0.0.1 and a free
# port; the system service is never started (policy-rc.d forbids it during the install).
set -euo pipefail

if [ -x /usr/sbin/dovecot ]; then
    echo "dovecot already installed: $(/usr/sbin/dovecot --version)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# Keep invoke-rc.d from starting dovecot.service while the package installs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        $SUDO rm -f "$policy"
    fi
}
trap cleanup EXIT

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd

# Belt and braces: if a service manager started it anyway, stop it (it would hold port 143).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
    $SUDO systemctl stop dovecot || true
fi

echo "installed: $(/usr/sbin/dovecot --version)"
